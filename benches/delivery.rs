//! Delivery benchmark against a real SMTP server on loopback (aiosmtpd, from
//! tests/support) and a real SQLite outbox. Per alert it measures the SMTP
//! round trip and the time from the server's acceptance (250) until the
//! outbox has recorded the delivery on disk: the window in which a crash
//! would redeliver (with the same Message-ID). Then the outbox's throughput.
//! Run: `cargo bench --bench delivery` (needs python3 with aiosmtpd).

use newswatch::config::Config;
use newswatch::delivery::clock::Clock;
use newswatch::delivery::deliver::Deliverer;
use newswatch::delivery::outbox::Outbox;
use newswatch::model::alert::{Alert, AlertArticle, Notice};
use newswatch::store::{self, PollCommit};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const ALERTS: usize = 300;

fn alert(n: usize) -> Alert {
    Alert {
        id: format!("bench-{n:06}"),
        rule: "brussels".into(),
        query: "Brussels".into(),
        destination: "desk".into(),
        feed: "wire".into(),
        article: AlertArticle {
            key: format!("guid:{n}"),
            title: format!("Explosion reported near Brussels station, update {n}"),
            link: Some(format!("https://news.test/{n}")),
            published: None,
            authors: vec![],
        },
        excerpts: vec![],
        created_at: chrono::Utc::now(),
        story: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("mail");
    let mut sink = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/support/smtp_sink.py"
        ))
        .args(["--port", "0", "--dir"])
        .arg(&mail_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd");
    let mut ready = String::new();
    BufReader::new(sink.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let port: u16 = ready
        .trim()
        .strip_prefix("READY ")
        .unwrap()
        .parse()
        .unwrap();

    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::write(
        dir.path().join("rules.d/r.toml"),
        "[[rule]]\nname = \"brussels\"\nquery = \"Brussels\"\nnotify = [\"desk\"]\n",
    )
    .unwrap();
    let text = format!(
        "state_dir = \"state\"\nrules = [\"rules.d/*.toml\"]\n\n[destination.desk]\nkind = \"email\"\n\
         smtp = \"smtp://127.0.0.1:{port}\"\nfrom = \"nw@test.example\"\nto = [\"desk@test.example\"]\n"
    );
    let config = Config::parse(&dir.path().join("newswatch.toml"), &text).unwrap();
    let store = store::open(&config.store).await.unwrap();
    let deliverer = Deliverer::build(&config.destinations["desk"]).unwrap();

    let alerts: Vec<Alert> = (0..ALERTS).map(alert).collect();
    let commit = PollCommit {
        alerts: alerts.clone(),
        ..Default::default()
    };
    store.commit_poll("wire", commit).await.unwrap();
    let (mut smtp, mut stored) = (Vec::new(), Vec::new());
    for a in &alerts {
        let start = Instant::now();
        deliverer.deliver(Notice::Alert(a)).await.unwrap();
        let accepted = Instant::now();
        store
            .mark_delivered(std::slice::from_ref(&a.id))
            .await
            .unwrap();
        stored.push(accepted.elapsed());
        smtp.push(accepted - start);
    }
    smtp.sort();
    stored.sort();
    println!("{ALERTS} alerts, one at a time, SMTP on loopback, SQLite synchronous=FULL");
    println!(
        "  SMTP round trip (render + send):    median {:>7.2} ms   p99 {:>7.2} ms",
        percentile(&smtp, 0.5).as_secs_f64() * 1e3,
        percentile(&smtp, 0.99).as_secs_f64() * 1e3
    );
    println!(
        "  SMTP acceptance -> stored on disk:  median {:>7.2} ms   p99 {:>7.2} ms   (target: p99 <= 50 ms)",
        percentile(&stored, 0.5).as_secs_f64() * 1e3,
        percentile(&stored, 0.99).as_secs_f64() * 1e3
    );

    // The outbox end to end: due alerts out of the store, rendered, sent,
    // recorded; the destination's default concurrency (2).
    let more: Vec<Alert> = (ALERTS..2 * ALERTS).map(alert).collect();
    let commit = PollCommit {
        alerts: more,
        ..Default::default()
    };
    store.commit_poll("wire", commit).await.unwrap();
    let outbox = Outbox::new(
        store.clone(),
        &config.destinations,
        config.retry,
        config.digests(),
        Clock::System,
    )
    .unwrap();
    let start = Instant::now();
    let report = outbox.deliver_due(&CancellationToken::new()).await.unwrap();
    let took = start.elapsed();
    assert_eq!(report.delivered, ALERTS);
    println!(
        "  outbox, {ALERTS} alerts:                 {:>7.0} alerts/s   (target: >= 50 alerts/s)",
        ALERTS as f64 / took.as_secs_f64()
    );
    let received = std::fs::read_dir(&mail_dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "eml")
        })
        .count();
    assert_eq!(received, 2 * ALERTS, "every alert arrived exactly once");
    let _ = sink.kill();
    let _ = sink.wait();
}
