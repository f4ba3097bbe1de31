//! SQLite backend: one file in the state directory, WAL mode, migrations
//! numbered by `PRAGMA user_version`.

mod entries;
mod retention;

use entries::{insert_alerts, record_entries};

use super::retention::{Pruned, Retention, StoreStats};
use super::time::{from_ts, ts, ts_ceil};
use super::{
    Entries, FeedState, Known, OutboxCounts, OutboxEntry, PollCommit, QueuedAlert, Said, Store,
    StoreError, StoreHealth,
};
use crate::model::alert::Alert;
use crate::model::story::Placements;
use crate::model::subscription::{Subscription, SubscriptionState};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Each entry upgrades the schema by one version; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE feed_state (
    feed          TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    error_count   INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    next_poll_at  INTEGER,
    polled_ok     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE seen (
    feed     TEXT NOT NULL,
    key      TEXT NOT NULL,
    seen_at  INTEGER NOT NULL,
    PRIMARY KEY (feed, key)
) WITHOUT ROWID;
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    destination     TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
"#,
    r#"
-- Why the feed's last document was malformed, so that is logged once per change.
ALTER TABLE feed_state ADD COLUMN malformed TEXT;
"#,
    r#"
-- The digest an alert waits for; each destination's worker reads its own rows.
ALTER TABLE outbox ADD COLUMN batch TEXT;
CREATE INDEX outbox_destination_due ON outbox (destination, status, next_attempt_at);
"#,
    r#"
-- Feed health: when the feed was last tried, last worked, last had a new
-- entry, and since when it has been failing (NULL while it works).
ALTER TABLE feed_state ADD COLUMN last_attempt_at INTEGER;
ALTER TABLE feed_state ADD COLUMN last_success_at INTEGER;
ALTER TABLE feed_state ADD COLUMN last_new_entry_at INTEGER;
ALTER TABLE feed_state ADD COLUMN failing_since INTEGER;
-- The start of the failing run whose "feed failing" notice went out; kept
-- until its "feed recovered" one is queued, whatever the polls record.
ALTER TABLE feed_state ADD COLUMN failing_noticed_since INTEGER;
-- The feed's usual gap between new entries, in seconds (a moving average).
ALTER TABLE feed_state ADD COLUMN entry_gap_secs REAL;
-- Whether the "feed quiet" notice went out since the last new entry.
ALTER TABLE feed_state ADD COLUMN quiet_noticed INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- WebSub: each feed's subscription to its hub; `token` ends our callback URL.
CREATE TABLE websub (
    feed         TEXT PRIMARY KEY,
    hub          TEXT NOT NULL,
    topic        TEXT NOT NULL,
    token        TEXT NOT NULL UNIQUE,
    secret       TEXT NOT NULL,
    state        TEXT NOT NULL,
    lease_until  INTEGER,
    requested_at INTEGER NOT NULL,
    verified_at  INTEGER,
    last_error   TEXT
);
-- One row, written by /healthz to show the store can be written.
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL
);
-- Retention: when a seen key was last found in a document of its feed (NULL:
-- when first seen), and when the feed last sent a whole document.
ALTER TABLE seen ADD COLUMN present_at INTEGER;
ALTER TABLE feed_state ADD COLUMN last_document_at INTEGER;
"#,
    r#"
-- Stories. What an entry said when last read (title and lead, hashed): the
-- same text under a new key is the same article; new text under its key, an edit.
ALTER TABLE seen ADD COLUMN fingerprint TEXT;
CREATE INDEX seen_fingerprint ON seen (feed, fingerprint) WHERE fingerprint IS NOT NULL;
-- The articles of the stories of the window, to place new ones after a restart.
CREATE TABLE story_article (
    feed   TEXT NOT NULL,
    key    TEXT NOT NULL,
    story  TEXT NOT NULL,
    at     INTEGER NOT NULL,
    title  TEXT NOT NULL,
    lead   TEXT NOT NULL,
    PRIMARY KEY (feed, key)
); -- with rowids: they keep the order articles were placed in
CREATE INDEX story_article_at ON story_article (at);
CREATE INDEX story_article_story ON story_article (story);
-- Each story's first headline and when it began: its articles past the
-- window are pruned while it lives on, and it keeps its subject.
CREATE TABLE story (
    id         TEXT PRIMARY KEY,
    title      TEXT NOT NULL,
    first_seen INTEGER NOT NULL
) WITHOUT ROWID;
-- Each story's first alert per rule and destination: later articles follow
-- it (or are only recorded), whichever instance or poll brings them.
CREATE TABLE story_thread (
    story       TEXT NOT NULL,
    rule        TEXT NOT NULL,
    destination TEXT NOT NULL,
    root        TEXT NOT NULL,
    PRIMARY KEY (story, rule, destination)
) WITHOUT ROWID;
"#,
    r#"
