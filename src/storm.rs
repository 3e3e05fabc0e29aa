//! Driving a workload's `[[schedule]]` while traffic flows: each storm or
//! fault becomes a list of timed actions on the control plane (through its
//! API, as a customer's automation would call it), on the regions'
//! replication streams, on their data planes and on the clients, plus the
//! control plane's own job of pushing tomorrow's region keys ahead of UTC
//! midnight.
//!
//! [`Driver::run_due`] performs every action due by a given time, so tests
//! drive a schedule step by step with a clock they advance by hand;
//! [`Driver::run`] drives it in real time on its own thread during a run.
//! Every action is logged with its lateness, its duration and the API errors
//! it met, by IAM's error names.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::control_plane::{ApiError, ControlPlane, Incident, IssuedKey, PushReport};
use crate::data_plane::DataPlanes;
use crate::identity::{KeyStatus, UserId};
use crate::loadgen::traffic::{user_policy, ClientBook, BUCKET};
use crate::schedule::Event;
use crate::sigv4::amz_date::AmzDate;

/// The inline policy name of the policy-change storm.
pub const STORM_POLICY: &str = "sigstorm-storm-deny";

/// The policy the policy-change storm attaches: it denies reading the
/// bucket's objects, which the default policy allows.
pub fn storm_deny_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"StormDeny","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::{BUCKET}/*"}}]}}"#
    )
}

/// One thing the driver does.
#[derive(Clone, Debug, PartialEq)]
enum Action {
    /// Create a second key for each of the first `count` clients' users.
    RotateCreate { event: usize, count: usize },
    /// Switch those clients to their new keys.
    RotateSwitch { event: usize },
    /// Set the old keys' status.
    RotateRetire { event: usize, status: KeyStatus },
    /// Onboard `count` users: user, policy and key each.
    CreateUsers { event: usize, count: usize },
    /// Their clients start sending.
    UseUsers { event: usize },
    /// Attach or remove the deny policy of the first `principals` users.
    Policy { principals: usize, deny: bool },
    /// Close or open the replication streams of `regions`.
    Stream { regions: Vec<usize>, open: bool },
    /// Start or end a control-plane incident.
    ControlPlane { incident: Option<Incident> },
    /// Set a region's data-plane error rate.
    RegionErrors { region: usize, rate: f64 },
    /// Pause or resume a region's data plane.
    Pause { region: usize, paused: bool },
    /// Take an AZ replica down or bring it back.
    Az { region: usize, az: usize, up: bool },
    /// Derive and replicate every active key's region keys for the date at
    /// simulated time `for_unix_s`.
    PushKeys { for_unix_s: i64 },
}

impl Action {
    fn name(&self) -> &'static str {
        match self {
            Action::RotateCreate { .. } => "rotate: create new keys",
            Action::RotateSwitch { .. } => "rotate: switch clients",
            Action::RotateRetire {
                status: KeyStatus::Deleted,
                ..
            } => "rotate: delete old keys",
            Action::RotateRetire { .. } => "rotate: deactivate old keys",
            Action::CreateUsers { .. } => "create users",
            Action::UseUsers { .. } => "new users start sending",
            Action::Policy { deny: true, .. } => "attach deny policy",
            Action::Policy { deny: false, .. } => "remove deny policy",
            Action::Stream { open: false, .. } => "replication stalls",
            Action::Stream { open: true, .. } => "replication resumes",
            Action::ControlPlane { incident: Some(_) } => "control-plane incident starts",
            Action::ControlPlane { incident: None } => "control-plane incident ends",
            Action::RegionErrors { rate, .. } if *rate > 0.0 => "regional incident starts",
            Action::RegionErrors { .. } => "regional incident ends",
            Action::Pause { paused: true, .. } => "data plane pauses",
            Action::Pause { paused: false, .. } => "data plane resumes",
            Action::Az { up: false, .. } => "AZ replica stops",
            Action::Az { up: true, .. } => "AZ replica returns",
            Action::PushKeys { .. } => "push tomorrow's region keys",
        }
    }
}

