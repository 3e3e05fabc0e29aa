//! What happens while traffic flows: the storms and faults of a workload's
//! `[[schedule]]`, and the phases they divide a run into.
//!
//! Times are seconds from the start of the measured window (after the
//! warm-up). A storm is control-plane work the data planes must absorb (a
//! mass key rotation, an onboarding, a policy change, a stalled stream's
//! catch-up, the midnight roll); a fault is something failing (the control
//! plane, a region's data plane, an AZ replica). Phases: `steady` before the
//! first event, the event's own window (`storm: <kind>` or `fault: <kind>`),
//! then `recovery` until the next event or the end.

use serde::{Deserialize, Serialize};

/// One scheduled storm or fault.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// Rotate `count` users' keys: create a second key, switch the clients
    /// to it after `switch_after_s`, deactivate the old one after
    /// `deactivate_after_s`, delete it after `delete_after_s` (if set).
    RotateKeys {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// Users whose key rotates.
        count: usize,
        /// Seconds from `at_s` until clients sign with the new key.
        #[serde(default = "default_switch")]
        switch_after_s: f64,
        /// Seconds from `at_s` until the old key is deactivated.
        #[serde(default = "default_deactivate")]
        deactivate_after_s: f64,
        /// Seconds from `at_s` until the old key is deleted.
        #[serde(default)]
        delete_after_s: Option<f64>,
    },
    /// Onboard `count` users with a key and the usual policy; their clients
    /// start sending after `use_after_s`.
    CreateUsers {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// Users to create.
        count: usize,
        /// Seconds from `at_s` until the new clients send requests.
        #[serde(default = "default_switch")]
        use_after_s: f64,
    },
    /// Attach (`deny = true`) or remove a policy denying `s3:GetObject` on
    /// the bucket's objects to `principals` users.
    PolicyChange {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// Users the change touches.
        principals: usize,
        /// Attach the deny (true) or remove it (false).
        #[serde(default = "yes")]
        deny: bool,
    },
    /// Propagation to `regions` stalls for `duration_s`, then the backlog
    /// drains at the apply rate.
    ReplicationStall {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// How long the stream stays stalled.
        duration_s: f64,
        /// Regions whose stream stalls (all when empty).
        #[serde(default)]
        regions: Vec<String>,
    },
    /// The control plane is impaired for `duration_s`: its API answers
    /// `api_latency_ms` slower and fails `api_error_rate` of calls (the
    /// `none` strategy's verifications included), and propagation to
    /// `stall_regions` stalls until the incident ends.
    ControlPlaneIncident {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// How long it lasts.
        duration_s: f64,
        /// Extra latency of every control-plane call, milliseconds.
        #[serde(default)]
        api_latency_ms: f64,
        /// Share of control-plane calls that fail.
        #[serde(default)]
        api_error_rate: f64,
        /// Regions whose replication stalls during the incident.
        #[serde(default)]
        stall_regions: Vec<String>,
    },
    /// `region`'s IAM data plane answers `error_rate` of requests with
    /// `ServiceUnavailable` for `duration_s`.
    RegionalIncident {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// How long it lasts.
        duration_s: f64,
        /// The failing region.
        region: String,
        /// Share of its requests that fail.
        error_rate: f64,
    },
    /// `region`'s data plane stops answering for `duration_s`; requests wait
    /// and are answered when it resumes.
    Pause {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// How long it stalls.
        duration_s: f64,
        /// The stalled region.
        region: String,
    },
    /// AZ replica `az` (0-based) of `region` stops for `duration_s` (to the
    /// end when absent); the others carry its load.
    AzLoss {
        /// Seconds from the start of measurement.
        at_s: f64,
        /// How long it is down.
        #[serde(default)]
        duration_s: Option<f64>,
        /// The region.
        region: String,
        /// The AZ replica's index.
        #[serde(deserialize_with = "az_index")]
        az: usize,
    },
}

