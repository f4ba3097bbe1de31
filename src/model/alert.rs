//! The `Alert` the matcher hands to the outbox: one rule, one article, one
//! destination, with a stable id so a redelivery can be recognised.

use crate::model::article::{Article, hex};
use crate::model::field::Field;
use crate::model::story::AlertStory;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// A passage of one field with the matched words marked as byte ranges of `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    pub field: Field,
    pub text: String,
    pub spans: Vec<(usize, usize)>,
}

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
    /// The story the article belongs to (none for feed health notices, and
    /// for alerts queued before stories existed).
    #[serde(default)]
    pub story: Option<AlertStory>,
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
    /// The link if it is a web link, as the URL parser writes it (spaces and
    /// line breaks encoded): a `javascript:` or `data:` link from a feed
    /// never becomes something to click.
    pub(crate) fn web_link(&self) -> Option<String> {
        let url = url::Url::parse(self.link.as_deref()?).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.to_string())
    }

    pub(crate) fn from_article(article: &Article) -> Self {
        AlertArticle {
            key: article.key.clone(),
            title: article.title.clone(),
            link: article.link.clone(),
            published: article.published,
            authors: article.authors.clone(),
        }
    }
}

impl Alert {
    /// The other feeds that reported the alert's story, first reporter
    /// first (none without a story).
    pub(crate) fn also_reported_by(&self) -> Vec<&str> {
        self.story
            .iter()
            .flat_map(|s| &s.sources)
            .map(String::as_str)
            .filter(|s| *s != self.feed)
            .collect()
    }

    /// The distinct words the excerpts mark, in order of appearance: what
    /// the reader sees as "why it matched".
    pub(crate) fn matched_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = Vec::new();
        for excerpt in &self.excerpts {
            for &(start, end) in &excerpt.spans {
                let Some(term) = excerpt.text.get(start..end) else {
                    continue;
                };
                if !terms.iter().any(|t| t.eq_ignore_ascii_case(term)) {
                    terms.push(term.to_string());
                }
            }
        }
        terms
    }
}

/// Alerts for one destination that go out as one message: a rule's digest,
/// or what waited out the destination's quiet hours.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// Stable for the same alerts: a redelivery carries the same id.
    pub id: String,
    pub destination: String,
    /// Grouped by rule (rules in name order), then by story (the story
    /// with the newest article first; its alerts together, oldest first),
    /// an alert with no story a group of its own.
    pub alerts: Vec<Alert>,
}

impl Digest {
    pub fn new(destination: &str, mut alerts: Vec<Alert>) -> Digest {
        let group = |a: &Alert| a.story.as_ref().map_or(a.id.clone(), |s| s.id.clone());
        let mut latest: std::collections::HashMap<(String, String), DateTime<Utc>> =
            std::collections::HashMap::new();
        for a in &alerts {
            let t = latest
                .entry((a.rule.clone(), group(a)))
                .or_insert(newest(a));
            *t = (*t).max(newest(a));
        }
        // Each alert's place worked out once, not at every comparison.
        alerts.sort_by_cached_key(|a| {
            let (rule, group) = (a.rule.clone(), group(a));
            let latest = latest[&(rule.clone(), group.clone())];
            (
                rule,
                std::cmp::Reverse(latest),
                group,
                newest(a),
                a.id.clone(),
            )
        });
        let mut ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
        ids.sort_unstable();
        let mut hasher = Sha256::new();
        hasher.update(destination.as_bytes());
        for id in ids {
            hasher.update([0]);
            hasher.update(id.as_bytes());
        }
        Digest {
            id: format!("digest-{}", hex(&hasher.finalize()[..16])),
            destination: destination.to_string(),
            alerts,
        }
    }

    /// Each rule with its alerts, in the digest's order.
    pub(crate) fn by_rule(&self) -> Vec<(&str, Vec<&Alert>)> {
        let mut groups: Vec<(&str, Vec<&Alert>)> = Vec::new();
        for alert in &self.alerts {
            match groups.last_mut() {
                Some((rule, list)) if *rule == alert.rule => list.push(alert),
                _ => groups.push((&alert.rule, vec![alert])),
            }
        }
        groups
    }
}

/// An article's own date if it has one, else when the alert was raised.
fn newest(alert: &Alert) -> DateTime<Utc> {
    alert.article.published.unwrap_or(alert.created_at)
}

/// What a deliverer sends: one alert, or a digest of several.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    Alert(&'a Alert),
    Digest(&'a Digest),
}

impl Notice<'_> {
    /// The idempotency id: Message-ID and `webhook-id` are built from it.
    pub(crate) fn id(&self) -> &str {
        match self {
            Notice::Alert(alert) => &alert.id,
            Notice::Digest(digest) => &digest.id,
        }
    }

    pub(crate) fn alerts(&self) -> &[Alert] {
        match self {
            Notice::Alert(alert) => std::slice::from_ref(*alert),
            Notice::Digest(digest) => &digest.alerts,
        }
    }
}

/// Hash of rule, article key and destination: the same article matched by the
/// same rule for the same destination always gets the same id. A key that is a
/// URL names the article everywhere, so a story cross-posted to two feeds
/// alerts once; any other key (a GUID like "1234", a content hash) is only
/// unique within its feed, so the feed is part of the id.
pub(crate) fn alert_id(rule: &str, feed: &str, article_key: &str, destination: &str) -> String {
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
    fn digests_list_a_storys_alerts_together() {
        use super::{Alert, AlertArticle, Digest};
        use crate::model::story::{AlertStory, StoryMode};
        let at = |minute: u32| {
            chrono::DateTime::parse_from_rfc3339(&format!("2026-03-24T10:{minute:02}:00Z"))
                .unwrap()
                .to_utc()
        };
        let alert = |id: &str, story: Option<&str>, minute: u32| Alert {
            id: id.into(),
            rule: "r".into(),
            query: "q".into(),
            destination: "d".into(),
            feed: "f".into(),
            article: AlertArticle {
                key: id.into(),
                title: id.into(),
                link: None,
                published: Some(at(minute)),
                authors: vec![],
            },
            excerpts: vec![],
            created_at: at(minute),
            story: story.map(|s| AlertStory {
                id: s.into(),
                title: s.into(),
                first_seen: at(0),
                articles: 1,
                sources: vec![],
                adds: None,
                mode: StoryMode::Updates,
                follows: None,
            }),
        };
        let digest = Digest::new(
            "d",
            vec![
                alert("blast-1", Some("blast"), 1),
                alert("strike", Some("strike"), 2),
                alert("blast-2", Some("blast"), 3),
                alert("alone", None, 4),
            ],
        );
        let order: Vec<&str> = digest.alerts.iter().map(|a| a.id.as_str()).collect();
        // Newest story first; a story's alerts together, oldest first.
        assert_eq!(order, ["alone", "blast-1", "blast-2", "strike"]);
    }

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
