//! The `Alert` the matcher hands to the outbox: one rule, one article, one
//! destination, with a stable id so a redelivery can be recognised.

use crate::article::{Article, hex};
use crate::matcher::Excerpt;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable across restarts and redeliveries: see [`alert_id`].
    pub id: String,
    pub rule: String,
    pub query: String,
    pub destination: String,
    pub feed: String,
    pub article: AlertArticle,
    pub excerpts: Vec<Excerpt>,
    pub created_at: DateTime<Utc>,
}

/// The parts of the article an alert shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertArticle {
    pub key: String,
    pub title: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
}

impl AlertArticle {
    pub fn from_article(article: &Article) -> Self {
        AlertArticle {
            key: article.key.clone(),
            title: article.title.clone(),
            link: article.link.clone(),
            published: article.published,
            authors: article.authors.clone(),
        }
    }
}

/// Hash of rule, article key and destination: the same article matched by the
/// same rule for the same destination always gets the same id. A key that is a
/// URL names the article everywhere, so a story cross-posted to two feeds
/// alerts once; any other key (a GUID like "1234", a content hash) is only
/// unique within its feed, so the feed is part of the id.
pub fn alert_id(rule: &str, feed: &str, article_key: &str, destination: &str) -> String {
    let global = article_key.starts_with("link:")
        || article_key
            .strip_prefix("guid:")
            .is_some_and(|g| g.starts_with("http://") || g.starts_with("https://"));
    let scope = if global { "" } else { feed };
    let mut hasher = Sha256::new();
    for part in [rule, scope, article_key, destination] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::alert_id;

    #[test]
    fn urls_are_global_other_keys_are_per_feed() {
        assert_eq!(
            alert_id("r", "a", "link:https://x/1", "d"),
            alert_id("r", "b", "link:https://x/1", "d")
        );
        assert_eq!(
            alert_id("r", "a", "guid:https://x/1", "d"),
            alert_id("r", "b", "guid:https://x/1", "d")
        );
        assert_ne!(
            alert_id("r", "a", "guid:1234", "d"),
            alert_id("r", "b", "guid:1234", "d")
        );
        assert_ne!(
            alert_id("r", "a", "hash:ab", "d"),
            alert_id("r", "b", "hash:ab", "d")
        );
        assert_ne!(
            alert_id("r", "a", "guid:1", "d"),
            alert_id("r", "a", "guid:1", "e")
        );
    }
}