/// An AZ replica's index, refused by name when it is not a whole number of
/// at least 0 (an internally tagged event loses the field's name otherwise).
fn az_index<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v = f64::deserialize(d)
        .map_err(|e| serde::de::Error::custom(format!("`az` must be an AZ index: {e}")))?;
    if v < 0.0 || v.fract() != 0.0 || v > usize::MAX as f64 {
        return Err(serde::de::Error::custom(format!(
            "`az` must be a whole number of at least 0 (the AZ replica's index), not {v}"
        )));
    }
    Ok(v as usize)
}

/// Whether an event is control-plane work or a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventClass {
    /// Control-plane work the data planes absorb.
    Storm,
    /// Something failing.
    Fault,
}

/// A named window of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseSpan {
    /// `steady`, `storm: <kind>`, `fault: <kind>` or `recovery`.
    pub name: String,
    /// Seconds from the start of measurement.
    pub start_s: f64,
    /// Seconds from the start of measurement.
    pub end_s: f64,
}

/// How long a storm's phase lasts when nothing says otherwise, seconds.
pub const STORM_WINDOW_S: f64 = 10.0;

impl Event {
    /// When it starts, seconds from the start of measurement.
    pub fn at_s(&self) -> f64 {
        match self {
            Event::RotateKeys { at_s, .. }
            | Event::CreateUsers { at_s, .. }
            | Event::PolicyChange { at_s, .. }
            | Event::ReplicationStall { at_s, .. }
            | Event::ControlPlaneIncident { at_s, .. }
            | Event::RegionalIncident { at_s, .. }
            | Event::Pause { at_s, .. }
            | Event::AzLoss { at_s, .. } => *at_s,
        }
    }

