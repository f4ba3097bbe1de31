//! Behaviour every `Store` backend must share. Each check takes a fresh store:
//! on a real SQLite file always, and on PostgreSQL (a schema of its own in
//! the database `NEWSWATCH_TEST_POSTGRES_URL` names) when that is set.

use super::*;
use crate::model::alert::{Alert, AlertArticle};
use crate::model::story::{AlertStory, StoryArticle, StoryMode};
use chrono::Duration;

mod backends;

use backends::{Harness, conformance};

/// A pushed document's entries: new keys, keys seen before, alerts.
fn push(seen: &[&str], present: &[&str], alerts: Vec<Alert>) -> Entries {
    Entries {
        seen_keys: keys(seen),
        present_keys: keys(present),
        alerts,
        ..Entries::default()
    }
}

fn alert(id: &str) -> Alert {
    Alert {
        id: id.to_string(),
        rule: "r".into(),
        query: "q".into(),
        destination: "desk".into(),
        feed: "f".into(),
        article: AlertArticle {
            key: format!("guid:{id}"),
            title: "t".into(),
            link: None,
            published: None,
            authors: vec![],
        },
        excerpts: vec![],
        created_at: Utc::now(),
        story: None,
    }
}

/// The subset of `keys` not yet seen in `feed`, in the given order.
async fn unseen(store: &dyn Store, feed: &str, keys: &[String]) -> Vec<String> {
    let entries: Vec<(String, Option<String>)> = keys.iter().map(|k| (k.clone(), None)).collect();
    let known = store.recognise(feed, &entries).await.unwrap();
    keys.iter()
        .zip(known)
        .filter(|(_, k)| *k == Known::New)
        .map(|(key, _)| key.clone())
        .collect()
}

fn keys(ks: &[&str]) -> Vec<String> {
    ks.iter().map(|k| k.to_string()).collect()
}

async fn commit_records_seen_keys_and_queues_alerts_once(store: &dyn Store) {
    assert_eq!(store.feed_state("f").await.unwrap(), None);
    assert_eq!(
        unseen(store, "f", &keys(&["a", "b"])).await,
        keys(&["a", "b"])
    );
    let commit = PollCommit {
        etag: Some("\"v1\"".into()),
        seen_keys: keys(&["a"]),
        alerts: vec![alert("x1")],
        ..Default::default()
    };
    assert_eq!(store.commit_poll("f", commit.clone()).await.unwrap(), 1);
    assert_eq!(unseen(store, "f", &keys(&["a", "b"])).await, keys(&["b"]));
    // Seen keys are per feed.
    assert_eq!(unseen(store, "g", &keys(&["a"])).await, keys(&["a"]));
    // The same alert id is never queued twice.
    assert_eq!(store.commit_poll("f", commit).await.unwrap(), 0);
    let state = store.feed_state("f").await.unwrap().unwrap();
    assert!(state.polled_ok);
    assert_eq!(state.etag.as_deref(), Some("\"v1\""));
}

async fn failures_count_up_and_reset(store: &dyn Store) {
    let later = Utc::now() + Duration::minutes(5);
    let before = Utc::now() - Duration::seconds(1);
    assert_eq!(store.record_failure("f", "boom", later).await.unwrap(), 1);
    let first = store.feed_state("f").await.unwrap().unwrap();
    assert_eq!(store.record_failure("f", "boom", later).await.unwrap(), 2);
    let state = store.feed_state("f").await.unwrap().unwrap();
    assert!(!state.polled_ok);
    assert_eq!(state.last_error.as_deref(), Some("boom"));
    // Failing since the first failure, never having worked.
    assert!(
        first.failing_since.is_some_and(|t| t >= before),
        "{first:?}"
    );
    assert_eq!(state.failing_since, first.failing_since);
    assert!(state.last_attempt_at.is_some() && state.last_success_at.is_none());
    store.commit_poll("f", PollCommit::default()).await.unwrap();
    let state = store.feed_state("f").await.unwrap().unwrap();
    assert_eq!(state.error_count, 0);
    assert_eq!(state.failing_since, None);
    assert!(
        state.last_success_at.is_some_and(|t| t >= before),
        "{state:?}"
    );
    // No entry was new: none is recorded as the last new one.
    assert_eq!(state.last_new_entry_at, None);
}

