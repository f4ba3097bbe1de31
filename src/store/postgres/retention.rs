//! What the PostgreSQL store forgets, by the rules of `store::retention`:
//! one batch of each kind per call, each in a short statement. The space
//! freed is reused by autovacuum.

use super::super::StoreError;
use super::super::retention::{PRESENT_MARGIN_SECS, Pruned, Retention, StoreStats};
use chrono::{DateTime, Utc};
use deadpool_postgres::Object;
use std::time::Duration;

pub(super) async fn prune(
    client: &mut Object,
    retention: Retention,
    now: DateTime<Utc>,
    batch: usize,
    keep: &[String],
) -> Result<Pruned, StoreError> {
    let now = now.timestamp();
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4);
    let seen_before = now - secs(retention.seen);
    let delivered_before = now - secs(retention.delivered);
    let rows = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let mut seen = rows(
        client
            .execute(
                "DELETE FROM seen WHERE (feed, key) IN (
                     SELECT s.feed, s.key FROM seen s JOIN feed_state f ON f.feed = s.feed
                     WHERE COALESCE(s.present_at, s.seen_at) < $1
                       AND COALESCE(s.present_at, s.seen_at) < f.last_document_at - $2
                     LIMIT $3)",
                &[&seen_before, &PRESENT_MARGIN_SECS, &batch],
            )
            .await?,
    );
    let delivered = rows(
        client
            .execute(
                "DELETE FROM outbox WHERE id IN (
                     SELECT id FROM outbox WHERE status = 'delivered' AND delivered_at < $1 LIMIT $2)",
                &[&delivered_before, &batch],
            )
            .await?,
    );
    // A story's articles are kept for the story window and a day more; a
    // story's threads while it has articles.
    let stories_before = now - secs(retention.stories) - 24 * 3600;
    let mut stories = client
        .execute(
            "DELETE FROM story_article WHERE (feed, key) IN (
                 SELECT feed, key FROM story_article WHERE at < $1 LIMIT $2)",
            &[&stories_before, &batch],
        )
        .await?;
    stories += client
        .execute(
            "DELETE FROM story_thread WHERE (story, rule, destination) IN (
                 SELECT t.story, t.rule, t.destination FROM story_thread t
                 WHERE NOT EXISTS (SELECT 1 FROM story_article a WHERE a.story = t.story)
                 LIMIT $1)",
            &[&batch],
        )
        .await?;
    stories += client
        .execute(
            "DELETE FROM story WHERE id IN (
                 SELECT s.id FROM story s
                 WHERE NOT EXISTS (SELECT 1 FROM story_article a WHERE a.story = s.id)
                 LIMIT $1)",
            &[&batch],
        )
        .await?;
    // A feed nobody polled for the whole window, and no longer configured,
    // has left the config.
    let gone: Vec<String> = client
        .query(
            "SELECT feed FROM feed_state WHERE last_attempt_at < $1 AND NOT feed = ANY($2::TEXT[])
             LIMIT 16",
            &[&seen_before, &keep],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    let mut feeds = 0;
    let tx = super::read_committed(client).await?;
    for feed in &gone {
        seen += rows(
            tx.execute(
                "DELETE FROM seen WHERE (feed, key) IN (
                     SELECT feed, key FROM seen WHERE feed = $1 LIMIT $2)",
                &[feed, &batch],
            )
            .await?,
        );
        let left = tx
            .query_opt("SELECT 1 FROM seen WHERE feed = $1 LIMIT 1", &[feed])
            .await?;
        if left.is_none() {
            feeds += rows(
                tx.execute("DELETE FROM feed_state WHERE feed = $1", &[feed])
                    .await?,
            );
        }
    }
    tx.commit().await?;
    Ok(Pruned {
        seen,
        delivered,
        feeds,
        stories: rows(stories),
    })
}

/// Sizes and row counts, for `newswatch db stats`: the size is that of the
/// store's tables and indexes in its schema.
pub(super) async fn stats(client: &Object, url: &str) -> Result<StoreStats, StoreError> {
    let row = client
        .query_one(
            "SELECT
                 (SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT
                  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = current_schema() AND c.relkind = 'r'),
                 (SELECT COUNT(*) FROM feed_state),
                 (SELECT COUNT(*) FROM seen),
                 (SELECT COUNT(*) FROM outbox WHERE status = 'pending'),
                 (SELECT COUNT(*) FROM outbox WHERE status = 'delivered'),
                 (SELECT COUNT(*) FROM outbox WHERE status = 'dead'),
                 (SELECT COUNT(*) FROM websub),
                 (SELECT COUNT(*) FROM story_article)",
            &[],
        )
        .await?;
    let n = |i: usize| -> Result<u64, StoreError> {
        Ok(u64::try_from(row.try_get::<_, i64>(i)?).unwrap_or(0))
    };
    Ok(StoreStats {
        path: url.to_string(),
        file_bytes: n(0)?,
        wal_bytes: 0,
        free_bytes: 0,
        feeds: n(1)?,
        seen: n(2)?,
        pending: n(3)?,
        delivered: n(4)?,
        dead: n(5)?,
        subscriptions: n(6)?,
        story_articles: n(7)?,
    })
}