    /// The kind's name, as written in workloads.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RotateKeys { .. } => "rotate_keys",
            Event::CreateUsers { .. } => "create_users",
            Event::PolicyChange { .. } => "policy_change",
            Event::ReplicationStall { .. } => "replication_stall",
            Event::ControlPlaneIncident { .. } => "control_plane_incident",
            Event::RegionalIncident { .. } => "regional_incident",
            Event::Pause { .. } => "pause",
            Event::AzLoss { .. } => "az_loss",
        }
    }

    /// Storm or fault.
    pub fn class(&self) -> EventClass {
        match self {
            Event::RotateKeys { .. }
            | Event::CreateUsers { .. }
            | Event::PolicyChange { .. }
            | Event::ReplicationStall { .. } => EventClass::Storm,
            _ => EventClass::Fault,
        }
    }

    /// How long its phase lasts (to `run_end_s` at most).
    pub fn window_s(&self, run_end_s: f64) -> f64 {
        let window = match self {
            Event::RotateKeys {
                switch_after_s,
                deactivate_after_s,
                delete_after_s,
                ..
            } => {
                switch_after_s
                    .max(*deactivate_after_s)
                    .max(delete_after_s.unwrap_or(0.0))
                    + 1.0
            }
            Event::CreateUsers { use_after_s, .. } => use_after_s + 1.0,
            Event::PolicyChange { .. } => STORM_WINDOW_S,
            Event::ReplicationStall { duration_s, .. }
            | Event::ControlPlaneIncident { duration_s, .. }
            | Event::RegionalIncident { duration_s, .. }
            | Event::Pause { duration_s, .. } => *duration_s,
            Event::AzLoss { duration_s, .. } => duration_s.unwrap_or(f64::INFINITY),
        };
        window.min(run_end_s - self.at_s()).max(0.0)
    }

    /// Check the event's values; the error is `(field, message)` relative to
    /// the event's table.
    pub fn validate(&self, regions: &[String], azs: usize) -> Result<(), (String, String)> {
        let bad = |field: &str, message: String| Err((field.to_string(), message));
        // Times and durations: 0 to a day (a run lasts at most an hour).
        let finite = |v: f64| v.is_finite() && (0.0..=MAX_SECONDS).contains(&v);
        if !finite(self.at_s()) {
            return bad(
                "at_s",
                format!("must be 0 to 86400 seconds, not {}", self.at_s()),
            );
        }
        let known = |r: &String| regions.iter().any(|k| k == r);
        match self {
            Event::RotateKeys {
                count,
                switch_after_s,
                deactivate_after_s,
                delete_after_s,
                ..
            } => {
                if !(1..=MAX_COUNT).contains(count) {
                    return bad("count", format!("must be 1 to {MAX_COUNT}, not {count}"));
                }
                for (field, v) in [
                    ("switch_after_s", *switch_after_s),
                    ("deactivate_after_s", *deactivate_after_s),
                ] {
                    if !finite(v) {
                        return bad(field, format!("must be 0 to 86400 seconds, not {v}"));
                    }
                }
                if let Some(d) = delete_after_s {
                    if !finite(*d) || *d < *deactivate_after_s {
                        return bad(
                            "delete_after_s",
                            format!("must be at least deactivate_after_s, not {d}"),
                        );
                    }
                }
            }
            Event::CreateUsers {
                count, use_after_s, ..
            } => {
                if !(1..=MAX_COUNT).contains(count) {
                    return bad("count", format!("must be 1 to {MAX_COUNT}, not {count}"));
                }
                if !finite(*use_after_s) {
                    return bad(
                        "use_after_s",
                        format!("must be 0 to 86400 seconds, not {use_after_s}"),
                    );
                }
            }
            Event::PolicyChange { principals, .. } => {
                if *principals > MAX_COUNT {
                    return bad(
                        "principals",
                        format!("must be 1 to {MAX_COUNT}, not {principals}"),
                    );
                }
                if *principals == 0 {
                    return bad("principals", "must be at least 1".into());
                }
            }
            Event::ReplicationStall {
                duration_s,
                regions: stalled,
                ..
            } => {
                positive_duration(*duration_s)?;
                if let Some(r) = stalled.iter().find(|r| !known(r)) {
                    return bad(
                        "regions",
                        format!("'{r}' is not one of the workload's regions"),
                    );
                }
            }
            Event::ControlPlaneIncident {
                duration_s,
                api_latency_ms,
                api_error_rate,
                stall_regions,
                ..
            } => {
                positive_duration(*duration_s)?;
                if !finite(*api_latency_ms) || *api_latency_ms > 60_000.0 {
                    return bad(
                        "api_latency_ms",
                        format!("must be 0 to 60000, not {api_latency_ms}"),
                    );
                }
                if !(0.0..=1.0).contains(api_error_rate) {
                    return bad(
                        "api_error_rate",
                        format!("must be 0 to 1, not {api_error_rate}"),
                    );
                }
                if let Some(r) = stall_regions.iter().find(|r| !known(r)) {
                    return bad(
                        "stall_regions",
                        format!("'{r}' is not one of the workload's regions"),
                    );
                }
            }
            Event::RegionalIncident {
                duration_s,
                region,
                error_rate,
                ..
            } => {
                positive_duration(*duration_s)?;
                if !known(region) {
                    return bad(
                        "region",
                        format!("'{region}' is not one of the workload's regions"),
                    );
                }
                if !(0.0..=1.0).contains(error_rate) {
                    return bad("error_rate", format!("must be 0 to 1, not {error_rate}"));
                }
            }
            Event::Pause {
                duration_s, region, ..
            } => {
                positive_duration(*duration_s)?;
                if !known(region) {
                    return bad(
                        "region",
                        format!("'{region}' is not one of the workload's regions"),
                    );
                }
            }
            Event::AzLoss {
                duration_s,
                region,
                az,
                ..
            } => {
                if let Some(d) = duration_s {
                    positive_duration(*d)?;
                }
                if !known(region) {
                    return bad(
                        "region",
                        format!("'{region}' is not one of the workload's regions"),
                    );
                }
                if *az >= azs {
                    return bad(
                        "az",
                        format!(
                            "the regions have {azs} AZ replicas (0 to {}), not {az}",
                            azs - 1
                        ),
                    );
                }
            }
        }
        Ok(())
    }
}

fn positive_duration(d: f64) -> Result<(), (String, String)> {
    if d.is_finite() && d > 0.0 && d <= MAX_SECONDS {
        Ok(())
    } else {
        Err((
            "duration_s".into(),
            format!("must be more than 0 and at most {MAX_SECONDS} seconds, not {d}"),
        ))
    }
}

