//! `newswatch feeds`: every feed with its health, and the feed list in and
//! out of OPML (`feeds import`, `feeds export`), the format every feed
//! reader exports.

use crate::config::Config;
use crate::config::opml::{opml_names, read_opml, write_opml};
use crate::http::redact;
use crate::ingest::health::is_quiet;
use crate::ingest::websub::lease_state;
use crate::model::diagnostic::{SourceFile, utf8_text};
use crate::model::subscription::Subscription;
use crate::store::FeedState;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// One feed's health, as `newswatch feeds --format json` prints it.
#[derive(Debug, Serialize)]
pub struct FeedHealth {
    pub name: String,
    pub url: String,
    /// `ok`, `quiet` (it answers, but has had no new entry for several of
    /// its usual gaps), `failing` (it worked before), `never succeeded` (it
    /// has only failed) or `not polled yet`.
    pub state: &'static str,
    /// The first failure of the current run of failures.
    pub failing_since: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_success: Option<DateTime<Utc>>,
    pub last_new_entry: Option<DateTime<Utc>>,
    pub next_poll: Option<DateTime<Utc>>,
    pub entries_seen: u64,
    /// The feed's WebSub subscription, if its feed names a hub.
    pub push: Option<Push>,
}

/// A WebSub subscription as `newswatch feeds` shows it.
#[derive(Debug, Serialize)]
pub struct Push {
    pub hub: String,
    /// `requested`, `active`, `lapsed` (active, but the lease has run
    /// out), `denied` or `unsubscribing`.
    pub state: &'static str,
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last request failed, or why the hub denied it.
    pub error: Option<String>,
}

impl Push {
    fn new(s: &Subscription) -> Push {
        Push {
            hub: s.hub.to_string(),
            state: lease_state(s, Utc::now()),
            lease_until: s.lease_until,
            error: s.last_error.clone(),
        }
    }
}

impl FeedHealth {
    fn new(name: &str, url: &str, state: Option<&FeedState>, entries_seen: u64) -> FeedHealth {
        let default = FeedState::default();
        let s = state.unwrap_or(&default);
        let quiet = is_quiet(s.last_new_entry_at, s.entry_gap, Utc::now());
        let label = match (
            state,
            s.failing_since,
            s.last_success_at.is_some() || s.polled_ok,
        ) {
            (None, ..) => "not polled yet",
            (Some(_), Some(_), true) => "failing",
            (Some(_), Some(_), false) => "never succeeded",
            (Some(_), None, _) if quiet => "quiet",
            (Some(_), None, _) => "ok",
        };
        FeedHealth {
            name: name.to_string(),
            url: url.to_string(),
            state: label,
            failing_since: s.failing_since,
            consecutive_failures: s.error_count,
            last_error: s.last_error.clone(),
            last_attempt: s.last_attempt_at,
            last_success: s.last_success_at,
            last_new_entry: s.last_new_entry_at,
            next_poll: s.next_poll_at,
            entries_seen,
            push: None,
        }
    }

    /// One line for a person: the state first, then what explains it.
    fn line(&self) -> String {
        let time = |t: Option<DateTime<Utc>>| {
            t.map_or("never".to_string(), |t| {
                t.format("%Y-%m-%d %H:%M UTC").to_string()
            })
        };
        let mut line = format!("{:<24} {:<15}", self.name, self.state);
        if let Some(since) = self.failing_since {
            let failures = match self.consecutive_failures {
                1 => "1 failure".to_string(),
                n => format!("{n} failures"),
            };
            line.push_str(&format!(
                " since {} ({failures}): {}",
                time(Some(since)),
                self.last_error.as_deref().unwrap_or("")
            ));
        }
        line.push_str(&format!(
            "  last success {}, last new entry {}, next poll {}, {} entries seen  {}",
            time(self.last_success),
            time(self.last_new_entry),
            time(self.next_poll),
            self.entries_seen,
            self.url
        ));
        if let Some(push) = &self.push {
            line.push_str(&format!("  push {} via {}", push.state, push.hub));
            if let Some(until) = push.lease_until {
                line.push_str(&format!(" until {}", time(Some(until))));
            }
            if let Some(error) = &push.error {
                line.push_str(&format!(": {error}"));
            }
        }
        line
    }
}

/// Every configured feed with its health from the store, in config order:
/// a line each for a person, or (`json`) a JSON object each.
pub async fn list(config: &Config, json: bool) -> Result<ExitCode> {
    let store = crate::store::open(&config.store)
        .await
        .with_context(|| format!("cannot open store {}", config.store))?;
    let states: HashMap<String, (FeedState, u64)> = store
        .feed_states()
        .await?
        .into_iter()
        .map(|(name, state, seen)| (name, (state, seen)))
        .collect();
    let pushes: HashMap<String, Subscription> = store
        .subscriptions()
        .await?
        .into_iter()
        .map(|s| (s.feed.clone(), s))
        .collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for feed in &config.feeds {
        let (state, seen) = match states.get(&feed.name) {
            Some((state, seen)) => (Some(state), *seen),
            None => (None, 0),
        };
        // As in the logs: credentials and query values (tokens) hidden.
        let url = redact(&feed.url);
        let mut health = FeedHealth::new(&feed.name, &url, state, seen);
        health.push = pushes.get(&feed.name).map(Push::new);
        match json {
            false => writeln!(out, "{}", health.line())?,
            true => writeln!(out, "{}", serde_json::to_string(&health)?)?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `[[feed]]` blocks of an OPML file, as TOML for a config, with each
/// URL once (a repeat is reported on stderr, with where it is).
pub fn import(path: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = utf8_text(path, bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = SourceFile::new(path, &text);
    let outlines = match read_opml(&text) {
        Ok(outlines) => outlines,
        Err(e) => {
            eprintln!("{}", source.error_in(&(e.at..e.at + 1), e.message));
            return Ok(ExitCode::FAILURE);
        }
    };
    #[derive(Serialize)]
    struct Feeds {
        feed: Vec<Feed>,
    }
    #[derive(Serialize)]
    struct Feed {
        name: String,
        url: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tags: Vec<String>,
    }
    let mut urls = HashSet::new();
    let mut kept = Vec::new();
    for outline in outlines {
        if !urls.insert(outline.url.clone()) {
            let message = format!("{} is listed already; left out", outline.url);
            eprintln!("warning: {}", source.error_in(&outline.span, message));
            continue;
        }
        kept.push(outline);
    }
    let titles: Vec<(&str, &str)> = kept
        .iter()
        .map(|o| (o.title.as_str(), o.url.as_str()))
        .collect();
    let names = opml_names(&titles, &mut HashSet::new());
    let feeds: Vec<Feed> = kept
        .into_iter()
        .zip(names)
        .map(|(outline, name)| Feed {
            name,
            url: outline.url,
            tags: outline.tags,
        })
        .collect();
    let count = feeds.len();
    print!("{}", toml::to_string(&Feeds { feed: feeds })?);
    eprintln!("{count} feeds from {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// The config's feeds (its `[[feed]]` blocks and OPML files) as OPML 2.0.
pub fn export(config: &Config) {
    print!("{}", write_opml(&config.feeds));
}
