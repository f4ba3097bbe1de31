//! What an alert knows of its story (the articles of many outlets about one
//! event), and what a rule wants of a story's later articles.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a rule sends for a story (`story = "…"` in a rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoryMode {
    /// One alert per story; later articles are recorded, not sent.
    #[default]
    First,
    /// The first alert, then follow-ups in its thread for later articles
    /// that add something (new figures, a changed headline).
    Updates,
    /// Every article alerts, as if there were no stories.
    Every,
}

impl StoryMode {
    pub fn parse(text: &str) -> Option<StoryMode> {
        match text {
            "first" => Some(StoryMode::First),
            "updates" => Some(StoryMode::Updates),
            "every" => Some(StoryMode::Every),
            _ => None,
        }
    }
}

/// The story of an alert's article, as it stood when the article came.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertStory {
    /// Stable for the story's life (and after): `s` and 16 hex digits.
    pub id: String,
    /// The headline of the story's first article: its emails' subject.
    pub title: String,
    pub first_seen: DateTime<Utc>,
    /// Its articles so far, this one included.
    pub articles: u32,
    /// The feeds that reported it, first reporter first.
    pub sources: Vec<String>,
    /// What this article adds to what the story said before ("new figures:
    /// 11"; "headline changed: …"); `None` if nothing.
    pub adds: Option<String>,
    /// The rule's mode: whether the store sends this alert (see
    /// `StoryMode`).
    pub mode: StoryMode,
    /// Set when queued: the id of the story's first alert to the same rule
    /// and destination, which this one follows (its email thread).
    #[serde(default)]
    pub follows: Option<String>,
}

/// One article of a story as the store keeps it for the window: enough to
/// place it again after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoryArticle {
    pub feed: String,
    pub key: String,
    pub story: String,
    /// When it came.
    pub at: DateTime<Utc>,
    pub title: String,
    /// The first words of its text (see `stories::revision::lead`).
    pub lead: String,
    /// Its story's first headline, and when the story began (kept while
    /// the story lives, after its first articles leave the window).
    pub story_title: String,
    pub first_seen: DateTime<Utc>,
}

/// Articles placed in stories, read from the store, and where the next read
/// of what was recorded since starts (see `Store::story_articles`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placements {
    pub articles: Vec<StoryArticle>,
    pub next: i64,
}
