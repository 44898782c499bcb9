//! The tokend binary: command line, configuration, wiring, and `serve`.

mod cli;
mod config;
mod demo;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    init_logging();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Structured logs on stderr; `TOKEND_LOG` sets the filter (e.g. `info`, `warn,tokend=debug`).
/// Log lines carry ids and outcomes, never secrets, hashes or bearer tokens.
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = std::env::var("TOKEND_LOG")
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let json = std::env::var("TOKEND_LOG_FORMAT").is_ok_and(|f| f == "json");
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false);
    if json {
        tracing_subscriber::registry().with(layer.json()).with(filter).init();
    } else {
        tracing_subscriber::registry().with(layer).with(filter).init();
    }
}
