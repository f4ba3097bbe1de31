//! Delivery to real servers on loopback: webhooks (signatures checked by the
//! `standardwebhooks` package), chat services, SMTP with temporary failures,
//! hostile feed content, and destinations that fail or stall.

use crate::support::*;
use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The example secret of the Standard Webhooks specification.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const BRUSSELS: &str = r#"
[[rule]]
name = "brussels"
query = '(Brussels OR Zaventem) (explosion OR explosions OR attack)'
notify = [NOTIFY]
"#;

fn rules(notify: &[&str]) -> String {
    let list: Vec<String> = notify.iter().map(|d| format!("{d:?}")).collect();
    BRUSSELS.replace("NOTIFY", &list.join(", "))
}

/// Serves `xml` as /wire.xml.
async fn feed_server(xml: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/wire.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(xml, "application/rss+xml"))
        .mount(&server)
        .await;
    server
}

/// A config polling `feed` once an hour (so each test sees one poll) with
/// the given destination blocks.
fn config_with(feed: &MockServer, destinations: &str) -> String {
    format!(
        r#"
state_dir = "state"
rules = ["rules.d/*.toml"]

[defaults]
interval = "1h"
timeout = "10s"

[delivery]
retry_initial = "1s"
retry_max = "2s"

{destinations}

[[feed]]
name = "wire"
url = "{}/wire.xml"
first_poll = "alert"
"#,
        feed.uri()
    )
}

fn two_items() -> String {
    rss(&[
        Item {
            guid: "d-1",
            title: "Explosion reported near Brussels station",
            body: "Police in Brussels closed the area after an explosion.",
        },
        Item {
            guid: "d-2",
            title: "Second explosion at Zaventem",
            body: "A second explosion was heard at Zaventem airport.",
        },
    ])
}

