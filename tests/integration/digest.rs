//! Digests and quiet hours, driven by tokio's paused clock: the outbox runs
//! against a real SQLite store and writes real Maildir files, and the test
//! moves time forward to 07:00 and 08:00 instead of waiting for them.

use newswatch::config::Config;
use newswatch::delivery::clock::Clock;
use newswatch::delivery::outbox::{DeliveryReport, Outbox};
use newswatch::model::alert::{Alert, AlertArticle};
use newswatch::store::{self, PollCommit, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const CONFIG: &str = r#"
state_dir = "state"
rules = ["rules.d/*.toml"]

[destination.desk]
kind = "maildir"
path = "desk"
timezone = "Europe/Brussels"
quiet_hours = "22:00-07:00"

[destination.pager]
kind = "maildir"
path = "pager"
timezone = "Europe/Brussels"
"#;

const RULES: &str = r#"
[[rule]]
name = "morning-brief"
query = "Brussels"
notify = ["desk"]
mode = "digest"
digest = "daily 08:00"

[[rule]]
name = "urgent"
query = "explosion"
notify = ["desk", "pager"]
"#;

fn alert(rule: &str, destination: &str, n: u32, clock: &Clock) -> Alert {
    Alert {
        id: format!("{rule}-{destination}-{n}"),
        rule: rule.into(),
        query: "q".into(),
        destination: destination.into(),
        feed: "wire".into(),
        article: AlertArticle {
            key: format!("guid:{n}"),
            title: format!("Story {n} for {rule}"),
            link: Some(format!("https://news.test/{n}")),
            published: Some(clock.now()),
            authors: vec![],
        },
        excerpts: vec![],
        created_at: clock.now(),
        story: None,
    }
}

/// Subjects of the mails in a Maildir, sorted.
/// The outbox of `config`'s destinations and digests, on `clock`.
fn outbox_for(store: &Arc<dyn Store>, config: &Config, clock: Clock) -> Outbox {
    let digests = config.digests();
    Outbox::new(
        store.clone(),
        &config.destinations,
        config.retry,
        digests,
        clock,
    )
    .unwrap()
}

fn subjects(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("new")) else {
        return Vec::new();
    };
    let mut subjects: Vec<String> = entries
        .map(|e| {
            let bytes = std::fs::read(e.unwrap().path()).unwrap();
            let mail = mailparse::parse_mail(&bytes).unwrap();
            mail.headers
                .iter()
                .find(|h| h.get_key() == "Subject")
                .unwrap()
                .get_value()
        })
        .collect();
    subjects.sort();
    subjects
}

async fn queue(store: &Arc<dyn Store>, alerts: Vec<Alert>) {
    let commit = PollCommit {
        alerts,
        ..Default::default()
    };
    store.commit_poll("wire", commit).await.unwrap();
}

