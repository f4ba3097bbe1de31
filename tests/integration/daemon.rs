//! End to end: feeds over HTTP, alerts over SMTP, state across restarts.

use crate::support::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ZAVENTEM: Item = Item {
    guid: "wire-1",
    title: "Departure hall closed after two explosions at Zaventem airport",
    body: "<p>Police evacuated the departure hall at <b>Zaventem</b> airport near Brussels on Tuesday morning \
           after two explosions, witnesses said. Trains to the airport were halted.</p>",
};
const HARVEST: Item = Item {
    guid: "wire-2",
    title: "Farmers expect an early harvest",
    body: "A warm spring has brought the wheat harvest forward by two weeks in the southern plains.",
};
const HARBOUR: Item = Item {
    guid: "wire-4",
    title: "Ferries return to the harbour",
    body: "The storm has passed and the first ferries left the harbour this morning.",
};
const SHABAB: Item = Item {
    guid: "wire-3",
    title: "Fighting reported near the Kenyan border",
    body: "<p>Local officials said that Al-Shabab's fighters attacked a police post overnight. The group has \
           stepped up raids in the border districts this year, and several roads remain closed to traffic.</p>",
};

async fn serve(server: &MockServer, xml: String) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/wire.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(xml, "application/rss+xml"))
        .mount(server)
        .await;
}

fn feed_block(server: &MockServer, first_poll: &str) -> String {
    format!(
        "[[feed]]\nname = \"wire\"\nurl = \"{}/wire.xml\"\nfirst_poll = \"{first_poll}\"\n",
        server.uri()
    )
}

#[tokio::test]
async fn first_poll_is_quiet_then_one_email_per_new_match_across_restarts() {
    let sink = SmtpSink::start_any();
    let smtp_port = sink.port;
    let server = MockServer::start().await;
    serve(&server, rss(&[ZAVENTEM, HARVEST])).await;
    let env = Env::new(&config(smtp_port, &feed_block(&server, "quiet")), RULES);

    let first = env.once().await;
    assert!(first.status.success(), "{}", first.stderr);
    assert!(
        first.stderr.contains("quiet_first_poll=true"),
        "{}",
        first.stderr
    );
    assert_eq!(sink.messages().len(), 0, "first poll must be quiet");

    serve(&server, rss(&[SHABAB, ZAVENTEM, HARVEST])).await;
    let second = env.once().await;
    assert!(second.status.success(), "{}", second.stderr);
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "{}", second.stderr);
    let mail = &mails[0];
    assert_eq!(
        mail_header(mail, "Subject").unwrap(),
        "[newswatch] al-shabab: Fighting reported near the Kenyan border"
    );
    assert!(
        mail_header(mail, "Message-ID")
            .unwrap()
            .ends_with("@newswatch.alert>")
    );
    assert_eq!(
        mail_header(mail, "List-Id").unwrap(),
        "al-shabab <al-shabab.rules.newswatch>"
    );
    assert_eq!(
        mail_header(mail, "Auto-Submitted").unwrap(),
        "auto-generated"
    );
    let body = mail_body(mail);
    assert!(body.contains("http://news.test/wire-3"), "{body}");
    assert!(body.contains("Feed:      wire"), "{body}");
    assert!(body.contains("Published: 2026-03-24 10:00 UTC"), "{body}");
    // The excerpt shows the matched words in context, marked.
    assert!(
        body.contains(
            "Local officials said that *Al-Shabab*'s fighters attacked a police post overnight."
        ),
        "{body}"
    );

    // A restart (a new process on the same state) sends nothing again.
    let third = env.once().await;
    assert!(third.status.success(), "{}", third.stderr);
    assert!(third.stderr.contains("new=0"), "{}", third.stderr);
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn daemon_alerts_once_and_restart_does_not_alert_again() {
    let sink = SmtpSink::start_any();
    let smtp_port = sink.port;
    let server = MockServer::start().await;
    serve(&server, rss(&[ZAVENTEM, HARVEST])).await;
    let env = Env::new(&config(smtp_port, &feed_block(&server, "alert")), RULES);

    let daemon = env.start_daemon();
    wait_for("the alert email", || {
        (sink.messages().len() == 1).then_some(())
    })
    .await;
    // Several more polls of the same feed (interval 1s) add nothing.
    daemon.wait_log("Feed fetched", 3).await;
    let log = daemon.stop().await;
    assert!(log.contains("Newswatch stopped"), "{log}");
    assert_eq!(sink.messages().len(), 1);
    let body = mail_body(&sink.messages()[0]);
    assert!(
        body.contains("*explosions* at *Zaventem* airport"),
        "{body}"
    );

    let daemon = env.start_daemon();
    daemon.wait_log("new=0", 2).await;
    daemon.stop().await;
    assert_eq!(sink.messages().len(), 1, "a restart must not alert again");
}