#[derive(Clone, Debug)]
struct Timed {
    at_s: f64,
    action: Action,
    target: String,
}

/// What one action did, for `summary.json`.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct ActionRecord {
    /// Seconds from the start of measurement it was due (negative: in the
    /// warm-up).
    pub at_s: f64,
    /// What it was.
    pub action: String,
    /// What it touched (users, regions, an AZ).
    pub target: String,
    /// How late it started, milliseconds (real time; zero when driven by
    /// hand).
    pub late_ms: f64,
    /// How long it took, milliseconds (real time).
    pub duration_ms: f64,
    /// Control-plane API calls it made.
    pub api_calls: u64,
    /// Calls that failed, by IAM's error name.
    pub api_errors: BTreeMap<String, u64>,
    /// For the push of tomorrow's keys: what was derived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushReport>,
}

/// State carried from one action of an event to the next.
#[derive(Default)]
struct Carried {
    /// Per rotate event: (old key, new key) per client rotated.
    rotations: BTreeMap<usize, Vec<(IssuedKey, IssuedKey)>>,
    /// Per create event: the new clients.
    onboarded: BTreeMap<usize, Vec<IssuedKey>>,
}

/// Performs a schedule's actions on a world.
pub struct Driver {
    control_plane: Arc<ControlPlane>,
    planes: Arc<DataPlanes>,
    book: Arc<ClientBook>,
    account_id: String,
    actions: Vec<Timed>,
    next: usize,
    carried: Carried,
    log: Vec<ActionRecord>,
}

/// The control plane's push of the next day's region keys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Push {
    /// When, seconds from the start of measurement (negative: in the
    /// warm-up).
    pub at_s: f64,
    /// The midnight that starts the day pushed, Unix seconds.
    pub midnight_unix_s: i64,
}

/// When the control plane pushes the next day's region keys in a run whose
/// midnight falls `midnight_s` after the start of measurement: `push_ahead_s`
/// before it, if that is after the simulated clock started (`warmup_s`
/// before measurement); `None` when the bootstrap already derived them or
/// there is no midnight in the run. With `push_ahead_s` = 0 the push happens
/// at midnight itself, and the regions lack the new day's keys until it
/// replicates.
pub fn push_for(
    midnight_s: Option<f64>,
    push_ahead_s: f64,
    warmup_s: f64,
    window_start_unix_ms: i64,
) -> Option<Push> {
    let m = midnight_s?;
    let at_s = m - push_ahead_s;
    let midnight_unix_s = ((window_start_unix_ms as f64 / 1000.0 + m).round()) as i64;
    (at_s >= -warmup_s).then_some(Push {
        at_s,
        midnight_unix_s,
    })
}

