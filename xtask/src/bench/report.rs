//! The benchmark's results: the machine they were measured on, one table per backend, and the
//! two renderings written at the end of a run (markdown for docs/benchmarks.md and the
//! terminal, JSON under target/bench/ for tools).

use std::fmt::Write;
use std::process::Command;

use super::wrk::Measured;

/// Where and when the numbers were measured.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub memory_mib: u64,
    pub cpu_model: String,
    /// UTC, RFC 3339.
    pub date: String,
    /// Short commit, with `-dirty` when the work tree had changes.
    pub commit: String,
}

impl Machine {
    pub fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, model)| model.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: u64 = meminfo
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0);
        let commit = output_of(Command::new("git").args(["rev-parse", "--short", "HEAD"]));
        let dirty = !output_of(Command::new("git").args(["status", "--porcelain"])).is_empty();
        Self {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_mib: memory_kib / 1024,
            cpu_model,
            // The workspace's clippy rules keep `SystemTime::now` out of the code; `date` it is.
            date: output_of(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
            commit: if commit.is_empty() {
                "unknown".to_owned()
            } else if dirty {
                format!("{commit}-dirty")
            } else {
                commit
            },
        }
    }
}

fn output_of(command: &mut Command) -> String {
    command.current_dir(crate::workspace_root());
    command.output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}

/// What a row shows.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A wrk run.
    Measured(Measured),
    /// A single derived value (a ratio, a memory size), shown in the notes column.
    Value(String),
    /// The scenario could not run, and why (e.g. the admin API is not there yet).
    Unavailable(String),
}

/// A target and whether it was met; `met` is `None` when the scenario did not run.
#[derive(Debug, Clone)]
pub struct Target {
    pub text: String,
    pub met: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Row {
    /// `S1` … `S6`.
    pub id: &'static str,
    pub scenario: String,
    pub load: String,
    pub outcome: Outcome,
    /// The same load against the baseline server.
    pub baseline: Option<Measured>,
    pub target: Option<Target>,
}

/// One backend's results.
#[derive(Debug, Clone)]
pub struct BackendReport {
    pub backend: &'static str,
    /// How the databases were filled, one line each.
    pub fills: Vec<String>,
    pub rows: Vec<Row>,
    /// Set when the harness broke for this backend.
    pub failure: Option<String>,
}

/// Everything one run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub machine: Machine,
    pub command: String,
    pub tokens: u64,
    pub seconds_per_scenario: u64,
    /// The baseline server under each load shape: (what, load, measured).
    pub baselines: Vec<(String, String, Measured)>,
    pub backends: Vec<BackendReport>,
}

const INTRO: &str = "# Benchmarks

