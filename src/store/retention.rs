//! What the store forgets, so that it stays small over months:
//! seen keys long after their entry left its feed, delivered alerts after a
//! while, feeds no longer polled. Dead letters and pending alerts are kept.
//! Each call removes one batch per kind, in its own short transaction.
//!
//! A seen key must outlive its entry's presence in the feed, or the entry
//! would alert again: each document marks the keys it holds as present
//! (at most once a day per key), and a key is forgotten only once a later
//! document of its feed no longer held it, and that long ago.

use std::time::Duration;

/// How long what is done is kept (`[retention]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// A seen key, after its entry left the feed.
    pub seen: Duration,
    /// A delivered alert, after its delivery.
    pub delivered: Duration,
    /// A story's article, after it came (the story window, `[stories]`).
    pub stories: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            seen: Duration::from_secs(90 * 24 * 3600),
            delivered: Duration::from_secs(30 * 24 * 3600),
            stories: Duration::from_secs(48 * 3600),
        }
    }
}

/// Rows removed by one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub seen: usize,
    pub delivered: usize,
    /// Feeds not polled within the seen window (left the config): their
    /// state and their seen keys.
    pub feeds: usize,
    /// Articles of stories past the window, and the threads of stories
    /// left with none.
    pub stories: usize,
}

impl Pruned {
    pub fn total(&self) -> usize {
        self.seen + self.delivered + self.feeds + self.stories
    }
}

/// A key still in the feed's latest document was marked present at most a
/// day (the refresh interval) before that document; this margin keeps it.
pub(super) const PRESENT_MARGIN_SECS: i64 = 2 * 24 * 3600;
/// How stale a present mark may get before a document refreshes it.
pub(super) const REFRESH_SECS: i64 = 24 * 3600;

/// Sizes and row counts, for `newswatch db stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    pub path: String,
    /// The database file and its write-ahead log.
    pub file_bytes: u64,
    pub wal_bytes: u64,
    /// Pages free inside the file (returned to the file system as the
    /// store prunes).
    pub free_bytes: u64,
    pub feeds: u64,
    pub seen: u64,
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
    pub subscriptions: u64,
    /// Articles of the stories of the window.
    pub story_articles: u64,
}
