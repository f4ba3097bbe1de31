//! Several instances sharing one PostgreSQL database: feeds and the
//! destination are leased, so every entry alerts once whichever instance
//! reads it; an instance killed with SIGKILL loses its leases when they run
//! out and the others take its feeds and its outbox over; a database
//! restart costs the statements in flight, nothing else.
//!
//! Run when `NEWSWATCH_TEST_POSTGRES_URL` names a database (`.ci/run` sets
//! it); each test works in a schema of its own.

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// How long a lease lasts in these tests (`store_lease`).
const LEASE: Duration = Duration::from_secs(3);
/// The feeds' polling interval (`[defaults] interval` in `config`).
const INTERVAL: Duration = Duration::from_secs(1);

/// One test at a time on the database: one of them restarts it.
static DATABASE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A schema of the test database for one test.
struct Schema {
    admin: String,
    name: String,
}

impl Schema {
    /// `None` (the test is skipped, and says so) without a database.
    async fn new() -> Option<Schema> {
        let Ok(admin) = std::env::var("NEWSWATCH_TEST_POSTGRES_URL") else {
            eprintln!("NEWSWATCH_TEST_POSTGRES_URL is not set: PostgreSQL test skipped");
            return None;
        };
        let name = format!("nw_it_{}_{:08x}", std::process::id(), fastrand::u32(..));
        let schema = Schema { admin, name };
        schema
            .query(&format!("CREATE SCHEMA {}", schema.name))
            .await;
        Some(schema)
    }

    /// The `store` URL that puts an instance's tables in this schema.
    fn url(&self) -> String {
        let join = if self.admin.contains('?') { '&' } else { '?' };
        format!(
            "{}{join}options=-c%20search_path%3D{}",
            self.admin, self.name
        )
    }

    /// Runs `sql` in the schema; the first column of each row, as text.
    async fn query(&self, sql: &str) -> Vec<String> {
        let (client, connection) = tokio_postgres::connect(&self.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(connection);
        let rows = client.simple_query(sql).await.unwrap();
        drop(client);
        let _ = task.await;
        rows.iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(String::from),
                _ => None,
            })
            .collect()
    }

    /// The process id of the instance holding `lease`, if one does.
    async fn holder_pid(&self, lease: &str) -> Option<u32> {
        let holder = self
            .query(&format!("SELECT holder FROM lease WHERE name = '{lease}'"))
            .await;
        holder.first()?.split(':').nth(1)?.parse().ok()
    }

    async fn drop(self) {
        self.query(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await;
    }
}

/// Feeds `f0`, `f1`, … whose entries are what the test has published to
/// each so far: "Explosion in Brussels, report f<feed>-<n>".
#[derive(Clone, Default)]
struct Publisher(Arc<Mutex<Vec<(usize, u32)>>>, Arc<AtomicU64>);

impl Publisher {
    /// Polls answered so far, all feeds together.
    fn polls(&self) -> u64 {
        self.1.load(Ordering::Relaxed)
    }

    fn publish(&self, feed: usize) {
        let mut items = self.0.lock().unwrap();
        let n = items.len() as u32 + 1;
        items.push((feed, n));
    }

    /// Every report published, as "f<feed>-<n>".
    fn reports(&self) -> BTreeSet<String> {
        let items = self.0.lock().unwrap();
        items.iter().map(|(f, n)| format!("f{f}-{n}")).collect()
    }
}

impl Respond for Publisher {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.1.fetch_add(1, Ordering::Relaxed);
        let feed: usize = request
            .url
            .path()
            .trim_start_matches("/f")
            .trim_end_matches(".xml")
            .parse()
            .unwrap_or(usize::MAX);
        let items: Vec<(usize, u32)> = self.0.lock().unwrap().clone();
        let reports: Vec<String> = items
            .iter()
            .filter(|(f, _)| *f == feed)
            .map(|(f, n)| format!("f{f}-{n}"))
            .collect();
        let titles: Vec<String> = reports
            .iter()
            .map(|r| format!("Explosion in Brussels, report {r}"))
            .collect();
        let entries: Vec<Item> = reports
            .iter()
            .zip(&titles)
            .map(|(guid, title)| Item {
                guid,
                title,
                body: "Police closed the area after the explosion.",
            })
            .collect();
        ResponseTemplate::new(200).set_body_raw(rss(&entries), "application/rss+xml")
    }
}

