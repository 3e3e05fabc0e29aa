//! sigstorm's integration tests, one module per topic.

mod cli;
mod differential;
mod hostile;
mod runs;
mod suite;