impl Driver {
    /// A driver of `schedule` on a world, with the push of the next day's
    /// keys when there is one (see [`push_for`]).
    pub fn new(
        schedule: &[Event],
        planes: Arc<DataPlanes>,
        book: Arc<ClientBook>,
        account_id: &str,
        push: Option<Push>,
    ) -> Driver {
        let region_index = |name: &str| planes.regions.iter().position(|r| r.name == name);
        let all_regions: Vec<usize> = (0..planes.regions.len()).collect();
        let mut actions = Vec::new();
        let mut add = |at_s: f64, action: Action, target: String| {
            actions.push(Timed {
                at_s,
                action,
                target,
            });
        };
        for (event, e) in schedule.iter().enumerate() {
            match e {
                Event::RotateKeys {
                    at_s,
                    count,
                    switch_after_s,
                    deactivate_after_s,
                    delete_after_s,
                } => {
                    let who = format!("{count} users");
                    add(
                        *at_s,
                        Action::RotateCreate {
                            event,
                            count: *count,
                        },
                        who.clone(),
                    );
                    add(
                        at_s + switch_after_s,
                        Action::RotateSwitch { event },
                        who.clone(),
                    );
                    add(
                        at_s + deactivate_after_s,
                        Action::RotateRetire {
                            event,
                            status: KeyStatus::Inactive,
                        },
                        who.clone(),
                    );
                    if let Some(d) = delete_after_s {
                        add(
                            at_s + d,
                            Action::RotateRetire {
                                event,
                                status: KeyStatus::Deleted,
                            },
                            who,
                        );
                    }
                }
                Event::CreateUsers {
                    at_s,
                    count,
                    use_after_s,
                } => {
                    let who = format!("{count} users");
                    add(
                        *at_s,
                        Action::CreateUsers {
                            event,
                            count: *count,
                        },
                        who.clone(),
                    );
                    add(at_s + use_after_s, Action::UseUsers { event }, who);
                }
                Event::PolicyChange {
                    at_s,
                    principals,
                    deny,
                } => add(
                    *at_s,
                    Action::Policy {
                        principals: *principals,
                        deny: *deny,
                    },
                    format!("{principals} users"),
                ),
                Event::ReplicationStall {
                    at_s,
                    duration_s,
                    regions,
                } => {
                    let stalled: Vec<usize> = if regions.is_empty() {
                        all_regions.clone()
                    } else {
                        regions.iter().filter_map(|r| region_index(r)).collect()
                    };
                    stall(&mut add, &planes, *at_s, *duration_s, stalled);
                }
                Event::ControlPlaneIncident {
                    at_s,
                    duration_s,
                    api_latency_ms,
                    api_error_rate,
                    stall_regions,
                } => {
                    let incident = Incident {
                        api_latency: Duration::from_secs_f64(api_latency_ms / 1000.0),
                        error_rate: *api_error_rate,
                    };
                    add(
                        *at_s,
                        Action::ControlPlane {
                            incident: Some(incident),
                        },
                        planes.control_plane().settings().home_region.clone(),
                    );
                    add(
                        at_s + duration_s,
                        Action::ControlPlane { incident: None },
                        planes.control_plane().settings().home_region.clone(),
                    );
                    let stalled: Vec<usize> = stall_regions
                        .iter()
                        .filter_map(|r| region_index(r))
                        .collect();
                    if !stalled.is_empty() {
                        stall(&mut add, &planes, *at_s, *duration_s, stalled);
                    }
                }
                Event::RegionalIncident {
                    at_s,
                    duration_s,
                    region,
                    error_rate,
                } => {
                    if let Some(r) = region_index(region) {
                        add(
                            *at_s,
                            Action::RegionErrors {
                                region: r,
                                rate: *error_rate,
                            },
                            region.clone(),
                        );
                        add(
                            at_s + duration_s,
                            Action::RegionErrors {
                                region: r,
                                rate: 0.0,
                            },
                            region.clone(),
                        );
                    }
                }
                Event::Pause {
                    at_s,
                    duration_s,
                    region,
                } => {
                    if let Some(r) = region_index(region) {
                        add(
                            *at_s,
                            Action::Pause {
                                region: r,
                                paused: true,
                            },
                            region.clone(),
                        );
                        add(
                            at_s + duration_s,
                            Action::Pause {
                                region: r,
                                paused: false,
                            },
                            region.clone(),
                        );
                    }
                }
                Event::AzLoss {
                    at_s,
                    duration_s,
                    region,
                    az,
                } => {
                    if let Some(r) = region_index(region) {
                        let target = format!("{region} AZ {az}");
                        add(
                            *at_s,
                            Action::Az {
                                region: r,
                                az: *az,
                                up: false,
                            },
                            target.clone(),
                        );
                        if let Some(d) = duration_s {
                            add(
                                at_s + d,
                                Action::Az {
                                    region: r,
                                    az: *az,
                                    up: true,
                                },
                                target,
                            );
                        }
                    }
                }
            }
        }
        if let Some(push) = push {
            add(
                push.at_s,
                Action::PushKeys {
                    for_unix_s: push.midnight_unix_s,
                },
                "every active key, every region".to_string(),
            );
        }
        // Stable: actions due at the same time keep the schedule's order.
        actions.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        Driver {
            control_plane: planes.control_plane().clone(),
            planes,
            book,
            account_id: account_id.to_string(),
            actions,
            next: 0,
            carried: Carried::default(),
            log: Vec::new(),
        }
    }