/// Each feed's next poll, as the scheduler reads them all at start.
async fn next_polls_are_read_for_every_feed(store: &dyn Store) {
    assert!(store.next_polls().await.unwrap().is_empty());
    let at = Utc::now() + Duration::minutes(5);
    let commit = PollCommit {
        next_poll_at: Some(at),
        ..Default::default()
    };
    store.commit_poll("f", commit).await.unwrap();
    store
        .record_failure("g", "boom", at + Duration::minutes(1))
        .await
        .unwrap();
    let mut due = store.next_polls().await.unwrap();
    due.sort();
    let secs: Vec<(String, i64)> = due.into_iter().map(|(f, t)| (f, t.timestamp())).collect();
    assert_eq!(
        secs,
        [
            ("f".to_string(), at.timestamp()),
            ("g".to_string(), at.timestamp() + 60)
        ]
    );
}

async fn feed_health_is_listed_with_entries_seen(store: &dyn Store) {
    let later = Utc::now() + Duration::minutes(5);
    let commit = PollCommit {
        seen_keys: keys(&["a", "b"]),
        ..PollCommit::default()
    };
    store.commit_poll("ok", commit).await.unwrap();
    store.record_not_modified("ok", later).await.unwrap();
    store
        .record_failure("broken", "connection refused", later)
        .await
        .unwrap();
    let states = store.feed_states().await.unwrap();
    let names: Vec<&str> = states.iter().map(|(n, ..)| n.as_str()).collect();
    assert_eq!(names, ["broken", "ok"]);
    let (_, broken, broken_seen) = &states[0];
    assert_eq!(broken.last_error.as_deref(), Some("connection refused"));
    assert!(broken.failing_since.is_some() && *broken_seen == 0);
    let (_, ok, ok_seen) = &states[1];
    assert!(ok.last_new_entry_at.is_some() && ok.failing_since.is_none());
    assert!(ok.last_success_at >= ok.last_new_entry_at);
    assert_eq!(*ok_seen, 2);
    // The usual gap between new entries is known from the second poll with one.
    assert_eq!(ok.entry_gap, None);
    let more = PollCommit {
        seen_keys: keys(&["c"]),
        ..PollCommit::default()
    };
    store.commit_poll("ok", more).await.unwrap();
    let gap = store.feed_state("ok").await.unwrap().unwrap().entry_gap;
    assert!(
        gap.is_some_and(|g| g < std::time::Duration::from_secs(5)),
        "{gap:?}"
    );
}

async fn feed_f(store: &dyn Store) -> FeedState {
    store.feed_state("f").await.unwrap().unwrap()
}

async fn health_notices_are_queued_with_what_they_said(store: &dyn Store) {
    let later = Utc::now() + Duration::minutes(5);
    store.record_failure("f", "boom", later).await.unwrap();
    let since = feed_f(store).await.failing_since.unwrap();
    let failing = Said::Failing(since);
    let queued = store.queue_notices("f", vec![alert("failing-1")], failing);
    assert_eq!(queued.await.unwrap(), 1);
    assert_eq!(feed_f(store).await.failing_noticed_since, Some(since));
    // Queued again (a crash before the flag was seen): still one alert.
    let again = store.queue_notices("f", vec![alert("failing-1")], failing);
    assert_eq!(again.await.unwrap(), 0);
    // A poll that works does not clear it: the recovered notice is owed.
    store.commit_poll("f", PollCommit::default()).await.unwrap();
    let after = feed_f(store).await;
    assert_eq!(
        (after.failing_since, after.failing_noticed_since),
        (None, Some(since))
    );
    let recovered = store.queue_notices("f", Vec::new(), Said::Recovered);
    recovered.await.unwrap();
    assert_eq!(feed_f(store).await.failing_noticed_since, None);
    // Quiet until a new entry comes: a poll with nothing new keeps it.
    store
        .queue_notices("f", Vec::new(), Said::Quiet)
        .await
        .unwrap();
    store.commit_poll("f", PollCommit::default()).await.unwrap();
    assert!(store.feed_state("f").await.unwrap().unwrap().quiet_noticed);
    let new = PollCommit {
        seen_keys: keys(&["n"]),
        ..PollCommit::default()
    };
    store.commit_poll("f", new).await.unwrap();
    assert!(!store.feed_state("f").await.unwrap().unwrap().quiet_noticed);
    assert_eq!(store.outbox_counts().await.unwrap().pending, 1);
}

