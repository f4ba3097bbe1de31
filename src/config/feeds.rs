//! `[defaults]` and `[[feed]]`: the feed list, and how feeds are fetched.

use super::opml::{opml_names, read_opml};
use super::raw::{RawDefaults, RawFeed};
use super::sources::Sources;
use super::values::{duration, first_poll};
use crate::ingest::fetch::FetchConfig;
use crate::ingest::network::{NetworkPolicy, origin};
use crate::ingest::schedule::{FeedConfig, FirstPoll, Limits};
use crate::model::diagnostic::{Diagnostic, SourceFile, utf8_text};
use ipnet::IpNet;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// What a feed gets when it does not say (`[defaults]`).
#[derive(Debug, Clone)]
pub(super) struct FeedDefaults {
    pub(super) interval: Duration,
    pub(super) first_poll: FirstPoll,
}

/// How many polls run at once, in all and per host (`[defaults]`).
pub(super) fn build_limits(
    source: &SourceFile,
    raw: &RawDefaults,
    errors: &mut Vec<Diagnostic>,
) -> Limits {
    let defaults = Limits::default();
    let mut count = |value: &Option<toml::Spanned<i64>>, default: usize| match value {
        Some(v) if (1..=100_000).contains(v.get_ref()) => *v.get_ref() as usize,
        Some(v) => {
            errors.push(source.error_in(&v.span(), "must be between 1 and 100000"));
            default
        }
        None => default,
    };
    Limits {
        concurrency: count(&raw.max_concurrent_polls, defaults.concurrency),
        per_host: count(&raw.polls_per_host, defaults.per_host),
    }
}

/// The feeds' defaults, how feeds are fetched, and the longest backoff.
pub(super) fn build_defaults(
    source: &SourceFile,
    raw: RawDefaults,
    errors: &mut Vec<Diagnostic>,
) -> (FeedDefaults, FetchConfig, Duration) {
    let fetch = FetchConfig::default();
    let feeds = FeedDefaults {
        interval: duration(source, raw.interval.as_ref(), errors)
            .unwrap_or(Duration::from_secs(15 * 60)),
        first_poll: first_poll(source, raw.first_poll.as_ref(), errors).unwrap_or(FirstPoll::Quiet),
    };
    let fetch = FetchConfig {
        timeout: duration(source, raw.timeout.as_ref(), errors).unwrap_or(fetch.timeout),
        max_body_bytes: raw.max_body_bytes.unwrap_or(fetch.max_body_bytes),
        user_agent: raw.user_agent.unwrap_or(fetch.user_agent),
        network: NetworkPolicy {
            allow: networks(source, &raw.allow_networks, errors),
            deny: networks(source, &raw.deny_networks, errors),
            allow_all: raw.allow_private_redirects.unwrap_or(false),
            // The feeds' own origins are added once the feeds are known.
            trusted_origins: Default::default(),
        },
    };
    let max_backoff =
        duration(source, raw.max_backoff.as_ref(), errors).unwrap_or(Duration::from_secs(6 * 3600));
    (feeds, fetch, max_backoff)
}

/// CIDR networks (`10.0.0.0/8`, `::1/128`), or a single address.
fn networks(
    source: &SourceFile,
    written: &[toml::Spanned<String>],
    errors: &mut Vec<Diagnostic>,
) -> Vec<IpNet> {
    let mut nets = Vec::new();
    for text in written {
        let value = text.get_ref().trim();
        match value.parse::<IpNet>() {
            Ok(net) => nets.push(net),
            Err(_) => match value.parse::<std::net::IpAddr>() {
                Ok(ip) => nets.push(IpNet::from(ip)),
                Err(_) => errors.push(source.error_in(
                    &text.span(),
                    format!("{value:?} is not a network (CIDR, as \"10.0.0.0/8\" or \"::1/128\")"),
                )),
            },
        }
    }
    nets
}

/// The origins of the feeds the config lists: the operator wrote them, so
/// they may be anywhere.
pub(super) fn trusted_origins(feeds: &[FeedConfig]) -> HashSet<String> {
    feeds.iter().map(|f| origin(&f.url)).collect()
}

