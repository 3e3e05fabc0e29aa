//! IAM authorization: identity policies, parsed from IAM's JSON policy
//! language and compiled once ([`policy`]), and the wildcard patterns their
//! actions and resources are written in ([`pattern`]).
//!
//! The control plane parses and stores policies; each region's data plane
//! evaluates a principal's policies with [`evaluate`] for the action and
//! resource that the service endpoint ([`crate::service`]) maps a request to.
//! Evaluation allocates nothing and stops at the first explicit deny.

pub mod pattern;
pub mod policy;

pub use pattern::{Case, Pattern};
pub use policy::{
    evaluate, Condition, Decision, Effect, PatternSet, Policy, PolicyError, Statement, StatementAt,
    Version, USER_INLINE_POLICY_MAX_BYTES,
};
