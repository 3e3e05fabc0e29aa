//! sigstorm's integration tests, one module per topic.

mod differential;
mod runs;
mod suite;