-- Leases on feeds and destinations (`feed:<name>`, `destination:<name>`):
-- the instance that holds one works it until `until`.
CREATE TABLE lease (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  INTEGER NOT NULL
) WITHOUT ROWID;
"#,
];

/// How a commit with new entries (?7 = now, else NULL) updates the feed's
/// last new entry and its usual gap between them (a moving average).
const NEW_ENTRY: &str = "last_new_entry_at = COALESCE(?7, last_new_entry_at),
     entry_gap_secs = CASE
         WHEN ?7 IS NULL OR last_new_entry_at IS NULL THEN entry_gap_secs
         WHEN entry_gap_secs IS NULL THEN ?7 - last_new_entry_at
         ELSE 0.7 * entry_gap_secs + 0.3 * (?7 - last_new_entry_at) END,
     quiet_noticed = CASE WHEN ?7 IS NULL THEN quiet_noticed ELSE 0 END";

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: std::path::PathBuf,
}

impl SqliteStore {
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self::migrate(path).await?.0)
    }

    /// Opens the store; returns it with how many migrations ran.
    pub(crate) async fn migrate(path: &Path) -> Result<(Self, usize), StoreError> {
        let path = path.to_path_buf();
        let file = path.clone();
        let (conn, ran) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let mut conn = Connection::open(&path)?;
            // Before WAL: a new file takes the vacuum mode only before it is written.
            incremental_vacuum(&conn)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            // FULL: a commit (entries seen, alerts queued or delivered) survives power loss.
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            let ran = migrate(&mut conn)?;
            Ok((conn, ran))
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        let store = SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path: file,
        };
        Ok((store, ran))
    }

    /// Runs `f` on the connection off the async runtime.
    async fn with<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave SQLite half-written
            // (the transaction rolls back), so a poisoned lock is still usable.
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))?
    }
}

/// The columns [`feed_state_row`] reads, in its order.
const FEED_STATE_COLUMNS: &str =
    "etag, last_modified, error_count, last_error, next_poll_at, polled_ok, malformed,
     last_attempt_at, last_success_at, last_new_entry_at, failing_since, failing_noticed_since, entry_gap_secs, quiet_noticed";

/// A [`FeedState`] from [`FEED_STATE_COLUMNS`], starting at column `at`.
fn feed_state_row(r: &rusqlite::Row, at: usize) -> rusqlite::Result<FeedState> {
    let time = |i: usize| r.get::<_, Option<i64>>(at + i).map(|t| t.map(from_ts));
    Ok(FeedState {
        etag: r.get(at)?,
        last_modified: r.get(at + 1)?,
        error_count: r.get(at + 2)?,
        last_error: r.get(at + 3)?,
        next_poll_at: time(4)?,
        polled_ok: r.get(at + 5)?,
        malformed: r.get(at + 6)?,
        last_attempt_at: time(7)?,
        last_success_at: time(8)?,
        last_new_entry_at: time(9)?,
        failing_since: time(10)?,
        failing_noticed_since: time(11)?,
        entry_gap: r
            .get::<_, Option<f64>>(at + 12)?
            .map(|secs| std::time::Duration::from_secs_f64(secs.max(0.0))),
        quiet_noticed: r.get(at + 13)?,
    })
}

/// Pages freed by pruning go back to the file system a few at a time
/// (`auto_vacuum = INCREMENTAL`): a new file is created so. An older one
/// keeps its mode until `newswatch db prune` rewrites it (a VACUUM of a
/// large store takes long, so never at a start systemd is timing).
fn incremental_vacuum(conn: &Connection) -> Result<(), StoreError> {
    let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))?;
    if tables == 0 {
        conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
    }
    Ok(())
}

const INCREMENTAL: i64 = 2;

