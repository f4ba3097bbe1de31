//! Fetcher: HTTP GET with conditional requests, size and time limits, and
//! `file://` reads. Returns raw bytes: the parser decides the encoding.

use super::network::{NetworkPolicy, PolicyResolver, permits_literal};
use super::websub::discovery::Advertised;
use crate::http::{charset_of, error_chain, install_crypto_provider, retry_after};
use reqwest::header::{
    CONTENT_LOCATION, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    LAST_MODIFIED, LOCATION,
};
use reqwest::{StatusCode, redirect};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use url::Url;

const MAX_REDIRECTS: usize = 5;

/// Validators from the previous fetch, sent back for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub(crate) enum Fetched {
    /// 304, and how long the server says the document stays fresh.
    NotModified { fresh_for: Option<Duration> },
    Body {
        /// How long the server says the document stays fresh
        /// (`Cache-Control: max-age`, else `Expires`).
        fresh_for: Option<Duration>,
        bytes: Vec<u8>,
        validators: Validators,
        /// The `charset` of the `Content-Type` header, if any.
        charset: Option<String>,
        /// Where the document says it lives (`Content-Location`, resolved):
        /// the base for its relative links, if the server sent one.
        location: Option<Url>,
        /// The WebSub hub and topic its `Link` headers name (boxed: seldom
        /// any, and a 304 need not carry the room).
        advertised: Box<Advertised>,
    },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("HTTP status {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("response body exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// Connection, DNS, TLS, redirect or protocol errors; the message never
    /// contains the URL (it may hold credentials or tokens).
    #[error("{0}")]
    Request(String),
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl FetchError {
    /// How long the server asked us to wait (429/503 `Retry-After`), if it did.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match self {
            FetchError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// How feeds are fetched (the config's `[defaults]` that concern HTTP).
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub user_agent: String,
    /// Where a feed may lead us (redirects to another host).
    pub network: NetworkPolicy,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            user_agent: format!(
                "newswatch/{} (feed watcher; +https://github.com/newswatch/newswatch)",
                env!("CARGO_PKG_VERSION")
            ),
            network: NetworkPolicy::default(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Fetcher {
    config: FetchConfig,
    /// Built on the first HTTP fetch: TLS setup reads the system's CA store,
    /// which `inspect` of a local file (or a daemon of `file://` feeds) never needs.
    /// (trusting, strict): the first for the origins the operator wrote,
    /// which may be anywhere; the second for where a feed leads, its names
    /// resolved under the network policy.
    clients: Arc<OnceLock<Result<(reqwest::Client, reqwest::Client), String>>>,
    timeout: Duration,
    max_body: u64,
}

impl Fetcher {
    /// Cannot fail: the HTTP client is built (and its errors met) on the
    /// first HTTP fetch.
    pub fn new(config: &FetchConfig) -> Self {
        Fetcher {
            config: config.clone(),
            clients: Arc::default(),
            timeout: config.timeout,
            max_body: config.max_body_bytes,
        }
    }

    fn clients(&self) -> Result<&(reqwest::Client, reqwest::Client), FetchError> {
        self.clients
            .get_or_init(|| {
                install_crypto_provider();
                let policy = Arc::new(self.config.network.clone());
                let build = |strict: bool| {
                    let builder = reqwest::Client::builder()
                        .user_agent(&self.config.user_agent)
                        .connect_timeout(self.config.timeout.min(Duration::from_secs(10)))
                        .timeout(self.config.timeout)
                        // No proxy from the environment: a proxy would resolve
                        // the names where the network policy cannot check them.
                        .no_proxy()
                        // Redirects are followed in `fetch`, each by its client.
                        .redirect(redirect::Policy::none());
                    let builder = match strict {
                        true => builder.dns_resolver(PolicyResolver {
                            policy: policy.clone(),
                        }),
                        false => builder,
                    };
                    builder.build().map_err(|e| error_chain(&e))
                };
                Ok((build(false)?, build(true)?))
            })
            .as_ref()
            .map_err(|e| FetchError::Request(e.clone()))
    }

    /// Sends the request for `url`, following redirects (at most
    /// [`MAX_REDIRECTS`]): the configured URL and the origins the operator
    /// wrote through the trusting client; any other origin a feed leads to
    /// through the strict one, and only if its literal address is open.
    async fn send(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<reqwest::Response, FetchError> {
        let (trusting, strict) = self.clients()?;
        let policy = &self.config.network;
        let mut current = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            let client = match hop == 0 || policy.trusts(&current) {
                true => trusting,
                false => strict,
            };
            let mut request = client.get(current.clone());
            if let Some(etag) = &validators.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                request = request.header(IF_MODIFIED_SINCE, lm);
            }
            let response = request.send().await.map_err(|e| self.classify(e))?;
            let redirect = matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308);
            let Some(location) = header(response.headers(), LOCATION).filter(|_| redirect) else {
                return Ok(response);
            };
            let next = current
                .join(location.trim())
                .map_err(|e| FetchError::Request(format!("bad redirect to {location:?}: {e}")))?;
            if !matches!(next.scheme(), "http" | "https") {
                let message = format!("redirect to a {} URL refused", next.scheme());
                return Err(FetchError::Request(message));
            }
            if !policy.trusts(&next) && !permits_literal(policy, next.host()) {
                let host = next.host_str().unwrap_or_default();
                return Err(FetchError::Request(format!(
                    "redirect to {host} refused: not a public address (allow_networks opens it)"
                )));
            }
            current = next;
        }
        Err(FetchError::Request("too many redirects".to_string()))
    }

    /// POSTs a form to a URL a feed named (a WebSub hub): through the
    /// strict client unless `trusted` (the operator wrote its origin for
    /// this feed), and only to a permitted literal address. A 307 or 308 is
    /// followed once, under the same policy. Any 2xx is success.
    pub(crate) async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        trusted: bool,
    ) -> Result<(), FetchError> {
        let (trusting, strict) = self.clients()?;
        let policy = &self.config.network;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut target = url.clone();
        for hop in 0..2 {
            if !matches!(target.scheme(), "http" | "https") {
                let message = format!("a {} URL refused", target.scheme());
                return Err(FetchError::Request(message));
            }
            let client = match trusted && hop == 0 {
                true => trusting,
                false if !permits_literal(policy, target.host()) => {
                    let host = target.host_str().unwrap_or_default();
                    return Err(FetchError::Request(format!(
                        "{host} refused: not a public address (allow_networks opens it)"
                    )));
                }
                false => strict,
            };
            let response = client
                .post(target.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.clone())
                .send()
                .await
                .map_err(|e| self.classify(e))?;
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let moved = matches!(status.as_u16(), 307 | 308);
            match header(response.headers(), LOCATION).filter(|_| moved && hop == 0) {
                Some(location) => {
                    target = target.join(location.trim()).map_err(|e| {
                        FetchError::Request(format!("bad redirect to {location:?}: {e}"))
                    })?;
                }
                None => {
                    return Err(FetchError::Status {
                        status: status.as_u16(),
                        retry_after: retry_after(response.headers()),
                    });
                }
            }
        }
        Err(FetchError::Request("too many redirects".to_string()))
    }

    pub(crate) async fn fetch(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<Fetched, FetchError> {
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| FetchError::Request(format!("bad file URL {url}")))?;
            return Ok(Fetched::Body {
                fresh_for: None,
                bytes: self.read_file(&path).await?,
                validators: Validators::default(),
                charset: None,
                location: None,
                advertised: Box::default(),
            });
        }
        let mut response = self.send(url, validators).await?;
        let status = response.status();
        let fresh_for = fresh_for(response.headers());
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified { fresh_for });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                retry_after: retry_after(response.headers()),
            });
        }
        let validators = Validators {
            etag: header(response.headers(), ETAG),
            last_modified: header(response.headers(), LAST_MODIFIED),
        };
        let location = header(response.headers(), CONTENT_LOCATION)
            .and_then(|l| response.url().join(l.trim()).ok());
        let links = response.headers().get_all(reqwest::header::LINK);
        let advertised = Box::new(Advertised::from_link_headers(
            links.iter().filter_map(|v| v.to_str().ok()),
            response.url(),
        ));
        let charset = header(response.headers(), CONTENT_TYPE).and_then(|ct| charset_of(&ct));
        // Read chunk by chunk: the cap applies to the decompressed size, so a
        // small gzip bomb stops at the limit instead of filling memory.
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.classify(e))? {
            if (bytes.len() + chunk.len()) as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            fresh_for,
            bytes,
            validators,
            charset,
            location,
            advertised,
        })
    }

    /// Reads a local file, with the same size cap as HTTP bodies.
    pub(crate) async fn read_file(&self, path: &std::path::Path) -> Result<Vec<u8>, FetchError> {
        let file_error = |source| FetchError::File {
            path: path.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(file_error)?;
        let mut bytes = Vec::new();
        file.take(self.max_body + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(file_error)?;
        if bytes.len() as u64 > self.max_body {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        Ok(bytes)
    }

    fn classify(&self, err: reqwest::Error) -> FetchError {
        if err.is_timeout() {
            FetchError::Timeout(self.timeout)
        } else {
            FetchError::Request(error_chain(&err.without_url()))
        }
    }
}

/// How long a reply says it stays fresh: `Cache-Control: max-age` (none
/// with `no-cache` or `no-store`), else `Expires` less now.
fn fresh_for(headers: &HeaderMap) -> Option<Duration> {
    if let Some(control) = header(headers, reqwest::header::CACHE_CONTROL) {
        let mut max_age = None;
        for directive in control.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            if directive == "no-cache" || directive == "no-store" {
                return None;
            }
            if let Some(secs) = directive.strip_prefix("max-age=") {
                max_age = secs.trim_matches('"').parse().ok().map(Duration::from_secs);
            }
        }
        if max_age.is_some() {
            return max_age;
        }
    }
    let expires = header(headers, reqwest::header::EXPIRES)?;
    let when = chrono::DateTime::parse_from_rfc2822(expires.trim()).ok()?;
    (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

fn header(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn freshness_comes_from_max_age_else_expires() {
        let secs = |h: &[(&str, &str)]| fresh_for(&headers(h)).map(|d| d.as_secs());
        assert_eq!(
            secs(&[("cache-control", "public, max-age=1800")]),
            Some(1800)
        );
        assert_eq!(secs(&[("cache-control", "no-cache, max-age=600")]), None);
        let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc2822();
        let expires = secs(&[("expires", &in_an_hour)]).unwrap();
        assert!((3590..=3600).contains(&expires), "{expires}");
        // max-age wins over Expires; a date in the past is no freshness.
        assert_eq!(
            secs(&[("cache-control", "max-age=60"), ("expires", &in_an_hour)]),
            Some(60)
        );
        assert_eq!(secs(&[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")]), None);
        assert_eq!(secs(&[]), None);
    }
}
