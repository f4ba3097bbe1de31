//! WebSub: the daemon subscribes to the hub a feed names, and the hub
//! pushes new entries (Flask-WebSub's hub, from PyPI, on loopback).

use crate::support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn websub_config(smtp_port: u16, listen: u16, topic: &str, allow: &str, lease: &str) -> String {
    format!(
        r#"
state_dir = "state"
rules = ["rules.d/*.toml"]

[defaults]
interval = "1h"
max_interval = "2h"
timeout = "10s"
allow_networks = [{allow}]

[delivery]
retry_initial = "1s"

[destination.desk]
kind = "email"
smtp = "smtp://127.0.0.1:{smtp_port}"
from = "newswatch <newswatch@test.example>"
to = ["desk@test.example"]

[websub]
listen = "127.0.0.1:{listen}"
public_url = "http://127.0.0.1:{listen}/websub/"
lease = "{lease}"

[[feed]]
name = "wire"
url = "{topic}"
"#
    )
}

/// The feed, naming its hub and itself in `Link` headers.
async fn serve_feed(server: &MockServer, hub: &str, topic: &str, items: &[Item<'_>]) {
    server.reset().await;
    let links = format!(r#"<{hub}>; rel="hub", <{topic}>; rel="self""#);
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Link", links.as_str())
                .set_body_raw(rss(items), "application/rss+xml"),
        )
        .mount(server)
        .await;
}

/// How many times the daemon (not the hub) fetched the feed.
async fn polls(server: &MockServer) -> usize {
    let requests = server.received_requests().await.unwrap_or_default();
    requests
        .iter()
        .filter(|r| {
            r.headers
                .get("user-agent")
                .is_some_and(|ua| ua.to_str().unwrap_or_default().starts_with("newswatch"))
        })
        .count()
}

const OLD: Item = Item {
    guid: "old",
    title: "Markets steady",
    body: "Nothing to see.",
};
const NEW: Item = Item {
    guid: "new",
    title: "Explosion at Brussels airport",
    body: "An explosion hit Zaventem this morning.",
};
const FORGED: Item = Item {
    guid: "forged",
    title: "Al-Shabab claims attack",
    body: "Al-Shabab said it carried out the attack.",
};

#[tokio::test]
async fn a_hub_pushes_new_entries_that_alert_before_the_next_poll() {
    let hub = WebSubHub::start();
    let smtp = SmtpSink::start_any();
    let feeds = MockServer::start().await;
    let topic = format!("{}/feed.xml", feeds.uri());
    serve_feed(&feeds, &hub.url(), &topic, &[OLD]).await;
    let listen = free_port();
    let allow = r#""127.0.0.0/8""#;
    let env = Env::new(
        &websub_config(smtp.port, listen, &topic, allow, "4s"),
        RULES,
    );
    let daemon = env.start_daemon();

    // Subscribed after the first poll, and verified by the hub.
    daemon.wait_log("WebSub subscription verified", 1).await;
    let subscribe = hub.requests_for("subscribe").remove(0);
    assert_eq!(subscribe["hub.topic"], topic.as_str());
    assert_eq!(subscribe["hub.lease_seconds"], "4");
    assert_eq!(subscribe["hub.secret"].as_str().unwrap().len(), 64);
    let callback = subscribe["hub.callback"].as_str().unwrap().to_string();
    assert!(callback.starts_with(&format!("http://127.0.0.1:{listen}/websub/")));

    // A push not signed with our secret is acknowledged and ignored; a
    // callback we never gave out is gone; a verification we did not ask
    // for is refused.
    // reqwest is built without a default TLS provider (the daemon picks ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let forged = client
        .post(&callback)
        .header("X-Hub-Signature", format!("sha256={}", "0".repeat(64)))
        .body(rss(&[OLD, FORGED]))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 202);
    let unknown = format!("http://127.0.0.1:{listen}/websub/{}", "f".repeat(32));
    let gone = client.post(&unknown).body("x").send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 410);
    let query = form(&[
        ("hub.mode", "subscribe"),
        ("hub.topic", "http://elsewhere.example/feed"),
        ("hub.challenge", "c"),
    ]);
    let wrong_topic = client
        .get(format!("{callback}?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_topic.status().as_u16(), 404);

    // The publisher updates the feed and pings the hub; the hub fetches it
    // and pushes it, signed. (Pinged again until it arrives: the hub stores
    // a subscription only once its verification is answered.)
    assert_eq!(polls(&feeds).await, 1);
    serve_feed(&feeds, &hub.url(), &topic, &[OLD, NEW]).await;
    let start = std::time::Instant::now();
    let mut pinged = None::<std::time::Instant>;
    let mail = loop {
        if let Some(mail) = smtp.messages().into_iter().next() {
            break mail;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "no pushed alert: {}",
            daemon.log()
        );
        if pinged.is_none_or(|at| at.elapsed().as_secs() >= 1) {
            let publish = [("hub.mode", "publish"), ("hub.url", topic.as_str())];
            let sent = client
                .post(hub.url())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form(&publish))
                .send()
                .await
                .unwrap();
            assert!(sent.status().is_success(), "{}", sent.status());
            pinged = Some(std::time::Instant::now());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(mail.contains("Explosion at Brussels airport"), "{mail}");
    daemon.wait_log("WebSub push received", 1).await;
    assert!(daemon.log().contains("WebSub push ignored"));
    // Not polled since the start: the entry came by push (the next poll is
    // hours away), and the forged entry alerted no one.
    assert_eq!(polls(&feeds).await, 0);
    assert_eq!(smtp.messages().len(), 1, "{:?}", smtp.messages());

    // The 4-second lease is renewed, and verified again: before it ends if
    // the hub grants a minute or more, else a minute after the last request
    // (newswatch never asks a hub about a subscription more often).
    let start = std::time::Instant::now();
    while daemon.log().matches("WebSub subscription verified").count() < 2 {
        assert!(
            start.elapsed().as_secs() < 150,
            "not renewed: {}",
            daemon.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(hub.requests_for("subscribe").len() >= 2);
    let renewal = hub.requests_for("subscribe").pop().unwrap();
    assert_eq!(renewal["hub.callback"], callback.as_str());

    // The feed leaves the config: the hub is asked to stop, and confirms.
    let config = std::fs::read_to_string(env.config_path()).unwrap();
    let without = config.replace("name = \"wire\"", "name = \"other\"");
    std::fs::write(env.config_path(), without).unwrap();
    daemon.signal("HUP");
    daemon.wait_log("WebSub unsubscription verified", 1).await;
    let unsubscribe = hub.requests_for("unsubscribe").remove(0);
    assert_eq!(unsubscribe["hub.callback"], callback.as_str());
    daemon.stop().await;
}

/// A hub named by the feed's document on a loopback port the operator did
/// not write: refused, with the reason in `newswatch feeds`, until
/// `allow_networks` opens it (asked again at reload).
#[tokio::test]
async fn a_hub_on_a_private_address_is_refused_until_allowed() {
    let hub = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hub"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&hub)
        .await;
    let hub_url = format!("{}/hub", hub.uri());
    let feeds = MockServer::start().await;
    let topic = format!("{}/feed.xml", feeds.uri());
    // No Link header: the hub is named in the RSS document.
    let document = rss(&[OLD]).replace(
        "<channel>",
        &format!(
            r#"<channel><atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="hub" href="{hub_url}"/>"#
        ),
    );
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(document, "application/rss+xml"))
        .mount(&feeds)
        .await;
    let listen = free_port();
    let smtp_port = free_port();
    // Another feed lives at the hub's origin: that makes the origin the
    // operator's for that feed, not for the hub this feed names.
    let config = websub_config(smtp_port, listen, &topic, "", "1h")
        + &format!(
            "\n[[feed]]\nname = \"neighbour\"\nurl = \"{}/other.xml\"\n",
            hub.uri()
        );
    let env = Env::new(&config, RULES);
    let daemon = env.start_daemon();
    daemon.wait_log("WebSub request failed", 1).await;
    let line = daemon
        .log()
        .lines()
        .find(|l| l.contains("WebSub request failed"))
        .unwrap()
        .to_string();
    assert!(line.contains("not a public address"), "{line}");
    let posts = |requests: Vec<wiremock::Request>| {
        requests
            .into_iter()
            .filter(|r| r.method == wiremock::http::Method::POST)
            .collect::<Vec<_>>()
    };
    assert!(posts(hub.received_requests().await.unwrap()).is_empty());
    let listed = run_ok_json(env.command(&["feeds", "--format", "json"])).await;
    assert_eq!(listed["push"]["state"], "requested");
    assert!(
        listed["push"]["error"]
            .as_str()
            .unwrap()
            .contains("allow_networks"),
        "{listed}"
    );

    let config = std::fs::read_to_string(env.config_path()).unwrap();
    let allowed = config.replace(
        "allow_networks = []",
        r#"allow_networks = ["127.0.0.1/32"]"#,
    );
    std::fs::write(env.config_path(), allowed).unwrap();
    daemon.signal("HUP");
    daemon
        .wait_log("WebSub request accepted by the hub", 1)
        .await;
    let requests = posts(hub.received_requests().await.unwrap());
    assert_eq!(requests.len(), 1);
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&requests[0].body)
            .into_owned()
            .collect();
    assert_eq!(form["hub.mode"], "subscribe");
    assert_eq!(form["hub.topic"], topic);
    assert!(form["hub.callback"].starts_with(&format!("http://127.0.0.1:{listen}/websub/")));
    daemon.stop().await;
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The one JSON line `newswatch feeds --format json` prints for one feed.
async fn run_ok_json(cmd: tokio::process::Command) -> serde_json::Value {
    let out = run(cmd).await;
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap()
}

/// A hub the test plays itself (wiremock records what it is asked; the test
/// sends its verifications): a verified subscription, then a denial, are
/// shown by `newswatch feeds`; a feed whose document stops naming its hub
/// is unsubscribed.
#[tokio::test]
async fn a_denial_is_shown_and_a_feed_that_drops_its_hub_is_unsubscribed() {
    let hub = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&hub)
        .await;
    let hub_url = format!("{}/hub", hub.uri());
    let feeds = MockServer::start().await;
    let topic = format!("{}/feed.xml", feeds.uri());
    serve_feed(&feeds, &hub_url, &topic, &[OLD]).await;
    let listen = free_port();
    let config = websub_config(free_port(), listen, &topic, r#""127.0.0.1/32""#, "1h").replace(
        "interval = \"1h\"\nmax_interval = \"2h\"",
        "interval = \"1s\"\nmax_interval = \"1s\"",
    );
    let env = Env::new(&config, RULES);
    let daemon = env.start_daemon();
    let asked = |mode: &'static str| {
        let hub = &hub;
        async move {
            let requests = hub.received_requests().await.unwrap_or_default();
            requests
                .iter()
                .map(|r| {
                    url::form_urlencoded::parse(&r.body)
                        .into_owned()
                        .collect::<std::collections::HashMap<String, String>>()
                })
                .filter(|form| form.get("hub.mode").map(String::as_str) == Some(mode))
                .collect::<Vec<_>>()
        }
    };
    let start = std::time::Instant::now();
    let subscribe = loop {
        if let Some(form) = asked("subscribe").await.pop() {
            break form;
        }
        assert!(start.elapsed() < DEADLINE, "no subscribe request");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let callback = subscribe["hub.callback"].clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let get = |pairs: &[(&str, &str)]| client.get(format!("{callback}?{}", form(pairs))).send();

    let verified = get(&[
        ("hub.mode", "subscribe"),
        ("hub.topic", &topic),
        ("hub.challenge", "abc123"),
        // Absurd: taken as the longest lease newswatch accepts.
        ("hub.lease_seconds", "9000000000000"),
    ])
    .await
    .unwrap();
    assert_eq!(verified.status().as_u16(), 200);
    assert_eq!(verified.text().await.unwrap(), "abc123");
    let listed = run_ok_json(env.command(&["feeds", "--format", "json"])).await;
    assert_eq!(listed["push"]["state"], "active", "{listed}");
    let until = listed["push"]["lease_until"].as_str().unwrap();
    let until = chrono::DateTime::parse_from_rfc3339(until).unwrap();
    assert!(
        until < chrono::Utc::now() + chrono::Duration::days(367),
        "{until}"
    );
    // Verified already, with no request since: a second verification is
    // not ours to confirm (it would stretch the lease at the hub's will).
    let again = get(&[
        ("hub.mode", "subscribe"),
        ("hub.topic", &topic),
        ("hub.challenge", "again"),
    ])
    .await
    .unwrap();
    assert_eq!(again.status().as_u16(), 404);

    let denied = get(&[
        ("hub.mode", "denied"),
        ("hub.topic", &topic),
        ("hub.reason", "over quota"),
    ])
    .await
    .unwrap();
    assert_eq!(denied.status().as_u16(), 200);
    let listed = run_ok_json(env.command(&["feeds", "--format", "json"])).await;
    assert_eq!(listed["push"]["state"], "denied", "{listed}");
    assert!(
        listed["push"]["error"]
            .as_str()
            .unwrap()
            .contains("over quota")
    );

    // The feed no longer names a hub: the next poll unsubscribes it.
    feeds.reset().await;
    Mock::given(method("GET"))
        .and(path("/feed.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(rss(&[OLD]), "application/rss+xml"))
        .mount(&feeds)
        .await;
    let unsubscribe = loop {
        if let Some(form) = asked("unsubscribe").await.pop() {
            break form;
        }
        assert!(start.elapsed() < DEADLINE, "no unsubscribe request");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(unsubscribe["hub.callback"], callback);
    let confirmed = get(&[
        ("hub.mode", "unsubscribe"),
        ("hub.topic", &topic),
        ("hub.challenge", "bye"),
    ])
    .await
    .unwrap();
    assert_eq!(confirmed.text().await.unwrap(), "bye");
    let listed = run_ok_json(env.command(&["feeds", "--format", "json"])).await;
    assert!(listed["push"].is_null(), "{listed}");
    daemon.stop().await;
}
