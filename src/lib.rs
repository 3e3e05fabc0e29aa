//! sigstorm: a benchmark and load generator for SigV4 identity data planes.
//!
//! It drives real AWS Signature Version 4 signed requests at in-process
//! regional data planes that authenticate and authorize them, to compare
//! derived-key strategies (`none`, `per-region`, `per-service`) by throughput,
//! tail latency and correctness. See `README.md` and `docs/MODEL.md`.
//!
//! # Glossary
//!
//! - *strategy*: where a data plane gets the signing key ([`strategy`]).
//! - *region*, *AZ replica*: a region's data plane runs on AZ replicas, each
//!   with its own replicated store, cache and bounded concurrency
//!   ([`data_plane`]).
//! - *endpoint*: a service (`s3`, `ec2`, ...) in a region ([`service`]).
//! - *workload*: the TOML file describing the world and the load ([`workload`]).
//! - *run*: one workload executed once per strategy ([`run`]).
//! - *intended start* / *actual start*: when the open-loop schedule meant a
//!   request to start, and when the generator sent it; their difference is
//!   the generator's *lateness*.
//! - *latency*: intended start to response. *Service time*: actual start to
//!   response.
//! - *quantile* in code, *percentile* in printed output.
//!
//! # Simulated, and real
//!
//! Real: the SigV4 bytes (checked against AWS's test suites and the
//! `aws-sigv4` crate), the HMACs, the `moka` caches, the HDR histograms, the
//! CPU work of every verification. Simulated: network round trips to the home
//! region (timer sleeps with tokio's millisecond resolution), the control
//! plane's service time, replication delays, and the regions themselves, which
//! all share this process's cores.
//!
//! # Errors and panics
//!
//! Library functions return `thiserror` enums that name what failed; the
//! binary prints the chain once and exits 2. A refused request during a run is
//! a measurement, never an error. Panics mark bugs only.
//!
//! # Unsafe code
//!
//! Denied crate-wide, but for one cast in [`sigv4::digest`] that hands whole
//! blocks of a byte slice to `sha2`'s block function without copying them
//! (its `SAFETY` comment gives the argument, and a test checks the layout it
//! relies on).

#![deny(unsafe_code)]

pub mod cache;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod compare;
pub mod control_plane;
pub mod data_plane;
pub mod health;
pub mod hiccup;
pub mod hlog;
pub mod iam;
pub mod identity;
pub mod loadgen;
pub mod metrics;
pub mod page;
pub mod progress;
pub mod replication;
pub mod report;
pub mod run;
pub mod rundir;
pub mod schedule;
pub mod service;
pub mod sigv4;
pub mod storm;
pub mod strategy;
pub mod summary;
pub mod sweep;
pub mod usl;
pub mod whatif;
pub mod workload;
