//! Dead letters: a permanent SMTP failure is kept, listed, retried, dropped.

use crate::support::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn permanent_failure_becomes_a_dead_letter_that_retry_delivers() {
    let rejecting = SmtpSink::start_with(0, &["--perm-fail"]);
    let port = rejecting.port;
    let server = MockServer::start().await;
    let feed = rss(&[Item {
        guid: "dl-1",
        title: "Explosion reported near Brussels station",
        body: "Police in Brussels closed the area after an explosion.",
    }]);
    Mock::given(path("/wire.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(feed, "application/rss+xml"))
        .mount(&server)
        .await;
    let feeds = format!(
        "[[feed]]\nname = \"wire\"\nurl = \"{}/wire.xml\"\nfirst_poll = \"alert\"\n",
        server.uri()
    );
    let env = Env::new(&config(port, &feeds), RULES);

    let first = env.once().await;
    assert!(
        first.stderr.contains("Alert is a dead letter"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("dead=1"), "{}", first.stderr);

    let list = run(env.command(&["outbox", "list"])).await;
    assert!(list.status.success(), "{}", list.stderr);
    let line = list.stdout.lines().next().expect("one entry");
    assert!(
        line.contains("dead") && line.contains("brussels -> desk"),
        "{}",
        list.stdout
    );
    assert!(list.stdout.contains("554"), "{}", list.stdout);
    let id = line.split_whitespace().next().unwrap().to_string();

    // The server is fixed: retry the dead letter and it is delivered once.
    drop(rejecting);
    let accepting = SmtpSink::start(port);
    let retry = run(env.command(&["outbox", "retry", &id])).await;
    assert!(retry.status.success(), "{}", retry.stderr);
    let second = env.once().await;
    assert!(second.stderr.contains("delivered=1"), "{}", second.stderr);
    assert_eq!(accepting.messages().len(), 1);

    let all = run(env.command(&["outbox", "list", "--all"])).await;
    assert!(all.stdout.contains("delivered"), "{}", all.stdout);
    let open = run(env.command(&["outbox", "list"])).await;
    assert!(open.stdout.is_empty(), "{}", open.stdout);

    // Nothing left to retry or drop.
    let again = run(env.command(&["outbox", "drop", &id])).await;
    assert!(!again.status.success());
    assert!(
        again.stderr.contains("no undelivered alert"),
        "{}",
        again.stderr
    );
}

/// `db stats` counts what a run left in the store; `db prune` keeps what
/// is recent (retention is counted in days).
#[tokio::test]
async fn db_stats_counts_rows_and_prune_keeps_what_is_recent() {
    let smtp = SmtpSink::start_any();
    let server = MockServer::start().await;
    let feed = rss(&[
        Item {
            guid: "s-1",
            title: "Explosion reported near Brussels station",
            body: "Police in Brussels closed the area after an explosion.",
        },
        Item {
            guid: "s-2",
            title: "Farmers expect an early harvest",
            body: "The wheat harvest comes two weeks early.",
        },
    ]);
    Mock::given(path("/wire.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(feed, "application/rss+xml"))
        .mount(&server)
        .await;
    let feeds = format!(
        "[[feed]]\nname = \"wire\"\nurl = \"{}/wire.xml\"\nfirst_poll = \"alert\"\n",
        server.uri()
    );
    let env = Env::new(&config(smtp.port, &feeds), RULES);
    let once = env.once().await;
    assert!(once.stderr.contains("delivered=1"), "{}", once.stderr);

    let stats = run(env.command(&["db", "stats", "--format", "json"])).await;
    assert!(stats.status.success(), "{}", stats.stderr);
    let stats: serde_json::Value = serde_json::from_str(stats.stdout.trim()).unwrap();
    assert_eq!(stats["feeds"], 1);
    assert_eq!(stats["seen"], 2);
    assert_eq!(stats["delivered"], 1);
    assert_eq!(stats["pending"], 0);
    assert!(stats["file_bytes"].as_u64().unwrap() > 0);

    let pruned = run(env.command(&["db", "prune"])).await;
    assert!(pruned.status.success(), "{}", pruned.stderr);
    assert!(
        pruned
            .stdout
            .contains("forgot 0 seen keys, 0 delivered alerts"),
        "{}",
        pruned.stdout
    );
    let human = run(env.command(&["db", "stats"])).await;
    assert!(
        human.stdout.contains("seen keys      2"),
        "{}",
        human.stdout
    );
}