/// A feed server with `feeds` feeds, and the config directory of
/// instances sharing `schema`.
async fn setup(schema: &Schema, feeds: usize) -> (MockServer, Publisher, SmtpSink, Env) {
    let publisher = Publisher::default();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/f\d+\.xml$"))
        .respond_with(publisher.clone())
        .mount(&server)
        .await;
    let smtp = SmtpSink::start_any();
    let blocks: String = (0..feeds)
        .map(|i| {
            format!(
                "[[feed]]\nname = \"f{i}\"\nurl = \"{}/f{i}.xml\"\nfirst_poll = \"alert\"\n",
                server.uri()
            )
        })
        .collect();
    let config = config(smtp.port, &blocks).replace(
        "state_dir = \"state\"\n",
        &format!(
            "state_dir = \"state\"\nstore = \"{}\"\nstore_lease = \"{}s\"\n",
            schema.url(),
            LEASE.as_secs()
        ),
    );
    // Each report is to alert (its copies are one story otherwise).
    let rules = RULES.replace(
        "notify = [\"desk\"]",
        "notify = [\"desk\"]\nstory = \"every\"",
    );
    (server, publisher, smtp, Env::new(&config, &rules))
}

/// Publishes a report to one feed after another, every 150 ms, until
/// dropped.
fn publish_steadily(publisher: &Publisher, feeds: usize) -> tokio::task::JoinHandle<()> {
    let publisher = publisher.clone();
    tokio::spawn(async move {
        for i in 0.. {
            publisher.publish(i % feeds);
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    })
}

/// Each accepted mail's report and Message-ID.
fn mails(smtp: &SmtpSink) -> Vec<(String, String)> {
    smtp.messages()
        .iter()
        .map(|mail| {
            let subject = mail_header(mail, "Subject").unwrap_or_default();
            let report = subject.rsplit("report ").next().unwrap_or("").trim();
            let id = mail_header(mail, "Message-ID").expect("a Message-ID");
            (report.to_string(), id)
        })
        .collect()
}

/// Waits until every published report has a mail, then checks each has
/// exactly one Message-ID (a resend after a takeover carries the same one).
async fn every_report_alerted_once(publisher: &Publisher, smtp: &SmtpSink) {
    let published = publisher.reports();
    wait_for("a mail for every published report", || {
        let got: BTreeSet<String> = mails(smtp).into_iter().map(|(r, _)| r).collect();
        published.is_subset(&got).then_some(())
    })
    .await;
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (report, id) in mails(smtp) {
        ids.entry(report).or_default().insert(id);
    }
    let twice: Vec<_> = ids.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(twice.is_empty(), "reports alerted twice: {twice:?}");
    let unknown: Vec<_> = ids.keys().filter(|r| !published.contains(*r)).collect();
    assert!(
        unknown.is_empty(),
        "mails for unpublished reports: {unknown:?}"
    );
}

/// Whether `log` (from byte `from`) shows a poll of feed `name`.
fn polled(log: &str, from: usize, name: &str) -> bool {
    log.get(from..)
        .unwrap_or("")
        .lines()
        .any(|line| line.contains("Feed fetched") && line.contains(&format!("feed={name} ")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_alert_once_and_take_over_a_killed_ones_feeds_and_outbox() {
    let _one_at_a_time = DATABASE.lock().await;
    let Some(schema) = Schema::new().await else {
        return;
    };
    const FEEDS: usize = 9;
    let (_server, publisher, smtp, env) = setup(&schema, FEEDS).await;
    let mut instances: Vec<Daemon> = (0..3).map(|_| env.start_daemon()).collect();
    for daemon in &instances {
        daemon.wait_log("Newswatch started", 1).await;
    }
    let publishing = publish_steadily(&publisher, FEEDS);
    wait_for("alerts flowing", || {
        (smtp.messages().len() >= 15).then_some(())
    })
    .await;
    // Each feed is polled by one instance at a time: about once an
    // interval, not three times (a loaded machine polls less, not more).
    let (polls, since) = (publisher.polls(), Instant::now());
    tokio::time::sleep(INTERVAL * 4).await;
    let per_feed =
        (publisher.polls() - polls) as f64 / since.elapsed().as_secs_f64() / FEEDS as f64;
    eprintln!("{per_feed:.2} polls per feed per second with three instances");
    assert!(
        per_feed < 2.0 / INTERVAL.as_secs_f64(),
        "{per_feed:.2} polls per feed per second with three instances"
    );

    // The instance sending the alerts, and the feeds it polls: killed.
    let pid = schema
        .holder_pid("destination:desk")
        .await
        .expect("an instance holds the destination");
    let victim = instances
        .iter()
        .position(|d| d.pid() == pid)
        .expect("the holder is one of the three");
    let holder = schema
        .query("SELECT holder FROM lease WHERE name = 'destination:desk'")
        .await
        .remove(0);
    let its_feeds: Vec<String> = schema
        .query(&format!(
            "SELECT substr(name, 6) FROM lease WHERE holder = '{holder}' AND name LIKE 'feed:%' ORDER BY name"
        ))
        .await;
    let survivors_from: Vec<usize> = instances.iter().map(|d| d.log().len()).collect();
    let killed_at = Instant::now();
    instances.remove(victim).kill().await;
    let mut from = survivors_from;
    from.remove(victim);

    // Its feeds are polled by the others once its leases run out: within
    // a lease of the kill (the interval is shorter), with a margin for a
    // loaded machine.
    let within = LEASE + Duration::from_secs(2);
    loop {
        let taken_over = its_feeds.iter().all(|feed| {
            instances
                .iter()
                .zip(&from)
                .any(|(d, &from)| polled(&d.log(), from, feed))
        });
        if taken_over {
            break;
        }
        assert!(
            killed_at.elapsed() < within,
            "feeds {its_feeds:?} of the killed instance not polled again within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "{} feeds of the killed instance polled again {:?} after the kill (lease {LEASE:?})",
        its_feeds.len(),
        killed_at.elapsed()
    );
    // Its outbox too: the destination is another instance's.
    let deadline = Instant::now() + within;
    loop {
        let now_held = schema.holder_pid("destination:desk").await;
        if now_held.is_some_and(|p| p != pid) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the destination was not taken over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The stream goes on a while with two instances, then stops.
    let sent = smtp.messages().len();
    wait_for("alerts flowing after the kill", || {
        (smtp.messages().len() >= sent + 10).then_some(())
    })
    .await;
    publishing.abort();
    every_report_alerted_once(&publisher, &smtp).await;
    eprintln!(
        "{} reports, each alerted once across three instances",
        publisher.reports().len()
    );
    for daemon in instances {
        daemon.stop().await;
    }
    // Stopped instances gave their leases back.
    assert!(schema.query("SELECT name FROM lease").await.is_empty());
    schema.drop().await;
}

/// Restarts the PostgreSQL cluster the tests use, the one on port 5432 (as
/// root, with Debian's pg_lsclusters and pg_ctlcluster).
async fn restart_database() {
    let clusters = tokio::process::Command::new("pg_lsclusters")
        .arg("-h")
        .output()
        .await
        .expect("Debian's pg_lsclusters");
    let listing = String::from_utf8_lossy(&clusters.stdout).into_owned();
    let (version, name) = listing
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(2) == Some(&"5432"))
        .map(|f| (f[0].to_string(), f[1].to_string()))
        .unwrap_or_else(|| panic!("no cluster on port 5432: {listing}"));
    let restarted = tokio::process::Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, &name, "restart"])
        .status()
        .await
        .unwrap();
    assert!(restarted.success(), "pg_ctlcluster restart failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_and_a_reload_lose_no_alert_and_send_none_twice() {
    let _one_at_a_time = DATABASE.lock().await;
    let Some(schema) = Schema::new().await else {
        return;
    };
    const FEEDS: usize = 4;
    let (_server, publisher, smtp, env) = setup(&schema, FEEDS).await;
    let instances: Vec<Daemon> = (0..2).map(|_| env.start_daemon()).collect();
    for daemon in &instances {
        daemon.wait_log("Newswatch started", 1).await;
    }
    let publishing = publish_steadily(&publisher, FEEDS);
    wait_for("alerts flowing", || {
        (smtp.messages().len() >= 10).then_some(())
    })
    .await;
    let before: Vec<usize> = instances.iter().map(|d| d.log().len()).collect();
    restart_database().await;
    // The instances work again (each keeps running: `stop` below checks
    // a clean exit).
    wait_for("polls after the restart", || {
        instances
            .iter()
            .zip(&before)
            .any(|(d, &from)| d.log()[from..].contains("Feed fetched"))
            .then_some(())
    })
    .await;
    let sent = smtp.messages().len();
    wait_for("alerts flowing after the restart", || {
        (smtp.messages().len() >= sent + 10).then_some(())
    })
    .await;
    // A reload works on the shared store as on a file of its own.
    instances[0].signal("HUP");
    instances[0].wait_log("Config reloaded", 1).await;
    publishing.abort();
    every_report_alerted_once(&publisher, &smtp).await;
    for daemon in instances {
        let log = daemon.stop().await;
        assert!(!log.contains("panicked"), "{log}");
    }
    schema.drop().await;
}

/// Feeds whose items the test sets, by path.
#[derive(Clone, Default)]
struct Pages(Arc<Mutex<BTreeMap<String, String>>>);

impl Respond for Pages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = self.0.lock().unwrap().get(request.url.path()).cloned();
        ResponseTemplate::new(200)
            .set_body_raw(body.unwrap_or_else(|| rss(&[])), "application/rss+xml")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_story_read_by_two_instances_alerts_once() {
    let _one_at_a_time = DATABASE.lock().await;
    let Some(schema) = Schema::new().await else {
        return;
    };
    let pages = Pages::default();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(pages.clone())
        .mount(&server)
        .await;
    let smtp = SmtpSink::start_any();
    // Each instance reads a feed of its own (both name the same store).
    let env_of = |feed: &str| {
        let block = format!(
            "[[feed]]\nname = \"{feed}\"\nurl = \"{}/{feed}.xml\"\n",
            server.uri()
        );
        let config = config(smtp.port, &block).replace(
            "state_dir = \"state\"\n",
            &format!("state_dir = \"state\"\nstore = \"{}\"\n", schema.url()),
        );
        Env::new(&config, RULES)
    };
    let (env_a, env_b) = (env_of("harbour"), env_of("metro"));
    let (a, b) = (env_a.start_daemon(), env_b.start_daemon());
    a.wait_log("Newswatch started", 1).await;
    b.wait_log("Newswatch started", 1).await;
    // Both have polled their (empty) feeds: the next entries are new.
    a.wait_log("Feed fetched", 1).await;
    b.wait_log("Feed fetched", 1).await;
    let body = "An explosion in the departure hall of Zaventem airport near Brussels \
                killed two people on Tuesday morning, prosecutors said. The hall was \
                evacuated and flights were suspended for the day.";
    let publish = |feed: &str, guid: &str, title: &str, body: &str| {
        let xml = rss(&[Item { guid, title, body }]);
        pages.0.lock().unwrap().insert(format!("/{feed}.xml"), xml);
    };
    publish(
        "harbour",
        "h-1",
        "Explosion at Zaventem airport kills two",
        body,
    );
    wait_for("the first report's alert", || {
        (smtp.messages().len() == 1).then_some(())
    })
    .await;
    // The other instance's outlet runs the same report: one story, no mail.
    publish("metro", "m-1", "Zaventem airport explosion: two dead", body);
    b.wait_log("new=1", 1).await;
    // Then an event of its own, which alerts (so B's polls do alert).
    let other = "An explosion at a chemical depot in the port of Antwerp injured three \
                 workers on Wednesday; the Brussels fire brigade sent a team.";
    publish("metro", "m-2", "Explosion at Antwerp chemical depot", other);
    wait_for("the second story's alert", || {
        (smtp.messages().len() == 2).then_some(())
    })
    .await;
    // Two more polls of each feed: time for a stray third mail to arrive.
    for daemon in [&a, &b] {
        let polls = daemon.log().matches("Feed fetched").count();
        daemon.wait_log("Feed fetched", polls + 2).await;
    }
    let subjects: Vec<String> = smtp
        .messages()
        .iter()
        .map(|m| mail_header(m, "Subject").unwrap_or_default())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects[0].contains("Zaventem"), "{subjects:?}");
    assert!(subjects[1].contains("Antwerp"), "{subjects:?}");
    a.stop().await;
    b.stop().await;
    schema.drop().await;
}
