//! Polling at scale: the daemon (`newswatch run`, the real binary) polls N
//! feeds served from loopback, spread over 64 loopback addresses (127.0.0.x,
//! so the per-host limit works as with real hosts); about 60 % of the polls
//! are answered 304, the others with a new entry. Printed beside the
//! targets: polls per second, the daemon's peak memory, and its CPU time per
//! poll (which stays flat from 1k to 100k feeds when the scheduler's cost
//! does not grow with the feeds).
//!
//! `cargo bench --bench polling` (sizes 1k, 10k, 100k), or
//! `-- --feeds 10000 --secs 20`. Linux only (reads /proc).

#[path = "common.rs"]
mod common;

use common::{option, usage};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// Loopback addresses the feeds are spread over.
const HOSTS: usize = 64;

/// Answers a feed's poll: 304 to about 60 % of conditional requests, else
/// the feed with one new entry (and a new ETag).
struct Feeds {
    served: Arc<AtomicU64>,
    not_modified: Arc<AtomicU64>,
}

impl Respond for Feeds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        if request.headers.contains_key("if-none-match") && n % 10 < 6 {
            self.not_modified.fetch_add(1, Ordering::Relaxed);
            return ResponseTemplate::new(304);
        }
        let body = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>f</title>\
             <link>http://example.org/</link><description>d</description>\
             <item><title>Entry {n}</title><guid>urn:entry:{n}</guid>\
             <description>Nothing to match here, number {n}.</description></item>\
             </channel></rss>"
        );
        ResponseTemplate::new(200)
            .insert_header("ETag", format!("\"v{n}\"").as_str())
            .set_body_raw(body, "application/rss+xml")
    }
}

struct Figures {
    polls_per_s: f64,
    peak_mb: f64,
    cpu_us_per_poll: f64,
    not_modified: f64,
}

async fn run(feeds: usize, secs: u64) -> Figures {
    let listener = TcpListener::bind("0.0.0.0:0").expect("bind the feed server");
    let server = MockServer::builder()
        .listener(listener)
        .disable_request_recording()
        .start()
        .await;
    let (served, not_modified) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    Mock::given(any())
        .respond_with(Feeds {
            served: served.clone(),
            not_modified: not_modified.clone(),
        })
        .mount(&server)
        .await;
    let port = server.address().port();
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::write(
        dir.path().join("rules.d/rules.toml"),
        "[[rule]]\nname = \"r\"\nquery = 'Brussels'\nnotify = [\"desk\"]\n",
    )
    .unwrap();
    // Each feed polled every `interval`: together about 2,000 polls a second
    // offered, more than the targets ask.
    let interval = (feeds / 2000).max(1);
    let mut config = format!(
        "state_dir = \"state\"\nrules = [\"rules.d/*.toml\"]\n\n[defaults]\n\
         interval = \"{interval}s\"\nmax_interval = \"{interval}s\"\nmax_concurrent_polls = 64\n\n\
         [destination.desk]\nkind = \"maildir\"\npath = \"mail\"\n\n"
    );
    for i in 0..feeds {
        let host = i % HOSTS + 1;
        config.push_str(&format!(
            "[[feed]]\nname = \"f{i}\"\nurl = \"http://127.0.0.{host}:{port}/f/{i}.xml\"\n"
        ));
    }
    std::fs::write(dir.path().join("newswatch.toml"), config).unwrap();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .arg("-c")
        .arg(dir.path().join("newswatch.toml"))
        .arg("run")
        .env("NEWSWATCH_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the daemon");
    // Warm-up: the first round (feeds are spread over up to a minute at
    // start), then the measured window.
    let warm = Duration::from_secs((feeds as u64 / 1000).clamp(5, 65));
    tokio::time::sleep(warm).await;
    let (cpu_before, _) = usage(daemon.id());
    let (polls_before, nm_before) = (
        served.load(Ordering::Relaxed),
        not_modified.load(Ordering::Relaxed),
    );
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let elapsed = start.elapsed().as_secs_f64();
    let (cpu_after, peak) = usage(daemon.id());
    let polls = served.load(Ordering::Relaxed) - polls_before;
    let nm = not_modified.load(Ordering::Relaxed) - nm_before;
    let _ = daemon.kill();
    let _ = daemon.wait();
    Figures {
        polls_per_s: polls as f64 / elapsed,
        peak_mb: peak as f64 / 1e6,
        cpu_us_per_poll: (cpu_after - cpu_before).as_secs_f64() * 1e6 / polls.max(1) as f64,
        not_modified: nm as f64 / polls.max(1) as f64,
    }
}

#[tokio::main]
async fn main() {
    let sizes: Vec<usize> = match option::<usize>("--feeds") {
        Some(n) => vec![n],
        None => vec![1_000, 10_000, 100_000],
    };
    let secs: u64 = option("--secs").unwrap_or(15);
    println!(
        "polling: the daemon against a loopback feed server, {HOSTS} hosts; {secs} s measured after a warm-up"
    );
    println!();
    println!("| feeds | polls/s (target) | peak RSS (target) | CPU µs per poll | answered 304 |");
    println!("|---|---|---|---|---|");
    for feeds in sizes {
        let (polls_target, rss_target) = match feeds {
            ..=10_000 => (500.0, 100.0),
            _ => (1000.0, 500.0),
        };
        let f = run(feeds, secs).await;
        println!(
            "| {feeds} | {:.0} (≥ {polls_target:.0}) | {:.0} MB (≤ {rss_target:.0} MB) | {:.0} | {:.0} % |",
            f.polls_per_s,
            f.peak_mb,
            f.cpu_us_per_poll,
            f.not_modified * 100.0
        );
        std::io::stdout().flush().ok();
    }
}
