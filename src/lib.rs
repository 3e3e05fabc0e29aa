//! sigstorm: a benchmark and load generator for SigV4 identity data planes.
pub mod sigv4;