`cargo xtask bench [--backend sqlite|postgres|both] [--tokens N] [--quick]` measures tokend
from the outside: it builds `tokend` in release, fills a fresh database through the store
(SQLite in `target/bench/`, or a fresh schema on `TOKEND_BENCH_POSTGRES_URL`, default
`postgres://postgres@127.0.0.1:5432/test`, dropped afterwards), starts `tokend serve`, and loads
it with [wrk](https://github.com/wg/wrk) over loopback from a separate process
(`crates/tokend-bench/lua/bench.lua` picks the requests). The same loads are run against a bare
actix-web handler returning a fixed small JSON document (`tokend-bench baseline`), so each result
is also a ratio to what this machine, framework and load generator can do at all. It is a
benchmark, not a test: it never runs in `cargo xtask test`, and it exits 0 whether or not the
targets are met (non-zero only when the harness itself breaks).

Scenarios: **S1** bearer-validated `GET /api/v1/me`, rotating through a pool of valid bearer
tokens, measured after the same load has run for 2 s on a cold validation cache (reported as
*S1 first use*: each bearer token's first use reads the store, later ones are answered from the
validation lease, `docs/decisions/0002-validation-lease.md`); **S2** `POST /oauth/token` (client credentials in the form body) for many valid clients,
each asking repeatedly (measured after one warm-up request per client, which is timed
separately as *S2 cold*: the first verification of a secret runs argon2id); **S3** S1 again while
a second wrk floods `/oauth/token` with well-formed wrong secrets for existing client ids;
**S4** the admin API's `GET /admin/v1/access-tokens?limit=50`, first page and a page near the
oldest token (`before=` cursor); **S5** S1 and S4 at 1 000 tokens against the large fill, to show
how cost grows with size (validation judged on p99, the first page on p50); **S6** tokend's peak
RSS (`VmHWM`) after S1 (the target), and after every scenario (for information: S2's warm-up
and S3's flood run argon2id, 19 MiB a verification).

wrk, tokend and the baseline share the machine's cores, so absolute numbers say more about the
machine than about tokend; the ratio to the baseline is the number to compare across machines.
Every run that completes rewrites this file; `target/bench/` keeps each run's raw numbers
(`bench-<date>.json`, and `latest.json`/`latest.md`, also for runs the harness broke in).
";

impl Report {
    pub fn markdown(&self) -> String {
        let m = &self.machine;
        let mut out = String::from(INTRO);
        let _ = writeln!(out, "\n## Latest run\n");
        let _ = writeln!(out, "- command: `{}`", self.command);
        let _ = writeln!(out, "- date: {} · commit: `{}`", m.date, m.commit);
        let _ = writeln!(out, "- machine: {} × {} · {} MiB memory", m.cpus, m.cpu_model, m.memory_mib);
        let _ = writeln!(
            out,
            "- large fill: {} access tokens · {} s per scenario",
            thousands(self.tokens as f64),
            self.seconds_per_scenario
        );

        let _ = writeln!(out, "\n### Baseline (bare actix-web handler, fixed JSON)\n");
        let _ = writeln!(out, "| same load as | load | req/s | p50 ms | p99 ms | errors |");
        let _ = writeln!(out, "|---|---|--:|--:|--:|--:|");
        for (what, load, b) in &self.baselines {
            let _ = writeln!(
                out,
                "| {what} | {load} | {} | {:.2} | {:.2} | {} |",
                thousands(b.rps()),
                b.p50_ms,
                b.p99_ms,
                b.errors()
            );
        }

        for backend in &self.backends {
            let _ = writeln!(out, "\n### {}\n", backend.backend);
            for fill in &backend.fills {
                let _ = writeln!(out, "- {fill}");
            }
            if let Some(failure) = &backend.failure {
                let _ = writeln!(out, "- **the harness failed here:** {failure}");
            }
            if backend.rows.is_empty() {
                continue;
            }
            let judged: Vec<bool> = backend.rows.iter().filter_map(|r| r.target.as_ref()?.met).collect();
            let met = judged.iter().filter(|&&met| met).count();
            let _ = writeln!(out, "- targets met: {met} of {}\n", judged.len());
            let _ = writeln!(
                out,
                "| | scenario | load | req/s | × baseline | p50 ms | p99 ms | p99 × baseline | errors / notes | target | result |"
            );
            let _ = writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|---|---|---|");
            for row in &backend.rows {
                let _ = writeln!(out, "{}", table_row(row));
            }
        }
        out
    }

    pub fn json(&self) -> String {
        let m = &self.machine;
        let machine = Json::Object(vec![
            ("cpus", Json::Number(m.cpus as f64)),
            ("memory_mib", Json::Number(m.memory_mib as f64)),
            ("cpu_model", Json::from(&m.cpu_model)),
            ("date", Json::from(&m.date)),
            ("commit", Json::from(&m.commit)),
        ]);
        let baselines = self
            .baselines
            .iter()
            .map(|(what, load, b)| {
                Json::Object(vec![
                    ("same_load_as", Json::from(what)),
                    ("load", Json::from(load)),
                    ("measured", measured(b)),
                ])
            })
            .collect();
        let backends = self
            .backends
            .iter()
            .map(|b| {
                Json::Object(vec![
                    ("backend", Json::from(b.backend)),
                    ("fills", Json::Array(b.fills.iter().map(Json::from).collect())),
                    ("failure", b.failure.as_ref().map_or(Json::Null, Json::from)),
                    ("rows", Json::Array(b.rows.iter().map(row_json).collect())),
                ])
            })
            .collect();
        let mut out = String::new();
        Json::Object(vec![
            ("machine", machine),
            ("command", Json::from(&self.command)),
            ("tokens", Json::Number(self.tokens as f64)),
            ("seconds_per_scenario", Json::Number(self.seconds_per_scenario as f64)),
            ("baselines", Json::Array(baselines)),
            ("backends", Json::Array(backends)),
        ])
        .write(&mut out, 0);
        out.push('\n');
        out
    }
}

fn table_row(row: &Row) -> String {
    let dash = "—".to_owned();
    let (rps, ratio, p50, p99, p99_ratio, notes) = match &row.outcome {
        Outcome::Measured(m) => {
            let ratio = row.baseline.as_ref().map_or(dash.clone(), |b| times(m.rps(), b.rps()));
            let p99_ratio = row.baseline.as_ref().map_or(dash.clone(), |b| times(m.p99_ms, b.p99_ms));
            let notes = if m.errors() == 0 { "0".to_owned() } else { m.statuses_text() };
            (thousands(m.rps()), ratio, format!("{:.2}", m.p50_ms), format!("{:.2}", m.p99_ms), p99_ratio, notes)
        }
        Outcome::Value(text) => (dash.clone(), dash.clone(), dash.clone(), dash.clone(), dash.clone(), text.clone()),
        Outcome::Unavailable(why) => {
            (dash.clone(), dash.clone(), dash.clone(), dash.clone(), dash.clone(), format!("not available yet: {why}"))
        }
    };
    let (target, result) = match &row.target {
        None => (dash.clone(), dash),
        Some(t) => (
            t.text.clone(),
            match t.met {
                Some(true) => "pass".to_owned(),
                Some(false) => "**fail**".to_owned(),
                None => "n/a".to_owned(),
            },
        ),
    };
    format!(
        "| {} | {} | {} | {rps} | {ratio} | {p50} | {p99} | {p99_ratio} | {} | {target} | {result} |",
        row.id,
        row.scenario,
        row.load,
        notes.replace('|', "\\|")
    )
}

fn row_json(row: &Row) -> Json {
    let (kind, value) = match &row.outcome {
        Outcome::Measured(m) => ("measured", measured(m)),
        Outcome::Value(text) => ("value", Json::from(text)),
        Outcome::Unavailable(why) => ("unavailable", Json::from(why)),
    };
    Json::Object(vec![
        ("id", Json::from(row.id)),
        ("scenario", Json::from(&row.scenario)),
        ("load", Json::from(&row.load)),
        (kind, value),
        ("baseline", row.baseline.as_ref().map_or(Json::Null, measured)),
        ("target", row.target.as_ref().map_or(Json::Null, |t| Json::from(&t.text))),
        ("met", row.target.as_ref().and_then(|t| t.met).map_or(Json::Null, Json::Bool)),
    ])
}

fn measured(m: &Measured) -> Json {
    let statuses = m.statuses.iter().map(|(status, n)| (status.to_string(), Json::Number(*n as f64))).collect();
    Json::Object(vec![
        ("requests", Json::Number(m.requests as f64)),
        ("seconds", Json::Number(m.seconds)),
        ("requests_per_second", Json::Number(m.rps())),
        ("p50_ms", Json::Number(m.p50_ms)),
        ("p90_ms", Json::Number(m.p90_ms)),
        ("p99_ms", Json::Number(m.p99_ms)),
        ("max_ms", Json::Number(m.max_ms)),
        ("socket_errors", Json::Number(m.socket_errors as f64)),
        ("statuses", Json::OwnedObject(statuses)),
    ])
}

/// `0.62×`.
pub fn times(value: f64, base: f64) -> String {
    if base > 0.0 { format!("{:.2}×", value / base) } else { "—".to_owned() }
}

/// `12 345`: whole numbers with thin groups, as the targets are written.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Just enough JSON to write the report without a dependency.
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
    OwnedObject(Vec<(String, Json)>),
}

impl From<&String> for Json {
    fn from(s: &String) -> Self {
        Json::String(s.clone())
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::String(s.to_owned())
    }
}

impl Json {
    fn write(&self, out: &mut String, indent: usize) {
        let pad = |n: usize| "  ".repeat(n);
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 => {
                let _ = write!(out, "{}", *n as i64);
            }
            Json::Number(n) if n.is_finite() => {
                let _ = write!(out, "{n:.4}");
            }
            Json::Number(_) => out.push_str("null"),
            Json::String(s) => write_string(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Array(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    item.write(out, indent + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push(']');
            }
            Json::Object(fields) => {
                let fields: Vec<(&str, &Json)> = fields.iter().map(|(k, v)| (*k, v)).collect();
                write_object(out, indent, &fields);
            }
            Json::OwnedObject(fields) => {
                let fields: Vec<(&str, &Json)> = fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
                write_object(out, indent, &fields);
            }
        }
    }
}

fn write_object(out: &mut String, indent: usize, fields: &[(&str, &Json)]) {
    if fields.is_empty() {
        out.push_str("{}");
        return;
    }
    out.push_str("{\n");
    for (i, (key, value)) in fields.iter().enumerate() {
        out.push_str(&"  ".repeat(indent + 1));
        write_string(out, key);
        out.push_str(": ");
        value.write(out, indent + 1);
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push_str(&"  ".repeat(indent));
    out.push('}');
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::{Json, thousands, times};

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(thousands(1234567.4), "1 234 567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(0.0), "0");
        assert_eq!(times(50.0, 100.0), "0.50×");
        assert_eq!(times(1.0, 0.0), "—");
    }

    #[test]
    fn writes_json() {
        let mut out = String::new();
        Json::Object(vec![
            ("a", Json::Number(1.0)),
            ("b", Json::Array(vec![Json::Number(0.5), Json::Null, Json::Bool(true)])),
            ("c", Json::from("q\"\n")),
            ("d", Json::OwnedObject(vec![])),
        ])
        .write(&mut out, 0);
        assert_eq!(
            out,
            "{\n  \"a\": 1,\n  \"b\": [\n    0.5000,\n    null,\n    true\n  ],\n  \"c\": \"q\\\"\\n\",\n  \"d\": {}\n}"
        );
    }
}