/// Runs the migrations the file lacks; returns how many.
fn migrate(conn: &mut Connection) -> Result<usize, StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Newer {
            found: version,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(MIGRATIONS.len() - version)
}

/// Outbox rows as queued alerts. A row this version cannot read becomes a
/// dead letter instead of blocking the rest.
fn queued(
    conn: &mut Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<QueuedAlert>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, u32>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut due = Vec::new();
    let mut unreadable = Vec::new();
    for row in rows {
        let (id, payload, attempts, batch) = row?;
        match decode_alert(id.clone(), &payload) {
            Ok(alert) => due.push(QueuedAlert {
                alert,
                attempts,
                batch,
            }),
            Err(error) => unreadable.push((id, error.to_string())),
        }
    }
    drop(stmt);
    for (id, error) in unreadable {
        tracing::error!(alert = %id, %error, "Unreadable alert is a dead letter");
        conn.execute(
            "UPDATE outbox SET status = 'dead', last_error = ?2 WHERE id = ?1",
            params![id, error],
        )?;
    }
    Ok(due)
}

/// Runs one statement per id in one transaction: a digest's alerts change
/// state together or not at all.
fn update_each(
    conn: &mut Connection,
    ids: &[String],
    sql: &str,
    params: impl Fn(&str) -> Vec<rusqlite::types::Value>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(sql)?;
        for id in ids {
            stmt.execute(rusqlite::params_from_iter(params(id)))?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn decode_alert(id: String, payload: &str) -> Result<Alert, StoreError> {
    serde_json::from_str(payload).map_err(|source| StoreError::BadAlert { id, source })
}

#[async_trait]
impl Store for SqliteStore {
    async fn feed_state(&self, feed: &str) -> Result<Option<FeedState>, StoreError> {
        let feed = feed.to_string();
        self.with(move |conn| {
            let state = conn
                .query_row(
                    &format!("SELECT {FEED_STATE_COLUMNS} FROM feed_state WHERE feed = ?1"),
                    [&feed],
                    |r| feed_state_row(r, 0),
                )
                .optional()?;
            Ok(state)
        })
        .await
    }

    async fn feed_states(&self) -> Result<Vec<(String, FeedState, u64)>, StoreError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT feed, {FEED_STATE_COLUMNS}, (SELECT COUNT(*) FROM seen WHERE seen.feed = feed_state.feed)
                 FROM feed_state ORDER BY feed"
            ))?;
            let rows = stmt.query_map([], |r| {
                let name: String = r.get(0)?;
                Ok((name, feed_state_row(r, 1)?, r.get(15)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn next_polls(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT feed, next_poll_at FROM feed_state WHERE next_poll_at IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, from_ts(r.get(1)?))))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn queue_notices(
        &self,
        feed: &str,
        notices: Vec<Alert>,
        said: Said,
    ) -> Result<usize, StoreError> {
        let feed = feed.to_string();
        // One parameter list for all three (?2 is the failing run's start).
        let (update, since) = match said {
            Said::Failing(since) => (
                "UPDATE feed_state SET failing_noticed_since = ?2 WHERE feed = ?1",
                Some(ts(since)),
            ),
            Said::Recovered => (
                "UPDATE feed_state SET failing_noticed_since = NULL WHERE feed = ?1 AND ?2 IS NULL",
                None,
            ),
            Said::Quiet => (
                "UPDATE feed_state SET quiet_noticed = 1 WHERE feed = ?1 AND ?2 IS NULL",
                None,
            ),
        };
        self.with(move |conn| {
            let tx = conn.transaction()?;
            let queued = insert_alerts(&tx, &notices)?;
            tx.execute(update, params![feed, since])?;
            tx.commit()?;
            Ok(queued)
        })
        .await
    }

    async fn commit_poll(&self, feed: &str, commit: PollCommit) -> Result<usize, StoreError> {
        let feed = feed.to_string();
        self.with(move |conn| {
            let now = ts(Utc::now());
            let tx = conn.transaction()?;
            tx.execute(
                &format!("INSERT INTO feed_state (feed, etag, last_modified, error_count, last_error, next_poll_at, polled_ok, malformed,
                     last_attempt_at, last_success_at, last_new_entry_at, failing_since, last_document_at)
                 VALUES (?1, ?2, ?3, 0, NULL, ?4, 1, ?5, ?6, ?6, ?7, NULL, ?8)
                 ON CONFLICT (feed) DO UPDATE SET etag = ?2, last_modified = ?3, error_count = 0,
                     last_error = NULL, next_poll_at = ?4, polled_ok = 1, malformed = ?5,
                     last_attempt_at = ?6, last_success_at = ?6, failing_since = NULL,
                     last_document_at = COALESCE(?8, last_document_at), {NEW_ENTRY}"),
                params![
                    feed,
                    commit.etag,
                    commit.last_modified,
                    commit.next_poll_at.map(ts),
                    commit.malformed,
                    now,
                    (!commit.seen_keys.is_empty()).then_some(now),
                    // A malformed document may have lost entries that are
                    // still in the feed: it does not count as whole.
                    commit.malformed.is_none().then_some(now)
                ],
            )?;
            let queued = record_entries(&tx, &feed, &commit.entries(), now)?;
            tx.commit()?;
            Ok(queued)
        })
        .await
    }

    async fn commit_push(&self, feed: &str, entries: Entries) -> Result<usize, StoreError> {
        let feed = feed.to_string();
        self.with(move |conn| {
            let now = ts(Utc::now());
            let tx = conn.transaction()?;
            if !entries.seen_keys.is_empty() {
                // The numbering of NEW_ENTRY: ?7 is now.
                tx.execute(
                    &format!(
                        "UPDATE feed_state SET {NEW_ENTRY} WHERE feed = ?1 AND ?7 IS NOT NULL"
                    ),
                    params![
                        feed,
                        None::<i64>,
                        None::<i64>,
                        None::<i64>,
                        None::<i64>,
                        None::<i64>,
                        now
                    ],
                )?;
            }
            let queued = record_entries(&tx, &feed, &entries, now)?;
            tx.commit()?;
            Ok(queued)
        })
        .await
    }

    async fn recognise(
        &self,
        feed: &str,
        entries: &[(String, Option<String>)],
    ) -> Result<Vec<Known>, StoreError> {
        let feed = feed.to_string();
        let entries = entries.to_vec();
        self.with(move |conn| entries::recognise(conn, &feed, &entries))
            .await
    }

    async fn story_articles(
        &self,
        since: DateTime<Utc>,
        from: i64,
    ) -> Result<Placements, StoreError> {
        self.with(move |conn| entries::story_articles(conn, since, from))
            .await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare(
                "SELECT feed, hub, topic, token, secret, state, lease_until, requested_at, last_error, verified_at
                 FROM websub ORDER BY feed",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    [r.get::<_, String>(1)?, r.get::<_, String>(2)?],
                    [r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, String>(5)?],
                    r.get::<_, Option<i64>>(6)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                ))
            })?;
            let mut subscriptions = Vec::new();
            for row in rows {
                let (feed, [hub, topic], [token, secret, state], lease_until, requested_at, last_error, verified_at) =
                    row?;
                // A row this version cannot read is skipped (asked for again).
                let (Ok(hub), Ok(topic), Some(state)) =
                    (hub.parse(), topic.parse(), SubscriptionState::parse(&state))
                else {
                    continue;
                };
                subscriptions.push(Subscription {
                    feed,
                    hub,
                    topic,
                    token,
                    secret,
                    state,
                    lease_until: lease_until.map(from_ts),
                    requested_at: from_ts(requested_at),
                    verified_at: verified_at.map(from_ts),
                    last_error,
                });
            }
            Ok(subscriptions)
        })
        .await
    }

    async fn save_subscription(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let s = subscription.clone();
        self.with(move |conn| {
            conn.execute(
                "INSERT OR REPLACE INTO websub (feed, hub, topic, token, secret, state, lease_until, requested_at, last_error, verified_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    s.feed,
                    s.hub.as_str(),
                    s.topic.as_str(),
                    s.token,
                    s.secret,
                    s.state.as_str(),
                    s.lease_until.map(ts),
                    ts(s.requested_at),
                    s.last_error,
                    s.verified_at.map(ts)
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_subscription(&self, feed: &str, token: &str) -> Result<(), StoreError> {
        let (feed, token) = (feed.to_string(), token.to_string());
        self.with(move |conn| {
            conn.execute(
                "DELETE FROM websub WHERE feed = ?1 AND token = ?2",
                params![feed, token],
            )?;
            Ok(())
        })
        .await
    }

    async fn record_not_modified(
        &self,
        feed: &str,
        next_poll_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let feed = feed.to_string();
        self.with(move |conn| {
            conn.execute(
                "UPDATE feed_state SET error_count = 0, last_error = NULL, next_poll_at = ?2,
                     last_attempt_at = ?3, last_success_at = ?3, failing_since = NULL
                 WHERE feed = ?1",
                params![feed, ts(next_poll_at), ts(Utc::now())],
            )?;
            Ok(())
        })
        .await
    }

    async fn record_failure(
        &self,
        feed: &str,
        error: &str,
        next_poll_at: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let feed = feed.to_string();
        let error = error.to_string();
        self.with(move |conn| {
            let count = conn.query_row(
                "INSERT INTO feed_state (feed, error_count, last_error, next_poll_at, last_attempt_at, failing_since)
                 VALUES (?1, 1, ?2, ?3, ?4, ?4)
                 ON CONFLICT (feed) DO UPDATE SET error_count = error_count + 1, last_error = ?2, next_poll_at = ?3,
                     last_attempt_at = ?4, failing_since = COALESCE(failing_since, ?4)
                 RETURNING error_count",
                params![feed, error, ts(next_poll_at), ts(Utc::now())],
                |r| r.get(0),
            )?;
            Ok(count)
        })
        .await
    }

    async fn due_alerts(
        &self,
        destination: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let destination = destination.to_string();
        self.with(move |conn| {
            queued(
                conn,
                "SELECT id, payload, attempts, batch FROM outbox
                 WHERE destination = ?1 AND status = 'pending' AND next_attempt_at <= ?2
                 ORDER BY next_attempt_at, created_at, id LIMIT ?3",
                params![destination, ts(now), limit as i64],
            )
        })
        .await
    }

    async fn batch_alerts(
        &self,
        destination: &str,
        batch: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let (destination, batch) = (destination.to_string(), batch.to_string());
        self.with(move |conn| {
            queued(
                conn,
                "SELECT id, payload, attempts, batch FROM outbox
                 WHERE destination = ?1 AND batch = ?2 AND status = 'pending' AND next_attempt_at <= ?3
                 ORDER BY created_at, id",
                params![destination, batch, ts(now)],
            )
        })
        .await
    }

    async fn next_alert_due(&self, destination: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let destination = destination.to_string();
        self.with(move |conn| {
            let next: Option<i64> = conn.query_row(
                "SELECT MIN(next_attempt_at) FROM outbox
                 WHERE destination = ?1 AND status = 'pending'",
                [destination],
                |r| r.get(0),
            )?;
            Ok(next.map(from_ts))
        })
        .await
    }

    async fn defer(&self, id: &str, batch: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        let (id, batch) = (id.to_string(), batch.to_string());
        self.with(move |conn| {
            conn.execute(
                "UPDATE outbox SET batch = ?2, next_attempt_at = ?3 WHERE id = ?1",
                params![id, batch, ts_ceil(at)],
            )?;
            Ok(())
        })
        .await
    }

    async fn mark_delivered(&self, ids: &[String]) -> Result<(), StoreError> {
        let ids = ids.to_vec();
        self.with(move |conn| {
            update_each(
                conn,
                &ids,
                "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL,
                     delivered_at = ?2 WHERE id = ?1",
                |id| vec![id.to_string().into(), ts(Utc::now()).into()],
            )
        })
        .await
    }

    async fn mark_retry(
        &self,
        ids: &[String],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (ids, error) = (ids.to_vec(), error.to_string());
        self.with(move |conn| {
            update_each(
                conn,
                &ids,
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
                |id| {
                    vec![
                        id.to_string().into(),
                        error.clone().into(),
                        ts_ceil(next_attempt_at).into(),
                    ]
                },
            )
        })
        .await
    }

    async fn mark_dead(&self, ids: &[String], error: &str) -> Result<(), StoreError> {
        let (ids, error) = (ids.to_vec(), error.to_string());
        self.with(move |conn| {
            update_each(
                conn,
                &ids,
                "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
                |id| vec![id.to_string().into(), error.clone().into()],
            )
        })
        .await
    }

    async fn outbox_entries(&self, dead_and_pending: bool) -> Result<Vec<OutboxEntry>, StoreError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, payload, status, attempts, last_error FROM outbox
                 WHERE ?1 = 0 OR status IN ('pending', 'dead')
                 ORDER BY created_at DESC, id",
            )?;
            let rows = stmt.query_map([dead_and_pending], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?;
            let mut entries = Vec::new();
            for row in rows {
                let (id, payload, status, attempts, last_error) = row?;
                entries.push(OutboxEntry {
                    alert: decode_alert(id, &payload)?,
                    status,
                    attempts,
                    last_error,
                });
            }
            Ok(entries)
        })
        .await
    }

    async fn revive(&self, id: Option<&str>) -> Result<usize, StoreError> {
        let id = id.map(str::to_string);
        self.with(move |conn| {
            // The alert's created_at restarts too: the give-up clock counts
            // from the revival.
            let now = Utc::now();
            Ok(conn.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2, batch = NULL,
                     payload = json_set(payload, '$.created_at', ?3)
                 WHERE status = 'dead' AND (?1 IS NULL OR id = ?1)",
                params![
                    id,
                    ts(now),
                    now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                ],
            )?)
        })
        .await
    }

    async fn drop_alert(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.with(move |conn| {
            Ok(conn.execute(
                "DELETE FROM outbox WHERE id = ?1 AND status != 'delivered'",
                [id],
            )? > 0)
        })
        .await
    }

    async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        self.with(|conn| {
            let mut counts = OutboxCounts::default();
            let mut stmt =
                conn.prepare_cached("SELECT status, COUNT(*) FROM outbox GROUP BY status")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
            for row in rows {
                let (status, n) = row?;
                match status.as_str() {
                    "pending" => counts.pending = n,
                    "delivered" => counts.delivered = n,
                    _ => counts.dead = n,
                }
            }
            Ok(counts)
        })
        .await
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        let outbox = self.outbox_counts().await?;
        self.with(move |conn| {
            let (feeds_failing, last_success) = conn.query_row(
                "SELECT COUNT(failing_since), MAX(last_success_at) FROM feed_state",
                [],
                |r| Ok((r.get::<_, u64>(0)?, r.get::<_, Option<i64>>(1)?)),
            )?;
            let oldest_pending = conn.query_row(
                "SELECT MIN(created_at) FROM outbox WHERE status = 'pending'",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )?;
            Ok(StoreHealth {
                feeds_failing,
                last_success: last_success.map(from_ts),
                outbox,
                oldest_pending: oldest_pending.map(from_ts),
            })
        })
        .await
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, ?1)",
                params![ts(Utc::now())],
            )?;
            Ok(())
        })
        .await
    }

    async fn prune(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
        batch: usize,
        keep: &[String],
    ) -> Result<Pruned, StoreError> {
        let keep = keep.to_vec();
        self.with(move |conn| {
            let pruned = retention::prune(conn, retention, now, batch, &keep)?;
            // As many pages as a batch may have freed, back to the file system.
            retention::vacuum_some(conn, 4 * u32::try_from(batch).unwrap_or(u32::MAX / 4))?;
            Ok(pruned)
        })
        .await
    }

    async fn shrinkable(&self) -> Result<bool, StoreError> {
        self.with(|conn| {
            let mode: i64 = conn.pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
            if mode != INCREMENTAL {
                conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
                conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
                return Ok(true);
            }
            Ok(false)
        })
        .await
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let path = self.path.clone();
        self.with(move |conn| retention::stats(conn, &path)).await
    }

    async fn lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.with(move |conn| {
            let taken = conn
                .query_row(
                    "INSERT INTO lease (name, holder, until) VALUES (?1, ?2, ?4)
                     ON CONFLICT (name) DO UPDATE SET holder = ?2, until = ?4
                         WHERE lease.holder = ?2 OR lease.until < ?3
                     RETURNING until",
                    params![name, holder, ts(now), ts(until)],
                    |_| Ok(()),
                )
                .optional()?;
            if taken.is_some() {
                return Ok(None);
            }
            let until: i64 =
                conn.query_row("SELECT until FROM lease WHERE name = ?1", [name], |r| {
                    r.get(0)
                })?;
            Ok(Some(from_ts(until)))
        })
        .await
    }

    async fn release(&self, holder: &str) -> Result<(), StoreError> {
        let holder = holder.to_string();
        self.with(move |conn| {
            conn.execute("DELETE FROM lease WHERE holder = ?1", [holder])?;
            Ok(())
        })
        .await
    }
}