fn report(delivered: usize, held: usize) -> DeliveryReport {
    DeliveryReport {
        delivered,
        held,
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn digests_and_quiet_hours_gather_the_right_alerts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::write(dir.path().join("rules.d/rules.toml"), RULES).unwrap();
    let config = Config::parse(&dir.path().join("newswatch.toml"), CONFIG).unwrap();
    let store = store::open(&config.store).await.unwrap();
    // 20:30 UTC is 21:30 in Brussels in January: half an hour before quiet hours.
    let clock = Clock::tokio("2026-01-12T20:30:00Z".parse().unwrap());
    let outbox = outbox_for(&store, &config, clock);
    let stop = CancellationToken::new();
    let (desk, pager) = (dir.path().join("desk"), dir.path().join("pager"));

    // 21:30: urgent alerts go out at once; the digest rule's waits for 08:00.
    queue(
        &store,
        vec![
            alert("urgent", "desk", 1, &clock),
            alert("urgent", "pager", 1, &clock),
            alert("morning-brief", "desk", 2, &clock),
        ],
    )
    .await;
    assert_eq!(outbox.deliver_due(&stop).await.unwrap(), report(2, 1));
    assert_eq!(subjects(&desk), ["[newswatch] urgent: Story 1 for urgent"]);
    assert_eq!(subjects(&pager).len(), 1);

    // 22:30, quiet hours at the desk: the urgent alert waits for 07:00 there,
    // and still goes to the pager, which has no quiet hours.
    tokio::time::advance(Duration::from_secs(3600)).await;
    queue(
        &store,
        vec![
            alert("urgent", "desk", 3, &clock),
            alert("urgent", "pager", 3, &clock),
            alert("morning-brief", "desk", 4, &clock),
        ],
    )
    .await;
    assert_eq!(outbox.deliver_due(&stop).await.unwrap(), report(1, 2));
    assert_eq!(subjects(&desk).len(), 1);
    assert_eq!(subjects(&pager).len(), 2);

    // 06:59:59 local: nothing yet.
    tokio::time::advance(Duration::from_secs(8 * 3600 + 29 * 60 + 59)).await;
    assert_eq!(
        clock.now(),
        "2026-01-13T05:59:59Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(outbox.deliver_due(&stop).await.unwrap(), report(0, 0));
    assert_eq!(subjects(&desk).len(), 1);

    // 07:00 local: the quiet-hours digest carries the night's urgent alert.
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(outbox.deliver_due(&stop).await.unwrap(), report(1, 0));
    assert!(
        subjects(&desk).contains(&"[newswatch] digest: 1 alert: urgent (1)".to_string()),
        "{:?}",
        subjects(&desk)
    );

    // 08:00 local: one digest with both morning-brief alerts, newest first.
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(outbox.deliver_due(&stop).await.unwrap(), report(2, 0));
    let all = subjects(&desk);
    assert!(
        all.contains(&"[newswatch] digest: 2 alerts: morning-brief (2)".to_string()),
        "{all:?}"
    );
    assert_eq!(all.len(), 3);
    let digest = std::fs::read_dir(desk.join("new"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .find(|m| String::from_utf8_lossy(m).contains("morning-brief (2)"))
        .unwrap();
    let mail = mailparse::parse_mail(&digest).unwrap();
    let text = mail.subparts[0].get_body().unwrap();
    let (newer, older) = (
        text.find("Story 4 for morning-brief").unwrap(),
        text.find("Story 2 for morning-brief").unwrap(),
    );
    assert!(newer < older, "newest first:\n{text}");
    assert!(text.contains("2026-01-12 22:30 CET"), "{text}");

    // Nothing is left in the outbox.
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered), (0, 6));
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_spaces_sends() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::write(dir.path().join("rules.d/rules.toml"), RULES).unwrap();
    let config = CONFIG.replace(
        "path = \"pager\"\n",
        "path = \"pager\"\nrate_limit = \"1/min\"\n",
    );
    let config = Config::parse(&dir.path().join("newswatch.toml"), &config).unwrap();
    let store = store::open(&config.store).await.unwrap();
    let clock = Clock::tokio("2026-01-12T12:00:00Z".parse().unwrap());
    let outbox = outbox_for(&store, &config, clock);
    queue(
        &store,
        (1..=3)
            .map(|n| alert("urgent", "pager", n, &clock))
            .collect(),
    )
    .await;
    let start = tokio::time::Instant::now();
    let report = outbox.deliver_due(&CancellationToken::new()).await.unwrap();
    assert_eq!(report.delivered, 3);
    // Three sends at one a minute: the third starts two minutes after the first.
    assert!(
        start.elapsed() >= Duration::from_secs(120),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(subjects(&dir.path().join("pager")).len(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_digest_larger_than_a_page_of_due_alerts_goes_out_whole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules.d")).unwrap();
    std::fs::write(dir.path().join("rules.d/rules.toml"), RULES).unwrap();
    let config = Config::parse(&dir.path().join("newswatch.toml"), CONFIG).unwrap();
    let store = store::open(&config.store).await.unwrap();
    // 12:00 Brussels: the morning brief waits for 08:00 tomorrow.
    let clock = Clock::tokio("2026-01-12T11:00:00Z".parse().unwrap());
    let outbox = outbox_for(&store, &config, clock);
    let stop = CancellationToken::new();
    queue(
        &store,
        (0..250)
            .map(|n| alert("morning-brief", "desk", n, &clock))
            .collect(),
    )
    .await;
    assert_eq!(outbox.deliver_due(&stop).await.unwrap(), report(0, 250));
    tokio::time::advance(Duration::from_secs(20 * 3600)).await;
    assert_eq!(outbox.deliver_due(&stop).await.unwrap(), report(250, 0));
    assert_eq!(
        subjects(&dir.path().join("desk")),
        ["[newswatch] digest: 250 alerts: morning-brief (250)"]
    );
}
