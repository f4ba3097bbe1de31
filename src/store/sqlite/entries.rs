//! What a document's entries write in one transaction (seen keys, what
//! each said, their stories, their alerts, each story's first alert per
//! rule and destination), and how an entry is recognised before.

use super::super::time::{from_ts, ts};
use super::super::{Entries, Known, StoreError};
use super::retention;
use crate::model::alert::Alert;
use crate::model::story::{Placements, StoryArticle, StoryMode};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

/// Queues alerts, each due from when it was raised (the outbox's clock); an
/// id already in the outbox is not queued again. Returns how many were.
///
/// An alert of a story is queued only if it is the story's first for its
/// rule and destination, or a follow-up its rule wants (`StoryMode`); a
/// follow-up is queued with the first alert's id. Decided here, in the
/// commit's transaction, so that two feeds polled at once cannot both send
/// a story's first alert.
pub(super) fn insert_alerts(
    tx: &rusqlite::Transaction,
    alerts: &[Alert],
) -> Result<usize, StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (id, destination, payload, status, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?4)",
    )?;
    // The first alert, if it may still reach the reader: one that became a
    // dead letter (or is gone) leaves the story without one.
    let mut thread = tx.prepare_cached(
        "SELECT t.root FROM story_thread t JOIN outbox o ON o.id = t.root
         WHERE t.story = ?1 AND t.rule = ?2 AND t.destination = ?3 AND o.status <> 'dead'",
    )?;
    let mut start = tx.prepare_cached(
        "INSERT INTO story_thread (story, rule, destination, root) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (story, rule, destination) DO UPDATE SET root = excluded.root",
    )?;
    let mut queued = 0;
    for alert in alerts {
        let mut alert = std::borrow::Cow::Borrowed(alert);
        if let Some(story) = alert.story.as_ref().filter(|s| s.mode != StoryMode::Every) {
            let root: Option<String> = thread
                .query_row(params![story.id, alert.rule, alert.destination], |r| {
                    r.get(0)
                })
                .optional()?;
            match root {
                None => {
                    start.execute(params![story.id, alert.rule, alert.destination, alert.id])?;
                }
                Some(root) if root == alert.id => {}
                Some(root) if story.mode == StoryMode::Updates && story.adds.is_some() => {
                    if let Some(story) = alert.to_mut().story.as_mut() {
                        story.follows = Some(root);
                    }
                }
                Some(_) => continue,
            }
        }
        let payload = serde_json::to_string(alert.as_ref()).expect("alerts serialise to JSON");
        queued += insert.execute(params![
            alert.id,
            alert.destination,
            payload,
            ts(alert.created_at)
        ])?;
    }
    Ok(queued)
}

/// A poll's or a push's entries: seen, present, fingerprinted, placed in
/// stories, and their alerts queued (in the caller's transaction).
pub(super) fn record_entries(
    tx: &rusqlite::Transaction,
    feed: &str,
    entries: &Entries,
    now: i64,
) -> Result<usize, StoreError> {
    {
        let mut seen = tx.prepare_cached(
            "INSERT OR IGNORE INTO seen (feed, key, seen_at) VALUES (?1, ?2, ?3)",
        )?;
        for key in &entries.seen_keys {
            seen.execute(params![feed, key, now])?;
        }
        let mut fingerprint =
            tx.prepare_cached("UPDATE seen SET fingerprint = ?3 WHERE feed = ?1 AND key = ?2")?;
        for (key, print) in &entries.fingerprints {
            fingerprint.execute(params![feed, key, print])?;
        }
        // An edited article keeps its place (and time) in its story.
        let mut placed = tx.prepare_cached(
            "INSERT INTO story_article (feed, key, story, at, title, lead)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (feed, key) DO UPDATE SET title = excluded.title, lead = excluded.lead",
        )?;
        let mut story = tx.prepare_cached(
            "INSERT OR IGNORE INTO story (id, title, first_seen) VALUES (?1, ?2, ?3)",
        )?;
        for a in &entries.story_articles {
            placed.execute(params![a.feed, a.key, a.story, ts(a.at), a.title, a.lead])?;
            story.execute(params![a.story, a.story_title, ts(a.first_seen)])?;
        }
    }
    retention::mark_present(tx, feed, &entries.present_keys, now)?;
    insert_alerts(tx, &entries.alerts)
}

/// What is known of each entry (key, fingerprint) of a document of `feed`.
pub(super) fn recognise(
    conn: &mut Connection,
    feed: &str,
    entries: &[(String, Option<String>)],
) -> Result<Vec<Known>, StoreError> {
    let mut seen = conn.prepare_cached(
        "SELECT s.fingerprint, a.story, a.title FROM seen s
         LEFT JOIN story_article a ON a.feed = s.feed AND a.key = s.key
         WHERE s.feed = ?1 AND s.key = ?2",
    )?;
    let mut renamed =
        conn.prepare_cached("SELECT key FROM seen WHERE feed = ?1 AND fingerprint = ?2")?;
    let keys: std::collections::HashSet<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let mut known = Vec::with_capacity(entries.len());
    for (key, print) in entries {
        let row = seen
            .query_row(params![feed, key], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .optional()?;
        known.push(match row {
            Some((fingerprint, story, title)) => Known::Seen {
                fingerprint,
                story: story.zip(title),
            },
            None => {
                // The same text under a key no longer in the document.
                let mut others = match print {
                    Some(print) => renamed
                        .query_map(params![feed, print], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()?,
                    None => Vec::new(),
                };
                others.retain(|k| !keys.contains(k.as_str()));
                match others.into_iter().next() {
                    Some(was) => Known::Renamed { was },
                    None => Known::New,
                }
            }
        });
    }
    Ok(known)
}

/// The articles placed in stories since `since`, in the order placed; from
/// rowid `from` on (rowids follow commits: SQLite has one writer).
pub(super) fn story_articles(
    conn: &mut Connection,
    since: DateTime<Utc>,
    from: i64,
) -> Result<Placements, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT a.feed, a.key, a.story, a.at, a.title, a.lead, s.title, s.first_seen, a.rowid
         FROM story_article a JOIN story s ON s.id = a.story
         WHERE a.at >= ?1 AND a.rowid >= ?2 ORDER BY a.at, a.rowid",
    )?;
    let mut next = from;
    let rows = stmt.query_map(params![ts(since), from], |r| {
        Ok((
            StoryArticle {
                feed: r.get(0)?,
                key: r.get(1)?,
                story: r.get(2)?,
                at: from_ts(r.get(3)?),
                title: r.get(4)?,
                lead: r.get(5)?,
                story_title: r.get(6)?,
                first_seen: from_ts(r.get(7)?),
            },
            r.get::<_, i64>(8)?,
        ))
    })?;
    let mut articles = Vec::new();
    for row in rows {
        let (article, rowid) = row?;
        next = next.max(rowid + 1);
        articles.push(article);
    }
    Ok(Placements { articles, next })
}
