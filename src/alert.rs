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
/// same rule for the same destination always gets the same id, even when it
/// arrives through two feeds.
pub fn alert_id(rule: &str, article_key: &str, destination: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [rule, article_key, destination] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize()[..16])
}
