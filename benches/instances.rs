//! Several instances on one PostgreSQL database: 1, 2 and 3 daemons (the
//! real binary) share 10,000 feeds served from loopback, beside one daemon
//! on its own SQLite file, in one run. Each poll is answered 304 (about
//! 60 %) or with a new entry, one in five of which alerts; alerts go to a
//! Maildir. Printed: polls and alerts per second over the measured window,
//! and the daemons' CPU time per poll (all instances together).
//!
//! Needs `NEWSWATCH_TEST_POSTGRES_URL` (each configuration gets a schema of
//! its own, dropped afterwards). `cargo bench --bench instances`, or
//! `-- --feeds 10000 --secs 20 --interval 5 --concurrency 8` (the Maildir's
//! sends in flight; its default is one). Linux only (reads /proc).

#[path = "common.rs"]
mod common;

use common::{option, usage};
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// Loopback addresses the feeds are spread over.
const HOSTS: usize = 64;

/// Answers a poll: 304 to about 60 % of conditional requests, else the feed
/// with one new entry (and a new ETag); a fifth of the new entries alert.
struct Feeds {
    served: Arc<AtomicU64>,
}

impl Respond for Feeds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        if request.headers.contains_key("if-none-match") && n % 10 < 6 {
            return ResponseTemplate::new(304);
        }
        // A fifth of the new entries (the 304s took n % 10 < 6).
        let what = if n / 10 % 5 == 0 {
            "Explosion in Brussels"
        } else {
            "Nothing to see"
        };
        let body = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>f</title>\
             <link>http://example.org/</link><description>d</description>\
             <item><title>{what}, entry {n}</title><guid>urn:entry:{n}</guid>\
             <description>{what}: report number {n}.</description></item>\
             </channel></rss>"
        );
        ResponseTemplate::new(200)
            .insert_header("ETag", format!("\"v{n}\"").as_str())
            .set_body_raw(body, "application/rss+xml")
    }
}

struct Figures {
    polls_per_s: f64,
    /// Alerts queued, and alerts delivered.
    queued_per_s: f64,
    alerts_per_s: f64,
    cpu_us_per_poll: f64,
    /// The database server's processes' CPU time per poll.
    db_us_per_poll: f64,
}

/// CPU time so far of the PostgreSQL server's processes on this machine.
fn database_cpu() -> Duration {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(|pid| usage(pid).0)
        .sum()
}

/// Where the instances keep their state.
enum Store<'a> {
    Sqlite,
    /// The admin URL and the schema.
    Postgres(&'a str, &'a str),
}

/// Runs `sql` on the test database.
fn psql(admin: &str, sql: &str) {
    let status = Command::new("psql")
        .args([
            "-q",
            admin,
            "-c",
            &format!("SET client_min_messages = warning; {sql}"),
        ])
        .stdout(Stdio::null())
        .status()
        .expect("psql");
    assert!(status.success(), "psql {sql}");
}

/// Mail files delivered into the instances' Maildirs.
fn delivered(dirs: &[tempfile::TempDir]) -> u64 {
    dirs.iter()
        .map(|d| {
            std::fs::read_dir(d.path().join("state/maildir/desk/new")).map_or(0, |r| r.count())
                as u64
        })
        .sum()
}

/// Alerts in the store's outbox (pending and delivered), as `db stats` says.
fn queued(dir: &Path) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .arg("-c")
        .arg(dir.join("newswatch.toml"))
        .args(["db", "stats", "--format", "json"])
        .output()
        .expect("db stats");
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    ["pending", "delivered", "dead"]
        .iter()
        .filter_map(|k| stats[k].as_u64())
        .sum()
}

fn start(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_newswatch"))
        .arg("-c")
        .arg(dir.join("newswatch.toml"))
        .arg("run")
        .env("NEWSWATCH_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the daemon")
}

/// What a run varies: feeds, seconds measured, polling interval, the
/// destination's sends in flight (`None`: its kind's default).
struct Load {
    feeds: usize,
    secs: u64,
    interval: u64,
    concurrency: Option<usize>,
}