fn json(body: &Value) -> Value {
    serde_json::from_str(body["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn webhook_retries_honour_retry_after_and_every_attempt_is_signed() {
    let sink = WebhookSink::start("500,429:3", Some(SECRET));
    let feed = feed_server(rss(&[Item {
        guid: "w-1",
        title: "Explosion reported near Brussels station",
        body: "Police in Brussels closed the area after an explosion.",
    }]))
    .await;
    let destination = format!(
        "[destination.hook]\nkind = \"webhook\"\nurl = \"{}\"\nsecret_file = \"hook.secret\"\n",
        sink.url("/hooks/newswatch")
    );
    let env = Env::new(&config_with(&feed, &destination), &rules(&["hook"]));
    std::fs::write(env.dir.path().join("hook.secret"), format!("{SECRET}\n")).unwrap();

    let daemon = env.start_daemon();
    let requests = wait_for("the third attempt", || {
        let r = sink.requests();
        (r.len() >= 3).then_some(r)
    })
    .await;
    daemon.wait_log("Alert delivered", 1).await;
    daemon.stop().await;

    let replies: Vec<&str> = requests
        .iter()
        .map(|r| r["reply"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["500", "429:3", "200"]);
    // One id for every attempt, so the receiver can drop a repeat; every
    // signature verifies with the reference implementation.
    let id = &requests[0]["headers"]["webhook-id"];
    for r in &requests {
        assert_eq!(&r["headers"]["webhook-id"], id);
        assert_eq!(r["verified"], Value::Bool(true), "{r}");
        assert_eq!(r["path"], "/hooks/newswatch");
    }
    // Retry-After: 3 was honoured.
    let gap = requests[2]["at"].as_f64().unwrap() - requests[1]["at"].as_f64().unwrap();
    assert!(gap >= 2.95, "retried {gap:.2}s after a Retry-After of 3s");

    let payload = json(&requests[2]);
    assert_eq!(payload["type"], "newswatch.alert");
    assert_eq!(payload["version"], 1);
    let data = &payload["data"];
    assert_eq!(data["id"], *id);
    assert_eq!(data["rule"]["name"], "brussels");
    assert_eq!(data["feed"], "wire");
    assert_eq!(
        data["article"]["title"],
        "Explosion reported near Brussels station"
    );
    assert_eq!(data["article"]["link"], "http://news.test/w-1");
    assert_eq!(data["article"]["published"], "2026-03-24T10:00:00Z");
    let excerpt = &data["excerpts"][0];
    let text = excerpt["text"].as_str().unwrap();
    let marked: Vec<&str> = excerpt["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &text[s[0].as_u64().unwrap() as usize..s[1].as_u64().unwrap() as usize])
        .collect();
    assert_eq!(marked, ["Explosion", "Brussels"]);

    // Delivered means done: another run sends nothing more.
    let again = env.once().await;
    assert!(again.stderr.contains("delivered=0"), "{}", again.stderr);
    assert_eq!(sink.requests().len(), 3);
}

#[tokio::test]
async fn gone_endpoint_disables_only_its_destination() {
    let gone = WebhookSink::start("410", None);
    let fine = WebhookSink::start("", None);
    let smtp = SmtpSink::start_any();
    let feed = feed_server(two_items()).await;
    let destinations = format!(
        r#"
[destination.gone]
kind = "webhook"
url = "{}"
concurrency = 1

[destination.fine]
kind = "webhook"
url = "{}"

[destination.desk]
kind = "email"
smtp = "smtp://127.0.0.1:{}"
from = "newswatch <newswatch@test.example>"
to = ["desk@test.example"]
"#,
        gone.url("/"),
        fine.url("/"),
        smtp.port
    );
    let env = Env::new(
        &config_with(&feed, &destinations),
        &rules(&["gone", "fine", "desk"]),
    );
    let daemon = env.start_daemon();
    wait_for("2 webhooks and 2 emails", || {
        (fine.requests().len() == 2 && smtp.messages().len() == 2).then_some(())
    })
    .await;
    daemon.wait_log("Destination disabled", 1).await;
    let log = daemon.stop().await;
    assert!(log.contains("destination=gone"), "{log}");

    // The 410 stopped the destination after one request; both of its alerts
    // wait for the config to be fixed, the second never tried.
    assert_eq!(gone.requests().len(), 1);
    let list = run(env.command(&["outbox", "list"])).await;
    let lines: Vec<&str> = list.stdout.lines().collect();
    let pending: Vec<&&str> = lines.iter().filter(|l| l.contains("-> gone")).collect();
    assert_eq!(pending.len(), 2, "{}", list.stdout);
    assert!(
        pending.iter().any(|l| l.contains("attempts=1")),
        "{}",
        list.stdout
    );
    assert!(
        pending.iter().any(|l| l.contains("attempts=0")),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("410 Gone"), "{}", list.stdout);
    assert!(!list.stdout.contains("-> fine") && !list.stdout.contains("-> desk"));
}

#[tokio::test]
async fn chat_services_each_get_their_own_format() {
    let sink = WebhookSink::start("", None);
    let feed = feed_server(rss(&[Item {
        guid: "c-1",
        title: "Explosion reported near Brussels station",
        body: "Police in Brussels closed the area after an explosion.",
    }]))
    .await;
    let destinations = format!(
        r#"
[destination.slack]
kind = "slack"
url = "{}"

[destination.discord]
kind = "discord"
url = "{}"

[destination.teams]
kind = "teams"
url = "{}"
headers = {{ "X-Tenant" = "newsroom" }}

[destination.ntfy]
kind = "ntfy"
url = "{}"
"#,
        sink.url("/services/T000/B000/XXXX"),
        sink.url("/api/webhooks/1/abc"),
        sink.url("/workflows/teams"),
        sink.url("/newsroom-alerts"),
    );
    let env = Env::new(
        &config_with(&feed, &destinations),
        &rules(&["slack", "discord", "teams", "ntfy"]),
    );
    let run = env.once().await;
    assert!(run.stderr.contains("delivered=4"), "{}", run.stderr);
    let requests = sink.requests();
    let by_path = |p: &str| {
        let found: Vec<&Value> = requests.iter().filter(|r| r["path"] == p).collect();
        assert_eq!(found.len(), 1, "{p}: {requests:?}");
        json(found[0])
    };

    let slack = by_path("/services/T000/B000/XXXX");
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.contains("<http://news.test/c-1|Explosion reported near Brussels station>"),
        "{text}"
    );
    assert!(
        text.contains("> Police in *Brussels* closed the area after an *explosion*."),
        "{text}"
    );

    let discord = by_path("/api/webhooks/1/abc");
    assert_eq!(discord["allowed_mentions"]["parse"], Value::Array(vec![]));
    let embed = &discord["embeds"][0];
    assert_eq!(embed["url"], "http://news.test/c-1");
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains("**Brussels**")
    );

    let teams = by_path("/workflows/teams");
    let card = &teams["attachments"][0];
    assert_eq!(
        card["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(
        card["content"]["body"]
            .to_string()
            .contains("(http://news.test/c-1)")
    );
    let teams_request = requests
        .iter()
        .find(|r| r["path"] == "/workflows/teams")
        .unwrap();
    assert_eq!(teams_request["headers"]["x-tenant"], "newsroom");

    // ntfy: JSON publishing at the server root, the topic inside.
    let ntfy = by_path("/");
    assert_eq!(ntfy["topic"], "newsroom-alerts");
    assert_eq!(ntfy["click"], "http://news.test/c-1");
    assert!(
        ntfy["title"]
            .as_str()
            .unwrap()
            .starts_with("brussels: Explosion")
    );
}

#[tokio::test]
async fn smtp_temporary_failures_then_exactly_one_email() {
    let smtp = SmtpSink::start_with(0, &["--temp-fail", "2"]);
    let feed = feed_server(rss(&[Item {
        guid: "t-1",
        title: "Explosion reported near Brussels station",
        body: "Police in Brussels closed the area after an explosion.",
    }]))
    .await;
    let env = Env::new(
        &config(
            smtp.port,
            &format!(
                "[[feed]]\nname = \"wire\"\nurl = \"{}/wire.xml\"\nfirst_poll = \"alert\"\ninterval = \"1h\"\n",
                feed.uri()
            ),
        ),
        RULES,
    );
    let daemon = env.start_daemon();
    wait_for("the email", || (smtp.messages().len() == 1).then_some(())).await;
    daemon.wait_log("Alert delivered", 1).await;
    let log = daemon.stop().await;
    assert_eq!(log.matches("Alert delivery failed").count(), 2, "{log}");
    assert!(log.contains("451"), "{log}");
    assert_eq!(smtp.messages().len(), 1);
    let list = run(env.command(&["outbox", "list", "--all"])).await;
    assert!(
        list.stdout.contains("delivered attempts=3"),
        "{}",
        list.stdout
    );
}

#[tokio::test]
async fn hostile_entry_arrives_sanitised_and_its_title_injects_no_header() {
    let smtp = SmtpSink::start_any();
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Wire</title><link>http://news.test/</link><description>d</description>
<item>
<title>Explosion in Brussels&#13;&#10;Bcc: victim@evil.example</title>
<link>javascript:alert(4)</link>
<guid isPermaLink="false">h-1</guid>
<description><![CDATA[<p>An explosion at <b>Zaventem</b> airport.<script>alert(1)</script>
<img src="x" onerror="alert(2)"> <a href="javascript:alert(3)">details</a>
<iframe src="http://evil.example/"></iframe></p>]]></description>
</item></channel></rss>"#;
    let feed = feed_server(xml.to_string()).await;
    let env = Env::new(
        &config(
            smtp.port,
            &format!(
                "[[feed]]\nname = \"wire\"\nurl = \"{}/wire.xml\"\nfirst_poll = \"alert\"\n",
                feed.uri()
            ),
        ),
        RULES,
    );
    let run = env.once().await;
    assert!(run.stderr.contains("delivered=1"), "{}", run.stderr);
    let mail = &smtp.messages()[0];
    assert_eq!(smtp.recipients(), [["desk@test.example"]]);
    assert_eq!(mail_header(mail, "Bcc"), None);
    let parsed = mailparse::parse_mail(mail.as_bytes()).unwrap();
    let subject = parsed
        .headers
        .iter()
        .find(|h| h.get_key() == "Subject")
        .unwrap();
    assert_eq!(
        subject.get_value(),
        "[newswatch] brussels: Explosion in Brussels Bcc: victim@evil.example"
    );
    let (text, html) = mail_parts(mail);
    assert!(text.contains("*explosion* at *Zaventem* airport"), "{text}");
    assert!(html.contains("<mark"), "{html}");
    for bad in ["<script", "onerror", "javascript:", "<iframe", "alert("] {
        assert!(!html.contains(bad), "{bad} in the HTML part:\n{html}");
        assert!(!text.contains(bad), "{bad} in the text part:\n{text}");
    }
}

#[tokio::test]
async fn a_stalled_destination_does_not_delay_another() {
    let stalled = WebhookSink::start("hang", None);
    let smtp = SmtpSink::start_any();
    let server = MockServer::start().await;
    let first = rss(&[Item {
        guid: "s-1",
        title: "Explosion reported near Brussels station",
        body: "Police in Brussels closed the area after an explosion.",
    }]);
    Mock::given(path("/wire.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(first, "application/rss+xml"))
        .mount(&server)
        .await;
    let destinations = format!(
        r#"
[destination.stalled]
kind = "webhook"
url = "{}"
timeout = "300s"
concurrency = 1

[destination.desk]
kind = "email"
smtp = "smtp://127.0.0.1:{}"
from = "newswatch <newswatch@test.example>"
to = ["desk@test.example"]
"#,
        stalled.url("/"),
        smtp.port
    );
    let config =
        config_with(&server, &destinations).replace("interval = \"1h\"", "interval = \"1s\"");
    let env = Env::new(&config, &rules(&["stalled", "desk"]));
    let daemon = env.start_daemon();
    wait_for("the stalled request", || {
        (stalled.requests().len() == 1).then_some(())
    })
    .await;
    wait_for("the first email", || {
        (smtp.messages().len() == 1).then_some(())
    })
    .await;

    // A second article arrives while the webhook still hangs: its email
    // goes out without waiting for the webhook's 300 s timeout.
    server.reset().await;
    Mock::given(path("/wire.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(two_items(), "application/rss+xml"))
        .mount(&server)
        .await;
    wait_for("the second email", || {
        (smtp.messages().len() >= 2).then_some(())
    })
    .await;
    assert_eq!(
        stalled.requests().len(),
        1,
        "the stalled destination is still on its first request"
    );
    assert!(
        !daemon.log().contains("destination=stalled"),
        "{}",
        daemon.log()
    );
    drop(stalled);
    daemon.stop().await;
}

#[tokio::test]
async fn refused_webhooks_are_dead_letters_that_retry_redelivers() {
    // 400: refused; 302: a redirect, not followed for a POST; then accepted.
    let sink = WebhookSink::start("400,302", None);
    let feed = feed_server(rss(&[Item {
        guid: "r-1",
        title: "Explosion reported near Brussels station",
        body: "Police in Brussels closed the area after an explosion.",
    }]))
    .await;
    let destination = format!(
        "[destination.hook]\nkind = \"webhook\"\nurl = \"{}\"\n",
        sink.url("/hook")
    );
    let env = Env::new(&config_with(&feed, &destination), &rules(&["hook"]));

    let first = env.once().await;
    assert!(first.stderr.contains("dead=1"), "{}", first.stderr);
    let list = run(env.command(&["outbox", "list"])).await;
    assert!(list.stdout.contains("HTTP 400"), "{}", list.stdout);
    assert!(
        list.stdout.contains("test sink says 400"),
        "{}",
        list.stdout
    );

    assert!(
        run(env.command(&["outbox", "retry", "--all"]))
            .await
            .status
            .success()
    );
    let second = env.once().await;
    assert!(second.stderr.contains("dead=1"), "{}", second.stderr);
    let list = run(env.command(&["outbox", "list"])).await;
    assert!(
        list.stdout.contains("redirects are not followed"),
        "{}",
        list.stdout
    );

    assert!(
        run(env.command(&["outbox", "retry", "--all"]))
            .await
            .status
            .success()
    );
    let third = env.once().await;
    assert!(third.stderr.contains("delivered=1"), "{}", third.stderr);
    let ids: Vec<Value> = sink
        .requests()
        .iter()
        .map(|r| r["headers"]["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one id for every attempt"
    );
}
