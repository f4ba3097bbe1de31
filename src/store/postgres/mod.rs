//! PostgreSQL backend: several instances share one database (`store =
//! "postgres://…"`). A pool of connections, reconnected as they break (a
//! server restart costs the statements in flight, not the store); the
//! schema upgraded at start-up under an advisory lock (see `schema`).
//!
//! Writes that must not happen twice rest on the database: a seen key and
//! an alert id are unique, and a story's first alert per rule and
//! destination is decided under a row lock (see `entries`).

mod entries;
mod retention;
mod schema;

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
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use rustls_platform_verifier::ConfigVerifierExt;
use std::time::Duration;
use tokio_postgres::Row;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where the store is, as the config names it. Two are the same store when
/// their URLs are (a password rotated in its file is not a new store: a
/// reload may go ahead).
#[derive(Clone)]
pub struct Target {
    /// The connection URL (`postgres://user@host/db?options=…`), without a
    /// password: it may be logged.
    pub url: String,
    /// From `store_password_file` or `store_password_env`; else `PGPASSWORD`.
    pub password: Option<String>,
}

impl PartialEq for Target {
    fn eq(&self, other: &Target) -> bool {
        self.url == other.url
    }
}

impl Eq for Target {}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Connections kept open (each poll and each destination's worker takes
/// one for a transaction at a time).
const POOL_SIZE: usize = 16;
/// How long a statement waits for a connection, and a connection attempt
/// for the server, before it fails (and the poll or delivery is retried).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    url: String,
}

impl PostgresStore {
    /// Connects and brings the schema up to date.
    pub(crate) async fn open(target: &Target) -> Result<Self, StoreError> {
        let store = Self::connect(target)?;
        let mut client = store.client().await?;
        schema::migrate(&mut client).await?;
        Ok(store)
    }

    /// Connects and runs the migrations the schema lacks; returns how many.
    pub(crate) async fn migrate(target: &Target) -> Result<usize, StoreError> {
        let store = Self::connect(target)?;
        let mut client = store.client().await?;
        schema::migrate(&mut client).await
    }

    /// The pool, connecting lazily (the first statement connects).
    fn connect(target: &Target) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config =
            target.url.parse().map_err(|e| StoreError::Url {
                url: target.url.clone(),
                reason: format!("{e}"),
            })?;
        // What the URL leaves out comes from the usual PG* environment.
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            config.host(env("PGHOST").as_deref().unwrap_or("localhost"));
        }
        if config.get_ports().is_empty()
            && let Some(port) = env("PGPORT").and_then(|p| p.parse().ok())
        {
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER").or_else(|| env("USER")).unwrap_or_default();
            config.user(&user);
        }
        if config.get_dbname().is_none()
            && let Some(db) = env("PGDATABASE")
        {
            config.dbname(&db);
        }
        if let Some(password) = target.password.clone().or_else(|| env("PGPASSWORD")) {
            config.password(password.trim_end_matches(['\r', '\n']));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("newswatch");
        let recycling = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        // `sslmode=require`: TLS, the server's certificate checked against
        // the system's trusted roots and its name (libpq's verify-full).
        // Otherwise plain, as libpq's `prefer` does with a server that has
        // no certificate anyone checks (Debian's is self-signed).
        let manager = match config.get_ssl_mode() {
            SslMode::Require => {
                crate::http::install_crypto_provider();
                let tls = rustls::ClientConfig::with_platform_verifier().map_err(|e| {
                    StoreError::Pool(format!("cannot set up TLS for the store: {e}"))
                })?;
                Manager::from_config(config, MakeRustlsConnect::new(tls), recycling)
            }
            _ => Manager::from_config(config, tokio_postgres::NoTls, recycling),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        Ok(PostgresStore {
            pool,
            url: target.url.clone(),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        // With its causes: the pool's own message ("error occurred while
        // creating a new object") does not say what went wrong.
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(crate::http::error_chain(&e)))
    }

    /// Runs one statement, cached, on a pooled connection.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.execute(&statement, params).await?)
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await?;
        Ok(client.query(&statement, params).await?)
    }

    /// Runs `sql` (its `$1` the ids, as an array) once for all of them: a
    /// digest's alerts change state together or not at all, in one round
    /// trip.
    async fn update_all(
        &self,
        ids: &[String],
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&ids];
        all.extend_from_slice(params);
        self.execute(sql, &all).await?;
        Ok(())
    }

    /// Outbox rows (id, payload, attempts, batch) as queued alerts. A row
    /// this version cannot read becomes a dead letter instead of blocking
    /// the rest.
    async fn queued(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let rows = self.query(sql, params).await?;
        let mut due = Vec::new();
        for row in rows {
            let id: String = row.try_get(0)?;
            let payload: String = row.try_get(1)?;
            match decode_alert(id.clone(), &payload) {
                Ok(alert) => due.push(QueuedAlert {
                    alert,
                    attempts: count(row.try_get(2)?),
                    batch: row.try_get(3)?,
                }),
                Err(error) => {
                    tracing::error!(alert = %id, %error, "Unreadable alert is a dead letter");
                    self.execute(
                        "UPDATE outbox SET status = 'dead', last_error = $2 WHERE id = $1",
                        &[&id, &error.to_string()],
                    )
                    .await?;
                }
            }
        }
        Ok(due)
    }
}