async fn outbox_lifecycle(store: &dyn Store) {
    let commit = PollCommit {
        alerts: vec![alert("a1"), alert("a2"), alert("a3")],
        ..Default::default()
    };
    store.commit_poll("f", commit).await.unwrap();
    // Half past a second, so the rounding of retry times shows.
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 500_000_000).unwrap();
    let due = store.due_alerts("desk", now, 10).await.unwrap();
    assert_eq!(due.len(), 3);
    assert_eq!(
        due[0].alert,
        alert("a1").clone_with_time(due[0].alert.created_at)
    );

    store.mark_delivered(&["a1".into()]).await.unwrap();
    store
        .mark_retry(&["a2".into()], "421 busy", now + Duration::minutes(1))
        .await
        .unwrap();
    store
        .mark_dead(&["a3".into()], "550 no such user")
        .await
        .unwrap();

    assert!(store.due_alerts("desk", now, 10).await.unwrap().is_empty());
    let later = store
        .due_alerts("desk", now + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].alert.id, "a2");
    assert_eq!(later[0].attempts, 1);
    assert_eq!(
        store
            .next_alert_due("desk")
            .await
            .unwrap()
            .map(|t| t.timestamp()),
        // Rounded up to the second: never due before the time asked for.
        Some((now + Duration::minutes(1)).timestamp() + 1)
    );
    // Each destination sees only its own alerts.
    assert!(store.due_alerts("other", now, 10).await.unwrap().is_empty());
    assert_eq!(store.next_alert_due("other").await.unwrap(), None);

    // A deferred alert waits for its digest, keeps its batch, and costs no attempt.
    let digest_at = now + Duration::hours(1);
    store.defer("a2", "digest-1", digest_at).await.unwrap();
    let before = store
        .due_alerts("desk", now + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert!(before.is_empty());
    let held = store
        .due_alerts("desk", digest_at + Duration::seconds(1), 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].batch.as_deref(), Some("digest-1"));
    assert_eq!(held[0].attempts, 1);
    // The whole digest can be read by its key.
    let batch = store
        .batch_alerts("desk", "digest-1", digest_at + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].alert.id, "a2");
    assert!(
        store
            .batch_alerts("desk", "digest-1", now)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .batch_alerts("other", "digest-1", digest_at + Duration::seconds(1))
            .await
            .unwrap()
            .is_empty()
    );
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.pending, counts.delivered, counts.dead), (1, 1, 1));

    // Dead letters can be listed, revived and dropped; delivered ones stay.
    let open: Vec<(String, String)> = store
        .outbox_entries(true)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.alert.id, e.status))
        .collect();
    assert_eq!(open.len(), 2);
    assert!(open.contains(&("a3".into(), "dead".into())));
    assert_eq!(store.outbox_entries(false).await.unwrap().len(), 3);
    assert_eq!(store.revive(Some("a3")).await.unwrap(), 1);
    let due = store
        .due_alerts("desk", Utc::now() + Duration::seconds(1), 10)
        .await
        .unwrap();
    let revived = due
        .iter()
        .find(|q| q.alert.id == "a3")
        .expect("revived alert is due");
    assert_eq!(revived.attempts, 0);
    assert!(Utc::now() - revived.alert.created_at < Duration::minutes(1));
    assert_eq!(store.revive(None).await.unwrap(), 0);
    assert!(store.drop_alert("a3").await.unwrap());
    assert!(
        !store.drop_alert("a1").await.unwrap(),
        "delivered alerts are kept"
    );
    assert!(!store.drop_alert("nope").await.unwrap());
}

impl Alert {
    fn clone_with_time(mut self, t: DateTime<Utc>) -> Alert {
        self.created_at = t;
        self
    }
}

