//! What the SQLite store forgets (by the rules of `store::retention`), and
//! its sizes.

use super::super::StoreError;
use super::super::retention::{PRESENT_MARGIN_SECS, Pruned, REFRESH_SECS, Retention, StoreStats};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use std::time::Duration;

/// Marks `keys` (already seen, found again in a document) present at `now`.
pub(super) fn mark_present(
    tx: &rusqlite::Transaction,
    feed: &str,
    keys: &[String],
    now: i64,
) -> Result<(), StoreError> {
    let mut mark = tx.prepare_cached(
        "UPDATE seen SET present_at = ?3
         WHERE feed = ?1 AND key = ?2 AND COALESCE(present_at, seen_at) < ?3 - ?4",
    )?;
    for key in keys {
        mark.execute(params![feed, key, now, REFRESH_SECS])?;
    }
    Ok(())
}

/// Removes one batch of each kind of row that `retention` lets go, as of `now`.
pub(super) fn prune(
    conn: &mut Connection,
    retention: Retention,
    now: DateTime<Utc>,
    batch: usize,
    keep: &[String],
) -> Result<Pruned, StoreError> {
    let now = now.timestamp();
    let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4);
    let seen_before = now - secs(retention.seen);
    let delivered_before = now - secs(retention.delivered);
    let batch = i64::try_from(batch).unwrap_or(i64::MAX);
    let mut seen = conn.execute(
        "DELETE FROM seen WHERE (feed, key) IN (
             SELECT s.feed, s.key FROM seen s JOIN feed_state f ON f.feed = s.feed
             WHERE COALESCE(s.present_at, s.seen_at) < ?1
               AND COALESCE(s.present_at, s.seen_at) < f.last_document_at - ?2
             LIMIT ?3)",
        params![seen_before, PRESENT_MARGIN_SECS, batch],
    )?;
    let delivered = conn.execute(
        "DELETE FROM outbox WHERE rowid IN (
             SELECT rowid FROM outbox WHERE status = 'delivered' AND delivered_at < ?1 LIMIT ?2)",
        params![delivered_before, batch],
    )?;
    // A story's articles are kept for the story window (a day more, so a
    // restart places new articles among all of them); a story's threads
    // while it has articles.
    let stories_before = now - secs(retention.stories) - 24 * 3600;
    let mut stories = conn.execute(
        "DELETE FROM story_article WHERE rowid IN (
             SELECT rowid FROM story_article WHERE at < ?1 LIMIT ?2)",
        params![stories_before, batch],
    )?;
    stories += conn.execute(
        "DELETE FROM story_thread WHERE (story, rule, destination) IN (
             SELECT t.story, t.rule, t.destination FROM story_thread t
             WHERE NOT EXISTS (SELECT 1 FROM story_article a WHERE a.story = t.story)
             LIMIT ?1)",
        params![batch],
    )?;
    stories += conn.execute(
        "DELETE FROM story WHERE id IN (
             SELECT s.id FROM story s
             WHERE NOT EXISTS (SELECT 1 FROM story_article a WHERE a.story = s.id)
             LIMIT ?1)",
        params![batch],
    )?;
    // A feed nobody polled for the whole window, and no longer configured,
    // has left the config (a configured one is kept however long it went
    // unpolled: the daemon was down, or the clock jumped).
    let keep: std::collections::HashSet<&str> = keep.iter().map(String::as_str).collect();
    let gone: Vec<String> = {
        let mut stmt = conn.prepare("SELECT feed FROM feed_state WHERE last_attempt_at < ?1")?;
        let rows = stmt.query_map(params![seen_before], |r| r.get::<_, String>(0))?;
        rows.filter(|f| f.as_ref().map_or(true, |f| !keep.contains(f.as_str())))
            .take(16)
            .collect::<Result<_, _>>()?
    };
    let mut feeds = 0;
    let tx = conn.transaction()?;
    for feed in &gone {
        seen += tx.execute(
            "DELETE FROM seen WHERE (feed, key) IN (SELECT feed, key FROM seen WHERE feed = ?1 LIMIT ?2)",
            params![feed, batch],
        )?;
        let left: i64 = tx.query_row(
            "SELECT COUNT(*) FROM (SELECT 1 FROM seen WHERE feed = ?1 LIMIT 1)",
            params![feed],
            |r| r.get(0),
        )?;
        if left == 0 {
            feeds += tx.execute("DELETE FROM feed_state WHERE feed = ?1", params![feed])?;
        }
    }
    tx.commit()?;
    Ok(Pruned {
        seen,
        delivered,
        feeds,
        stories,
    })
}

/// Returns free pages to the file system, a few at a time.
pub(super) fn vacuum_some(conn: &Connection, pages: u32) -> Result<(), StoreError> {
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({pages})"))?;
    Ok(())
}

/// Sizes and row counts, for `newswatch db stats`.
pub(super) fn stats(conn: &Connection, path: &std::path::Path) -> Result<StoreStats, StoreError> {
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, u64>(0));
    let page_size = count("PRAGMA page_size")?;
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    Ok(StoreStats {
        path: path.display().to_string(),
        file_bytes: size(path),
        wal_bytes: size(std::path::Path::new(&wal)),
        free_bytes: count("PRAGMA freelist_count")? * page_size,
        feeds: count("SELECT COUNT(*) FROM feed_state")?,
        seen: count("SELECT COUNT(*) FROM seen")?,
        pending: count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")?,
        delivered: count("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'")?,
        dead: count("SELECT COUNT(*) FROM outbox WHERE status = 'dead'")?,
        subscriptions: count("SELECT COUNT(*) FROM websub")?,
        story_articles: count("SELECT COUNT(*) FROM story_article")?,
    })
}