/// The longest time or duration an event may name, seconds (a day).
pub const MAX_SECONDS: f64 = 86_400.0;

/// The most users a storm may touch or create.
pub const MAX_COUNT: usize = 1_000_000;

fn default_switch() -> f64 {
    5.0
}
fn default_deactivate() -> f64 {
    10.0
}
fn yes() -> bool {
    true
}

/// The phases of a run of `duration_s` measured seconds with `events`, plus
/// the midnight roll when `midnight_s` (seconds from the start of
/// measurement) falls inside the run. The run is cut wherever an event's
/// window starts or ends; each piece is named for the events in force then,
/// in the order they started (`fault: control_plane_incident + storm:
/// create_users` while both are), `steady` before the first and `recovery`
/// when none is. Phases never overlap and tile the run.
pub fn phases(events: &[Event], midnight_s: Option<f64>, duration_s: f64) -> Vec<PhaseSpan> {
    let mut windows: Vec<(f64, f64, String)> = events
        .iter()
        .map(|e| {
            let class = match e.class() {
                EventClass::Storm => "storm",
                EventClass::Fault => "fault",
            };
            let start = e.at_s().min(duration_s);
            (
                start,
                (start + e.window_s(duration_s)).min(duration_s),
                format!("{class}: {}", e.kind()),
            )
        })
        .collect();
    if let Some(m) = midnight_s.filter(|m| (0.0..duration_s).contains(m)) {
        windows.push((
            m,
            (m + STORM_WINDOW_S).min(duration_s),
            "storm: midnight_roll".to_string(),
        ));
    }
    windows.retain(|w| w.1 > w.0);
    windows.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut cuts: Vec<f64> = vec![0.0, duration_s];
    for (start, end, _) in &windows {
        cuts.extend([*start, *end]);
    }
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();

    let mut phases: Vec<PhaseSpan> = Vec::new();
    for piece in cuts.windows(2) {
        let (a, b) = (piece[0], piece[1]);
        if b <= a {
            continue;
        }
        let active: Vec<&str> = windows
            .iter()
            .filter(|w| w.0 <= a && w.1 >= b)
            .map(|w| w.2.as_str())
            .collect();
        let name = if !active.is_empty() {
            active.join(" + ")
        } else if windows.iter().any(|w| w.0 < a) {
            "recovery".to_string()
        } else {
            "steady".to_string()
        };
        match phases.last_mut() {
            Some(last) if last.name == name => last.end_s = b,
            _ => phases.push(span(&name, a, b)),
        }
    }
    phases
}

