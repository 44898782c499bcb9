//! The servers under load (tokend, and the baseline): started with port 0, found through the
//! `… listening on http://ADDR` line they print, measured through /proc, and stopped with
//! SIGTERM when dropped, so an error half-way through a run leaves no server behind.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to print its address (tokend migrates first).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Server {
    name: String,
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
}

impl Server {
    /// Starts `command`, its standard error going to `log`, and waits for the line that starts
    /// with `banner` followed by the URL.
    pub fn start(name: &str, mut command: Command, banner: &str, log: &Path) -> Result<Self, String> {
        let log_file = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log_file);
        let mut child = command.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(format!("{name}: no standard output"));
        };
        // A thread reads standard output for the server's whole life, so a chatty server can
        // never block on a full pipe; the first banner line is passed back.
        let (sender, receiver) = mpsc::channel();
        let banner = banner.to_owned();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(url) = line.strip_prefix(&banner) {
                    let _ = sender.send(url.trim().to_owned());
                }
            }
        });
        let mut server = Self { name: name.to_owned(), child, base_url: String::new() };
        match receiver.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                server.base_url = url;
                Ok(server)
            }
            Err(_) => {
                let status = server.child.try_wait().ok().flatten();
                let what = status.map_or("did not start in time".to_owned(), |s| format!("exited ({s})"));
                Err(format!("{name} {what}; see {}", log.display()))
            }
        }
    }

    /// The server's peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Stops the server: SIGTERM (graceful, as in production), then SIGKILL if it lingers.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        // std has no signals; `kill` by this child's own pid.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop within {} s of SIGTERM; killing it", self.name, STOP_TIMEOUT.as_secs());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
