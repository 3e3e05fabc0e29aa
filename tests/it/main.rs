//! sigstorm's integration tests, one module per topic.

mod cli;
mod differential;
mod hostile;
mod promises;
mod report;
mod runs;
mod suite;
mod sweep;
mod whatif;
mod workloads;
