//! The field a sweep varies: `--vary NAME=V1,V2,...` parsed into values, a
//! short alias or dotted workload path resolved, and the value set through
//! the workload's own serialization and validation, so that every numeric
//! field works and a bad value is refused with the field named.

use std::fmt::Write as _;

use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use super::{RATE_FIELD, WORKERS_FIELD};
use crate::workload::Workload;

/// The short names of `--vary` and the workload paths they stand for
/// (`regions` keeps the first N regions; `delay` scales the p99 delay with
/// the median).
pub const ALIASES: &[(&str, &str)] = &[
    ("rate", RATE_FIELD),
    ("workers", WORKERS_FIELD),
    ("users", "principals.users"),
    ("keys", "principals.users"),
    ("cache", "data_plane.cache_capacity"),
    ("delay", "replication.delay_median_ms"),
    ("regions", "regions"),
];

/// The most values one sweep may have.
pub const MAX_VALUES: usize = 1000;

/// What a sweep varies: the name as given, the workload path it resolves to,
/// and the values, ascending.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Vary {
    /// The name as given (`rate`, or a dotted path).
    pub name: String,
    /// The workload path (`load.rate_per_sec`; `regions` for the region
    /// count).
    pub field: String,
    /// The values, ascending, each once.
    pub values: Vec<f64>,
}

impl Vary {
    /// Parse `NAME=V1,V2,...` (values may end in `k` or `M`: `20k`).
    ///
    /// # Errors
    ///
    /// A missing `=`, an empty name, or a value that is not a finite number.
    pub fn parse(s: &str) -> Result<Vary> {
        let Some((name, list)) = s.split_once('=') else {
            bail!("--vary '{s}' is not NAME=V1,V2,... (for example rate=2000,5000,10000)");
        };
        let name = name.trim();
        if name.is_empty() {
            bail!("--vary '{s}' names no field");
        }
        let mut values = Vec::new();
        for v in list.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            values.push(parse_number(v).with_context(|| format!("--vary {name}"))?);
        }
        if values.is_empty() {
            bail!("--vary {name} needs at least one value");
        }
        if values.len() > MAX_VALUES {
            bail!(
                "--vary {name} has {} values, more than {MAX_VALUES}",
                values.len()
            );
        }
        values.sort_by(f64::total_cmp);
        values.dedup();
        let field = resolve(name);
        if field == "slo" || field.starts_with("slo.") {
            bail!(
                "--vary {name}: the SLO is what points are judged by, not a value they run with; \
                 a sweep judges every point by one SLO, set with --slo"
            );
        }
        Ok(Vary {
            name: name.to_string(),
            field: field.to_string(),
            values,
        })
    }

    /// Whether the sweep varies the offered rate.
    pub fn is_rate(&self) -> bool {
        self.field == RATE_FIELD
    }

    /// Whether the sweep varies the data-plane thread count.
    pub fn is_workers(&self) -> bool {
        self.field == WORKERS_FIELD
    }
}

fn parse_number(v: &str) -> Result<f64> {
    let (digits, factor) = if let Some(d) = v.strip_suffix(['k', 'K']) {
        (d, 1e3)
    } else if let Some(d) = v.strip_suffix('M') {
        (d, 1e6)
    } else {
        (v, 1.0)
    };
    match digits.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x * factor),
        _ => bail!("'{v}' is not a number"),
    }
}

/// The workload path an alias stands for (a path stands for itself).
pub fn resolve(name: &str) -> &str {
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == name)
        .map_or(name, |(_, path)| path)
}

/// `workload` with the field `name` (a dotted path or an alias) set to
/// `value`, validated.
///
/// # Errors
///
/// An unknown or non-numeric field, a fraction for a whole-number field, or
/// a value the workload's validation refuses; each names the field.
pub fn set_field(workload: &Workload, name: &str, value: f64) -> Result<Workload> {
    let path = resolve(name);
    let mut w = workload.clone();
    if path == "regions" {
        let n = whole(name, value)?;
        if n < 1 || n as usize > w.regions.len() {
            bail!(
                "`regions` (the number of regions kept, from the first) must be 1 to {}, the \
                 workload's regions, not {value}",
                w.regions.len()
            );
        }
        w.regions.truncate(n as usize);
        return checked(w, name, value);
    }
    if path == "replication.delay_median_ms" && name == "delay" {
        if !(value.is_finite() && value >= 0.0) {
            bail!("`delay` (replication.delay_median_ms) must be 0 or more, not {value}");
        }
        let rep = &mut w.replication;
        rep.delay_p99_ms = if rep.delay_median_ms > 0.0 {
            value * rep.delay_p99_ms / rep.delay_median_ms
        } else {
            rep.delay_p99_ms.max(value)
        };
        rep.delay_median_ms = value;
        return checked(w, name, value);
    }
    let mut doc = toml::Value::try_from(&w)
        .map_err(|e| anyhow::anyhow!("cannot represent the workload to set `{path}`: {e}"))?;
    let steps = parse_path(path)?;
    set_in(&mut doc, &steps, path, value)?;
    let w: Workload = doc.try_into().map_err(|e: toml::de::Error| {
        anyhow::anyhow!("cannot set `{path}` to {value}: {}", e.message())
    })?;
    checked(w, name, value)
}

