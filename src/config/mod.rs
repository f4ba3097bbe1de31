//! Configuration: the raw TOML as written (`RawConfig`), validated and built
//! once into [`Config`]. Every error is collected with its file:line:col.

mod destinations;
mod feeds;
pub(crate) mod opml;
mod raw;
mod secrets;
mod sources;
mod store;
mod values;

#[cfg(any(test, feature = "fuzzing"))]
pub use sources::Memory;
pub use sources::{Sources, System};

use crate::delivery::destination::DestinationConfig;
use crate::delivery::outbox::RetryPolicy;
use crate::delivery::timing::DigestSchedule;
use crate::ingest::fetch::FetchConfig;
use crate::ingest::health::{self, HealthConfig};
use crate::ingest::schedule::{FeedConfig, Limits};
use crate::ingest::websub::WebSubConfig;
use crate::matching::RuleSet;
use crate::matching::rules;
use crate::metrics::MetricsConfig;
use crate::model::diagnostic::{Diagnostic, Diagnostics, SourceFile, file_error, utf8_text};
use crate::store::{Location, Retention};
use destinations::build_destination;
use feeds::{add_opml_feeds, build_defaults, build_feeds, build_limits, trusted_origins};
use raw::RawConfig;
use sources::expand_rule_globs;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use store::{RawStore, build_store};
use values::duration;

pub(crate) const DEFAULT_CONFIG_PATH: &str = "/etc/newswatch/newswatch.toml";

/// The validated configuration with rules compiled.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub state_dir: PathBuf,
    /// Where the store is: SQLite in `state_dir`, or PostgreSQL.
    pub store: Location,
    /// How long an instance's lease on a feed or destination lasts without
    /// being taken again (a store several instances share).
    pub store_lease: Duration,
    pub fetch: FetchConfig,
    /// The longest a failing feed waits between polls.
    pub max_backoff: Duration,
    /// How many polls run at once, in all and per host.
    pub limits: Limits,
    /// The longest a feed that publishes seldom waits between polls.
    pub max_interval: Duration,
    pub retry: RetryPolicy,
    pub feeds: Vec<FeedConfig>,
    pub destinations: BTreeMap<String, DestinationConfig>,
    /// Who hears about failing feeds (`[health]`).
    pub health: HealthConfig,
    /// When the feed health notices go out, if in digests.
    pub health_digest: Option<DigestSchedule>,
    /// Where WebSub hubs push new entries (`[websub]`; off if `None`).
    pub websub: Option<WebSubConfig>,
    /// Where monitoring reads metrics and health (`[metrics]`; off if `None`).
    pub metrics: Option<MetricsConfig>,
    /// How long seen keys, delivered alerts and stories are kept
    /// (`[retention]`; `[stories] window`).
    pub retention: Retention,
    /// Shared with the pipeline: a million compiled rules are not copied.
    pub rules: Arc<RuleSet>,
    pub rule_files: Vec<PathBuf>,
    /// Mistakes that leave the config valid but a rule useless (no `notify`,
    /// a feeds pattern that matches no feed, an alias never used), and
    /// outlines of OPML files left out (listed twice, no feed URL).
    pub warnings: Vec<Diagnostic>,
}

