//! `tokend-bench`: the helpers `cargo xtask bench` drives (see `docs/benchmarks.md`).
//!
//! - `fill` loads a fresh database through the store's own connection with many access tokens,
//!   bearer tokens and clients, far faster than the HTTP API could, and writes the credentials
//!   the load generator needs as plain line files.
//! - `baseline` serves a fixed small JSON document from a bare actix-web handler: the same
//!   load against it tells how much of tokend's cost is the framework and the machine.
//! - `pg-schema` creates or drops the PostgreSQL schema a run uses, so the xtask itself needs
//!   no database client.
//!
//! Not part of the product and never run by the tests.

mod baseline;
mod fill;
mod pg;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "tokend-bench", about = "Benchmark helpers for `cargo xtask bench`")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fill a fresh database with access tokens, bearer tokens and clients.
    Fill(fill::FillArgs),
    /// Serve a fixed small JSON document on every path: the baseline.
    Baseline {
        /// Listen address; port 0 lets the system choose (the address is printed).
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: String,
        /// HTTP worker threads (default: one per core, as tokend).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Create or drop a PostgreSQL schema.
    PgSchema {
        /// `create` or `drop`.
        #[arg(value_parser = ["create", "drop"])]
        action: String,
        /// The server, as `postgres://…` (without a search_path option).
        #[arg(long)]
        database_url: String,
        /// The schema name: ASCII letters, digits and underscores.
        #[arg(long)]
        schema: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fill(args) => fill::run(&args),
        Command::Baseline { bind, workers } => baseline::run(&bind, workers),
        Command::PgSchema { action, database_url, schema } => pg::run(&action, &database_url, &schema),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
