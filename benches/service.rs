//! The daemon as a long-running service (`newswatch run`, the real binary,
//! against feeds on loopback), beside the targets:
//!
//! - idle: 100 feeds polled every minute, all answered 304: CPU (% of a
//!   core) and peak memory over `--secs` (default 600);
//! - latency: 10,000 rules, 200 feeds polled every second, each poll a new
//!   entry that one rule matches: from the body received to its alerts
//!   committed (parse, match, store), median and p99 over `--secs`
//!   (default 60), as the daemon logs it (`ingest_us`);
//! - soak: 10,000 rules, 500 feeds polled every 5 seconds (60 % answered
//!   304, the rest a new entry, a tenth of them matching): resident memory
//!   and open files at the start and the end of `--secs` (default 3600).
//!
//! `cargo bench --bench service -- idle|latency|soak [--secs N]` (all three
//! in turn without a mode). Linux only (reads /proc).

#[path = "common.rs"]
mod common;

use common::{open_fds, option, rss, usage};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// How a feed answers: 304 to a conditional request this share of the time
/// (out of 10), else a new entry; every `matching`-th new entry names a
/// place one rule watches.
struct Feeds {
    served: Arc<AtomicU64>,
    not_modified_of_10: u64,
    matching: u64,
}

impl Respond for Feeds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        if request.headers.contains_key("if-none-match") && n % 10 < self.not_modified_of_10 {
            return ResponseTemplate::new(304);
        }
        let place = match n % self.matching {
            0 => format!("place{}", n % 10_000),
            _ => "nowhere".to_string(),
        };
        let body = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>f</title>\
             <link>http://example.org/</link><description>d</description>\
             <item><title>Entry {n}: news from {place}</title><guid>urn:entry:{n}</guid>\
             <description>A report of some three hundred words would go here; this one \
             says that something happened in {place} today, and that officials said \
             more would follow. Number {n}.</description></item></channel></rss>"
        );
        ResponseTemplate::new(200)
            .insert_header("ETag", format!("\"v{n}\"").as_str())
            .set_body_raw(body, "application/rss+xml")
    }
}

struct Service {
    daemon: Child,
    log: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
    _server: MockServer,
}

