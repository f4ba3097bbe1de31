//! The config file as written: plain serde data, every table closed to
//! unknown keys, values kept with their spans for located errors.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) state_dir: Option<Spanned<String>>,
    /// "sqlite" (the default) or a postgres:// URL.
    pub(super) store: Option<Spanned<String>>,
    pub(super) store_password_file: Option<Spanned<String>>,
    pub(super) store_password_env: Option<Spanned<String>>,
    /// How long a lease on a feed or destination lasts (shared stores).
    pub(super) store_lease: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) defaults: RawDefaults,
    #[serde(default)]
    pub(super) delivery: RawDelivery,
    #[serde(default)]
    pub(super) feed: Vec<RawFeed>,
    /// OPML files whose outlines are feeds too (see `opml`).
    #[serde(default)]
    pub(super) opml: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) destination: BTreeMap<String, RawDestination>,
    #[serde(default)]
    pub(super) health: RawHealth,
    pub(super) websub: Option<RawWebSub>,
    pub(super) metrics: Option<RawMetrics>,
    #[serde(default)]
    pub(super) retention: RawRetention,
    #[serde(default)]
    pub(super) stories: RawStories,
}

/// `[stories]`: how long a story stays open to later articles.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStories {
    pub(super) window: Option<Spanned<String>>,
}

/// `[retention]`: how long what is done is kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    pub(super) seen: Option<Spanned<String>>,
    pub(super) delivered: Option<Spanned<String>>,
}

/// `[metrics]`: the monitoring listener.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub(super) listen: Spanned<String>,
    pub(super) no_success_after: Option<Spanned<String>>,
}

/// `[websub]`: the listener hubs push new entries to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebSub {
    pub(super) listen: Spanned<String>,
    pub(super) public_url: Spanned<String>,
    pub(super) lease: Option<Spanned<String>>,
}

/// `[health]`: who hears about failing feeds, and after how long.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    #[serde(default)]
    pub(super) notify: Vec<Spanned<String>>,
    pub(super) failing_after: Option<Spanned<String>>,
    /// `"daily 08:00"`: the notices go out in one message a day.
    pub(super) digest: Option<Spanned<String>>,
    /// `"6h"`: the notices go out in one message every so often.
    pub(super) every: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub(super) interval: Option<Spanned<String>>,
    pub(super) first_poll: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<String>>,
    pub(super) max_backoff: Option<Spanned<String>>,
    pub(super) max_body_bytes: Option<u64>,
    pub(super) user_agent: Option<String>,
    pub(super) allow_private_redirects: Option<bool>,
    pub(super) max_interval: Option<Spanned<String>>,
    pub(super) max_concurrent_polls: Option<Spanned<i64>>,
    pub(super) polls_per_host: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) allow_networks: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) deny_networks: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) retry_initial: Option<Spanned<String>>,
    pub(super) retry_max: Option<Spanned<String>>,
    pub(super) give_up_after: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeed {
    pub(super) name: Spanned<String>,
    pub(super) url: Spanned<String>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) interval: Option<Spanned<String>>,
    pub(super) first_poll: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDestination {
    pub(super) kind: Spanned<String>,
    // email
    pub(super) smtp: Option<Spanned<String>>,
    pub(super) from: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) to: Vec<Spanned<String>>,
    pub(super) username: Option<String>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) password_env: Option<Spanned<String>>,
    pub(super) sendmail_path: Option<String>,
    pub(super) timeout: Option<Spanned<String>>,
    // email and maildir
    pub(super) templates: Option<Spanned<String>>,
    // maildir
    pub(super) path: Option<String>,
    // webhook and chat services
    pub(super) url: Option<Spanned<String>>,
    pub(super) secret_file: Option<Spanned<String>>,
    pub(super) secret_env: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, Spanned<String>>,
    // every kind
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) rate_limit: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) quiet_hours: Option<Spanned<String>>,
}
