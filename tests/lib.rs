//! Helpers for the end-to-end tests: run the built `tokend` binary as a command or as a
//! server on a random port, and stop it when the test ends.
//!
//! The binary is `target/<profile>/tokend`, built by `cargo xtask test` before the tests run
//! (or named by `TOKEND_BIN`).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The tokend binary under test.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TOKEND_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("no current exe: {e}"));
    // target/<profile>/deps/e2e-<hash> -> target/<profile>/tokend
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap_or_else(|| panic!("unexpected test path"));
    let binary = profile_dir.join(format!("tokend{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} does not exist: run `cargo build -p tokend` first (cargo xtask test does), or set TOKEND_BIN",
        binary.display()
    );
    binary
}

/// What a command printed.
#[derive(Debug)]
pub struct Output {
    /// Exit success.
    pub success: bool,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Argon2 parameters for tests: cheap, so the suite stays fast; production uses the defaults.
pub const CHEAP_ARGON2: [(&str, &str); 2] = [("TOKEND_ARGON2_MEMORY_KIB", "64"), ("TOKEND_ARGON2_ITERATIONS", "1")];

/// Runs `tokend ARGS` against `database_url`, with `stdin` as standard input.
pub fn tokend(database_url: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .env("TOKEND_DATABASE_URL", database_url)
        .envs(CHEAP_ARGON2)
        .env("TOKEND_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run tokend: {e}"));
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("tokend did not finish: {e}"));
    Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running `tokend serve`, stopped (SIGKILL) on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Everything the server printed on stdout before it was ready (includes the bootstrap
    /// administrator's one-time password on a fresh database).
    pub banner: String,
    logs: mpsc::Receiver<String>,
}

impl Server {
    /// Starts `tokend serve` on a random port and waits until it listens.
    pub fn start(database_url: &str, extra_env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary())
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
            .env("TOKEND_DATABASE_URL", database_url)
            .envs(CHEAP_ARGON2)
            .env("TOKEND_LOG", "debug")
            .envs(extra_env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start tokend: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let (log_tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = log_tx.send(line);
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                banner.push_str(&line);
                banner.push('\n');
                if let Some(url) = line.strip_prefix("tokend listening on ") {
                    let _ = tx.send((url.trim().to_owned(), banner.clone()));
                }
            }
        });
        let (base_url, banner) = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("tokend did not start listening within 60 s"));
        Self { child, base_url, banner, logs }
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the server and returns every log line it wrote.
    pub fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut lines = Vec::new();
        while let Ok(line) = self.logs.recv_timeout(Duration::from_millis(500)) {
            lines.push(line);
        }
        lines
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value after `label` on the line that starts with it (`client ID:     tkc_…`).
pub fn field(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{output}"))
}

/// A blocking HTTP client that follows no redirects.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|e| panic!("no http client: {e}"))
}