impl Config {
    /// The rules delivered in digests, with their schedules, by rule name.
    pub fn digests(&self) -> HashMap<String, DigestSchedule> {
        let mut digests: HashMap<String, DigestSchedule> = self
            .rules
            .rules()
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.digest.clone()?)))
            .collect();
        // Health notices are alerts whose "rule" names their kind.
        if let Some(schedule) = &self.health_digest {
            for kind in health::NOTICES {
                digests.insert(kind.to_string(), schedule.clone());
            }
        }
        digests
    }

    /// Reads and validates the config file and every rule file it names.
    pub(crate) fn load(path: &Path) -> Result<Config, Diagnostics> {
        let bytes = std::fs::read(path)
            .map_err(|e| Diagnostics(vec![file_error(path, format!("cannot read: {e}"))]))?;
        let text = utf8_text(path, bytes).map_err(|e| Diagnostics(vec![e]))?;
        Config::parse(path, &text)
    }

    /// Validates config text; rule files are read relative to `path`'s directory.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
        Config::parse_with(path, text, &System)
    }

    /// [`Config::parse`] reading rule files, secrets and the environment
    /// from `files`.
    pub(crate) fn parse_with(
        path: &Path,
        text: &str,
        files: &dyn Sources,
    ) -> Result<Config, Diagnostics> {
        let source = SourceFile::new(path, text);
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| Diagnostics(vec![source.toml_error(&e, 0)]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut errors = Vec::new();

        let limits = build_limits(&source, &raw.defaults, &mut errors);
        let max_interval = duration(&source, raw.defaults.max_interval.as_ref(), &mut errors)
            .unwrap_or(Duration::from_secs(3600));
        let (feed_defaults, mut fetch, max_backoff) =
            build_defaults(&source, raw.defaults, &mut errors);
        let fallback = RetryPolicy::default();
        let retry = RetryPolicy {
            initial: duration(&source, raw.delivery.retry_initial.as_ref(), &mut errors)
                .unwrap_or(fallback.initial),
            max: duration(&source, raw.delivery.retry_max.as_ref(), &mut errors)
                .unwrap_or(fallback.max),
            give_up_after: duration(&source, raw.delivery.give_up_after.as_ref(), &mut errors)
                .unwrap_or(fallback.give_up_after),
        };
        let state_dir = base.join(raw.state_dir.as_ref().map_or("state", |s| s.get_ref()));
        let store = build_store(
            &source,
            base,
            files,
            &state_dir,
            RawStore {
                url: raw.store.as_ref(),
                password_file: &raw.store_password_file,
                password_env: &raw.store_password_env,
            },
            &mut errors,
        );
        let store_lease = raw.store_lease.as_ref().and_then(|text| {
            let term = duration(&source, Some(text), &mut errors)?;
            if term < Duration::from_secs(2) || term > Duration::from_secs(3600) {
                let message = "store_lease must be between 2 seconds and 1 hour";
                errors.push(source.error_in(&text.span(), message));
            }
            Some(term)
        });
        let mut feeds = build_feeds(&source, base, raw.feed, &feed_defaults, &mut errors);
        let mut warnings = add_opml_feeds(
            &source,
            base,
            files,
            &raw.opml,
            &feed_defaults,
            &mut feeds,
            &mut errors,
        );
        // Rules may name a destination that has errors of its own: report those
        // errors once, not again as "unknown destination" in every rule.
        let declared: HashSet<String> = raw.destination.keys().cloned().collect();
        let mut destinations = BTreeMap::new();
        for (name, raw_dest) in raw.destination {
            if let Some(dest) = build_destination(
                &source,
                base,
                files,
                &state_dir,
                &name,
                raw_dest,
                &mut errors,
            ) {
                destinations.insert(name, dest);
            }
        }

        fetch.network.trusted_origins = trusted_origins(&feeds);
        let health = HealthConfig {
            notify: raw
                .health
                .notify
                .iter()
                .filter(|d| {
                    let known = declared.contains(d.get_ref());
                    if !known {
                        let message =
                            format!("[health] notifies unknown destination {:?}", d.get_ref());
                        errors.push(source.error_in(&d.span(), message));
                    }
                    known
                })
                .map(|d| d.get_ref().clone())
                .collect(),
            failing_after: duration(&source, raw.health.failing_after.as_ref(), &mut errors)
                .unwrap_or(HealthConfig::default().failing_after),
        };

        // As a rule's: `digest = "daily 08:00"` or `every = "6h"`.
        let health_digest = match (&raw.health.digest, &raw.health.every) {
            (Some(_), Some(every)) => {
                let message = "[health] sets either `digest` or `every`, not both";
                errors.push(source.error_in(&every.span(), message));
                None
            }
            (Some(text), None) => Some((text, DigestSchedule::parse_daily(text.get_ref()))),
            (None, Some(text)) => Some((text, DigestSchedule::parse_every(text.get_ref()))),
            (None, None) => None,
        }
        .and_then(|(text, parsed)| {
            parsed
                .map_err(|e| errors.push(source.error_in(&text.span(), e)))
                .ok()
        });

        let websub = raw
            .websub
            .as_ref()
            .and_then(|w| build_websub(&source, w, &mut errors));
        // Subscriptions are kept per instance for now: hubs would be told
        // of one instance's callback while another answered.
        if let (Some(w), Location::Postgres(_)) = (&raw.websub, &store) {
            let message = "[websub] cannot be used with a shared (PostgreSQL) store yet";
            errors.push(source.error_in(&w.listen.span(), message));
        }

        let metrics = raw.metrics.as_ref().and_then(|m| {
            let listen = m
                .listen
                .get_ref()
                .parse()
                .map_err(|e| {
                    let message = format!(
                        "[metrics] listen must be an address and port such as \"127.0.0.1:9187\" ({e})"
                    );
                    errors.push(source.error_in(&m.listen.span(), message));
                })
                .ok()?;
            if websub.as_ref().is_some_and(|w| w.listen == listen) {
                let message = "[metrics] listen must differ from [websub] listen";
                errors.push(source.error_in(&m.listen.span(), message));
            }
            let no_success_after = duration(&source, m.no_success_after.as_ref(), &mut errors)
                .unwrap_or(Duration::from_secs(24 * 3600));
            Some(MetricsConfig {
                listen,
                no_success_after,
            })
        });

        let kept = Retention::default();
        let seen = raw.retention.seen.as_ref().and_then(|text| {
            let window = duration(&source, Some(text), &mut errors)?;
            // A short window would forget what a seldom-polled feed still holds.
            if window < Duration::from_secs(7 * 24 * 3600) {
                let message = "[retention] seen must be at least 7 days";
                errors.push(source.error_in(&text.span(), message));
            }
            Some(window)
        });
        let stories = raw.stories.window.as_ref().and_then(|text| {
            let window = duration(&source, Some(text), &mut errors)?;
            // Longer than seen keys are kept, an old article would start over.
            if window < Duration::from_secs(60) || window > Duration::from_secs(30 * 24 * 3600) {
                let message = "[stories] window must be between 1 minute and 30 days";
                errors.push(source.error_in(&text.span(), message));
            }
            Some(window)
        });
        let retention = Retention {
            seen: seen.unwrap_or(kept.seen),
            delivered: duration(&source, raw.retention.delivered.as_ref(), &mut errors)
                .unwrap_or(kept.delivered),
            stories: stories.unwrap_or(kept.stories),
        };

        let rule_files = expand_rule_globs(&source, base, files, &raw.rules, &mut errors);
        let mut rule_texts = Vec::new();
        for file in &rule_files {
            match files.read(file) {
                Ok(bytes) => match utf8_text(file, bytes) {
                    Ok(text) => rule_texts.push((file.clone(), text)),
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(file_error(file, format!("cannot read rule file: {e}"))),
            }
        }
        let feed_names: Vec<(&str, &[String])> = feeds
            .iter()
            .map(|f| (f.name.as_str(), f.tags.as_slice()))
            .collect();
        let known = rules::Known {
            destinations: &declared,
            feeds: &feed_names,
        };
        let parsed = rules::parse_rule_files(&rule_texts, Some(&known));
        errors.extend(parsed.errors);
        warnings.extend(parsed.warnings);
        let rules = parsed.rules;

        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        Ok(Config {
            path: path.to_path_buf(),
            state_dir,
            store,
            store_lease: store_lease.unwrap_or(Duration::from_secs(60)),
            fetch,
            max_backoff,
            limits,
            max_interval,
            retry,
            feeds,
            destinations,
            health,
            health_digest,
            websub,
            metrics,
            retention,
            rules: Arc::new(RuleSet::new(rules)),
            rule_files,
            warnings,
        })
    }
}

/// `[websub]`: a socket address to listen on, and the public http(s) URL
/// that reaches it.
fn build_websub(
    source: &SourceFile,
    raw: &raw::RawWebSub,
    errors: &mut Vec<Diagnostic>,
) -> Option<WebSubConfig> {
    let listen = raw.listen.get_ref().parse().map_err(|e| {
        let message =
            format!("[websub] listen must be an address and port such as \"127.0.0.1:8095\" ({e})");
        errors.push(source.error_in(&raw.listen.span(), message));
    });
    let public_url = match url::Url::parse(raw.public_url.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.query().is_none() => Ok(url),
        Ok(_) => {
            Err("[websub] public_url must be an http or https URL without a query".to_string())
        }
        Err(e) => Err(format!("[websub] invalid public_url: {e}")),
    }
    .map_err(|message| errors.push(source.error_in(&raw.public_url.span(), message)));
    let lease = duration(source, raw.lease.as_ref(), errors).unwrap_or(DEFAULT_LEASE);
    Some(WebSubConfig {
        listen: listen.ok()?,
        public_url: public_url.ok()?,
        lease,
    })
}

/// The lease asked of hubs unless `[websub] lease` says otherwise (the
/// recommendation's example value; hubs grant what they like).
const DEFAULT_LEASE: Duration = Duration::from_secs(10 * 24 * 3600);

#[cfg(test)]
mod tests;
