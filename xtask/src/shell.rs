//! Running child processes: each command is printed before it runs, and a failure names it.

use std::ffi::OsString;
use std::process::{Command, Stdio};

/// A `cargo` command run from the workspace root. Uses the cargo that launched xtask (`$CARGO`),
/// so the toolchain pinned in rust-toolchain.toml is the one used throughout.
pub fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.args(args.into_iter().map(Into::into)).current_dir(crate::workspace_root());
    command
}

/// How a command reads when printed: `cargo` rather than the full path to the toolchain's cargo,
/// and arguments quoted when they hold spaces or quotes, so the line can be pasted into a shell.
pub fn display(command: &Command) -> String {
    let mut words = vec![String::from("cargo")];
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c));
        words.push(if plain { arg.into_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) });
    }
    words.join(" ")
}

/// Prints the command, runs it with inherited stdio, and fails with the command's text when it
/// cannot start or exits unsuccessfully.
pub fn run(mut command: Command) -> Result<(), String> {
    let text = display(&command);
    eprintln!("$ {text}");
    match command.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{text}` failed ({status})")),
        Err(e) => Err(format!("`{text}` could not start: {e}")),
    }
}

/// Whether the command runs and exits successfully, with its output discarded (for probes such as
/// `cargo nextest --version`).
pub fn succeeds(mut command: Command) -> bool {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    command.status().is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::{cargo, display};

    #[test]
    fn display_quotes_only_what_a_shell_would_split() {
        assert_eq!(display(&cargo(["nextest", "run", "--workspace"])), "cargo nextest run --workspace");
        assert_eq!(display(&cargo(["nextest", "run", "-E", "test(a b)"])), "cargo nextest run -E 'test(a b)'");
        assert_eq!(display(&cargo(["test", "it's"])), r"cargo test 'it'\''s'");
        assert_eq!(display(&cargo(["test", ""])), "cargo test ''");
    }
}
