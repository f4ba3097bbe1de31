//! The backends the conformance checks run on: a store for one test, and
//! the tests of every check for one backend.

use super::*;

/// A store of one backend for one test, with what the tests need beyond
/// the trait: opening it again, and changing its rows behind its back
/// (moving times into the past).
pub(super) enum Harness {
    Sqlite(tempfile::TempDir),
    /// A schema of its own in the test database, dropped at the end.
    Postgres {
        admin: String,
        schema: String,
    },
}

impl Harness {
    pub(super) fn sqlite() -> Option<Harness> {
        Some(Harness::Sqlite(tempfile::tempdir().unwrap()))
    }

    /// A fresh schema in `NEWSWATCH_TEST_POSTGRES_URL`'s database; `None`
    /// (the test is skipped, and says so) when it is not set.
    pub(super) async fn postgres() -> Option<Harness> {
        let Ok(admin) = std::env::var("NEWSWATCH_TEST_POSTGRES_URL") else {
            eprintln!("NEWSWATCH_TEST_POSTGRES_URL is not set: PostgreSQL test skipped");
            return None;
        };
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let schema = format!(
            "nw_test_{}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            fastrand::u32(..)
        );
        let harness = Harness::Postgres { admin, schema };
        harness
            .sql(&format!("CREATE SCHEMA {}", harness.schema()))
            .await;
        Some(harness)
    }

    fn schema(&self) -> &str {
        match self {
            Harness::Postgres { schema, .. } => schema,
            Harness::Sqlite(_) => "main",
        }
    }

    pub(super) fn location(&self) -> Location {
        match self {
            Harness::Sqlite(dir) => Location::Sqlite {
                state_dir: dir.path().to_path_buf(),
            },
            Harness::Postgres { admin, schema } => {
                let join = if admin.contains('?') { '&' } else { '?' };
                Location::Postgres(Target {
                    url: format!("{admin}{join}options=-c%20search_path%3D{schema}"),
                    password: None,
                })
            }
        }
    }

    pub(super) async fn open(&self) -> Arc<dyn Store> {
        open(&self.location()).await.unwrap()
    }

    /// Runs SQL on the store's tables, outside the store.
    pub(super) async fn sql(&self, sql: &str) {
        match self {
            Harness::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.path().join("newswatch.db")).unwrap();
                conn.execute_batch(sql).unwrap();
            }
            Harness::Postgres { admin, schema } => {
                let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let task = tokio::spawn(connection);
                client
                    .batch_execute(&format!("SET search_path TO {schema}; {sql}"))
                    .await
                    .unwrap();
                drop(client);
                let _ = task.await;
            }
        }
    }

    /// Moves every time the store holds back by `days` (as if it had all
    /// happened that long ago).
    pub(super) async fn backdate(&self, days: i64) {
        let secs = days * 24 * 3600;
        self.sql(&format!(
            "UPDATE seen SET seen_at = seen_at - {secs}, present_at = present_at - {secs};
             UPDATE feed_state SET last_document_at = last_document_at - {secs},
                 last_attempt_at = last_attempt_at - {secs};
             UPDATE outbox SET delivered_at = delivered_at - {secs}, created_at = created_at - {secs};"
        ))
        .await;
    }

    /// Drops a PostgreSQL test's schema (a failed test leaves its own, to
    /// look at).
    pub(super) async fn finish(self) {
        if let Harness::Postgres { .. } = self {
            self.sql(&format!("DROP SCHEMA {} CASCADE", self.schema()))
                .await;
        }
    }
}

/// The conformance tests for one backend: `$harness` makes a store's
/// harness, or `None` to skip.
macro_rules! conformance {
    ($backend:ident, $harness:expr) => {
        mod $backend {
            use super::Harness;

            macro_rules! with_store {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(h) = $harness else { return };
                        super::$name(&*h.open().await).await;
                        h.finish().await;
                    }
                };
            }
            macro_rules! with_harness {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let Some(h) = $harness else { return };
                        super::$name(&h).await;
                        h.finish().await;
                    }
                };
            }

            with_store!(stories_send_what_each_rule_asks_once);
            with_store!(entries_are_recognised_by_key_and_text);
            with_store!(commit_records_seen_keys_and_queues_alerts_once);
            with_store!(failures_count_up_and_reset);
            with_store!(next_polls_are_read_for_every_feed);
            with_store!(feed_health_is_listed_with_entries_seen);
            with_store!(health_notices_are_queued_with_what_they_said);
            with_store!(pushes_and_subscriptions);
            with_store!(health_is_read_for_monitoring);
            with_store!(outbox_lifecycle);
            with_store!(leases_are_held_by_one_instance_at_a_time);
            with_store!(story_articles_are_read_from_where_the_last_read_ended);
            with_harness!(state_survives_reopen);
            with_harness!(entries_still_in_their_feed_are_never_forgotten);
            with_harness!(a_configured_feed_is_never_forgotten_whole);
            with_harness!(stories_past_the_window_are_forgotten_with_their_threads);
            with_harness!(delivered_alerts_and_feeds_no_longer_polled_are_forgotten);
            with_harness!(instances_sharing_a_store_alert_once);
            with_harness!(a_newer_schema_is_refused);
        }
    };
}

pub(super) use conformance;