pub(super) fn build_feeds(
    source: &SourceFile,
    base: &Path,
    raw: Vec<RawFeed>,
    defaults: &FeedDefaults,
    errors: &mut Vec<Diagnostic>,
) -> Vec<FeedConfig> {
    let mut names = HashSet::new();
    let mut feeds = Vec::new();
    for f in raw {
        let name = f.name.get_ref().trim().to_string();
        if name.is_empty() {
            errors.push(source.error_in(&f.name.span(), "feed name is empty"));
        } else if !names.insert(name.clone()) {
            errors.push(source.error_in(&f.name.span(), format!("duplicate feed name {name:?}")));
        }
        let url = feed_url(base, f.url.get_ref())
            .map_err(|msg| errors.push(source.error_in(&f.url.span(), msg)))
            .ok();
        let interval = duration(source, f.interval.as_ref(), errors).unwrap_or(defaults.interval);
        let first_poll =
            first_poll(source, f.first_poll.as_ref(), errors).unwrap_or(defaults.first_poll);
        if let Some(url) = url {
            feeds.push(FeedConfig {
                name,
                url,
                tags: f.tags,
                interval,
                first_poll,
            });
        }
    }
    feeds
}

/// Adds the feeds of the config's OPML files (`opml`, paths relative to
/// the config's directory) to `feeds`. A feed whose URL is already listed
/// (by a `[[feed]]` or an earlier outline) is left out with a warning, as
/// is one whose URL is not a feed's; a name already taken gets " (2)", " (3)" …
/// Returns the warnings.
pub(super) fn add_opml_feeds(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
    paths: &[toml::Spanned<String>],
    defaults: &FeedDefaults,
    feeds: &mut Vec<FeedConfig>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let mut warnings = Vec::new();
    // Where each URL was first listed: "file:line:col", or the config's [[feed]].
    let mut listed: HashMap<String, String> = feeds
        .iter()
        .map(|f| (f.url.to_string(), format!("[[feed]] {:?}", f.name)))
        .collect();
    let mut names: HashSet<String> = feeds.iter().map(|f| f.name.clone()).collect();
    for written in paths {
        let path = base.join(written.get_ref());
        let text = match files.read(&path) {
            Ok(bytes) => match utf8_text(&path, bytes) {
                Ok(text) => text,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            },
            Err(e) => {
                let message = format!("cannot read OPML file {}: {e}", path.display());
                errors.push(source.error_in(&written.span(), message));
                continue;
            }
        };
        let opml = SourceFile::new(&path, &text);
        let outlines = match read_opml(&text) {
            Ok(outlines) => outlines,
            Err(e) => {
                errors.push(opml.error_in(&(e.at..e.at + 1), e.message));
                continue;
            }
        };
        let folder = path.parent().unwrap_or(base);
        let mut kept = Vec::new();
        for outline in outlines {
            let at = |message: String| opml.error_in(&outline.span, message);
            let url = match feed_url(folder, &outline.url) {
                Ok(url) => url,
                Err(message) => {
                    warnings.push(at(format!("left out: {message}")));
                    continue;
                }
            };
            if let Some(first) = listed.get(url.as_str()) {
                warnings.push(at(format!("{url} is listed already ({first}); left out")));
                continue;
            }
            let here = at(String::new());
            let (line, col) = here.position.unwrap_or((0, 0));
            listed.insert(url.to_string(), format!("{}:{line}:{col}", path.display()));
            kept.push((outline, url));
        }
        let titles: Vec<(&str, &str)> = kept
            .iter()
            .map(|(o, url)| (o.title.as_str(), url.as_str()))
            .collect();
        let feed_names = opml_names(&titles, &mut names);
        for ((outline, url), name) in kept.into_iter().zip(feed_names) {
            feeds.push(FeedConfig {
                name,
                url,
                tags: outline.tags,
                interval: defaults.interval,
                first_poll: defaults.first_poll,
            });
        }
    }
    warnings
}

/// http(s) URLs as written; `file://` URLs relative to the config directory.
pub(super) fn feed_url(base: &Path, text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("invalid feed URL {text:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        "file" => {
            // `file://feeds/x.xml` is read as a path relative to the config file.
            let rest = text.trim().trim_start_matches("file://");
            let path = if rest.starts_with('/') {
                PathBuf::from(rest)
            } else {
                std::path::absolute(base.join(rest))
                    .map_err(|e| format!("bad path {rest:?}: {e}"))?
            };
            Url::from_file_path(&path).map_err(|()| format!("bad file path {rest:?}"))
        }
        other => Err(format!(
            "unsupported URL scheme {other:?} in {text:?} (use http, https or file)"
        )),
    }
}