async fn run(load: &Load, instances: usize, store: Store<'_>) -> Figures {
    let Load {
        feeds,
        secs,
        interval,
        concurrency,
    } = *load;
    let listener = TcpListener::bind("0.0.0.0:0").expect("bind the feed server");
    let server = MockServer::builder()
        .listener(listener)
        .disable_request_recording()
        .start()
        .await;
    let served = Arc::new(AtomicU64::new(0));
    Mock::given(any())
        .respond_with(Feeds {
            served: served.clone(),
        })
        .mount(&server)
        .await;
    let port = server.address().port();
    let store_lines = match store {
        Store::Sqlite => String::new(),
        Store::Postgres(admin, schema) => {
            psql(admin, &format!("CREATE SCHEMA {schema}"));
            format!("store = \"{admin}?options=-c%20search_path%3D{schema}\"\n")
        }
    };
    let mut config = format!(
        "{store_lines}rules = [\"rules.d/*.toml\"]\n\n[defaults]\n\
         interval = \"{interval}s\"\nmax_interval = \"{interval}s\"\nmax_concurrent_polls = 64\n\
         first_poll = \"alert\"\n\n[destination.desk]\nkind = \"maildir\"\n{}\n",
        concurrency.map_or(String::new(), |n| format!("concurrency = {n}\n"))
    );
    for i in 0..feeds {
        let host = i % HOSTS + 1;
        config.push_str(&format!(
            "[[feed]]\nname = \"f{i}\"\nurl = \"http://127.0.0.{host}:{port}/f/{i}.xml\"\n"
        ));
    }
    let dirs: Vec<tempfile::TempDir> = (0..instances)
        .map(|_| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            std::fs::create_dir(dir.path().join("rules.d")).unwrap();
            std::fs::write(
                dir.path().join("rules.d/rules.toml"),
                "[[rule]]\nname = \"r\"\nquery = 'Brussels'\nnotify = [\"desk\"]\nstory = \"every\"\n",
            )
            .unwrap();
            std::fs::write(dir.path().join("newswatch.toml"), &config).unwrap();
            dir
        })
        .collect();
    let mut daemons: Vec<Child> = dirs.iter().map(|d| start(d.path())).collect();
    // Warm-up: the first round (feeds due at start are spread over up to a
    // minute), then the measured window.
    let warm = Duration::from_secs((feeds as u64 / 1000).clamp(5, 65) + interval);
    tokio::time::sleep(warm).await;
    let cpu = |daemons: &[Child]| -> Duration { daemons.iter().map(|d| usage(d.id()).0).sum() };
    let (cpu_before, polls_before, alerts_before, db_before, queued_before) = (
        cpu(&daemons),
        served.load(Ordering::Relaxed),
        delivered(&dirs),
        database_cpu(),
        queued(dirs[0].path()),
    );
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu_after, polls, alerts, db_after, queued) = (
        cpu(&daemons),
        served.load(Ordering::Relaxed) - polls_before,
        delivered(&dirs) - alerts_before,
        database_cpu(),
        queued(dirs[0].path()) - queued_before,
    );
    for daemon in &mut daemons {
        let _ = daemon.kill();
        let _ = daemon.wait();
    }
    if let Store::Postgres(admin, schema) = store {
        psql(admin, &format!("DROP SCHEMA {schema} CASCADE"));
    }
    Figures {
        polls_per_s: polls as f64 / elapsed,
        queued_per_s: queued as f64 / elapsed,
        alerts_per_s: alerts as f64 / elapsed,
        cpu_us_per_poll: (cpu_after - cpu_before).as_secs_f64() * 1e6 / polls.max(1) as f64,
        db_us_per_poll: db_after.saturating_sub(db_before).as_secs_f64() * 1e6
            / polls.max(1) as f64,
    }
}

#[tokio::main]
async fn main() {
    let Ok(admin) = std::env::var("NEWSWATCH_TEST_POSTGRES_URL") else {
        eprintln!("set NEWSWATCH_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)");
        std::process::exit(2);
    };
    let feeds: usize = option("--feeds").unwrap_or(10_000);
    let secs: u64 = option("--secs").unwrap_or(20);
    // Each feed every `interval`: 2,000 polls a second offered at 10,000 feeds.
    let interval: u64 = option("--interval").unwrap_or((feeds as u64 / 2000).max(1));
    let load = Load {
        feeds,
        secs,
        interval,
        concurrency: option("--concurrency"),
    };
    println!(
        "instances: {feeds} loopback feeds on {HOSTS} hosts, each polled every {interval} s \
         ({:.0} polls/s offered); {secs} s measured after a warm-up",
        feeds as f64 / interval as f64
    );
    println!();
    println!(
        "| store | instances | polls/s | alerts queued/s | alerts delivered/s | daemons' CPU µs per poll | database's CPU µs per poll |"
    );
    println!("|---|---|---|---|---|---|---|");
    let runs: [(&str, usize); 4] = [
        ("SQLite", 1),
        ("PostgreSQL", 1),
        ("PostgreSQL", 2),
        ("PostgreSQL", 3),
    ];
    for (kind, instances) in runs {
        let schema = format!("nw_bench_{}_{instances}", std::process::id());
        let store = match kind {
            "SQLite" => Store::Sqlite,
            _ => Store::Postgres(&admin, &schema),
        };
        let f = run(&load, instances, store).await;
        println!(
            "| {kind} | {instances} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            f.polls_per_s, f.queued_per_s, f.alerts_per_s, f.cpu_us_per_poll, f.db_us_per_poll
        );
        std::io::stdout().flush().ok();
    }
}
