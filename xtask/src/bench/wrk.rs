//! Running wrk, the load generator: a separate process on the loopback interface, bounded in
//! time and connections. `crates/tokend-bench/lua/bench.lua` chooses the requests and ends
//! wrk's report with machine-readable `BENCH` and `STATUS` lines, which are parsed here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use crate::shell;

/// What each request is.
#[derive(Debug, Clone)]
pub enum Requests {
    /// `GET path` with `Authorization: Bearer <line>`, rotating through the file's lines.
    Bearer { path: &'static str, file: PathBuf },
    /// `POST path` with each line of the file as a form body in turn.
    Form { path: &'static str, file: PathBuf },
    /// The same `GET path` every time, with an optional `Authorization` value.
    Get { path: String, authorization: Option<String> },
}

/// One load: requests, connections and duration.
#[derive(Debug, Clone)]
pub struct Load {
    pub requests: Requests,
    pub connections: u32,
    pub duration: Duration,
}

impl Load {
    /// `64 conn × 10 s`, for the report.
    pub fn describe(&self) -> String {
        format!("{} conn × {} s", self.connections, self.duration.as_secs())
    }
}

/// What one wrk run measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub requests: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Connect, read and write errors and timeouts: requests that got no HTTP answer.
    pub socket_errors: u64,
    /// HTTP answers by status code.
    pub statuses: BTreeMap<u16, u64>,
}

impl Measured {
    /// Requests answered per second (any status).
    pub fn rps(&self) -> f64 {
        if self.seconds > 0.0 { self.requests as f64 / self.seconds } else { 0.0 }
    }

    /// Answers whose status is in `range`.
    pub fn count(&self, range: std::ops::RangeInclusive<u16>) -> u64 {
        self.statuses.iter().filter(|(status, _)| range.contains(status)).map(|(_, n)| n).sum()
    }

    /// Successful (2xx) answers per second.
    pub fn ok_per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.count(200..=299) as f64 / self.seconds } else { 0.0 }
    }

    /// Requests that failed: no answer, or an answer other than 2xx.
    pub fn errors(&self) -> u64 {
        self.socket_errors + self.statuses.values().sum::<u64>() - self.count(200..=299)
    }

    /// `401: 12, 429: 3400` — every status seen, then the socket errors if any.
    pub fn statuses_text(&self) -> String {
        let mut parts: Vec<String> = self.statuses.iter().map(|(status, n)| format!("{status}: {n}")).collect();
        if self.socket_errors > 0 {
            parts.push(format!("socket errors: {}", self.socket_errors));
        }
        parts.join(", ")
    }
}

fn script() -> PathBuf {
    crate::workspace_root().join("crates/tokend-bench/lua/bench.lua")
}

fn command(base_url: &str, load: &Load) -> Command {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(load.connections as usize).max(1);
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{}", load.connections))
        .arg(format!("-d{}s", load.duration.as_secs().max(1)))
        .args(["--timeout", "5s", "--latency", "-s"])
        .arg(script())
        .arg(base_url)
        .arg("--");
    match &load.requests {
        Requests::Bearer { path, file } => command.args(["lines", *path]).arg(file),
        Requests::Form { path, file } => command.args(["form", *path]).arg(file),
        Requests::Get { path, authorization } => command.args(["get", path.as_str()]).args(authorization),
    };
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command
}

/// Starts wrk and returns at once (for a second load running alongside another).
pub fn spawn(base_url: &str, load: &Load) -> Result<Child, String> {
    command(base_url, load).spawn().map_err(|e| format!("cannot start wrk: {e}"))
}

/// Waits for a wrk started by [`spawn`] and parses its report.
pub fn finish(child: Child) -> Result<Measured, String> {
    let output = child.wait_with_output().map_err(|e| format!("wrk: {e}"))?;
    parse_output(&output)
}

/// Runs one load to the end.
pub fn run(base_url: &str, load: &Load) -> Result<Measured, String> {
    finish(spawn(base_url, load)?)
}

