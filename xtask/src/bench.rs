//! `cargo xtask bench`: a placeholder until the benchmarks are written (issue 6).

use std::process::ExitCode;

pub fn run(_args: &[String]) -> ExitCode {
    eprintln!("not implemented yet: see issue 6");
    ExitCode::from(2)
}
