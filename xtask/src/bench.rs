//! `cargo xtask bench`: builds tokend in release, fills fresh databases through the store, loads
//! tokend with wrk over loopback, runs the same loads against a bare actix-web baseline, and
//! writes the results to docs/benchmarks.md (also printed) and target/bench/*.json.
//!
//! A benchmark, not a test: missed targets are reported, never turned into a failing exit code.
//! The exit code is non-zero only when the harness itself breaks (no wrk, a build error, a
//! server that does not start, an unreachable PostgreSQL); the report of what did run then goes
//! to target/bench/ only, leaving docs/benchmarks.md as it was. docs/benchmarks.md says what each
//! scenario measures.

mod http;
mod report;
mod server;
mod wrk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::shell;
use report::{BackendReport, Machine, Outcome, Report, Row, Target};
use server::Server;
use wrk::{Load, Measured, Requests};

pub const ARGS: &str = "[--backend B] [--tokens N] [--quick]";

const USAGE: &str = "Usage: cargo xtask bench [--backend sqlite|postgres|both] [--tokens N] [--quick]

  --backend   database(s) to measure (default: sqlite)
  --tokens N  access tokens in the large fill (default: 100000; at least 100)
  --quick     3 s per scenario and fewer clients, instead of 10 s

Environment:
  TOKEND_BENCH_POSTGRES_URL  PostgreSQL server (default: postgres://postgres@127.0.0.1:5432/test);
                             each run works in a fresh schema, dropped afterwards
";

const POSTGRES_URL_VAR: &str = "TOKEND_BENCH_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// How long S1's load runs on a cold validation cache before S1 is measured.
const FIRST_USE: Duration = Duration::from_secs(2);

/// The small fill that S5 compares the large one with.
const SMALL_FILL: u64 = 1_000;
/// Connections of the integration loads (S1, S2, S3's validated half): a fleet of Zaps.
const INTEGRATION_CONNECTIONS: u32 = 64;
/// Connections of S3's flood of wrong secrets.
const FLOOD_CONNECTIONS: u32 = 16;
/// Connections of the admin API load (S4): a handful of administrators' screens.
const ADMIN_CONNECTIONS: u32 = 16;
const PAGE: u32 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug)]
struct Options {
    backends: Vec<Backend>,
    tokens: u64,
    quick: bool,
}

