//! Monitoring: `/metrics` read by the Prometheus Python client's
//! OpenMetrics parser, `/healthz` and `/readyz`.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ATTACK: Item = Item {
    guid: "wire-1",
    title: "Explosion at Brussels airport",
    body: "An explosion hit Zaventem this morning.",
};

/// One sample of a scrape.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: serde_json::Value,
    value: f64,
}

/// GETs `url`: status and body.
async fn get(url: &str) -> (u16, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The samples of a scrape, as the Prometheus client's parser reads them
/// (it fails the test on text that breaks the format).
async fn scrape(port: u16) -> Vec<Sample> {
    let (status, text) = get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(status, 200);
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/openmetrics.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            Sample {
                name: v["name"].as_str().unwrap().to_string(),
                labels: v["labels"].clone(),
                value: v["value"].as_f64().unwrap(),
            }
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.labels[*k] == *v))
        .map(|s| s.value)
}

fn with_metrics(config: String, port: u16, extra: &str) -> String {
    format!("{config}\n[metrics]\nlisten = \"127.0.0.1:{port}\"\n{extra}")
}

#[tokio::test]
async fn metrics_count_polls_matches_and_deliveries() {
    let smtp = SmtpSink::start_any();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/wire.xml"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(rss(&[ATTACK]), "application/rss+xml"),
        )
        .mount(&server)
        .await;
    let feed = format!(
        "[[feed]]\nname = \"wire\"\nurl = \"{}/wire.xml\"\ninterval = \"1h\"\nfirst_poll = \"alert\"\n",
        server.uri()
    );
    let port = free_port();
    let env = Env::new(&with_metrics(config(smtp.port, &feed), port, ""), RULES);
    let daemon = env.start_daemon();
    wait_for("the alert", || smtp.messages().into_iter().next()).await;
    daemon.wait_log("Alert delivered", 1).await;

    let samples = scrape(port).await;
    let got = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(
        got(
            "newswatch_polls_total",
            &[("feed", "wire"), ("result", "new")]
        ),
        Some(1.0)
    );
    assert_eq!(
        got("newswatch_matches_total", &[("rule", "brussels")]),
        Some(1.0)
    );
    assert_eq!(
        got("newswatch_matches_total", &[("rule", "al-shabab")]),
        None
    );
    assert_eq!(
        got("newswatch_alerts_queued_total", &[("destination", "desk")]),
        Some(1.0)
    );
    assert_eq!(
        got(
            "newswatch_deliveries_total",
            &[("destination", "desk"), ("outcome", "delivered")]
        ),
        Some(1.0)
    );
    assert_eq!(got("newswatch_articles_parsed_total", &[]), Some(1.0));
    assert_eq!(
        got("newswatch_fetch_duration_seconds_count", &[]),
        Some(1.0)
    );
    assert_eq!(
        got("newswatch_match_duration_seconds_count", &[]),
        Some(1.0)
    );
    assert_eq!(got("newswatch_rules", &[]), Some(2.0));
    assert_eq!(got("newswatch_feeds", &[]), Some(1.0));
    assert_eq!(got("newswatch_feeds_failing", &[]), Some(0.0));
    assert_eq!(got("newswatch_outbox_pending", &[]), Some(0.0));
    assert_eq!(
        got("newswatch_outbox_oldest_pending_age_seconds", &[]),
        Some(0.0)
    );
    assert_eq!(
        got(
            "newswatch_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );

    assert_eq!(
        get(&format!("http://127.0.0.1:{port}/healthz")).await,
        (200, "ok\n".into())
    );
    assert_eq!(get(&format!("http://127.0.0.1:{port}/readyz")).await.0, 200);
    daemon.stop().await;
}

/// No feed works: `/healthz` turns 503 once `no_success_after` has passed,
/// saying why, and `/metrics` counts the failing feed.
#[tokio::test]
async fn healthz_fails_when_no_feed_has_worked_for_too_long() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let feed = format!(
        "[[feed]]\nname = \"broken\"\nurl = \"{}/wire.xml\"\n",
        server.uri()
    );
    let port = free_port();
    let config = with_metrics(
        config(free_port(), &feed),
        port,
        "no_success_after = \"2s\"\n",
    );
    let env = Env::new(&config, RULES);
    let daemon = env.start_daemon();
    daemon.wait_log("Feed failed", 1).await;
    let start = std::time::Instant::now();
    let body = loop {
        let (status, body) = get(&format!("http://127.0.0.1:{port}/healthz")).await;
        if status == 503 {
            break body;
        }
        assert_eq!(body, "ok\n");
        assert!(start.elapsed() < DEADLINE, "/healthz still ok");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(body.contains("no feed has worked for"), "{body}");
    assert!(body.contains("last success: never"), "{body}");
    let samples = scrape(port).await;
    assert_eq!(value(&samples, "newswatch_feeds_failing", &[]), Some(1.0));
    assert!(
        value(
            &samples,
            "newswatch_polls_total",
            &[("feed", "broken"), ("result", "error")]
        )
        .is_some_and(|n| n >= 1.0)
    );
    daemon.stop().await;
}
