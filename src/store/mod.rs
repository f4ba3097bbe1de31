//! Durable state: per-feed poll state, seen keys (with what each entry said),
//! the alert outbox, and the stories of the window with their first alerts.
//!
//! The `Store` trait is what the pipeline uses; each backend implements it and
//! passes the same conformance tests. The backend is chosen in [`open`] only.

mod lease;
mod postgres;
pub mod retention;
mod sqlite;
mod time;

pub use lease::Leases;
pub use postgres::{PostgresStore, Target};
pub use retention::{Pruned, Retention, StoreStats};
pub use sqlite::SqliteStore;

use crate::model::alert::Alert;
use crate::model::story::{Placements, StoryArticle};
use crate::model::subscription::Subscription;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// With its causes: a server error's own message is only "db error".
    #[error("postgres: {}", crate::http::error_chain(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("postgres: {0}")]
    Pool(String),
    #[error("store URL {url} is not valid: {reason}")]
    Url { url: String, reason: String },
    #[error(
        "the database's schema is version {found}, newer than this newswatch knows ({known}): upgrade newswatch"
    )]
    Newer { found: usize, known: usize },
    #[error("stored alert {id} is unreadable: {source}")]
    BadAlert {
        id: String,
        source: serde_json::Error,
    },
    #[error("cannot create state directory {path}: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("store task failed: {0}")]
    Task(String),
}

/// What the store remembers about one feed between polls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Consecutive failed polls.
    pub error_count: u32,
    pub last_error: Option<String>,
    pub next_poll_at: Option<DateTime<Utc>>,
    /// Whether the feed has had a successful poll (its entries were recorded).
    pub polled_ok: bool,
    /// Why the last successful poll's document was malformed, if it was.
    pub malformed: Option<String>,
    /// When the feed was last polled, last polled without an error, and last
    /// had an entry not seen before.
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_new_entry_at: Option<DateTime<Utc>>,
    /// The first of the failed polls since the last that worked (None while
    /// it works).
    pub failing_since: Option<DateTime<Utc>>,
    /// The start of the failing run whose "feed failing" notice went out:
    /// a "feed recovered" one is owed until it is queued (then None).
    pub failing_noticed_since: Option<DateTime<Utc>>,
    /// Whether its "feed quiet" notice went out since its last new entry.
    pub quiet_noticed: bool,
    /// The feed's usual gap between polls that found new entries (a moving
    /// average), once it has had two.
    pub entry_gap: Option<std::time::Duration>,
}

/// What a feed's health notices said, recorded with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// "Feed failing", for the failing run that began then: none again for it.
    Failing(DateTime<Utc>),
    /// "Feed recovered": the failing run is over.
    Recovered,
    /// "Feed quiet": none again until a new entry comes.
    Quiet,
}

/// Everything one successful poll writes, applied in one transaction: the new
/// entries become seen and their alerts enter the outbox together, so a crash
/// can neither lose an alert nor send one twice.
#[derive(Debug, Clone, Default)]
pub struct PollCommit {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub seen_keys: Vec<String>,
    /// Keys seen before and still in the document: marked present, so they
    /// outlive their entry's stay in the feed (see `retention`).
    pub present_keys: Vec<String>,
    pub alerts: Vec<Alert>,
    /// Why the document was malformed (entries were recovered one by one).
    pub malformed: Option<String>,
    /// What entries said (key, fingerprint): the new ones', and those
    /// whose stored fingerprint differs.
    pub fingerprints: Vec<(String, String)>,
    /// The new entries as placed in stories.
    pub story_articles: Vec<StoryArticle>,
}

impl PollCommit {
    fn entries(&self) -> Entries {
        Entries {
            seen_keys: self.seen_keys.clone(),
            present_keys: self.present_keys.clone(),
            fingerprints: self.fingerprints.clone(),
            story_articles: self.story_articles.clone(),
            alerts: self.alerts.clone(),
        }
    }
}

/// The entries of a document a hub pushed, as [`PollCommit`] has them.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    pub seen_keys: Vec<String>,
    pub present_keys: Vec<String>,
    pub fingerprints: Vec<(String, String)>,
    pub story_articles: Vec<StoryArticle>,
    pub alerts: Vec<Alert>,
}