impl Options {
    /// `Ok(None)` for `--help`.
    fn parse(args: &[String]) -> Result<Option<Self>, String> {
        let mut options = Options { backends: vec![Backend::Sqlite], tokens: 100_000, quick: false };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            let mut value = || inline.clone().or_else(|| args.next().cloned()).ok_or(format!("{flag} needs a value"));
            match flag {
                "-h" | "--help" => return Ok(None),
                "--quick" => options.quick = true,
                "--backend" => {
                    options.backends = match value()?.as_str() {
                        "sqlite" => vec![Backend::Sqlite],
                        "postgres" => vec![Backend::Postgres],
                        "both" => vec![Backend::Sqlite, Backend::Postgres],
                        other => return Err(format!("unknown backend `{other}` (sqlite, postgres or both)")),
                    }
                }
                "--tokens" => {
                    let raw = value()?;
                    options.tokens =
                        raw.replace('_', "").parse().map_err(|_| format!("--tokens: not a number: {raw}"))?;
                    if options.tokens < 100 {
                        return Err("--tokens must be at least 100".to_owned());
                    }
                }
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(Some(options))
    }

    fn duration(&self) -> Duration {
        Duration::from_secs(if self.quick { 3 } else { 10 })
    }

    /// Clients with secrets of their own for S2 (each costs one argon2id hash to fill and one
    /// verification to warm up).
    fn clients(&self) -> u64 {
        if self.quick { 50 } else { 200 }
    }
}

pub fn run(args: &[String]) -> ExitCode {
    let options = match Options::parse(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprint!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let command = std::iter::once("cargo xtask bench".to_owned()).chain(args.iter().cloned()).collect::<Vec<_>>();
    match bench(&options, &command.join(" ")) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Shared by every measurement of one run.
struct Run<'a> {
    options: &'a Options,
    bench_dir: PathBuf,
    release_dir: PathBuf,
    workers: usize,
    baseline: Server,
    /// Baseline measurements, one per load shape, taken the first time a shape is needed.
    baselines: Vec<(String, String, Measured)>,
}

impl Run<'_> {
    fn tool(&self) -> Command {
        Command::new(self.release_dir.join("tokend-bench"))
    }

    /// The baseline under `load`, measured once per `shape` and then reused.
    fn baseline(&mut self, shape: &str, load: &Load) -> Result<Measured, String> {
        if let Some((_, _, measured)) = self.baselines.iter().find(|(s, _, _)| s == shape) {
            return Ok(measured.clone());
        }
        let measured = wrk::run(&self.baseline.base_url, load)?;
        progress(&format!("baseline, same load as {shape}"), &measured);
        self.baselines.push((shape.to_owned(), load.describe(), measured.clone()));
        Ok(measured)
    }

    fn load(&self, requests: Requests, connections: u32) -> Load {
        Load { requests, connections, duration: self.options.duration() }
    }
}

/// Returns whether the harness ran cleanly (targets aside).
fn bench(options: &Options, command: &str) -> Result<bool, String> {
    wrk::ensure_installed()?;
    shell::run(shell::cargo(["build", "--release", "-p", "tokend", "-p", "tokend-bench"]))?;
    let root = crate::workspace_root();
    let bench_dir = root.join("target/bench");
    std::fs::create_dir_all(&bench_dir).map_err(|e| format!("cannot create {}: {e}", bench_dir.display()))?;
    let machine = Machine::probe();
    let workers = machine.cpus;
    let release_dir = root.join("target/release");

    let mut baseline_command = Command::new(release_dir.join("tokend-bench"));
    baseline_command.args(["baseline", "--bind", "127.0.0.1:0", "--workers", &workers.to_string()]);
    let baseline = Server::start(
        "the baseline server",
        baseline_command,
        "baseline listening on ",
        &bench_dir.join("baseline.log"),
    )?;
    let mut run = Run { options, bench_dir: bench_dir.clone(), release_dir, workers, baseline, baselines: Vec::new() };

    let mut clean = true;
    let mut backends = Vec::new();
    for &backend in &options.backends {
        eprintln!("\n== {} ==", backend.name());
        let mut report = BackendReport { backend: backend.name(), fills: Vec::new(), rows: Vec::new(), failure: None };
        if let Err(message) = measure_backend(&mut run, backend, &mut report) {
            eprintln!("error: {}: {message}", backend.name());
            report.failure = Some(message);
            clean = false;
        }
        backends.push(report);
    }
    let baselines = std::mem::take(&mut run.baselines);
    drop(run);

    let report = Report {
        machine,
        command: command.to_owned(),
        tokens: options.tokens,
        seconds_per_scenario: options.duration().as_secs(),
        baselines,
        backends,
    };
    let markdown = report.markdown();
    let json = report.json();
    let stamp: String = report.machine.date.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let mut outputs = vec![
        (bench_dir.join(format!("bench-{stamp}.json")), &json),
        (bench_dir.join("latest.json"), &json),
        (bench_dir.join("latest.md"), &markdown),
    ];
    // A run the harness broke in is kept under target/ only: it must not replace good numbers.
    // The hand-written record of profiling and fixes (from PROFILING_HEADING on) is kept.
    let doc_path = root.join("docs/benchmarks.md");
    let document = with_kept_notes(&markdown, &std::fs::read_to_string(&doc_path).unwrap_or_default());
    if clean {
        outputs.push((doc_path, &document));
    }
    for (path, text) in &outputs {
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    println!("{markdown}");
    let written: Vec<String> = outputs.iter().map(|(path, _)| relative(&root, path)).collect();
    eprintln!("wrote {}", written.join(", "));
    Ok(clean)
}

/// The heading of the hand-written part of docs/benchmarks.md, which every run keeps.
const PROFILING_HEADING: &str = "## Profiling and fixes";

/// The generated report followed by the kept, hand-written notes of `previous`.
fn with_kept_notes(generated: &str, previous: &str) -> String {
    match previous.find(PROFILING_HEADING) {
        Some(at) => format!("{}\n{}", generated.trim_end(), &previous[at..]),
        None => generated.to_owned(),
    }
}

/// What one fill measured.
struct SizeRun {
    tokens: u64,
    bearers: u64,
    /// S1's load on a cold validation cache: every bearer token's first use reads the store.
    s1_first_use: Measured,
    s1: Measured,
    /// tokend's peak RSS after S1, and after every scenario.
    rss_kib: Option<u64>,
    rss_end_kib: Option<u64>,
    /// S2 and S3, measured on the large fill only.
    oauth: Option<OAuthRun>,
    /// S4's first and deep page, or why the admin API could not be measured.
    admin: Result<(Measured, Measured), String>,
}

struct OAuthRun {
    clients: usize,
    cold_seconds: f64,
    cold_ok: usize,
    s2: Measured,
    s3: Measured,
    flood: Measured,
}

fn measure_backend(run: &mut Run, backend: Backend, report: &mut BackendReport) -> Result<(), String> {
    let large_tokens = run.options.tokens;
    let small = if large_tokens > SMALL_FILL {
        Some(measure_size(run, backend, SMALL_FILL, false, &mut report.fills)?)
    } else {
        None
    };
    let large = measure_size(run, backend, large_tokens, true, &mut report.fills)?;
    report.rows = rows(run, small.as_ref(), &large)?;
    Ok(())
}

/// A folder removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh database for one fill: a SQLite file in the scratch folder, or a PostgreSQL schema,
/// dropped when this is.
struct FreshDb {
    url: String,
    drop_schema: Option<Command>,
}

impl FreshDb {
    fn create(run: &Run, backend: Backend, scratch: &Path, tag: &str) -> Result<Self, String> {
        match backend {
            Backend::Sqlite => {
                Ok(Self { url: format!("sqlite://{}", scratch.join("tokend.db").display()), drop_schema: None })
            }
            Backend::Postgres => {
                let base = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
                let schema = format!("tokend_bench_{}_{}", std::process::id(), tag.replace('-', "_"));
                let schema_command = |action: &str| {
                    let mut command = run.tool();
                    command.args(["pg-schema", action, "--database-url", &base, "--schema", &schema]);
                    command
                };
                run_quietly(schema_command("create")).map_err(|e| format!("cannot create a PostgreSQL schema: {e}"))?;
                let separator = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
                Ok(Self { url, drop_schema: Some(schema_command("drop")) })
            }
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if let Some(command) = self.drop_schema.take()
            && let Err(e) = run_quietly(command)
        {
            eprintln!("warning: could not drop the benchmark schema: {e}");
        }
    }
}

/// Fills a fresh database with `tokens` access tokens, starts tokend on it, and measures S1 and
/// S4 (and S2, S3 and the peak RSS when `large`).
fn measure_size(
    run: &mut Run,
    backend: Backend,
    tokens: u64,
    large: bool,
    fills: &mut Vec<String>,
) -> Result<SizeRun, String> {
    let tag = format!("{}-{tokens}", backend.name());
    let scratch = run.bench_dir.join("work").join(&tag);
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    // Declared in this order so they drop in reverse: server, then database, then folder.
    let _scratch = Scratch(scratch.clone());
    let db = FreshDb::create(run, backend, &scratch, &tag)?;

    let clients = if large { run.options.clients().min(tokens / 4) } else { 0 };
    let flood = if large { ((tokens - clients) / 2).min(1_000) } else { 0 };
    // A tenth of the tokens, between 1 000 and 10 000: the bearer tokens in use stand for the
    // integrations active at once, which do not grow with the tokens ever created (and S5
    // compares sizes of the token table, not of the working set).
    let bearers = tokens.min((tokens / 10).clamp(1_000, 10_000));
    let mut fill = run.tool();
    fill.arg("fill").args(["--database-url", &db.url]).arg("--out").arg(&scratch);
    for (flag, value) in [
        ("--tokens", tokens),
        ("--areas", (tokens / 1_000).clamp(10, 1_000)),
        ("--bearers", bearers),
        ("--clients", clients),
        ("--flood", flood),
    ] {
        fill.args([flag, &value.to_string()]);
    }
    eprintln!("filling {tokens} access tokens on {}…", backend.name());
    let filled = run_quietly(fill)?;
    eprintln!("{filled}");
    fills.push(filled);
    let facts = read_facts(&scratch.join("fill.txt"))?;

    let mut serve = Command::new(run.release_dir.join("tokend"));
    serve
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", &run.workers.to_string()])
        .env("TOKEND_DATABASE_URL", &db.url)
        .env("TOKEND_LOG", "warn");
    let server = Server::start("tokend", serve, "tokend listening on ", &scratch.join("tokend.log"))?;
    let url = server.base_url.clone();

    let s1_load =
        run.load(Requests::Bearer { path: "/api/v1/me", file: scratch.join("bearers.txt") }, INTEGRATION_CONNECTIONS);
    run.baseline("S1", &s1_load)?;
    // The first use of each bearer token reads the store and fills the validation cache
    // (docs/decisions/0002); measured on its own, so S1 is the steady state a running
    // integration sees. Long enough for every token of the pool to be used.
    let s1_first_use = wrk::run(&url, &Load { duration: FIRST_USE, ..s1_load.clone() })?;
    progress(&format!("S1 first use at {tokens} tokens"), &s1_first_use);
    let s1 = wrk::run(&url, &s1_load)?;
    progress(&format!("S1 at {tokens} tokens"), &s1);
    let rss_kib = server.peak_rss_kib();

    // S4 before S2 and S3, so that both sizes' S4 run on a database with the same history
    // (S2 and S3 write tens of thousands of rows, and the database is still digesting them).
    let admin = measure_admin(run, &url, &facts, tokens)?;
    let oauth = if large { Some(measure_oauth(run, &url, &scratch, &s1_load)?) } else { None };
    let rss_end_kib = server.peak_rss_kib();
    drop(server);
    Ok(SizeRun { tokens, bearers, s1_first_use, s1, rss_kib, rss_end_kib, oauth, admin })
}

/// S2 (after a timed warm-up: one request per client) and S3.
fn measure_oauth(run: &mut Run, url: &str, scratch: &Path, s1_load: &Load) -> Result<OAuthRun, String> {
    let clients_file = scratch.join("clients.txt");
    let bodies = read_lines(&clients_file)?;
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    // The first success of each client runs argon2id; later ones hit the verifier cache. One
    // request per client first, so S2 measures the steady state of clients asking repeatedly.
    let started = Instant::now();
    let mut cold_ok = 0;
    for body in &bodies {
        // As a real client would: on 429 (tokend's per-second budget of argon2 verifications),
        // wait a second and ask again.
        for _ in 0..30 {
            match http::request(url, "POST", "/oauth/token", &form, body)?.status {
                200 => {
                    cold_ok += 1;
                    break;
                }
                429 => std::thread::sleep(std::time::Duration::from_secs(1)),
                _ => break,
            }
        }
    }
    let cold_seconds = started.elapsed().as_secs_f64();
    eprintln!("S2 warm-up: {} clients in {cold_seconds:.1} s, {cold_ok} answered 200", bodies.len());

    let s2_load = run.load(Requests::Form { path: "/oauth/token", file: clients_file }, INTEGRATION_CONNECTIONS);
    run.baseline("S2", &s2_load)?;
    let s2 = wrk::run(url, &s2_load)?;
    progress("S2", &s2);

    // The flood starts first and ends last, so it covers the whole validated run.
    let mut flood_load =
        run.load(Requests::Form { path: "/oauth/token", file: scratch.join("flood.txt") }, FLOOD_CONNECTIONS);
    flood_load.duration += Duration::from_secs(2);
    let flood_wrk = wrk::spawn(url, &flood_load)?;
    std::thread::sleep(Duration::from_secs(1));
    let s3 = wrk::run(url, s1_load);
    let flood = wrk::finish(flood_wrk)?;
    let s3 = s3?;
    progress("S3 validated", &s3);
    progress("S3 flood", &flood);
    Ok(OAuthRun { clients: bodies.len(), cold_seconds, cold_ok, s2, s3, flood })
}

/// S4: logs in to the admin API and pages the access token list. `Ok(Err(why))` when the admin
/// API is not there (yet) or refuses the benchmark's administrator: reported, not fatal.
fn measure_admin(
    run: &mut Run,
    url: &str,
    facts: &BTreeMap<String, String>,
    tokens: u64,
) -> Result<Result<(Measured, Measured), String>, String> {
    let fact = |key: &str| facts.get(key).cloned().ok_or_else(|| format!("fill.txt has no {key}"));
    let login_body = format!(r#"{{"email":"{}","password":"{}"}}"#, fact("admin_email")?, fact("admin_password")?);
    let login = http::request(url, "POST", "/admin/v1/session", &[("Content-Type", "application/json")], &login_body)?;
    if !(200..300).contains(&login.status) {
        return Ok(Err(format!("`POST /admin/v1/session` answered {}", login.status)));
    }
    let Some(session) = http::json_string(&login.body, "token") else {
        return Ok(Err("the login answer has no \"token\"".to_owned()));
    };
    let authorization = format!("Bearer {session}");
    let first = format!("/admin/v1/access-tokens?limit={PAGE}");
    let deep = format!("/admin/v1/access-tokens?limit={PAGE}&before={}", fact("deep_before")?);
    for path in [&first, &deep] {
        let probe = http::request(url, "GET", path, &[("Authorization", &authorization)], "")?;
        if !(200..300).contains(&probe.status) {
            return Ok(Err(format!("`GET {path}` answered {}", probe.status)));
        }
    }
    let load = |path: &String| {
        run.load(Requests::Get { path: path.clone(), authorization: Some(authorization.clone()) }, ADMIN_CONNECTIONS)
    };
    let (first_load, deep_load) = (load(&first), load(&deep));
    run.baseline("S4", &first_load)?;
    let first_page = wrk::run(url, &first_load)?;
    progress(&format!("S4 first page at {tokens} tokens"), &first_page);
    let deep_page = wrk::run(url, &deep_load)?;
    progress(&format!("S4 deep page at {tokens} tokens"), &deep_page);
    Ok(Ok((first_page, deep_page)))
}

/// The table rows of one backend, targets judged.
fn rows(run: &Run, small: Option<&SizeRun>, large: &SizeRun) -> Result<Vec<Row>, String> {
    let baseline = |shape: &str| run.baselines.iter().find(|(s, _, _)| s == shape).map(|(_, _, m)| m.clone());
    let load = |connections: u32| format!("{connections} conn × {} s", run.options.duration().as_secs());
    let n = report::thousands(large.tokens as f64);
    let mut rows = Vec::new();

    let s1 = &large.s1;
    let b1 = baseline("S1");
    rows.push(Row {
        id: "S1",
        scenario: format!(
            "first use: the same load for {} s on a cold validation cache (each bearer token's first use reads the store)",
            FIRST_USE.as_secs()
        ),
        load: format!("{INTEGRATION_CONNECTIONS} conn × {} s", FIRST_USE.as_secs()),
        outcome: Outcome::Measured(large.s1_first_use.clone()),
        baseline: b1.clone(),
        target: None,
    });
    let s1_met = b1.as_ref().is_some_and(|b| s1.rps() >= 0.5 * b.rps()) && s1.p99_ms < 5.0 && s1.errors() == 0;
    rows.push(Row {
        id: "S1",
        scenario: format!(
            "`GET /api/v1/me`, {n} tokens, {} bearer tokens in rotation",
            report::thousands(large.bearers as f64)
        ),
        load: load(INTEGRATION_CONNECTIONS),
        outcome: Outcome::Measured(s1.clone()),
        baseline: b1.clone(),
        target: Some(Target { text: "≥ 0.5× baseline req/s, p99 < 5 ms, 0 errors".to_owned(), met: Some(s1_met) }),
    });

    if let Some(o) = &large.oauth {
        rows.push(Row {
            id: "S2",
            scenario: format!("cold: first `POST /oauth/token` of each of {} clients, one at a time", o.clients),
            load: "1 conn".to_owned(),
            outcome: Outcome::Value(format!(
                "{:.1} tokens/s ({} of {} answered 200)",
                o.clients as f64 / o.cold_seconds.max(1e-9),
                o.cold_ok,
                o.clients
            )),
            baseline: None,
            target: None,
        });
        let tokens_per_second = o.s2.ok_per_second();
        rows.push(Row {
            id: "S2",
            scenario: format!("`POST /oauth/token`, {} clients asking repeatedly", o.clients),
            load: load(INTEGRATION_CONNECTIONS),
            outcome: Outcome::Measured(o.s2.clone()),
            baseline: baseline("S2"),
            target: Some(Target {
                text: format!("≥ 2 000 tokens/s (got {})", report::thousands(tokens_per_second)),
                met: Some(tokens_per_second >= 2_000.0),
            }),
        });
        rows.push(Row {
            id: "S3",
            scenario: "S1 during a flood of wrong secrets".to_owned(),
            load: load(INTEGRATION_CONNECTIONS),
            outcome: Outcome::Measured(o.s3.clone()),
            baseline: b1.clone(),
            target: Some(Target {
                text: format!("p99 ≤ 2× S1 p99 ({:.2} ms)", 2.0 * s1.p99_ms),
                met: Some(o.s3.p99_ms <= 2.0 * s1.p99_ms),
            }),
        });
        let refused = o.flood.count(401..=401) + o.flood.count(429..=429);
        let answered: u64 = o.flood.statuses.values().sum();
        rows.push(Row {
            id: "S3",
            scenario: "the flood: wrong secrets for existing client ids".to_owned(),
            load: load(FLOOD_CONNECTIONS),
            outcome: Outcome::Measured(o.flood.clone()),
            baseline: None,
            target: Some(Target {
                text: "only 401/429 answers, no 5xx".to_owned(),
                met: Some(answered > 0 && refused == answered && o.flood.socket_errors == 0),
            }),
        });
    }

    let b4 = baseline("S4");
    let admin_rows = |id: &'static str, size: &SizeRun, rows: &mut Vec<Row>| {
        let tokens = report::thousands(size.tokens as f64);
        let pages = match &size.admin {
            Ok((first, deep)) => [Outcome::Measured(first.clone()), Outcome::Measured(deep.clone())],
            Err(why) => [Outcome::Unavailable(why.clone()), Outcome::Unavailable(why.clone())],
        };
        let [first, deep] = pages;
        for (what, outcome) in [("first page", first), ("page near the oldest (`before=`)", deep)] {
            rows.push(Row {
                id,
                scenario: format!("admin `GET /admin/v1/access-tokens?limit=50`, {what}, {tokens} tokens"),
                load: load(ADMIN_CONNECTIONS),
                outcome,
                baseline: b4.clone(),
                target: None,
            });
        }
    };
    admin_rows("S4", large, &mut rows);

    if let Some(small) = small {
        rows.push(Row {
            id: "S5",
            scenario: format!("S1 at {} tokens", report::thousands(small.tokens as f64)),
            load: load(INTEGRATION_CONNECTIONS),
            outcome: Outcome::Measured(small.s1.clone()),
            baseline: b1.clone(),
            target: None,
        });
        admin_rows("S5", small, &mut rows);
        let growth = |what: &str, at_small: f64, at_large: f64| {
            let ratio = at_large / at_small.max(1e-9);
            let outcome = Outcome::Value(format!("{at_small:.2} ms → {at_large:.2} ms ({ratio:.2}×)"));
            (format!("{what}, 1 000 → {n} tokens"), outcome, Some(ratio <= 1.5))
        };
        let mut judged = vec![growth("validation p99", small.s1.p99_ms, large.s1.p99_ms)];
        match (&small.admin, &large.admin) {
            (Ok((small_first, _)), Ok((large_first, _))) => {
                judged.push(growth("first page p50", small_first.p50_ms, large_first.p50_ms));
            }
            (Err(why), _) | (_, Err(why)) => {
                judged.push((format!("first page p50, 1 000 → {n} tokens"), Outcome::Unavailable(why.clone()), None))
            }
        }
        for (scenario, outcome, met) in judged {
            rows.push(Row {
                id: "S5",
                scenario,
                load: "—".to_owned(),
                outcome,
                baseline: None,
                target: Some(Target { text: "≤ 1.5× the 1 000-token case".to_owned(), met }),
            });
        }
    }

    let rss = large.rss_kib.ok_or("could not read the server's VmHWM")?;
    let rss_mib = rss as f64 / 1024.0;
    rows.push(Row {
        id: "S6",
        scenario: format!("tokend peak RSS (VmHWM) after S1, {n} tokens"),
        load: "—".to_owned(),
        outcome: Outcome::Value(format!("{rss_mib:.1} MiB")),
        baseline: None,
        target: Some(Target { text: "< 64 MiB".to_owned(), met: Some(rss_mib < 64.0) }),
    });
    // No target: argon2id's 19 MiB per verification (S2's warm-up, S3's flood) shows here.
    if let Some(end) = large.rss_end_kib {
        rows.push(Row {
            id: "S6",
            scenario: "tokend peak RSS (VmHWM) after every scenario".to_owned(),
            load: "—".to_owned(),
            outcome: Outcome::Value(format!("{:.1} MiB", end as f64 / 1024.0)),
            baseline: None,
            target: None,
        });
    }
    Ok(rows)
}

/// One line per measurement while the run goes on.
fn progress(what: &str, m: &Measured) {
    eprintln!(
        "{what}: {} req/s, p50 {:.2} ms, p99 {:.2} ms, {}",
        report::thousands(m.rps()),
        m.p50_ms,
        m.p99_ms,
        if m.errors() == 0 { "no errors".to_owned() } else { m.statuses_text() }
    );
}

/// Runs a helper to the end and returns its standard output; its standard error is passed on.
fn run_quietly(mut command: Command) -> Result<String, String> {
    let what = format!("{:?}", command.get_program());
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    if !output.status.success() {
        return Err(format!("{what} failed ({})", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

fn read_lines(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text.lines().filter(|line| !line.is_empty()).map(str::to_owned).collect())
}

/// `key=value` lines.
fn read_facts(path: &Path) -> Result<BTreeMap<String, String>, String> {
    Ok(read_lines(path)?
        .iter()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::{Backend, Options};

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        Options::parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_the_options() {
        let defaults = parse(&[]).unwrap().unwrap();
        assert_eq!(
            (defaults.backends.as_slice(), defaults.tokens, defaults.quick),
            ([Backend::Sqlite].as_slice(), 100_000, false)
        );
        let o = parse(&["--backend", "both", "--tokens=1_000_000", "--quick"]).unwrap().unwrap();
        assert_eq!(o.backends, [Backend::Sqlite, Backend::Postgres]);
        assert_eq!(o.tokens, 1_000_000);
        assert_eq!(o.duration().as_secs(), 3);
        assert!(parse(&["--help"]).unwrap().is_none());
        assert!(parse(&["--backend", "oracle"]).is_err());
        assert!(parse(&["--tokens"]).is_err());
        assert!(parse(&["--tokens", "10"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }
}
