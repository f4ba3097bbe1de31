//! The `Article` every stage after the parser works on, and its stable key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One feed entry, normalised to plain text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// newswatch's own stable key: see [`article_key`].
    pub key: String,
    /// The entry's id as written in the feed, if it had one.
    pub guid: Option<String>,
    pub title: String,
    pub link: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
    /// Plain text of the summary (RSS description, Atom summary).
    pub summary: String,
    /// Plain text of the full content, empty when the entry has none.
    pub content: String,
}

impl Article {
    /// The fullest text the entry has: its content, else its summary.
    pub(crate) fn text(&self) -> &str {
        if self.content.is_empty() {
            &self.summary
        } else {
            &self.content
        }
    }
}

/// The key that identifies an entry across polls and restarts: the GUID, else
/// the link, else a hash of title and text. Entries without a GUID must still
/// get the same key on every poll, so nothing random may enter it.
pub(crate) fn article_key(
    guid: Option<&str>,
    link: Option<&str>,
    title: &str,
    text: &str,
) -> String {
    if let Some(guid) = guid.filter(|g| !g.trim().is_empty()) {
        return format!("guid:{}", guid.trim());
    }
    if let Some(link) = link.filter(|l| !l.trim().is_empty()) {
        return format!("link:{}", link.trim());
    }
    let mut hasher = Sha256::new();
    hasher.update(title.as_bytes());
    hasher.update([0]);
    hasher.update(text.as_bytes());
    format!("hash:{}", hex(&hasher.finalize()[..16]))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefers_guid_then_link_then_hash() {
        assert_eq!(
            article_key(Some("g1"), Some("http://a"), "t", "x"),
            "guid:g1"
        );
        assert_eq!(
            article_key(None, Some("http://a"), "t", "x"),
            "link:http://a"
        );
        let h1 = article_key(None, None, "t", "x");
        assert!(h1.starts_with("hash:"));
        assert_eq!(h1, article_key(Some(" "), Some(""), "t", "x"));
        assert_ne!(h1, article_key(None, None, "t", "y"));
    }
}