fn parse_output(output: &Output) -> Result<Measured, String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("wrk failed ({}): {}{}", output.status, stderr.trim(), stdout.trim()));
    }
    parse(&stdout).ok_or_else(|| format!("wrk's output has no BENCH line:\n{stdout}"))
}

/// Reads the `BENCH` and `STATUS` lines that bench.lua's `done` prints.
pub fn parse(stdout: &str) -> Option<Measured> {
    let mut measured = None;
    let mut statuses = BTreeMap::new();
    for line in stdout.lines() {
        if let Some(fields) = line.strip_prefix("BENCH ") {
            let values: BTreeMap<&str, u64> = fields
                .split_whitespace()
                .filter_map(|field| field.split_once('='))
                .filter_map(|(key, value)| Some((key, value.parse().ok()?)))
                .collect();
            let get = |key: &str| values.get(key).copied();
            let ms = |key: &str| get(key).map(|us| us as f64 / 1000.0);
            measured = Some(Measured {
                requests: get("requests")?,
                seconds: get("duration_us")? as f64 / 1e6,
                p50_ms: ms("p50_us")?,
                p90_ms: ms("p90_us")?,
                p99_ms: ms("p99_us")?,
                max_ms: ms("max_us")?,
                socket_errors: ["connect", "read", "write", "timeout"].iter().filter_map(|key| get(key)).sum(),
                statuses: BTreeMap::new(),
            });
        } else if let Some(fields) = line.strip_prefix("STATUS ") {
            let mut words = fields.split_whitespace();
            if let (Some(Ok(status)), Some(Ok(count))) = (words.next().map(str::parse), words.next().map(str::parse)) {
                statuses.insert(status, count);
            }
        }
    }
    measured.map(|m| Measured { statuses, ..m })
}

/// Installs Debian's wrk when it is missing (refreshing the package lists if the first attempt
/// finds nothing to install).
pub fn ensure_installed() -> Result<(), String> {
    if shell::succeeds(version_probe()) {
        return Ok(());
    }
    eprintln!("wrk is not installed; installing it with apt-get");
    let install = || {
        let mut apt = Command::new("apt-get");
        apt.args(["install", "-y", "wrk"]).env("DEBIAN_FRONTEND", "noninteractive");
        apt.status().is_ok_and(|s| s.success())
    };
    if !install() {
        let updated = Command::new("apt-get").arg("update").status().is_ok_and(|s| s.success());
        if !updated || !install() {
            return Err("wrk is missing and `apt-get install -y wrk` failed (run it as root)".to_owned());
        }
    }
    if shell::succeeds(version_probe()) { Ok(()) } else { Err("wrk was installed but does not run".to_owned()) }
}

/// Whether `wrk` is on the PATH (`wrk --version` exits 1 even when wrk works, so it cannot be
/// the probe).
fn version_probe() -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", "command -v wrk"]);
    command
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_the_lines_bench_lua_prints() {
        let stdout = "Running 3s test @ http://127.0.0.1:1234\n  Latency   1.00ms\n\
            BENCH requests=3000 duration_us=3000000 p50_us=800 p90_us=1500 p99_us=4200 max_us=9000 connect=0 read=2 write=0 timeout=1 non_2xx_3xx=12\n\
            STATUS 200 2988\nSTATUS 401 12\n";
        let m = parse(stdout).unwrap();
        assert_eq!(m.requests, 3000);
        assert!((m.rps() - 1000.0).abs() < 1e-9);
        assert!((m.p99_ms - 4.2).abs() < 1e-9);
        assert_eq!(m.socket_errors, 3);
        assert_eq!(m.count(200..=299), 2988);
        assert_eq!(m.errors(), 15);
        assert_eq!(m.statuses_text(), "200: 2988, 401: 12, socket errors: 3");
        assert!(parse("no summary here").is_none());
    }
}
