//! Feed health notices: a feed failing for longer than `failing_after` gets
//! one "feed failing" notice to the `[health]` destinations, with the error
//! and the last success, and one "feed recovered" when it works again. They
//! are alerts, so they go through the outbox like any other (retries, dead
//! letters).

use crate::http::redact;
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
pub(crate) const QUIET: &str = "feed quiet";
/// Every kind of notice.
pub(crate) const NOTICES: [&str; 3] = [FAILING, RECOVERED, QUIET];

/// A feed is quiet after this many of its usual gaps between new entries
/// without one, and at least [`QUIET_AT_LEAST`].
const QUIET_GAPS: u32 = 4;
const QUIET_AT_LEAST: Duration = Duration::from_secs(3600);

/// Whether a feed whose last new entry came at `last_new_entry`, and which
/// usually has one every `entry_gap`, has been quiet for longer than usual.
pub fn is_quiet(
    last_new_entry: Option<DateTime<Utc>>,
    entry_gap: Option<Duration>,
    now: DateTime<Utc>,
) -> bool {
    let (Some(last), Some(gap)) = (last_new_entry, entry_gap) else {
        return false;
    };
    let silent = (now - last).to_std().unwrap_or_default();
    silent > (gap * QUIET_GAPS).max(QUIET_AT_LEAST)
}

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

    /// The "feed quiet" notice for a feed whose last new entry came at `last`.
    pub(crate) fn quiet(
        &self,
        feed: &FeedConfig,
        last: DateTime<Utc>,
        entry_gap: Duration,
        now: DateTime<Utc>,
    ) -> Vec<Alert> {
        let usual = humantime::format_duration(Duration::from_secs(entry_gap.as_secs()));
        let title = format!(
            "Feed \"{}\" has had no new entry since {}",
            feed.name,
            time(last)
        );
        let text = format!(
            "It usually has one every {usual}; it still answers, with nothing new. \
             Its publisher may have moved it or stopped it."
        );
        self.notices(QUIET, feed, last, title, text, now)
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
                    // As logs show it: no password or token in a notice.
                    link: Some(redact(&feed.url)),
                    published: None,
                    authors: Vec::new(),
                },
                excerpts: vec![Excerpt {
                    field: Field::Feed,
                    text: text.clone(),
                    spans: Vec::new(),
                }],
                created_at: now,
                story: None,
            })
            .collect()
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_means_several_usual_gaps_and_at_least_an_hour() {
        let now = Utc::now();
        let ago = |minutes: i64| Some(now - chrono::Duration::minutes(minutes));
        let every = |minutes: u64| Some(Duration::from_secs(60 * minutes));
        // Every 30 minutes: quiet after two hours, not before.
        assert!(!is_quiet(ago(110), every(30), now));
        assert!(is_quiet(ago(130), every(30), now));
        // Every 5 minutes: still an hour at least.
        assert!(!is_quiet(ago(50), every(5), now));
        assert!(is_quiet(ago(70), every(5), now));
        // No rhythm learned yet, or never a new entry: never quiet.
        assert!(!is_quiet(ago(10_000), None, now));
        assert!(!is_quiet(None, every(5), now));
    }
}