/// Starts the daemon on `feeds` feeds polled every `interval` seconds, with
/// `rules` rules, logging at `log`.
async fn start(
    feeds: usize,
    interval: u64,
    rules: usize,
    not_modified_of_10: u64,
    matching: u64,
    log: &str,
) -> Service {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    Mock::given(any())
        .respond_with(Feeds {
            served: Arc::new(AtomicU64::new(0)),
            not_modified_of_10,
            matching,
        })
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    let rules: String = (0..rules)
        .map(|i| {
            format!(
                "[[rule]]\nname = \"r{i}\"\nquery = 'place{i} OR \"district {i}\"'\nnotify = [\"desk\"]\n"
            )
        })
        .collect();
    std::fs::write(dir.path().join("rules.d/rules.toml"), rules).unwrap();
    let mut config = format!(
        "state_dir = \"state\"\nrules = [\"rules.d/*.toml\"]\n\n[defaults]\n\
         interval = \"{interval}s\"\nmax_interval = \"{interval}s\"\nfirst_poll = \"alert\"\n\n\
         [destination.desk]\nkind = \"maildir\"\npath = \"mail\"\n\n"
    );
    for i in 0..feeds {
        config.push_str(&format!(
            "[[feed]]\nname = \"f{i}\"\nurl = \"{}/f/{i}.xml\"\n",
            server.uri()
        ));
    }
    std::fs::write(dir.path().join("newswatch.toml"), config).unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .arg("-c")
        .arg(dir.path().join("newswatch.toml"))
        .arg("run")
        .env("NEWSWATCH_LOG", log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the daemon");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = daemon.stderr.take().unwrap();
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Service {
        daemon,
        log: lines,
        _dir: dir,
        _server: server,
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

async fn idle(secs: u64) {
    let service = start(100, 60, 10, 10, 1_000_000, "warn").await;
    // The first round of polls (spread over a fraction of a second), then
    // only 304s.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let pid = service.daemon.id();
    let (cpu_before, _) = usage(pid);
    let start = Instant::now();
    // Resident memory through the window, each second.
    let mut most = 0;
    while start.elapsed() < Duration::from_secs(secs) {
        most = most.max(rss(pid));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (cpu_after, peak) = usage(pid);
    let share = (cpu_after - cpu_before).as_secs_f64() / start.elapsed().as_secs_f64() * 100.0;
    println!(
        "| idle: 100 feeds, every minute, all 304, {secs} s | CPU {share:.2} % of a core (≤ 1 %) | RSS at most {:.1} MB over the window (≤ 30 MB); {:.1} MB peak since start |",
        most as f64 / 1e6,
        peak as f64 / 1e6
    );
}

async fn latency(secs: u64) {
    let service = start(200, 1, 10_000, 0, 1, "info").await;
    // Compiling 10,000 rules and the first round, then the measured window.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let skip = service.log.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let mut micros: Vec<u64> = service.log.lock().unwrap()[skip..]
        .iter()
        .filter(|l| l.contains("Feed fetched"))
        .filter_map(|l| {
            l.split("ingest_us=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    micros.sort_unstable();
    let at = |q: f64| {
        micros.get(((micros.len() as f64 * q) as usize).min(micros.len().saturating_sub(1)))
    };
    let ms = |v: Option<&u64>| v.map_or(f64::NAN, |&us| us as f64 / 1000.0);
    println!(
        "| latency: 10,000 rules, {} polls with a matching entry in {secs} s | median {:.2} ms | p99 {:.2} ms (≤ 10 ms) |",
        micros.len(),
        ms(at(0.5)),
        ms(at(0.99))
    );
}

async fn soak(secs: u64) {
    let service = start(500, 5, 10_000, 6, 10, "warn").await;
    let pid = service.daemon.id();
    // Warm-up: rules compiled, allocator and connection pools settled.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let sample = || (rss(pid), open_fds(pid));
    let mut samples = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        samples.push(sample());
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    samples.push(sample());
    // The first and last tenth of the samples, averaged: one sample's noise
    // (a burst of polls) is not growth.
    let tenth = (samples.len() / 10).max(1);
    let mean = |s: &[(u64, usize)], f: fn(&(u64, usize)) -> f64| {
        s.iter().map(f).sum::<f64>() / s.len() as f64
    };
    let (first, last) = (&samples[..tenth], &samples[samples.len() - tenth..]);
    let rss_first = mean(first, |s| s.0 as f64 / 1e6);
    let rss_last = mean(last, |s| s.0 as f64 / 1e6);
    let fds_first = mean(first, |s| s.1 as f64);
    let fds_last = mean(last, |s| s.1 as f64);
    println!(
        "| soak: 10,000 rules, 500 feeds every 5 s, {secs} s | RSS {rss_first:.1} → {rss_last:.1} MB ({:+.1} %, ≤ +5 %) | open files {fds_first:.0} → {fds_last:.0} ({:+.1} %, ≤ +5 %) |",
        (rss_last / rss_first - 1.0) * 100.0,
        (fds_last / fds_first.max(1.0) - 1.0) * 100.0
    );
}

#[tokio::main]
async fn main() {
    let mode = std::env::args()
        .skip(1)
        .find(|a| matches!(a.as_str(), "idle" | "latency" | "soak"));
    let secs: Option<u64> = option("--secs");
    println!("service: the daemon against feeds on loopback");
    println!();
    println!("| run | measured (target) | measured (target) |");
    println!("|---|---|---|");
    std::io::stdout().flush().ok();
    if mode.as_deref().is_none_or(|m| m == "idle") {
        idle(secs.unwrap_or(600)).await;
    }
    if mode.as_deref().is_none_or(|m| m == "latency") {
        latency(secs.unwrap_or(60)).await;
    }
    if mode.as_deref().is_none_or(|m| m == "soak") {
        soak(secs.unwrap_or(3600)).await;
    }
}