    /// Actions not yet performed.
    pub fn pending(&self) -> usize {
        self.actions.len() - self.next
    }

    /// When the next action is due, seconds from the start of measurement.
    pub fn next_at_s(&self) -> Option<f64> {
        self.actions.get(self.next).map(|t| t.at_s)
    }

    /// What was done so far.
    pub fn log(&self) -> &[ActionRecord] {
        &self.log
    }

    /// Take the log.
    pub fn into_log(self) -> Vec<ActionRecord> {
        self.log
    }

    /// Perform every action due by `now_s` (seconds from the start of
    /// measurement); `late_ms` says how late the caller is, for the log.
    /// Returns how many it performed.
    pub fn run_due(&mut self, now_s: f64) -> usize {
        let mut done = 0;
        while let Some(timed) = self.actions.get(self.next).cloned() {
            if timed.at_s > now_s {
                break;
            }
            self.next += 1;
            let started = Instant::now();
            let (api_calls, api_errors, push) = self.perform(&timed.action);
            self.log.push(ActionRecord {
                at_s: timed.at_s,
                action: timed.action.name().to_string(),
                target: timed.target.clone(),
                late_ms: 0.0,
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                api_calls,
                api_errors,
                push,
            });
            done += 1;
        }
        done
    }

    /// Drive the schedule in real time: `window_start` is the instant
    /// measurement starts; stops at `end` or when `stop` is set.
    pub fn run(&mut self, window_start: Instant, end: Instant, stop: &AtomicBool) {
        while let Some(at_s) = self.next_at_s() {
            let due = offset(window_start, at_s);
            loop {
                let now = Instant::now();
                if stop.load(Ordering::Relaxed) || now >= end {
                    return;
                }
                if now >= due {
                    break;
                }
                std::thread::sleep((due - now).min(Duration::from_millis(50)));
            }
            let late_ms = Instant::now().saturating_duration_since(due).as_secs_f64() * 1000.0;
            let first = self.log.len();
            self.run_due(at_s);
            for record in &mut self.log[first..] {
                record.late_ms = late_ms;
            }
        }
    }

    /// End every fault still in force (the run is over): streams open,
    /// regions answer, AZs up, the control plane healthy.
    pub fn heal(&self) {
        self.control_plane.set_incident(None);
        for region in &self.planes.regions {
            region.gate.open();
            region.fault.set_error_rate(0.0);
            region.fault.resume();
            for az in &region.azs {
                az.set_up(true);
            }
        }
    }

