//! `cargo xtask`: the project's automation (test, bench, tidy) written in Rust, with no dependencies.
//!
//! The tidy checks are ordinary `#[test]`s in `tidy.rs`, so `cargo xtask test` (the README's
//! test command) is the whole gate: there is no separate lint step to forget.

mod bench;
mod shell;
mod test;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// One subcommand. Adding a command means adding a module and one entry to [`COMMANDS`];
/// the dispatch and the usage text follow from the table.
struct Command {
    name: &'static str,
    args: &'static str,
    about: &'static str,
    run: fn(&[String]) -> ExitCode,
}

const COMMANDS: &[Command] = &[
    Command {
        name: "test",
        args: "[ARGS...]",
        about: "build tokend, then run all tests (nextest, else cargo test) and the doctests; ARGS go to the test runner",
        run: test::run,
    },
    Command {
        name: "bench",
        args: bench::ARGS,
        about: "build tokend in release, load it with wrk against a bare baseline, write docs/benchmarks.md",
        run: bench::run,
    },
    Command { name: "help", args: "", about: "print this text", run: help },
];

fn usage() -> String {
    let width = COMMANDS.iter().map(|c| c.name.len() + 1 + c.args.len()).max().unwrap_or(0);
    let mut text = String::from("Usage: cargo xtask <COMMAND>\n\nCommands:\n");
    for command in COMMANDS {
        let head = if command.args.is_empty() {
            command.name.to_owned()
        } else {
            format!("{} {}", command.name, command.args)
        };
        text.push_str(&format!("  {head:<width$}  {}\n", command.about));
    }
    text.push_str(
        "\nEnvironment (for `test`):\n  \
         TOKEND_TEST_POSTGRES_URL  PostgreSQL server for the store tests (unset: their PostgreSQL half is skipped)\n  \
         TOKEND_REQUIRE_POSTGRES   set to 1 to make a missing TOKEND_TEST_POSTGRES_URL an error (CI does)\n",
    );
    text
}

fn help(_args: &[String]) -> ExitCode {
    print!("{}", usage());
    ExitCode::SUCCESS
}

/// The workspace root: xtask's own folder is one level below it.
fn workspace_root() -> PathBuf {
    let xtask_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    xtask_dir.parent().unwrap_or(xtask_dir).to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((name, rest)) = args.split_first() else {
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    let name = match name.as_str() {
        "-h" | "--help" => "help",
        other => other,
    };
    match COMMANDS.iter().find(|c| c.name == name) {
        Some(command) => (command.run)(rest),
        None => {
            eprint!("error: unknown command `{name}`\n\n{}", usage());
            ExitCode::from(2)
        }
    }
}