/// Pushed entries become seen with their alerts, and leave the polling
/// state (validators, next poll) as it was; subscriptions are kept per feed.
async fn pushes_and_subscriptions(store: &dyn Store) {
    use crate::model::subscription::{Subscription, SubscriptionState};
    let next = Utc::now() + Duration::hours(2);
    let commit = PollCommit {
        etag: Some("\"v1\"".into()),
        next_poll_at: Some(next),
        seen_keys: keys(&["a"]),
        ..Default::default()
    };
    store.commit_poll("f", commit).await.unwrap();
    let before = feed_f(store).await;
    let queued = store
        .commit_push("f", push(&["b"], &["a"], vec![alert("p1")]))
        .await
        .unwrap();
    assert_eq!(queued, 1);
    assert!(unseen(store, "f", &keys(&["a", "b"])).await.is_empty());
    let after = feed_f(store).await;
    assert_eq!(after.etag, before.etag);
    assert_eq!(after.next_poll_at, before.next_poll_at);
    assert!(after.last_new_entry_at.is_some());
    // The same alert is not queued twice, by push or poll.
    assert_eq!(
        store
            .commit_push("f", push(&["b"], &["a"], vec![alert("p1")]))
            .await
            .unwrap(),
        0
    );

    let at = chrono::DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let mut subscription = Subscription {
        feed: "f".into(),
        hub: "https://hub.example/".parse().unwrap(),
        topic: "https://news.example/feed.xml".parse().unwrap(),
        token: "t1".into(),
        secret: "s".into(),
        state: SubscriptionState::Requested,
        lease_until: None,
        requested_at: at,
        verified_at: None,
        last_error: Some("refused".into()),
    };
    store.save_subscription(&subscription).await.unwrap();
    subscription.state = SubscriptionState::Active;
    subscription.lease_until = Some(at + Duration::days(10));
    subscription.verified_at = Some(at);
    subscription.last_error = None;
    store.save_subscription(&subscription).await.unwrap();
    assert_eq!(
        store.subscriptions().await.unwrap(),
        vec![subscription.clone()]
    );
    // Forgotten only with its own token (not a newer subscription's).
    store.delete_subscription("f", "other").await.unwrap();
    assert_eq!(store.subscriptions().await.unwrap().len(), 1);
    store.delete_subscription("f", "t1").await.unwrap();
    assert!(store.subscriptions().await.unwrap().is_empty());
}

/// What monitoring reads: failing feeds, the latest success, the oldest
/// pending alert; and a write probe.
async fn health_is_read_for_monitoring(store: &dyn Store) {
    assert_eq!(store.health().await.unwrap(), StoreHealth::default());
    let commit = PollCommit {
        seen_keys: keys(&["a"]),
        alerts: vec![alert("h1")],
        ..Default::default()
    };
    store.commit_poll("ok", commit).await.unwrap();
    let next = Utc::now() + Duration::hours(1);
    store
        .record_failure("broken", "HTTP 500", next)
        .await
        .unwrap();
    let health = store.health().await.unwrap();
    assert_eq!(health.feeds_failing, 1);
    assert!(health.last_success.is_some());
    assert_eq!(health.outbox.pending, 1);
    assert!(health.oldest_pending.is_some());
    store.mark_delivered(&keys(&["h1"])).await.unwrap();
    assert_eq!(store.health().await.unwrap().oldest_pending, None);
    store.probe_write().await.unwrap();
    store.probe_write().await.unwrap();
}

/// An alert of story `story` for the rule `r`, with a mode.
fn story_alert(id: &str, story: &str, mode: StoryMode, adds: Option<&str>) -> Alert {
    Alert {
        story: Some(AlertStory {
            id: story.into(),
            title: "t".into(),
            first_seen: Utc::now(),
            articles: 1,
            sources: vec!["f".into()],
            adds: adds.map(String::from),
            mode,
            follows: None,
        }),
        ..alert(id)
    }
}

