//! The webhook payload (versioned; documented in docs/webhooks.md) and its
//! Standard Webhooks signature. The payload types are ours to keep stable:
//! internal structs can change without changing what receivers parse.

use crate::model::alert::{Alert, Notice};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use std::fmt;

/// Bumped when a field changes meaning or disappears; new fields may be
/// added within a version.
pub(crate) const PAYLOAD_VERSION: u32 = 1;

/// The secret a webhook is signed with: `whsec_` and base64 bytes.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    pub fn parse(text: &str) -> Result<SigningKey, String> {
        let encoded = text
            .trim()
            .strip_prefix("whsec_")
            .ok_or("a webhook secret must start with `whsec_` followed by base64")?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|e| format!("the webhook secret after `whsec_` is not base64: {e}"))?;
        if bytes.len() < 24 {
            return Err(format!(
                "the webhook secret is {} bytes; use at least 24 (e.g. `openssl rand -base64 32`)",
                bytes.len()
            ));
        }
        Ok(SigningKey(bytes))
    }

    /// The `webhook-signature` header value: `v1,` and the base64
    /// HMAC-SHA256 of `id.timestamp.body`.
    pub(crate) fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
    }
}

#[derive(Debug, Serialize)]
struct Envelope<T: Serialize> {
    version: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    data: T,
}

#[derive(Debug, Serialize)]
pub(crate) struct AlertPayload<'a> {
    pub id: &'a str,
    pub rule: RulePayload<'a>,
    pub feed: &'a str,
    pub article: ArticlePayload<'a>,
    pub matched_terms: Vec<String>,
    pub excerpts: Vec<ExcerptPayload<'a>>,
    pub created_at: String,
    /// The article's story; absent for feed health notices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub story: Option<StoryPayload<'a>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct StoryPayload<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub first_seen: String,
    /// Its articles so far, this one included.
    pub articles: u32,
    /// The feeds that reported it, first reporter first.
    pub sources: &'a [String],
    /// The id of the story's first alert this one follows up, if it does.
    pub follows: Option<&'a str>,
    /// What this article adds to the story ("new figures: 11").
    pub adds: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct RulePayload<'a> {
    pub name: &'a str,
    pub query: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct ArticlePayload<'a> {
    pub title: &'a str,
    pub link: Option<&'a str>,
    pub published: Option<String>,
    pub authors: &'a [String],
}

#[derive(Debug, Serialize)]
pub(crate) struct ExcerptPayload<'a> {
    pub field: &'static str,
    pub text: &'a str,
    /// Byte ranges `[start, end)` into `text` (UTF-8) that matched.
    pub spans: Vec<[usize; 2]>,
}

#[derive(Debug, Serialize)]
struct DigestPayload<'a> {
    id: &'a str,
    count: usize,
    alerts: Vec<AlertPayload<'a>>,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn alert_payload(alert: &Alert) -> AlertPayload<'_> {
    AlertPayload {
        id: &alert.id,
        rule: RulePayload {
            name: &alert.rule,
            query: &alert.query,
        },
        feed: &alert.feed,
        article: ArticlePayload {
            title: &alert.article.title,
            link: alert.article.link.as_deref(),
            published: alert.article.published.map(rfc3339),
            authors: &alert.article.authors,
        },
        matched_terms: alert.matched_terms(),
        excerpts: alert
            .excerpts
            .iter()
            .map(|e| ExcerptPayload {
                field: e.field.name(),
                text: &e.text,
                spans: e.spans.iter().map(|&(s, e)| [s, e]).collect(),
            })
            .collect(),
        created_at: rfc3339(alert.created_at),
        story: alert.story.as_ref().map(|s| StoryPayload {
            id: &s.id,
            title: &s.title,
            first_seen: rfc3339(s.first_seen),
            articles: s.articles,
            sources: &s.sources,
            follows: s.follows.as_deref(),
            adds: s.adds.as_deref(),
        }),
    }
}

/// The JSON body POSTed for a notice.
pub(crate) fn body(notice: Notice<'_>, now: DateTime<Utc>) -> Vec<u8> {
    let timestamp = rfc3339(now);
    let json = match notice {
        Notice::Alert(alert) => serde_json::to_vec(&Envelope {
            version: PAYLOAD_VERSION,
            kind: "newswatch.alert",
            timestamp,
            data: alert_payload(alert),
        }),
        Notice::Digest(digest) => serde_json::to_vec(&Envelope {
            version: PAYLOAD_VERSION,
            kind: "newswatch.digest",
            timestamp,
            data: DigestPayload {
                id: &digest.id,
                count: digest.alerts.len(),
                alerts: digest.alerts.iter().map(alert_payload).collect(),
            },
        }),
    };
    json.expect("payload types serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example from the Standard Webhooks specification.
        let key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            key.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_checked() {
        assert!(SigningKey::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(SigningKey::parse("whsec_!!!").is_err());
        assert!(SigningKey::parse("whsec_c2hvcnQ=").is_err());
        assert_eq!(
            format!(
                "{:?}",
                SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()
            ),
            "SigningKey(***)"
        );
    }
}
