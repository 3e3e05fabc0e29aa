//! The `sigstorm` binary: parse the command line, run it, map the result to
//! an exit code (see `cli`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use sigstorm::cli::{execute, Cli};

fn main() {
    let cli = Cli::parse();
    let filter = match cli.verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handler = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nsigstorm: interrupted twice; exiting without finishing");
            std::process::exit(130);
        }
        eprintln!("\nsigstorm: interrupted; finishing the current strategy's figures (press again to quit now)");
    });
    if let Err(e) = handler {
        tracing::warn!("cannot install the interrupt handler: {e}");
    }

    let code = match execute(cli, &stop) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sigstorm: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