/// What the store knows of an entry of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    New,
    /// Not seen under this key, but its text was, under the key `was` that
    /// the document no longer has: the feed changed the entry's id.
    Renamed {
        was: String,
    },
    /// Seen, with what it said then (`None`: seen before fingerprints were
    /// kept) and its story and title then, while the story is kept.
    Seen {
        fingerprint: Option<String>,
        story: Option<(String, String)>,
    },
}

/// An alert waiting in the outbox.
#[derive(Debug, Clone)]
pub struct QueuedAlert {
    pub alert: Alert,
    pub attempts: u32,
    /// The digest the alert waits for (set by [`Store::defer`]).
    pub batch: Option<String>,
}

/// One outbox row, for `newswatch outbox list`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub alert: Alert,
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// What `/metrics` and `/healthz` read from the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreHealth {
    /// Feeds whose last poll failed.
    pub feeds_failing: u64,
    /// The latest poll of any feed that worked.
    pub last_success: Option<DateTime<Utc>>,
    pub outbox: OutboxCounts,
    /// When the oldest alert still waiting was queued.
    pub oldest_pending: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn feed_state(&self, feed: &str) -> Result<Option<FeedState>, StoreError>;

    /// Every feed's state, by name, with how many entries of it are seen.
    async fn feed_states(&self) -> Result<Vec<(String, FeedState, u64)>, StoreError>;

    /// When each feed is next due to be polled, where the store says.
    async fn next_polls(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError>;

    /// Queues feed health notices and records what they said, in one
    /// transaction; returns how many were queued.
    async fn queue_notices(
        &self,
        feed: &str,
        notices: Vec<Alert>,
        said: Said,
    ) -> Result<usize, StoreError>;

    /// Records a successful poll; returns how many alerts were newly queued
    /// (an alert whose id is already in the outbox is not queued again).
    async fn commit_poll(&self, feed: &str, commit: PollCommit) -> Result<usize, StoreError>;

    /// Records entries a hub pushed (WebSub): they become seen and their
    /// alerts enter the outbox together, as in [`Store::commit_poll`], and
    /// the feed's last new entry is noted; its polling state is left as is.
    async fn commit_push(&self, feed: &str, entries: Entries) -> Result<usize, StoreError>;

    /// What is known of each entry of a document of `feed`, given as its
    /// key and fingerprint (see [`Known`]), in the given order.
    async fn recognise(
        &self,
        feed: &str,
        entries: &[(String, Option<String>)],
    ) -> Result<Vec<Known>, StoreError>;

    /// The articles placed in stories since `since`, oldest first: all of
    /// them (`from` 0), or those recorded since the read that returned
    /// `from` as its `next` (and perhaps a few read then too). Instances
    /// sharing the store read each other's placements so.
    async fn story_articles(
        &self,
        since: DateTime<Utc>,
        from: i64,
    ) -> Result<Placements, StoreError>;

    /// Every WebSub subscription, whatever its state.
    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError>;

    /// Records a feed's subscription (replacing the feed's previous one).
    async fn save_subscription(&self, subscription: &Subscription) -> Result<(), StoreError>;

    /// Forgets a feed's subscription if it still has this callback `token`.
    async fn delete_subscription(&self, feed: &str, token: &str) -> Result<(), StoreError>;

    /// Forgets one batch of what `retention` lets go, as of `now` (see
    /// `retention`); returns what was removed (nothing: all done).
    /// Feeds named in `keep` (the configured ones) are never forgotten
    /// whole, however long since they were polled.
    async fn prune(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
        batch: usize,
        keep: &[String],
    ) -> Result<Pruned, StoreError>;

    /// Rewrites an older store so that pruning can shrink its file (once;
    /// false if it already could). Takes long on a large store.
    async fn shrinkable(&self) -> Result<bool, StoreError>;

    /// Sizes and row counts.
    async fn stats(&self) -> Result<StoreStats, StoreError>;

    /// Records a 304 Not Modified reply.
    async fn record_not_modified(
        &self,
        feed: &str,
        next_poll_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Records a failed poll; returns the number of consecutive failures.
    async fn record_failure(
        &self,
        feed: &str,
        error: &str,
        next_poll_at: DateTime<Utc>,
    ) -> Result<u32, StoreError>;

    /// A destination's pending alerts whose next attempt is due, oldest first.
    async fn due_alerts(
        &self,
        destination: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedAlert>, StoreError>;

    /// When a destination's earliest pending alert is due, if any is pending.
    async fn next_alert_due(&self, destination: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// A destination's pending alerts held for the digest `batch` and due
    /// by `now`, all of them.
    async fn batch_alerts(
        &self,
        destination: &str,
        batch: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<QueuedAlert>, StoreError>;

    /// Holds an alert for the digest `batch`, due at `at`; not an attempt.
    async fn defer(&self, id: &str, batch: &str, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// The destination accepted these alerts (one, or a digest's), all in
    /// one transaction.
    async fn mark_delivered(&self, ids: &[String]) -> Result<(), StoreError>;

    /// A temporary failure: try again at `next_attempt_at`.
    async fn mark_retry(
        &self,
        ids: &[String],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// A permanent failure: keep the alert as a dead letter.
    async fn mark_dead(&self, ids: &[String], error: &str) -> Result<(), StoreError>;

    async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError>;

    /// Feed failures, the latest success and the outbox, for monitoring.
    async fn health(&self) -> Result<StoreHealth, StoreError>;

    /// Writes a row of its own, to show the store can be written.
    async fn probe_write(&self) -> Result<(), StoreError>;

    /// Outbox entries, newest first; with `dead_and_pending`, only those.
    async fn outbox_entries(&self, dead_and_pending: bool) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Makes dead letters (one, or all with `None`) pending again, due now,
    /// with a fresh retry budget. Returns how many were revived.
    async fn revive(&self, id: Option<&str>) -> Result<usize, StoreError>;

    /// Removes an alert that is not delivered; returns whether one was removed.
    async fn drop_alert(&self, id: &str) -> Result<bool, StoreError>;

    /// Whether several instances may share this store (then each feed and
    /// destination is worked by the instance holding its lease).
    fn shared(&self) -> bool {
        false
    }

    /// Takes or keeps the lease `name` for `holder` until `until`, if it is
    /// free, ran out by `now`, or is the holder's already. Returns `None`
    /// if it is the holder's now, else when the other holder's runs out.
    async fn lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Gives up every lease `holder` has (it is stopping: others take its
    /// feeds and destinations over at once).
    async fn release(&self, holder: &str) -> Result<(), StoreError>;
}

/// Where the store is (`store` in the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded default: `newswatch.db` in the state directory.
    Sqlite { state_dir: PathBuf },
    /// A PostgreSQL database several instances may share.
    Postgres(Target),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite { state_dir } => write!(f, "{}", state_dir.display()),
            Location::Postgres(target) => f.write_str(&target.url),
        }
    }
}

/// Brings the store's schema up to date; returns how many migrations ran.
pub async fn migrate(location: &Location) -> Result<usize, StoreError> {
    match location {
        Location::Sqlite { state_dir } => {
            create_state_dir(state_dir)?;
            Ok(SqliteStore::migrate(&state_dir.join("newswatch.db"))
                .await?
                .1)
        }
        Location::Postgres(target) => PostgresStore::migrate(target).await,
    }
}

fn create_state_dir(state_dir: &std::path::Path) -> Result<(), StoreError> {
    std::fs::create_dir_all(state_dir).map_err(|source| StoreError::StateDir {
        path: state_dir.display().to_string(),
        source,
    })
}

/// Opens the store, upgrading its schema.
pub async fn open(location: &Location) -> Result<Arc<dyn Store>, StoreError> {
    match location {
        Location::Sqlite { state_dir } => {
            create_state_dir(state_dir)?;
            let store = SqliteStore::open(&state_dir.join("newswatch.db")).await?;
            Ok(Arc::new(store))
        }
        Location::Postgres(target) => Ok(Arc::new(PostgresStore::open(target).await?)),
    }
}

#[cfg(test)]
mod conformance;
