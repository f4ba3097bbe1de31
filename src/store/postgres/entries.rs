//! What a document's entries write in one transaction, and how an entry is
//! recognised (as `store::entries` does for SQLite).

use super::super::retention::REFRESH_SECS;
use super::super::time::{from_ts, ts};
use super::super::{Entries, Known, StoreError};
use crate::model::alert::Alert;
use crate::model::story::{Placements, StoryArticle, StoryMode};
use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Transaction};
use std::collections::{HashMap, HashSet};

/// Queues alerts, each due from when it was raised; an id already in the
/// outbox is not queued again. Returns how many were.
///
/// An alert of a story is queued only if it is the story's first for its
/// rule and destination, or a follow-up its rule wants; a follow-up is
/// queued with the first alert's id. Decided under the story thread's row
/// lock: of two instances placing articles of one story at once, the
/// second waits for the first's commit and then follows its first alert.
pub(super) async fn insert_alerts(
    tx: &Transaction<'_>,
    alerts: &[Alert],
) -> Result<usize, StoreError> {
    let insert = tx
        .prepare_cached(
            "INSERT INTO outbox (id, destination, payload, status, created_at, next_attempt_at)
             VALUES ($1, $2, $3, 'pending', $4, $4) ON CONFLICT (id) DO NOTHING",
        )
        .await?;
    let start = tx
        .prepare_cached(
            "INSERT INTO story_thread (story, rule, destination, root) VALUES ($1, $2, $3, $4)
             ON CONFLICT (story, rule, destination) DO NOTHING",
        )
        .await?;
    // The first alert, locked first; then, read apart (so after any commit
    // the lock waited for), whether it may still reach the reader: a dead
    // letter, or one gone, leaves the story without one.
    let thread = tx
        .prepare_cached(
            "SELECT root FROM story_thread
             WHERE story = $1 AND rule = $2 AND destination = $3 FOR UPDATE",
        )
        .await?;
    let status = tx
        .prepare_cached("SELECT status FROM outbox WHERE id = $1")
        .await?;
    let restart = tx
        .prepare_cached(
            "UPDATE story_thread SET root = $4 WHERE story = $1 AND rule = $2 AND destination = $3",
        )
        .await?;
    let mut queued = 0;
    for alert in alerts {
        let mut alert = std::borrow::Cow::Borrowed(alert);
        if let Some(story) = alert.story.as_ref().filter(|s| s.mode != StoryMode::Every) {
            let key: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                [&story.id, &alert.rule, &alert.destination, &alert.id];
            if tx.execute(&start, &key).await? == 0 {
                let root: Option<String> = match tx.query_opt(&thread, &key[..3]).await? {
                    Some(row) => Some(row.try_get(0)?),
                    None => None,
                };
                let alive = match &root {
                    Some(root) => match tx.query_opt(&status, &[root]).await? {
                        Some(row) => row.try_get::<_, String>(0)? != "dead",
                        None => false,
                    },
                    None => false,
                };
                let root = root.unwrap_or_default();
                if !alive {
                    // Pruned meanwhile: started again; else its root replaced.
                    if tx.execute(&restart, &key).await? == 0 {
                        tx.execute(&start, &key).await?;
                    }
                } else if root == alert.id {
                } else if story.mode == StoryMode::Updates && story.adds.is_some() {
                    if let Some(story) = alert.to_mut().story.as_mut() {
                        story.follows = Some(root);
                    }
                } else {
                    continue;
                }
            }
        }
        let payload = serde_json::to_string(alert.as_ref()).expect("alerts serialise to JSON");
        queued += tx
            .execute(
                &insert,
                &[
                    &alert.id,
                    &alert.destination,
                    &payload,
                    &ts(alert.created_at),
                ],
            )
            .await?;
    }
    Ok(usize::try_from(queued).unwrap_or(usize::MAX))
}

