//! Broken feeds give a clear error naming the feed and what is wrong, and
//! never stop the other feeds.

use crate::support::*;
use std::path::Path;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn mount(server: &MockServer, at: &str, body: &str, content_type: &str) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_string(), content_type))
        .mount(server)
        .await;
}

#[tokio::test]
async fn malformed_html_and_unreachable_feeds_are_reported_while_others_work() {
    let sink = SmtpSink::start_any();
    let smtp_port = sink.port;
    let server = MockServer::start().await;
    let good = rss(&[Item {
        guid: "ok-1",
        title: "Brussels attack suspect detained",
        body: "Prosecutors in Brussels said a suspect in last week's attack was detained on Sunday.",
    }]);
    mount(&server, "/good.xml", &good, "application/rss+xml").await;
    let truncated = &good[..good.len() / 2];
    mount(&server, "/broken.xml", truncated, "application/rss+xml").await;
    let page =
        "<!DOCTYPE html><html><head><title>Home</title></head><body><p>Welcome</p></body></html>";
    mount(&server, "/index.html", page, "text/html").await;
    let feeds = format!(
        r#"
[[feed]]
name = "good"
url = "{uri}/good.xml"
first_poll = "alert"

[[feed]]
name = "broken"
url = "{uri}/broken.xml"

[[feed]]
name = "homepage"
url = "{uri}/index.html"

[[feed]]
name = "nohost"
url = "http://nonexistent.invalid/feed.xml"

[[feed]]
name = "gone"
url = "{uri}/missing.xml"
"#,
        uri = server.uri()
    );
    let env = Env::new(&config(smtp_port, &feeds), RULES);

    let run = env.once().await;
    assert!(
        run.status.success(),
        "a failing feed must not fail the run: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("feeds_ok=1 feeds_failed=4"),
        "{}",
        run.stderr
    );
    assert_eq!(sink.messages().len(), 1, "the good feed still alerts");

    let log = &run.stderr;
    let broken = failure_line(log, "broken");
    assert!(broken.contains("error=malformed feed"), "{broken}");
    let homepage = failure_line(log, "homepage");
    assert!(
        homepage.contains("error=not a feed: the document is an HTML page"),
        "{homepage}"
    );
    let nohost = failure_line(log, "nohost");
    // "dns error" where a resolver answers, "timed out" where none does.
    assert!(nohost.contains("error=fetch failed"), "{nohost}");
    let gone = failure_line(log, "gone");
    assert!(
        gone.contains("error=fetch failed: HTTP status 404"),
        "{gone}"
    );
}

#[tokio::test]
async fn a_broken_entry_does_not_cost_the_rest_of_the_feed() {
    let sink = SmtpSink::start_any();
    let server = MockServer::start().await;
    let feed = rss(&[
        Item {
            guid: "bad-1",
            title: "Unclosed <!-- comment in Brussels",
            body: "broken",
        },
        Item {
            guid: "ok-2",
            title: "Brussels attack suspect detained",
            body: "Prosecutors said a suspect in the attack was detained.",
        },
    ]);
    // The first title opens a comment it never closes: the whole document is
    // not XML, and that entry cannot be read (an unclosed <b> now can be).
    mount(&server, "/mixed.xml", &feed, "application/rss+xml").await;
    let feeds = format!(
        "[[feed]]\nname = \"mixed\"\nurl = \"{}/mixed.xml\"\nfirst_poll = \"alert\"\n",
        server.uri()
    );
    let env = Env::new(&config(sink.port, &feeds), RULES);

    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Feed malformed; complete entries recovered"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("recovered=1"), "{}", run.stderr);
    assert!(run.stderr.contains("feeds_malformed=1"), "{}", run.stderr);
    let mails = sink.messages();
    assert_eq!(mails.len(), 1);
    assert!(
        mail_header(&mails[0], "Subject")
            .unwrap()
            .contains("Brussels attack suspect detained")
    );

    // Still broken on the next poll: not reported again, nothing sent again.
    let again = env.once().await;
    assert!(again.stderr.contains("Feed fetched"), "{}", again.stderr);
    assert!(!again.stderr.contains("Feed malformed"), "{}", again.stderr);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_feed_failing_the_same_way_is_logged_once_retried_and_others_still_alert() {
    let sink = SmtpSink::start_any();
    let server = MockServer::start().await;
    let good = rss(&[Item {
        guid: "ok-1",
        title: "Brussels attack suspect detained",
        body: "Prosecutors said a suspect in the attack was detained.",
    }]);
    mount(&server, "/good.xml", &good, "application/rss+xml").await;
    mount(
        &server,
        "/broken.xml",
        "<html><body>Moved</body></html>",
        "text/html",
    )
    .await;
    let feeds = format!(
        "[[feed]]\nname = \"good\"\nurl = \"{0}/good.xml\"\nfirst_poll = \"alert\"\n\
         [[feed]]\nname = \"broken\"\nurl = \"{0}/broken.xml\"\n",
        server.uri()
    );
    let config =
        config(sink.port, &feeds).replace("[defaults]\n", "[defaults]\nmax_backoff = \"1s\"\n");
    let env = Env::new(&config, RULES);
    let daemon = env.start_daemon_with(&[("NEWSWATCH_LOG", Path::new("debug"))]);
    wait_for("the good feed's alert", || {
        (sink.messages().len() == 1).then_some(())
    })
    .await;
    // Retried (backoff capped at 1s here), and said again only at debug level.
    daemon.wait_log("Feed still failing", 2).await;
    let log = daemon.stop().await;
    let failed = |l: &&str| l.contains("Feed failed") && l.contains("feed=broken ");
    assert_eq!(log.lines().filter(failed).count(), 1, "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("Feed still failing") && l.contains("consecutive_failures=3")),
        "{log}"
    );
    assert_eq!(sink.messages().len(), 1);
}