async fn stories_send_what_each_rule_asks_once(store: &dyn Store) {
    let commit = |alerts| PollCommit {
        alerts,
        ..Default::default()
    };
    // The first alert of a story, and a second article of it in the same
    // commit: one queued, whatever the mode wants of the second.
    let queued = store
        .commit_poll(
            "f",
            commit(vec![
                story_alert("a1", "s1", StoryMode::First, None),
                story_alert("a2", "s1", StoryMode::First, Some("new figures: 11")),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(queued, 1);
    // Under "updates": nothing new is not sent; news is, following a1.
    let updates = |id, adds| story_alert(id, "s1", StoryMode::Updates, adds);
    assert_eq!(
        store
            .commit_poll("g", commit(vec![updates("a3", None)]))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .commit_poll("g", commit(vec![updates("a4", Some("new figures: 11"))]))
            .await
            .unwrap(),
        1
    );
    // "every" sends all; another destination has its own first alert.
    let every = story_alert("a5", "s1", StoryMode::Every, None);
    let mut elsewhere = story_alert("a6", "s1", StoryMode::First, None);
    elsewhere.destination = "other".into();
    assert_eq!(
        store
            .commit_poll("g", commit(vec![every, elsewhere]))
            .await
            .unwrap(),
        2
    );
    let entries = store.outbox_entries(false).await.unwrap();
    let follow_up = entries.iter().find(|e| e.alert.id == "a4").unwrap();
    let story = follow_up.alert.story.as_ref().unwrap();
    assert_eq!(story.follows.as_deref(), Some("a1"));
    let first = entries.iter().find(|e| e.alert.id == "a1").unwrap();
    assert_eq!(first.alert.story.as_ref().unwrap().follows, None);
    // A first alert that became a dead letter leaves the story without
    // one: the next article's alert is sent, and is the first.
    store
        .mark_dead(&keys(&["a6"]), "mailbox gone")
        .await
        .unwrap();
    let mut next = story_alert("a7", "s1", StoryMode::First, None);
    next.destination = "other".into();
    assert_eq!(store.commit_poll("g", commit(vec![next])).await.unwrap(), 1);
    let mut after = story_alert("a8", "s1", StoryMode::First, None);
    after.destination = "other".into();
    assert_eq!(
        store.commit_poll("g", commit(vec![after])).await.unwrap(),
        0
    );
    // The first alert queued again (a retried poll) is not a follow-up of itself.
    assert_eq!(
        store
            .commit_poll(
                "f",
                commit(vec![story_alert("a1", "s1", StoryMode::First, None)])
            )
            .await
            .unwrap(),
        0
    );
}

async fn entries_are_recognised_by_key_and_text(store: &dyn Store) {
    let print = |p: &str| Some(p.to_string());
    let article = |key: &str, story: &str| StoryArticle {
        feed: "f".into(),
        key: key.into(),
        story: story.into(),
        at: Utc::now(),
        title: format!("title of {key}"),
        lead: "lead".into(),
        story_title: format!("first of {story}"),
        first_seen: Utc::now() - Duration::days(3),
    };
    let commit = PollCommit {
        seen_keys: keys(&["http-1", "old"]),
        fingerprints: vec![("http-1".into(), "p1".into()), ("old".into(), "p0".into())],
        story_articles: vec![article("http-1", "s1")],
        ..Default::default()
    };
    store.commit_poll("f", commit).await.unwrap();
    let known = store
        .recognise(
            "f",
            &[
                ("https-1".into(), print("p1")),
                ("new".into(), print("p9")),
                ("also-p0".into(), print("p0")),
                ("old".into(), None),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        known,
        [
            // Its text was seen under a key the document no longer has.
            Known::Renamed {
                was: "http-1".into()
            },
            Known::New,
            // The key with that text is still in the document: two entries.
            Known::New,
            Known::Seen {
                fingerprint: print("p0"),
                story: None,
            },
        ]
    );
    // Both keys in the document: the new one is another entry; the old
    // one, edited, is seen with what it said and its story.
    let known = store
        .recognise(
            "f",
            &[
                ("https-1".into(), print("p1")),
                ("http-1".into(), print("p1b")),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        known,
        [
            Known::New,
            Known::Seen {
                fingerprint: print("p1"),
                story: Some(("s1".into(), "title of http-1".into())),
            }
        ]
    );
    // Another feed's text is not this feed's.
    assert_eq!(
        store
            .recognise("g", &[("x".into(), print("p1"))])
            .await
            .unwrap(),
        [Known::New]
    );
    let restored = store
        .story_articles(Utc::now() - Duration::hours(1), 0)
        .await
        .unwrap()
        .articles;
    assert_eq!(restored.len(), 1);
    let expected = article("http-1", "s1");
    assert_eq!(
        restored[0],
        StoryArticle {
            at: restored[0].at,
            first_seen: restored[0].first_seen,
            ..expected
        }
    );
    // The story's title and start are kept as first recorded (to the
    // second): a later article does not change them, nor does an edit
    // move an article's place.
    assert_eq!(
        restored[0].first_seen.timestamp(),
        expected.first_seen.timestamp()
    );
    let later = StoryArticle {
        key: "http-2".into(),
        story_title: "another title".into(),
        first_seen: Utc::now(),
        ..article("http-2", "s1")
    };
    let edited = StoryArticle {
        title: "edited".into(),
        at: Utc::now() + Duration::hours(1),
        ..article("http-1", "s1")
    };
    let commit = PollCommit {
        seen_keys: keys(&["http-2"]),
        story_articles: vec![later, edited],
        ..Default::default()
    };
    store.commit_poll("f", commit).await.unwrap();
    let restored = store
        .story_articles(Utc::now() - Duration::hours(1), 0)
        .await
        .unwrap()
        .articles;
    let titles: Vec<(&str, &str, &str)> = restored
        .iter()
        .map(|a| (a.key.as_str(), a.title.as_str(), a.story_title.as_str()))
        .collect();
    assert_eq!(
        titles,
        [
            ("http-1", "edited", "first of s1"),
            ("http-2", "title of http-2", "first of s1")
        ]
    );
}

async fn state_survives_reopen(h: &Harness) {
    {
        let store = h.open().await;
        let commit = PollCommit {
            seen_keys: keys(&["k"]),
            alerts: vec![alert("q1")],
            ..Default::default()
        };
        store.commit_poll("f", commit).await.unwrap();
    }
    let store = h.open().await;
    assert!(unseen(&*store, "f", &keys(&["k"])).await.is_empty());
    assert_eq!(
        store
            .due_alerts("desk", Utc::now(), 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn entries_still_in_their_feed_are_never_forgotten(h: &Harness) {
    let store = h.open().await;
    let retention = Retention::default();
    let poll = |seen: &[&str], present: &[&str]| PollCommit {
        seen_keys: keys(seen),
        present_keys: keys(present),
        ..Default::default()
    };
    store
        .commit_poll("f", poll(&["a", "b"], &[]))
        .await
        .unwrap();
    store
        .commit_poll("f", poll(&[], &["a", "b"]))
        .await
        .unwrap();
    // 100 days of 304s: nothing is forgotten, the document still holds both.
    h.backdate(100).await;
    store.record_not_modified("f", Utc::now()).await.unwrap();
    let pruned = store.prune(retention, Utc::now(), 1000, &[]).await.unwrap();
    assert_eq!(pruned, Pruned::default());
    assert!(unseen(&*store, "f", &keys(&["a", "b"])).await.is_empty());
    // Then a document without "a": "b" is marked present again, "a",
    // absent from a document fetched long after it was last present, is
    // forgotten.
    store.commit_poll("f", poll(&[], &["b"])).await.unwrap();
    let pruned = store.prune(retention, Utc::now(), 1000, &[]).await.unwrap();
    assert_eq!(pruned.seen, 1);
    assert_eq!(unseen(&*store, "f", &keys(&["a", "b"])).await, keys(&["a"]));
    // "b" stays for as long as documents hold it, however long that is.
    for _ in 0..3 {
        h.backdate(100).await;
        store.commit_poll("f", poll(&[], &["b"])).await.unwrap();
        assert_eq!(
            store
                .prune(retention, Utc::now(), 1000, &[])
                .await
                .unwrap()
                .seen,
            0
        );
    }
    assert!(unseen(&*store, "f", &keys(&["b"])).await.is_empty());
}

async fn a_configured_feed_is_never_forgotten_whole(h: &Harness) {
    let store = h.open().await;
    let commit = PollCommit {
        seen_keys: keys(&["k1"]),
        ..Default::default()
    };
    store.commit_poll("wire", commit).await.unwrap();
    // The daemon was down for 100 days (or the clock jumped).
    h.backdate(100).await;
    let pruned = store
        .prune(Retention::default(), Utc::now(), 1000, &keys(&["wire"]))
        .await
        .unwrap();
    assert_eq!(pruned, Pruned::default());
    assert!(unseen(&*store, "wire", &keys(&["k1"])).await.is_empty());
}

async fn stories_past_the_window_are_forgotten_with_their_threads(h: &Harness) {
    let store = h.open().await;
    let placed = |key: &str| StoryArticle {
        feed: "f".into(),
        key: key.into(),
        story: format!("s-{key}"),
        at: Utc::now(),
        title: "t".into(),
        lead: "l".into(),
        story_title: "t".into(),
        first_seen: Utc::now(),
    };
    let commit = PollCommit {
        seen_keys: keys(&["k1"]),
        story_articles: vec![placed("k1")],
        alerts: vec![story_alert("a1", "s-k1", StoryMode::First, None)],
        ..Default::default()
    };
    store.commit_poll("f", commit).await.unwrap();
    let retention = Retention::default();
    let nothing = store.prune(retention, Utc::now(), 100, &[]).await.unwrap();
    assert_eq!(nothing.stories, 0);
    // Four days on: past the 48-hour window and the day kept after it.
    h.sql("UPDATE story_article SET at = at - 4 * 24 * 3600")
        .await;
    let pruned = store.prune(retention, Utc::now(), 100, &[]).await.unwrap();
    assert_eq!(pruned.stories, 3, "the article, its story and its thread");
    assert_eq!(store.stats().await.unwrap().story_articles, 0);
    // The story is gone: the same story id may alert again.
    let again = PollCommit {
        alerts: vec![story_alert("a2", "s-k1", StoryMode::First, None)],
        ..Default::default()
    };
    assert_eq!(store.commit_poll("f", again).await.unwrap(), 1);
}

async fn delivered_alerts_and_feeds_no_longer_polled_are_forgotten(h: &Harness) {
    let store = h.open().await;
    let commit = PollCommit {
        seen_keys: keys(&["k1", "k2"]),
        alerts: vec![alert("done"), alert("dead"), alert("waiting")],
        ..Default::default()
    };
    store.commit_poll("gone", commit).await.unwrap();
    store.mark_delivered(&keys(&["done"])).await.unwrap();
    store.mark_dead(&keys(&["dead"]), "refused").await.unwrap();
    h.backdate(100).await;
    let retention = Retention::default();
    let mut total = Pruned::default();
    // Batches of one: each call removes at most one row of each kind.
    loop {
        let batch = store.prune(retention, Utc::now(), 1, &[]).await.unwrap();
        assert!(batch.seen <= 1 && batch.delivered <= 1);
        total.seen += batch.seen;
        total.delivered += batch.delivered;
        total.feeds += batch.feeds;
        if batch.total() == 0 {
            break;
        }
    }
    assert_eq!((total.seen, total.delivered, total.feeds), (2, 1, 1));
    let stats = store.stats().await.unwrap();
    assert_eq!((stats.feeds, stats.seen), (0, 0));
    // Dead letters and alerts still waiting are kept.
    assert_eq!((stats.pending, stats.delivered, stats.dead), (1, 0, 1));
    assert!(stats.file_bytes > 0);
}

/// Two instances (two stores on one database) committing the same story's
/// articles and the same entries at once: one first alert per story and
/// rule, each entry's alert queued once.
async fn instances_sharing_a_store_alert_once(h: &Harness) {
    let (one, two) = (h.open().await, h.open().await);
    let mut tasks = Vec::new();
    for round in 0..20 {
        for (n, store) in [(1, one.clone()), (2, two.clone())] {
            tasks.push(tokio::spawn(async move {
                // Each instance's own article of story `round`, and the same
                // entry of a shared feed.
                let own = PollCommit {
                    seen_keys: keys(&[&format!("k{round}")]),
                    alerts: vec![story_alert(
                        &format!("i{n}-{round}"),
                        &format!("s{round}"),
                        StoryMode::First,
                        None,
                    )],
                    ..Default::default()
                };
                let feed = format!("feed{n}");
                let own = store.commit_poll(&feed, own).await.unwrap();
                let shared = PollCommit {
                    seen_keys: keys(&[&format!("k{round}")]),
                    alerts: vec![alert(&format!("shared-{round}"))],
                    ..Default::default()
                };
                own + store.commit_poll("shared", shared).await.unwrap()
            }));
        }
    }
    let mut queued = 0;
    for task in tasks {
        queued += task.await.unwrap();
    }
    // Per round: one of the two story alerts, and the shared entry's once.
    assert_eq!(queued, 40);
    let counts = one.outbox_counts().await.unwrap();
    assert_eq!(counts.pending, 40);
}

/// A store written by a later newswatch (a schema version this one does
/// not know) is refused, not written.
async fn a_newer_schema_is_refused(h: &Harness) {
    drop(h.open().await);
    match h {
        Harness::Sqlite(_) => h.sql("PRAGMA user_version = 999").await,
        Harness::Postgres { .. } => h.sql("UPDATE newswatch_schema SET version = 999").await,
    }
    let error = open(&h.location()).await.err().expect("refused");
    assert!(error.to_string().contains("newer"), "{error}");
}

/// A read of the articles placed in stories says where the next starts:
/// from there, what was recorded since (an instance reads the others'
/// placements so), and nothing it read before but what the store may repeat.
async fn story_articles_are_read_from_where_the_last_read_ended(store: &dyn Store) {
    let placed = |key: &str| StoryArticle {
        feed: "f".into(),
        key: key.into(),
        story: "s1".into(),
        at: Utc::now(),
        title: format!("title of {key}"),
        lead: "lead".into(),
        story_title: "t".into(),
        first_seen: Utc::now(),
    };
    let record = |key: &'static str| PollCommit {
        seen_keys: keys(&[key]),
        story_articles: vec![placed(key)],
        ..Default::default()
    };
    let since = Utc::now() - Duration::hours(1);
    store.commit_poll("f", record("k1")).await.unwrap();
    let first = store.story_articles(since, 0).await.unwrap();
    assert_eq!(first.articles.len(), 1);
    store.commit_poll("f", record("k2")).await.unwrap();
    store.commit_poll("f", record("k3")).await.unwrap();
    let next = store.story_articles(since, first.next).await.unwrap();
    let keys: Vec<&str> = next.articles.iter().map(|a| a.key.as_str()).collect();
    assert!(keys.ends_with(&["k2", "k3"]) && keys.len() <= 3, "{keys:?}");
    // Nothing new: nothing but what may be repeated.
    let again = store.story_articles(since, next.next).await.unwrap();
    assert!(again.articles.len() <= 3, "{:?}", again.articles);
}

/// A lease is one holder's until it runs out or is released; its holder
/// keeps it by taking it again.
async fn leases_are_held_by_one_instance_at_a_time(store: &dyn Store) {
    let now = Utc::now();
    let minute = Duration::minutes(1);
    assert_eq!(
        store.lease("feed:f", "a", now, now + minute).await.unwrap(),
        None
    );
    // Held: another instance is told until when.
    let held = store
        .lease("feed:f", "b", now, now + minute * 5)
        .await
        .unwrap();
    assert_eq!(
        held.map(|t| t.timestamp()),
        Some((now + minute).timestamp())
    );
    // Kept by its holder, longer.
    assert_eq!(
        store
            .lease("feed:f", "a", now, now + minute * 2)
            .await
            .unwrap(),
        None
    );
    // Run out: the other takes it.
    let later = now + minute * 3;
    assert_eq!(
        store
            .lease("feed:f", "b", later, later + minute)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .lease("feed:f", "a", later, later + minute)
            .await
            .unwrap()
            .is_some()
    );
    // Leases are by name.
    assert_eq!(
        store
            .lease("destination:d", "a", now, now + minute)
            .await
            .unwrap(),
        None
    );
    // Released: free at once.
    store.release("b").await.unwrap();
    assert_eq!(
        store.lease("feed:f", "a", now, now + minute).await.unwrap(),
        None
    );
    assert!(
        store
            .lease("destination:d", "b", now, now + minute)
            .await
            .unwrap()
            .is_some()
    );
}

conformance!(sqlite, Harness::sqlite());
conformance!(postgres, Harness::postgres().await);