#[tokio::test]
async fn not_modified_reply_is_handled() {
    let server = MockServer::start().await;
    // Registered first, so it wins when the request is conditional.
    Mock::given(method("GET"))
        .and(path("/wire.xml"))
        .and(header("If-None-Match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/wire.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(rss(&[HARVEST]), "application/rss+xml")
                .insert_header("ETag", "\"v1\""),
        )
        .expect(1)
        .mount(&server)
        .await;
    let env = Env::new(&config(free_port(), &feed_block(&server, "quiet")), RULES);

    let first = env.once().await;
    assert!(first.stderr.contains("Feed fetched"), "{}", first.stderr);
    let second = env.once().await;
    assert!(second.status.success());
    assert!(
        second.stderr.contains("Feed not modified"),
        "{}",
        second.stderr
    );
    assert!(!second.stderr.contains("Feed failed"), "{}", second.stderr);
    server.verify().await;
}

#[tokio::test]
async fn smtp_down_keeps_alert_queued_until_server_returns() {
    let smtp_port = free_port();
    let server = MockServer::start().await;
    serve(&server, rss(&[ZAVENTEM])).await;
    let env = Env::new(&config(smtp_port, &feed_block(&server, "alert")), RULES);

    // No SMTP server: the alert is queued, not lost, and the run still succeeds.
    let first = env.once().await;
    assert!(first.status.success(), "{}", first.stderr);
    assert!(
        first.stderr.contains("Alert delivery failed"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("retrying=1"), "{}", first.stderr);

    // The daemon, restarted, keeps retrying while the server is down...
    let daemon = env.start_daemon();
    daemon.wait_log("Alert delivery failed", 1).await;
    // ...and delivers once it is back.
    let sink = SmtpSink::start(smtp_port);
    wait_for("the queued alert", || {
        (!sink.messages().is_empty()).then_some(())
    })
    .await;
    daemon.wait_log("Alert delivered", 1).await;
    daemon.wait_log("Feed fetched", 3).await;
    daemon.stop().await;
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn sighup_reloads_rules_and_rejects_a_broken_rule_file() {
    let sink = SmtpSink::start_any();
    let smtp_port = sink.port;
    let server = MockServer::start().await;
    serve(&server, rss(&[HARVEST])).await;
    let only_harbour = "[[rule]]\nname = \"harbour\"\nquery = 'harbour'\nnotify = [\"desk\"]\n";
    let env = Env::new(
        &config(smtp_port, &feed_block(&server, "quiet")),
        only_harbour,
    );
    let rules_file = env.dir.path().join("rules.d/rules.toml");

    let daemon = env.start_daemon();
    daemon.wait_log("Feed fetched", 1).await;

    std::fs::write(
        &rules_file,
        "[[rule]]\nname = \"broken\"\nquery = '(Brussels'\n",
    )
    .unwrap();
    daemon.signal("HUP");
    daemon.wait_log("Reload rejected", 1).await;
    assert!(
        daemon
            .log()
            .contains("rules.toml:3:10: in query: unclosed '('"),
        "{}",
        daemon.log()
    );
    // The old rules are still in force.
    serve(&server, rss(&[HARBOUR, HARVEST])).await;
    wait_for("an alert from the old rules", || {
        (sink.messages().len() == 1).then_some(())
    })
    .await;

    std::fs::write(&rules_file, RULES).unwrap();
    daemon.signal("HUP");
    daemon.wait_log("Config reloaded", 1).await;
    serve(&server, rss(&[ZAVENTEM, HARBOUR, HARVEST])).await;
    wait_for("an alert from the reloaded rules", || {
        (sink.messages().len() == 2).then_some(())
    })
    .await;
    let log = daemon.stop().await;
    assert!(log.contains("rule=brussels"), "{log}");
}

#[tokio::test]
async fn shutdown_during_a_reload_stops_cleanly() {
    let server = MockServer::start().await;
    serve(&server, rss(&[HARVEST])).await;
    let env = Env::new(&config(free_port(), &feed_block(&server, "quiet")), RULES);
    let daemon = env.start_daemon();
    daemon.wait_log("Feed fetched", 1).await;
    // Enough rules that the reload is still compiling them when SIGTERM
    // arrives: the daemon must not wait for a reload nobody will use.
    let many: String = (0..20_000)
        .map(|i| format!("[[rule]]\nname = \"r{i}\"\nquery = 'name{i} OR \"place {i}\"'\nnotify = [\"desk\"]\n"))
        .collect();
    std::fs::write(env.dir.path().join("rules.d/rules.toml"), many).unwrap();
    daemon.signal("HUP");
    let log = daemon.stop().await;
    assert!(log.contains("Newswatch stopped"), "{log}");
    // Compiling 20k rules in a debug build takes seconds, and feeds are
    // polled every second: waiting for the reload meant a poll a second
    // after SIGTERM. Not waiting, only a poll already running may finish.
    assert!(!log.contains("Config reloaded"), "{log}");
    let after_term = log
        .split_once("command=Shutdown")
        .map_or("", |(_, after)| after);
    assert!(after_term.matches("Feed fetched").count() <= 1, "{log}");
}

#[tokio::test]
async fn tells_systemd_when_ready_and_when_stopping() {
    let server = MockServer::start().await;
    serve(&server, rss(&[HARVEST])).await;
    let env = Env::new(&config(free_port(), &feed_block(&server, "quiet")), RULES);
    let socket_path = env.dir.path().join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(DEADLINE)).unwrap();

    let daemon = env.start_daemon_with(&[("NOTIFY_SOCKET", &socket_path)]);
    let receive = move || {
        let mut buf = [0u8; 256];
        let n = socket.recv(&mut buf).expect("a message from the daemon");
        (String::from_utf8_lossy(&buf[..n]).into_owned(), socket)
    };
    let (ready, socket) = tokio::task::spawn_blocking(receive).await.unwrap();
    assert_eq!(ready.trim(), "READY=1");
    daemon.stop().await;
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).unwrap();
    assert_eq!(String::from_utf8_lossy(&buf[..n]).trim(), "STOPPING=1");
}

/// A feed whose server accepts the connection and never answers: SIGTERM
/// stops the daemon at once, not when the fetch reaches its 5-minute
/// timeout (systemd would have killed it after `TimeoutStopSec=60`).
#[tokio::test]
async fn shutdown_does_not_wait_for_a_stalled_fetch() {
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = stalled.local_addr().unwrap().port();
    let (accepted_tx, accepted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in stalled.incoming().flatten() {
            held.push(stream);
            let _ = accepted_tx.send(());
        }
    });
    let feed =
        format!("[[feed]]\nname = \"stalled\"\nurl = \"http://127.0.0.1:{port}/feed.xml\"\n");
    let config = config(free_port(), &feed).replace("timeout = \"10s\"", "timeout = \"300s\"");
    let env = Env::new(&config, RULES);
    let daemon = env.start_daemon();
    tokio::task::spawn_blocking(move || accepted.recv_timeout(DEADLINE))
        .await
        .unwrap()
        .expect("the daemon connects to the feed");
    let start = std::time::Instant::now();
    // `stop` fails unless the daemon exits cleanly within the test deadline
    // (a minute), well before the fetch's own timeout.
    let log = daemon.stop().await;
    assert!(log.contains("Newswatch stopped"), "{log}");
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    assert!(
        !log.contains("Feed failed"),
        "the poll is dropped, not failed: {log}"
    );
}
