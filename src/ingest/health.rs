//! Feed health notices: a feed failing for longer than `failing_after` gets
//! one "feed failing" notice to the `[health]` destinations, with the error
//! and the last success, and one "feed recovered" when it works again. They
//! are alerts, so they go through the outbox like any other (retries, dead
//! letters).

use crate::ingest::schedule::FeedConfig;
use crate::model::alert::{Alert, AlertArticle, Excerpt, alert_id};
use crate::model::field::Field;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// `[health]`: who hears about failing feeds, and after how long.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// Destinations; none: no notices (the state is still kept and listed).
    pub notify: Vec<String>,
    pub failing_after: Duration,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            notify: Vec::new(),
            failing_after: Duration::from_secs(24 * 3600),
        }
    }
}

/// The "rule" of a notice, as alerts and their templates show it.
pub(crate) const FAILING: &str = "feed failing";
pub(crate) const RECOVERED: &str = "feed recovered";

/// How a feed has been failing.
pub(crate) struct Failing<'a> {
    pub since: DateTime<Utc>,
    pub failures: u32,
    pub error: &'a str,
    pub last_success: Option<DateTime<Utc>>,
}

impl HealthConfig {
    /// Whether a feed failing as `failing` is due its one notice at `now`.
    pub(crate) fn failing_is_due(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        !self.notify.is_empty() && (now - since).to_std().unwrap_or_default() >= self.failing_after
    }

    /// The "feed failing" notice, one per destination.
    pub(crate) fn failing(
        &self,
        feed: &FeedConfig,
        failing: &Failing,
        now: DateTime<Utc>,
    ) -> Vec<Alert> {
        let last_success = failing.last_success.map_or("never".to_string(), time);
        let title = format!(
            "Feed \"{}\" has been failing since {}",
            feed.name,
            time(failing.since)
        );
        let text = format!(
            "{} failed polls since {}; last success: {}. Last error: {}",
            failing.failures,
            time(failing.since),
            last_success,
            failing.error
        );
        self.notices(FAILING, feed, failing.since, title, text, now)
    }

    /// The "feed recovered" notice for a feed that was failing `since`.
    pub(crate) fn recovered(
        &self,
        feed: &FeedConfig,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Vec<Alert> {
        let title = format!("Feed \"{}\" works again", feed.name);
        let text = format!("It was failing from {} until {}.", time(since), time(now));
        self.notices(RECOVERED, feed, since, title, text, now)
    }

    /// One notice per destination, with an id per feed, kind and failing
    /// run: queued twice (a crash between queueing and recording), it is
    /// still sent once.
    fn notices(
        &self,
        kind: &str,
        feed: &FeedConfig,
        since: DateTime<Utc>,
        title: String,
        text: String,
        now: DateTime<Utc>,
    ) -> Vec<Alert> {
        let key = format!("health:{}", since.timestamp());
        self.notify
            .iter()
            .map(|destination| Alert {
                id: alert_id(kind, &feed.name, &key, destination),
                rule: kind.to_string(),
                query: String::new(),
                destination: destination.clone(),
                feed: feed.name.clone(),
                article: AlertArticle {
                    key: key.clone(),
                    title: title.clone(),
                    link: Some(feed.url.to_string()),
                    published: None,
                    authors: Vec::new(),
                },
                excerpts: vec![Excerpt {
                    field: Field::Feed,
                    text: text.clone(),
                    spans: Vec::new(),
                }],
                created_at: now,
            })
            .collect()
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
