//! Crash safety, proven by crashing: a daemon killed with SIGKILL at random
//! moments, over and over, while a feed keeps publishing and the mail
//! server comes and goes, loses no alert and never sends one twice under
//! two different Message-IDs.

use crate::support::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A feed whose entries are whatever the test has published so far.
#[derive(Clone, Default)]
struct Publisher(Arc<Mutex<Vec<u32>>>);

impl Publisher {
    fn publish(&self) -> u32 {
        let mut items = self.0.lock().unwrap();
        let n = items.len() as u32 + 1;
        items.push(n);
        n
    }

    fn published(&self) -> Vec<u32> {
        self.0.lock().unwrap().clone()
    }
}

impl Respond for Publisher {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let items = self.published();
        let titles: Vec<String> = items
            .iter()
            .map(|n| format!("Explosion in Brussels, report {n}"))
            .collect();
        let guids: Vec<String> = items.iter().map(|n| format!("crash-{n}")).collect();
        let entries: Vec<Item> = items
            .iter()
            .enumerate()
            .map(|(i, _)| Item {
                guid: &guids[i],
                title: &titles[i],
                body: "Police closed the area after the explosion.",
            })
            .collect();
        ResponseTemplate::new(200).set_body_raw(rss(&entries), "application/rss+xml")
    }
}

/// Which report an accepted mail is about, and its Message-ID.
fn report_and_id(mail: &str) -> (u32, String) {
    let subject = mail_header(mail, "Subject").unwrap_or_default();
    let n = subject
        .rsplit("report ")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no report number in {subject:?}"));
    (n, mail_header(mail, "Message-ID").expect("a Message-ID"))
}

#[tokio::test]
async fn sigkill_at_random_moments_loses_no_alert_and_sends_none_twice() {
    let publisher = Publisher::default();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/wire.xml"))
        .respond_with(publisher.clone())
        .mount(&server)
        .await;
    let mut smtp = Some(SmtpSink::start_any());
    let smtp_port = smtp.as_ref().unwrap().port;
    let feed = format!(
        "[[feed]]\nname = \"wire\"\nurl = \"{}/wire.xml\"\nfirst_poll = \"alert\"\n",
        server.uri()
    );
    // Its reports are copies of one text: one story. Each is to alert here
    // (what is tested is the outbox under SIGKILL, not stories).
    let rules = RULES.replace(
        "notify = [\"desk\"]",
        "notify = [\"desk\"]\nstory = \"every\"",
    );
    let env = Env::new(&config(smtp_port, &feed), &rules);
    // Mail accepted by every SMTP server run, oldest first.
    let mut accepted: Vec<String> = Vec::new();

    const KILLS: u32 = 24;
    for round in 0..KILLS {
        let daemon = env.start_daemon();
        publisher.publish();
        if round % 3 == 0 {
            publisher.publish();
        }
        // The mail server goes away for a while, now and then.
        if round % 6 == 2 {
            if let Some(sink) = smtp.take() {
                accepted.extend(sink.messages());
            }
        } else if smtp.is_none() && round % 6 == 4 {
            smtp = Some(SmtpSink::start(smtp_port));
        }
        // A random moment: polling, matching, committing or delivering.
        let moment = fastrand::u64(50..1500);
        tokio::time::sleep(std::time::Duration::from_millis(moment)).await;
        daemon.kill().await;
    }

    // Settle: the server back, the daemon left to work until every
    // published report has an accepted mail.
    let smtp = smtp.unwrap_or_else(|| SmtpSink::start(smtp_port));
    let published = publisher.published();
    let daemon = env.start_daemon();
    // Up (its signals handled) before it may be stopped.
    daemon.wait_log("Newswatch started", 1).await;
    let all =
        |mail: &[String]| -> BTreeSet<u32> { mail.iter().map(|m| report_and_id(m).0).collect() };
    wait_for("a mail for every published report", || {
        let mut mail = accepted.clone();
        mail.extend(smtp.messages());
        (all(&mail).len() == published.len()).then_some(())
    })
    .await;
    daemon.stop().await;
    accepted.extend(smtp.messages());

    let mut ids: BTreeMap<u32, BTreeSet<String>> = BTreeMap::new();
    for mail in &accepted {
        let (n, id) = report_and_id(mail);
        ids.entry(n).or_default().insert(id);
    }
    let expected: BTreeSet<u32> = published.iter().copied().collect();
    assert_eq!(
        ids.keys().copied().collect::<BTreeSet<_>>(),
        expected,
        "lost alerts"
    );
    for (n, distinct) in &ids {
        assert_eq!(distinct.len(), 1, "report {n} sent under {distinct:?}");
    }
    let redelivered = accepted.len() - ids.len();
    eprintln!(
        "crash test: {KILLS} SIGKILLs, {} reports published, {} mails accepted, {} redelivered with the same Message-ID",
        published.len(),
        accepted.len(),
        redelivered
    );

    let db = rusqlite::Connection::open(env.dir.path().join("state/newswatch.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