/// A transaction at READ COMMITTED, whatever the database's default: the
/// story-thread and lease decisions rely on each statement seeing what
/// committed before it (a stricter level would fail them with
/// serialization errors instead of waiting).
async fn read_committed(
    client: &mut deadpool_postgres::Object,
) -> Result<deadpool_postgres::Transaction<'_>, StoreError> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::ReadCommitted)
        .start()
        .await?)
}

fn decode_alert(id: String, payload: &str) -> Result<Alert, StoreError> {
    serde_json::from_str(payload).map_err(|source| StoreError::BadAlert { id, source })
}

/// A non-negative count from an INTEGER column.
fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

fn time(t: Option<i64>) -> Option<DateTime<Utc>> {
    t.map(from_ts)
}

/// The columns [`feed_state_row`] reads, in its order.
const FEED_STATE_COLUMNS: &str =
    "etag, last_modified, error_count, last_error, next_poll_at, polled_ok, malformed,
     last_attempt_at, last_success_at, last_new_entry_at, failing_since, failing_noticed_since,
     entry_gap_secs, quiet_noticed";

/// A [`FeedState`] from [`FEED_STATE_COLUMNS`], starting at column `at`.
fn feed_state_row(r: &Row, at: usize) -> Result<FeedState, StoreError> {
    Ok(FeedState {
        etag: r.try_get(at)?,
        last_modified: r.try_get(at + 1)?,
        error_count: count(r.try_get(at + 2)?),
        last_error: r.try_get(at + 3)?,
        next_poll_at: time(r.try_get(at + 4)?),
        polled_ok: r.try_get(at + 5)?,
        malformed: r.try_get(at + 6)?,
        last_attempt_at: time(r.try_get(at + 7)?),
        last_success_at: time(r.try_get(at + 8)?),
        last_new_entry_at: time(r.try_get(at + 9)?),
        failing_since: time(r.try_get(at + 10)?),
        failing_noticed_since: time(r.try_get(at + 11)?),
        entry_gap: r
            .try_get::<_, Option<f64>>(at + 12)?
            .map(|secs| Duration::from_secs_f64(secs.max(0.0))),
        quiet_noticed: r.try_get(at + 13)?,
    })
}

/// How a commit with new entries ($2 = now, else NULL) updates the feed's
/// last new entry and its usual gap between them (a moving average).
const NEW_ENTRY: &str = "last_new_entry_at = COALESCE($2::BIGINT, feed_state.last_new_entry_at),
     entry_gap_secs = CASE
         WHEN $2::BIGINT IS NULL OR feed_state.last_new_entry_at IS NULL THEN feed_state.entry_gap_secs
         WHEN feed_state.entry_gap_secs IS NULL THEN ($2::BIGINT - feed_state.last_new_entry_at)::FLOAT8
         ELSE 0.7 * feed_state.entry_gap_secs + 0.3 * ($2::BIGINT - feed_state.last_new_entry_at)::FLOAT8 END,
     quiet_noticed = CASE WHEN $2::BIGINT IS NULL THEN feed_state.quiet_noticed ELSE FALSE END";