/// A poll's or a push's entries: seen, present, fingerprinted, placed in
/// stories, and their alerts queued (in the caller's transaction).
pub(super) async fn record_entries(
    tx: &Transaction<'_>,
    feed: &str,
    entries: &Entries,
    now: i64,
) -> Result<usize, StoreError> {
    if !entries.seen_keys.is_empty() {
        let seen = tx
            .prepare_cached(
                "INSERT INTO seen (feed, key, seen_at) SELECT $1, key, $3 FROM UNNEST($2::TEXT[]) AS key
                 ON CONFLICT (feed, key) DO NOTHING",
            )
            .await?;
        tx.execute(&seen, &[&feed, &entries.seen_keys, &now])
            .await?;
    }
    if !entries.fingerprints.is_empty() {
        let (keys, prints): (Vec<&str>, Vec<&str>) = entries
            .fingerprints
            .iter()
            .map(|(k, p)| (k.as_str(), p.as_str()))
            .unzip();
        let fingerprint = tx
            .prepare_cached(
                "UPDATE seen SET fingerprint = u.print
                 FROM UNNEST($2::TEXT[], $3::TEXT[]) AS u(key, print)
                 WHERE seen.feed = $1 AND seen.key = u.key",
            )
            .await?;
        tx.execute(&fingerprint, &[&feed, &keys, &prints]).await?;
    }
    // An edited article keeps its place (and time) in its story.
    let placed = tx
        .prepare_cached(
            "INSERT INTO story_article (feed, key, story, at, title, lead)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (feed, key) DO UPDATE SET title = excluded.title, lead = excluded.lead",
        )
        .await?;
    let story = tx
        .prepare_cached(
            "INSERT INTO story (id, title, first_seen) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO NOTHING",
        )
        .await?;
    for a in &entries.story_articles {
        tx.execute(
            &placed,
            &[&a.feed, &a.key, &a.story, &ts(a.at), &a.title, &a.lead],
        )
        .await?;
        tx.execute(&story, &[&a.story, &a.story_title, &ts(a.first_seen)])
            .await?;
    }
    if !entries.present_keys.is_empty() {
        // At most once a day per key (see `store::retention`).
        let present = tx
            .prepare_cached(
                "UPDATE seen SET present_at = $3
                 WHERE feed = $1 AND key = ANY($2::TEXT[])
                   AND COALESCE(present_at, seen_at) < $3::BIGINT - $4::BIGINT",
            )
            .await?;
        tx.execute(
            &present,
            &[&feed, &entries.present_keys, &now, &REFRESH_SECS],
        )
        .await?;
    }
    insert_alerts(tx, &entries.alerts).await
}

/// What is known of each entry (key, fingerprint) of a document of `feed`.
pub(super) async fn recognise(
    client: &Object,
    feed: &str,
    entries: &[(String, Option<String>)],
) -> Result<Vec<Known>, StoreError> {
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let seen = client
        .prepare_cached(
            "SELECT s.key, s.fingerprint, a.story, a.title FROM seen s
             LEFT JOIN story_article a ON a.feed = s.feed AND a.key = s.key
             WHERE s.feed = $1 AND s.key = ANY($2::TEXT[])",
        )
        .await?;
    let mut found: HashMap<String, Known> = HashMap::new();
    for row in client.query(&seen, &[&feed, &keys]).await? {
        let story: Option<String> = row.try_get(2)?;
        let title: Option<String> = row.try_get(3)?;
        found.insert(
            row.try_get(0)?,
            Known::Seen {
                fingerprint: row.try_get(1)?,
                story: story.zip(title),
            },
        );
    }
    // An entry not seen under its key: the same text under a key the
    // document no longer has is the entry renamed.
    let renamed = client
        .prepare_cached("SELECT key FROM seen WHERE feed = $1 AND fingerprint = $2")
        .await?;
    let in_document: HashSet<&str> = keys.iter().copied().collect();
    let mut known = Vec::with_capacity(entries.len());
    for (key, print) in entries {
        if let Some(seen) = found.get(key) {
            known.push(seen.clone());
            continue;
        }
        let mut was = None;
        if let Some(print) = print {
            for row in client.query(&renamed, &[&feed, print]).await? {
                let other: String = row.try_get(0)?;
                if !in_document.contains(other.as_str()) {
                    was = Some(other);
                    break;
                }
            }
        }
        known.push(match was {
            Some(was) => Known::Renamed { was },
            None => Known::New,
        });
    }
    Ok(known)
}

/// The articles placed in stories since `since`, in the order placed; from
/// those written by transaction `from` on. Read in one snapshot with its
/// horizon (every transaction before it had ended): the next read starts
/// there, so an article whose transaction was still open, whatever its
/// order, is read then.
pub(super) async fn story_articles(
    client: &mut Object,
    since: DateTime<Utc>,
    from: i64,
) -> Result<Placements, StoreError> {
    let tx = client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?;
    let next: i64 = tx
        .query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::TEXT::BIGINT",
            &[],
        )
        .await?
        .try_get(0)?;
    let rows = tx
        .query(
            "SELECT a.feed, a.key, a.story, a.at, a.title, a.lead, s.title, s.first_seen
             FROM story_article a JOIN story s ON s.id = a.story
             WHERE a.at >= $1 AND a.tx >= $2::BIGINT::TEXT::xid8 ORDER BY a.at, a.placed",
            &[&ts(since), &from],
        )
        .await?;
    let articles = rows
        .iter()
        .map(|r| {
            Ok(StoryArticle {
                feed: r.try_get(0)?,
                key: r.try_get(1)?,
                story: r.try_get(2)?,
                at: from_ts(r.try_get(3)?),
                title: r.try_get(4)?,
                lead: r.try_get(5)?,
                story_title: r.try_get(6)?,
                first_seen: from_ts(r.try_get(7)?),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    tx.commit().await?;
    Ok(Placements { articles, next })
}