fn whole(name: &str, value: f64) -> Result<i64> {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 9e15 {
        Ok(value as i64)
    } else {
        bail!("`{name}` takes a whole number, not {value}")
    }
}

fn checked(w: Workload, name: &str, value: f64) -> Result<Workload> {
    // `--duration` may have cut the run short of scheduled events: `run`
    // notes those and goes on, and so does a sweep, unless it varies a
    // field of the schedule itself (an event that will not happen makes
    // every point the same).
    let mut probe = w.clone();
    if !resolve(name).starts_with("schedule") {
        let last = probe.schedule.iter().map(|e| e.at_s()).fold(0.0, f64::max);
        if last >= probe.run.duration_s {
            probe.run.duration_s = (last + 1.0).min(3600.0);
        }
    }
    match probe.validate() {
        Ok(()) => Ok(w),
        Err((field, message)) if field.starts_with("schedule[") && field.ends_with(".at_s") => {
            bail!(
                "with {name} = {value}: field `{field}`: {message}, so varying `{name}` would \
                 change nothing; lengthen --duration"
            )
        }
        Err((field, message)) => bail!("with {name} = {value}: field `{field}`: {message}"),
    }
}

/// One step of a path: a table key, then array indices.
#[derive(Debug, PartialEq)]
struct Step {
    key: String,
    indices: Vec<usize>,
}

fn parse_path(path: &str) -> Result<Vec<Step>> {
    let bad = || {
        anyhow::anyhow!(
            "`{path}` is not a workload field path such as load.rate_per_sec or schedule[0].count"
        )
    };
    let mut steps = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad());
        }
        let mut indices = Vec::new();
        while !rest.is_empty() {
            let close = rest.find(']').ok_or_else(bad)?;
            if !rest.starts_with('[') {
                return Err(bad());
            }
            indices.push(rest[1..close].parse::<usize>().map_err(|_| bad())?);
            rest = &rest[close + 1..];
        }
        steps.push(Step {
            key: key.to_string(),
            indices,
        });
    }
    Ok(steps)
}

fn set_in(doc: &mut toml::Value, steps: &[Step], path: &str, value: f64) -> Result<()> {
    let unknown =
        |upto: &str| anyhow::anyhow!("unknown workload field `{upto}` (in --vary {path})");
    let mut node = doc;
    let mut seen = String::new();
    for (i, step) in steps.iter().enumerate() {
        if !seen.is_empty() {
            seen.push('.');
        }
        seen.push_str(&step.key);
        let last = i + 1 == steps.len() && step.indices.is_empty();
        let toml::Value::Table(table) = node else {
            return Err(unknown(&seen));
        };
        if last {
            let new = match table.get(&step.key) {
                Some(toml::Value::Integer(_)) => toml::Value::Integer(whole(path, value)?),
                Some(toml::Value::Float(_)) | None => toml::Value::Float(value),
                Some(other) => bail!(
                    "`{path}` is not a numeric field (it is {} {})",
                    if other.type_str() == "array" {
                        "an"
                    } else {
                        "a"
                    },
                    other.type_str()
                ),
            };
            table.insert(step.key.clone(), new);
            return Ok(());
        }
        // A missing table (an optional section) is created; deserializing
        // refuses it if the workload has no such field.
        node = table
            .entry(step.key.clone())
            .or_insert_with(|| toml::Value::Table(toml::map::Map::new()));
        for (k, &idx) in step.indices.iter().enumerate() {
            let _ = write!(seen, "[{idx}]");
            let toml::Value::Array(items) = node else {
                return Err(unknown(&seen));
            };
            let len = items.len();
            let Some(item) = items.get_mut(idx) else {
                bail!("`{seen}` does not exist: the workload has {len} there (in --vary {path})");
            };
            node = item;
            if i + 1 == steps.len() && k + 1 == step.indices.len() {
                return match node {
                    toml::Value::Integer(_) => {
                        *node = toml::Value::Integer(whole(path, value)?);
                        Ok(())
                    }
                    toml::Value::Float(_) => {
                        *node = toml::Value::Float(value);
                        Ok(())
                    }
                    other => bail!(
                        "`{path}` is not a numeric field (it is a {})",
                        other.type_str()
                    ),
                };
            }
        }
    }
    Err(unknown(path))
}