#[async_trait]
impl Store for PostgresStore {
    async fn feed_state(&self, feed: &str) -> Result<Option<FeedState>, StoreError> {
        let rows = self
            .query(
                &format!("SELECT {FEED_STATE_COLUMNS} FROM feed_state WHERE feed = $1"),
                &[&feed],
            )
            .await?;
        rows.first().map(|r| feed_state_row(r, 0)).transpose()
    }

    async fn feed_states(&self) -> Result<Vec<(String, FeedState, u64)>, StoreError> {
        let rows = self
            .query(
                &format!(
                    "SELECT feed, {FEED_STATE_COLUMNS},
                         (SELECT COUNT(*) FROM seen WHERE seen.feed = feed_state.feed)
                     FROM feed_state ORDER BY feed"
                ),
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let seen: i64 = r.try_get(15)?;
                Ok((
                    r.try_get(0)?,
                    feed_state_row(r, 1)?,
                    u64::try_from(seen).unwrap_or(0),
                ))
            })
            .collect()
    }

    async fn next_polls(&self) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = self
            .query(
                "SELECT feed, next_poll_at FROM feed_state WHERE next_poll_at IS NOT NULL",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, from_ts(r.try_get(1)?))))
            .collect()
    }

    async fn queue_notices(
        &self,
        feed: &str,
        notices: Vec<Alert>,
        said: Said,
    ) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = read_committed(&mut client).await?;
        let queued = entries::insert_alerts(&tx, &notices).await?;
        match said {
            Said::Failing(since) => {
                tx.execute(
                    "UPDATE feed_state SET failing_noticed_since = $2 WHERE feed = $1",
                    &[&feed, &ts(since)],
                )
                .await?
            }
            Said::Recovered => {
                tx.execute(
                    "UPDATE feed_state SET failing_noticed_since = NULL WHERE feed = $1",
                    &[&feed],
                )
                .await?
            }
            Said::Quiet => {
                tx.execute(
                    "UPDATE feed_state SET quiet_noticed = TRUE WHERE feed = $1",
                    &[&feed],
                )
                .await?
            }
        };
        tx.commit().await?;
        Ok(queued)
    }

    async fn commit_poll(&self, feed: &str, commit: PollCommit) -> Result<usize, StoreError> {
        let now = ts(Utc::now());
        let new_entry = (!commit.seen_keys.is_empty()).then_some(now);
        // A malformed document may have lost entries that are still in the
        // feed: it does not count as whole.
        let whole = commit.malformed.is_none().then_some(now);
        let mut client = self.client().await?;
        let tx = read_committed(&mut client).await?;
        let upsert = tx
            .prepare_cached(&format!(
                "INSERT INTO feed_state (feed, etag, last_modified, error_count, last_error, next_poll_at,
                     polled_ok, malformed, last_attempt_at, last_success_at, last_new_entry_at,
                     failing_since, last_document_at)
                 VALUES ($1, $3, $4, 0, NULL, $5, TRUE, $6, $7, $7, $2, NULL, $8)
                 ON CONFLICT (feed) DO UPDATE SET etag = $3, last_modified = $4, error_count = 0,
                     last_error = NULL, next_poll_at = $5, polled_ok = TRUE, malformed = $6,
                     last_attempt_at = $7, last_success_at = $7, failing_since = NULL,
                     last_document_at = COALESCE($8, feed_state.last_document_at), {NEW_ENTRY}"
            ))
            .await?;
        tx.execute(
            &upsert,
            &[
                &feed,
                &new_entry,
                &commit.etag,
                &commit.last_modified,
                &commit.next_poll_at.map(ts),
                &commit.malformed,
                &now,
                &whole,
            ],
        )
        .await?;
        let queued = entries::record_entries(&tx, feed, &commit.entries(), now).await?;
        tx.commit().await?;
        Ok(queued)
    }

    async fn commit_push(&self, feed: &str, entries: Entries) -> Result<usize, StoreError> {
        let now = ts(Utc::now());
        let mut client = self.client().await?;
        let tx = read_committed(&mut client).await?;
        if !entries.seen_keys.is_empty() {
            let update = tx
                .prepare_cached(&format!(
                    "UPDATE feed_state SET {NEW_ENTRY} WHERE feed = $1"
                ))
                .await?;
            tx.execute(&update, &[&feed, &Some(now)]).await?;
        }
        let queued = entries::record_entries(&tx, feed, &entries, now).await?;
        tx.commit().await?;
        Ok(queued)
    }

    async fn recognise(
        &self,
        feed: &str,
        entries: &[(String, Option<String>)],
    ) -> Result<Vec<Known>, StoreError> {
        let client = self.client().await?;
        entries::recognise(&client, feed, entries).await
    }

    async fn story_articles(
        &self,
        since: DateTime<Utc>,
        from: i64,
    ) -> Result<Placements, StoreError> {
        let mut client = self.client().await?;
        entries::story_articles(&mut client, since, from).await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let rows = self
            .query(
                "SELECT feed, hub, topic, token, secret, state, lease_until, requested_at,
                     last_error, verified_at
                 FROM websub ORDER BY feed",
                &[],
            )
            .await?;
        let mut subscriptions = Vec::new();
        for r in rows {
            let (hub, topic, state): (String, String, String) =
                (r.try_get(1)?, r.try_get(2)?, r.try_get(5)?);
            // A row this version cannot read is skipped (asked for again).
            let (Ok(hub), Ok(topic), Some(state)) =
                (hub.parse(), topic.parse(), SubscriptionState::parse(&state))
            else {
                continue;
            };
            subscriptions.push(Subscription {
                feed: r.try_get(0)?,
                hub,
                topic,
                token: r.try_get(3)?,
                secret: r.try_get(4)?,
                state,
                lease_until: time(r.try_get(6)?),
                requested_at: from_ts(r.try_get(7)?),
                last_error: r.try_get(8)?,
                verified_at: time(r.try_get(9)?),
            });
        }
        Ok(subscriptions)
    }

    async fn save_subscription(&self, s: &Subscription) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = read_committed(&mut client).await?;
        // Replacing the feed's row may free a token another row holds
        // (never in practice: tokens are random), as SQLite's REPLACE does.
        tx.execute(
            "DELETE FROM websub WHERE feed = $1 OR token = $2",
            &[&s.feed, &s.token],
        )
        .await?;
        tx.execute(
            "INSERT INTO websub (feed, hub, topic, token, secret, state, lease_until, requested_at,
                 last_error, verified_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &s.feed,
                &s.hub.as_str(),
                &s.topic.as_str(),
                &s.token,
                &s.secret,
                &s.state.as_str(),
                &s.lease_until.map(ts),
                &ts(s.requested_at),
                &s.last_error,
                &s.verified_at.map(ts),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_subscription(&self, feed: &str, token: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM websub WHERE feed = $1 AND token = $2",
            &[&feed, &token],
        )
        .await?;
        Ok(())
    }

    async fn prune(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
        batch: usize,
        keep: &[String],
    ) -> Result<Pruned, StoreError> {
        let mut client = self.client().await?;
        retention::prune(&mut client, retention, now, batch, keep).await
    }

    /// PostgreSQL's autovacuum reuses what pruning frees: nothing to rewrite.
    async fn shrinkable(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let client = self.client().await?;
        retention::stats(&client, &self.url).await
    }

    async fn record_not_modified(
        &self,
        feed: &str,
        next_poll_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE feed_state SET error_count = 0, last_error = NULL, next_poll_at = $2,
                 last_attempt_at = $3, last_success_at = $3, failing_since = NULL
             WHERE feed = $1",
            &[&feed, &ts(next_poll_at), &ts(Utc::now())],
        )
        .await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        feed: &str,
        error: &str,
        next_poll_at: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let rows = self
            .query(
                "INSERT INTO feed_state (feed, error_count, last_error, next_poll_at, last_attempt_at,
                     failing_since)
                 VALUES ($1, 1, $2, $3, $4, $4)
                 ON CONFLICT (feed) DO UPDATE SET error_count = feed_state.error_count + 1,
                     last_error = $2, next_poll_at = $3, last_attempt_at = $4,
                     failing_since = COALESCE(feed_state.failing_since, $4)
                 RETURNING error_count",
                &[&feed, &error, &ts(next_poll_at), &ts(Utc::now())],
            )
            .await?;
        match rows.first() {
            Some(row) => Ok(count(row.try_get(0)?)),
            None => Ok(0),
        }
    }

    async fn due_alerts(
        &self,
        destination: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.queued(
            "SELECT id, payload, attempts, batch FROM outbox
             WHERE destination = $1 AND status = 'pending' AND next_attempt_at <= $2
             ORDER BY next_attempt_at, created_at, id LIMIT $3",
            &[&destination, &ts(now), &limit],
        )
        .await
    }

    async fn next_alert_due(&self, destination: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let rows = self
            .query(
                "SELECT MIN(next_attempt_at) FROM outbox WHERE destination = $1 AND status = 'pending'",
                &[&destination],
            )
            .await?;
        match rows.first() {
            Some(row) => Ok(time(row.try_get(0)?)),
            None => Ok(None),
        }
    }

    async fn batch_alerts(
        &self,
        destination: &str,
        batch: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<QueuedAlert>, StoreError> {
        self.queued(
            "SELECT id, payload, attempts, batch FROM outbox
             WHERE destination = $1 AND batch = $2 AND status = 'pending' AND next_attempt_at <= $3
             ORDER BY created_at, id",
            &[&destination, &batch, &ts(now)],
        )
        .await
    }

    async fn defer(&self, id: &str, batch: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.execute(
            "UPDATE outbox SET batch = $2, next_attempt_at = $3 WHERE id = $1",
            &[&id, &batch, &ts_ceil(at)],
        )
        .await?;
        Ok(())
    }

    async fn mark_delivered(&self, ids: &[String]) -> Result<(), StoreError> {
        self.update_all(
            ids,
            "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, last_error = NULL,
                 delivered_at = $2 WHERE id = ANY($1::TEXT[])",
            &[&ts(Utc::now())],
        )
        .await
    }

    async fn mark_retry(
        &self,
        ids: &[String],
        error: &str,
        next_attempt_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update_all(
            ids,
            "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
             WHERE id = ANY($1::TEXT[])",
            &[&error, &ts_ceil(next_attempt_at)],
        )
        .await
    }

    async fn mark_dead(&self, ids: &[String], error: &str) -> Result<(), StoreError> {
        self.update_all(
            ids,
            "UPDATE outbox SET status = 'dead', attempts = attempts + 1, last_error = $2
             WHERE id = ANY($1::TEXT[])",
            &[&error],
        )
        .await
    }

    async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let rows = self
            .query("SELECT status, COUNT(*) FROM outbox GROUP BY status", &[])
            .await?;
        let mut counts = OutboxCounts::default();
        for row in rows {
            let (status, n): (String, i64) = (row.try_get(0)?, row.try_get(1)?);
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                _ => counts.dead = n,
            }
        }
        Ok(counts)
    }

    async fn health(&self) -> Result<StoreHealth, StoreError> {
        let outbox = self.outbox_counts().await?;
        let rows = self
            .query(
                "SELECT (SELECT COUNT(failing_since) FROM feed_state),
                     (SELECT MAX(last_success_at) FROM feed_state),
                     (SELECT MIN(created_at) FROM outbox WHERE status = 'pending')",
                &[],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(StoreHealth::default());
        };
        let failing: i64 = row.try_get(0)?;
        Ok(StoreHealth {
            feeds_failing: u64::try_from(failing).unwrap_or(0),
            last_success: time(row.try_get(1)?),
            outbox,
            oldest_pending: time(row.try_get(2)?),
        })
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO write_probe (id, at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            &[&ts(Utc::now())],
        )
        .await?;
        Ok(())
    }

    async fn outbox_entries(&self, dead_and_pending: bool) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = self
            .query(
                "SELECT id, payload, status, attempts, last_error FROM outbox
                 WHERE NOT $1 OR status IN ('pending', 'dead')
                 ORDER BY created_at DESC, id",
                &[&dead_and_pending],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let payload: String = r.try_get(1)?;
                Ok(OutboxEntry {
                    alert: decode_alert(r.try_get(0)?, &payload)?,
                    status: r.try_get(2)?,
                    attempts: count(r.try_get(3)?),
                    last_error: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn revive(&self, id: Option<&str>) -> Result<usize, StoreError> {
        // The alert's created_at restarts too: the give-up clock counts from
        // the revival. Edited as JSON text here (PostgreSQL's jsonb refuses
        // some text JSON allows, such as an escaped NUL).
        let now = Utc::now();
        let created =
            serde_json::Value::String(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        let mut client = self.client().await?;
        let tx = read_committed(&mut client).await?;
        let dead = tx
            .query(
                "SELECT id, payload FROM outbox
                 WHERE status = 'dead' AND ($1::TEXT IS NULL OR id = $1) FOR UPDATE",
                &[&id],
            )
            .await?;
        let revive = tx
            .prepare_cached(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2,
                     batch = NULL, payload = $3
                 WHERE id = $1",
            )
            .await?;
        for row in &dead {
            let (id, mut payload): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            if let Ok(mut json) = serde_json::from_str::<serde_json::Value>(&payload)
                && let Some(fields) = json.as_object_mut()
            {
                fields.insert("created_at".into(), created.clone());
                payload = json.to_string();
            }
            tx.execute(&revive, &[&id, &ts(now), &payload]).await?;
        }
        tx.commit().await?;
        Ok(dead.len())
    }

    fn shared(&self) -> bool {
        true
    }

    async fn lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        // One statement under the row's lock: of two instances asking at
        // once, the second sees the first's lease.
        let rows = self
            .query(
                "INSERT INTO lease (name, holder, until) VALUES ($1, $2, $4)
                 ON CONFLICT (name) DO UPDATE SET holder = $2, until = $4
                     WHERE lease.holder = $2 OR lease.until < $3
                 RETURNING until",
                &[&name, &holder, &ts(now), &ts(until)],
            )
            .await?;
        if !rows.is_empty() {
            return Ok(None);
        }
        let rows = self
            .query("SELECT until FROM lease WHERE name = $1", &[&name])
            .await?;
        match rows.first() {
            Some(row) => Ok(Some(from_ts(row.try_get(0)?))),
            // Released meanwhile: free, but not taken; asked again soon.
            None => Ok(Some(Utc::now())),
        }
    }

    async fn release(&self, holder: &str) -> Result<(), StoreError> {
        self.execute("DELETE FROM lease WHERE holder = $1", &[&holder])
            .await?;
        Ok(())
    }

    async fn drop_alert(&self, id: &str) -> Result<bool, StoreError> {
        let dropped = self
            .execute(
                "DELETE FROM outbox WHERE id = $1 AND status <> 'delivered'",
                &[&id],
            )
            .await?;
        Ok(dropped > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sslmode=require` takes TLS with the server's certificate checked:
    /// the test server's (Debian's self-signed one, or none) is refused,
    /// where a plain connection works.
    #[tokio::test]
    async fn tls_is_required_and_checked_when_asked_for() {
        let Ok(url) = std::env::var("NEWSWATCH_TEST_POSTGRES_URL") else {
            eprintln!("NEWSWATCH_TEST_POSTGRES_URL is not set: PostgreSQL test skipped");
            return;
        };
        let target = |url: String| Target {
            url,
            password: None,
        };
        let plain = PostgresStore::connect(&target(url.clone())).unwrap();
        drop(plain.client().await.unwrap());
        let join = if url.contains('?') { '&' } else { '?' };
        let tls = PostgresStore::connect(&target(format!("{url}{join}sslmode=require"))).unwrap();
        let Err(error) = tls.client().await else {
            panic!("a TLS connection to the test server was accepted");
        };
        let error = error.to_string();
        eprintln!("sslmode=require refused: {error}");
        assert!(
            ["certificate", "TLS", "tls", "SSL", "ssl"]
                .iter()
                .any(|w| error.contains(w)),
            "{error}"
        );
    }
}
