//! HTTP pieces shared by fetching feeds and delivering alerts: the TLS
//! crypto provider, error messages that say what went wrong without the URL's
//! secrets, `Retry-After`, and one classification of response statuses.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;
use url::Url;

/// Installs the process-wide TLS crypto provider (ring) once; reqwest and
/// lettre both build their rustls configs from it.
pub(crate) fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Fails only if another provider was installed first, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An error and its causes, joined: reqwest's top-level message alone
/// ("error sending request") does not say what went wrong.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// The `charset` parameter of a `Content-Type` value.
pub(crate) fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|param| {
        let value = param.trim().strip_prefix("charset=")?;
        Some(value.trim_matches('"').to_string())
    })
}

/// `Retry-After` in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

/// The URL for logs and messages: user, password and query values (API
/// keys, tokens) replaced by `***`.
pub(crate) fn redact(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    if url.query().is_some() {
        let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|k| (k, "***")));
    }
    url.to_string()
}

/// What a failed request's status says about trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusClass {
    /// 408, 429 and 5xx: the server is busy or down; try again later.
    Temporary,
    /// 410: the resource is gone for good.
    Gone,
    /// 3xx that was not followed.
    Redirect,
    /// Any other 4xx: the request itself was refused.
    Permanent,
}

/// The one classification of a non-success status, shared by the fetcher
/// and the webhook deliverer.
pub(crate) fn classify_status(status: StatusCode) -> StatusClass {
    match status.as_u16() {
        410 => StatusClass::Gone,
        408 | 429 | 500..=599 => StatusClass::Temporary,
        300..=399 => StatusClass::Redirect,
        _ => StatusClass::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_credentials_and_query_values() {
        let url = Url::parse("https://user:pw@feeds.test/rss?apikey=s3cret&lang=en").unwrap();
        assert_eq!(
            redact(&url),
            "https://***:***@feeds.test/rss?apikey=***&lang=***"
        );
    }

    #[test]
    fn statuses_classified() {
        let class = |code| classify_status(StatusCode::from_u16(code).unwrap());
        assert_eq!(class(503), StatusClass::Temporary);
        assert_eq!(class(429), StatusClass::Temporary);
        assert_eq!(class(408), StatusClass::Temporary);
        assert_eq!(class(410), StatusClass::Gone);
        assert_eq!(class(301), StatusClass::Redirect);
        assert_eq!(class(404), StatusClass::Permanent);
    }
}