fn span(name: &str, start_s: f64, end_s: f64) -> PhaseSpan {
    PhaseSpan {
        name: name.to_string(),
        start_s,
        end_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stall(at_s: f64, duration_s: f64) -> Event {
        Event::ReplicationStall {
            at_s,
            duration_s,
            regions: vec![],
        }
    }

    #[test]
    fn a_run_without_events_is_steady() {
        assert_eq!(phases(&[], None, 10.0), vec![span("steady", 0.0, 10.0)]);
    }

    #[test]
    fn events_split_the_run_into_steady_event_recovery() {
        let p = phases(&[stall(3.0, 2.0)], None, 10.0);
        assert_eq!(
            p,
            vec![
                span("steady", 0.0, 3.0),
                span("storm: replication_stall", 3.0, 5.0),
                span("recovery", 5.0, 10.0)
            ]
        );
    }

    #[test]
    fn overlapping_events_name_the_pieces_they_share_and_midnight_counts() {
        let az = Event::AzLoss {
            at_s: 1.0,
            duration_s: None,
            region: "eu-north-1".into(),
            az: 0,
        };
        let p = phases(&[az], Some(4.0), 8.0);
        assert_eq!(
            p,
            vec![
                span("steady", 0.0, 1.0),
                span("fault: az_loss", 1.0, 4.0),
                span("fault: az_loss + storm: midnight_roll", 4.0, 8.0)
            ]
        );
        // An incident from 5 to 20 s with an onboarding from 7 to 13 s: the
        // incident goes on after the onboarding's window.
        let incident = Event::ControlPlaneIncident {
            at_s: 5.0,
            duration_s: 15.0,
            api_latency_ms: 0.0,
            api_error_rate: 0.0,
            stall_regions: vec![],
        };
        let onboarding = Event::CreateUsers {
            at_s: 7.0,
            count: 5,
            use_after_s: 5.0,
        };
        assert_eq!(
            phases(&[incident, onboarding], None, 30.0),
            vec![
                span("steady", 0.0, 5.0),
                span("fault: control_plane_incident", 5.0, 7.0),
                span(
                    "fault: control_plane_incident + storm: create_users",
                    7.0,
                    13.0
                ),
                span("fault: control_plane_incident", 13.0, 20.0),
                span("recovery", 20.0, 30.0)
            ]
        );
    }

    #[test]
    fn huge_times_and_counts_are_refused_with_their_field() {
        let regions = ["eu-north-1".to_string()];
        let cases = [
            (
                Event::Pause {
                    at_s: 1.0,
                    duration_s: 1e300,
                    region: "eu-north-1".into(),
                },
                "duration_s",
            ),
            (
                Event::CreateUsers {
                    at_s: 1.0,
                    count: 5,
                    use_after_s: 1e300,
                },
                "use_after_s",
            ),
            (
                Event::CreateUsers {
                    at_s: 1.0,
                    count: 10_000_000,
                    use_after_s: 1.0,
                },
                "count",
            ),
            (
                Event::PolicyChange {
                    at_s: 1.0,
                    principals: 10_000_000,
                    deny: true,
                },
                "principals",
            ),
        ];
        for (event, field) in cases {
            assert_eq!(
                event.validate(&regions, 3).unwrap_err().0,
                field,
                "{event:?}"
            );
        }
    }

    #[test]
    fn workload_syntax_is_tagged_by_kind() {
        #[derive(Deserialize)]
        struct W {
            schedule: Vec<Event>,
        }
        let w: W = toml::from_str(
            "[[schedule]]\nkind = \"pause\"\nat_s = 2\nduration_s = 1.5\nregion = \"eu-north-1\"\n\n[[schedule]]\nkind = \"rotate_keys\"\nat_s = 1\ncount = 20\n",
        )
        .unwrap();
        assert_eq!(w.schedule[0].kind(), "pause");
        assert_eq!(w.schedule[1].window_s(100.0), 11.0);
        let bad: Result<W, _> = toml::from_str(
            "[[schedule]]\nkind = \"pause\"\nat_s = 2\nduraton_s = 1\nregion = \"x\"\n",
        );
        assert!(bad.is_err());
        // An AZ index that is not one is refused by its field's name.
        let az = |v: &str| {
            toml::from_str::<W>(&format!(
                "[[schedule]]\nkind = \"az_loss\"\nat_s = 1\nregion = \"x\"\naz = {v}\n"
            ))
            .map(|w| w.schedule[0].clone())
        };
        assert!(matches!(az("2"), Ok(Event::AzLoss { az: 2, .. })));
        for bad in ["-1", "1.5", "\"x\""] {
            let e = az(bad).unwrap_err().to_string();
            assert!(e.contains("`az` must be"), "{bad}: {e}");
        }
    }

    #[test]
    fn validation_names_the_field() {
        let regions = vec!["us-east-1".to_string()];
        let e = Event::RegionalIncident {
            at_s: 1.0,
            duration_s: 1.0,
            region: "mars-north-1".into(),
            error_rate: 0.5,
        };
        assert_eq!(e.validate(&regions, 3).unwrap_err().0, "region");
        let e = Event::AzLoss {
            at_s: 1.0,
            duration_s: None,
            region: "us-east-1".into(),
            az: 3,
        };
        assert_eq!(e.validate(&regions, 3).unwrap_err().0, "az");
        assert!(stall(1.0, 0.0).validate(&regions, 3).is_err());
    }
}