    fn perform(&mut self, action: &Action) -> (u64, BTreeMap<String, u64>, Option<PushReport>) {
        let mut calls = Calls::default();
        let mut push = None;
        let cp = self.control_plane.clone();
        match action {
            Action::RotateCreate { event, count } => {
                let clients = self.book.snapshot();
                let mut rotated = Vec::new();
                for old in distinct_users(&clients).into_iter().take(*count) {
                    if let Some(new) = calls.call(&cp, |cp| cp.create_access_key(old.user)) {
                        rotated.push((old, new));
                    }
                }
                self.carried.rotations.insert(*event, rotated);
            }
            Action::RotateSwitch { event } => {
                if let Some(pairs) = self.carried.rotations.get(event) {
                    self.book.switch_all(pairs);
                }
            }
            Action::RotateRetire { event, status } => {
                let olds: Vec<IssuedKey> = self
                    .carried
                    .rotations
                    .get(event)
                    .into_iter()
                    .flatten()
                    .map(|(old, _)| old.clone())
                    .collect();
                for old in olds {
                    calls.call(&cp, |cp| {
                        cp.set_access_key_status(old.access_key_id, *status)
                    });
                }
            }
            Action::CreateUsers { event, count } => {
                let policy = user_policy(&self.account_id);
                let mut issued = Vec::new();
                for i in 0..*count {
                    let name = format!("storm{event}-{i:06}");
                    let Some(user) = calls.call(&cp, |cp| cp.create_user(&name)) else {
                        continue;
                    };
                    if calls
                        .call(&cp, |cp| {
                            cp.put_user_policy(user, "sigstorm-default", &policy)
                        })
                        .is_none()
                    {
                        continue;
                    }
                    if let Some(key) = calls.call(&cp, |cp| cp.create_access_key(user)) {
                        issued.push(key);
                    }
                }
                self.carried.onboarded.insert(*event, issued);
            }
            Action::UseUsers { event } => {
                if let Some(new) = self.carried.onboarded.get(event) {
                    self.book.add(new);
                }
            }
            Action::Policy { principals, deny } => {
                let doc = storm_deny_policy();
                let users: Vec<UserId> = distinct_users(&self.book.snapshot())
                    .into_iter()
                    .take(*principals)
                    .map(|k| k.user)
                    .collect();
                for user in users {
                    if *deny {
                        calls.call(&cp, |cp| cp.put_user_policy(user, STORM_POLICY, &doc));
                    } else {
                        calls.call(&cp, |cp| cp.delete_user_policy(user, STORM_POLICY));
                    }
                }
            }
            Action::Stream { regions, open } => {
                for r in regions {
                    if let Some(region) = self.planes.regions.get(*r) {
                        if *open {
                            region.gate.open();
                        } else {
                            region.gate.close();
                        }
                    }
                }
            }
            Action::ControlPlane { incident } => cp.set_incident(*incident),
            Action::RegionErrors { region, rate } => {
                if let Some(region) = self.planes.regions.get(*region) {
                    region.fault.set_error_rate(*rate);
                }
            }
            Action::Pause { region, paused } => {
                if let Some(region) = self.planes.regions.get(*region) {
                    if *paused {
                        region.fault.pause();
                    } else {
                        region.fault.resume();
                    }
                }
            }
            Action::Az { region, az, up } => {
                if let Some(az) = self
                    .planes
                    .regions
                    .get(*region)
                    .and_then(|r| r.azs.get(*az))
                {
                    az.set_up(*up);
                }
            }
            Action::PushKeys { for_unix_s } => {
                push = Some(cp.push_region_keys(AmzDate::from_unix(*for_unix_s)));
            }
        }
        (calls.made, calls.errors, push)
    }
}

/// Counts the API calls of one action.
#[derive(Default)]
struct Calls {
    made: u64,
    errors: BTreeMap<String, u64>,
}

impl Calls {
    fn call<T>(
        &mut self,
        cp: &ControlPlane,
        f: impl FnOnce(&ControlPlane) -> Result<T, ApiError>,
    ) -> Option<T> {
        self.made += 1;
        match cp.api(f) {
            Ok(v) => Some(v),
            Err(e) => {
                *self.errors.entry(e.name().to_string()).or_default() += 1;
                None
            }
        }
    }
}

/// The first client key of each user, in book order (the most requested
/// users first: the generator's popularity follows that order).
fn distinct_users(clients: &[IssuedKey]) -> Vec<IssuedKey> {
    let mut seen = std::collections::HashSet::new();
    clients
        .iter()
        .filter(|k| seen.insert(k.user))
        .cloned()
        .collect()
}

/// Close the streams of `regions` at `at_s` and open them `duration_s` later.
fn stall(
    add: &mut impl FnMut(f64, Action, String),
    planes: &DataPlanes,
    at_s: f64,
    duration_s: f64,
    regions: Vec<usize>,
) {
    let names = names(planes, &regions);
    add(
        at_s,
        Action::Stream {
            regions: regions.clone(),
            open: false,
        },
        names.clone(),
    );
    add(
        at_s + duration_s,
        Action::Stream {
            regions,
            open: true,
        },
        names,
    );
}

fn names(planes: &DataPlanes, regions: &[usize]) -> String {
    regions
        .iter()
        .filter_map(|r| planes.regions.get(*r).map(|r| r.name.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn offset(start: Instant, at_s: f64) -> Instant {
    // Validated times are at most a day; saturate anything else rather than
    // panic.
    let by = Duration::try_from_secs_f64(at_s.abs()).unwrap_or(Duration::from_secs(86_400));
    if at_s >= 0.0 {
        start.checked_add(by).unwrap_or(start)
    } else {
        start.checked_sub(by).unwrap_or(start)
    }
}
