//! What the daemon did since it started, for Prometheus (`/metrics`, in
//! the OpenMetrics text format), and the progress its loops promise, which
//! `/healthz` and systemd's watchdog check. One
//! set per process: the stages record into it wherever the work happens.
//!
//! Feed and rule names are labels, but only the first [`LABELS_MAX`] of
//! each get their own series; the rest are counted as `_other`, so a
//! million rules cannot make a million series.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{LazyLock, Mutex};

/// `[metrics]`: where `/metrics`, `/healthz` and `/readyz` are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub listen: std::net::SocketAddr,
    /// `/healthz` fails once no feed has worked for this long.
    pub no_success_after: std::time::Duration,
}

/// The most feed (and rule) names that get series of their own.
pub(crate) const LABELS_MAX: usize = 500;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PollLabels {
    pub feed: String,
    /// `new`, `unchanged`, `not_modified` or `error`.
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RuleLabels {
    pub rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DestinationLabels {
    pub destination: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DeliveryLabels {
    pub destination: String,
    /// `delivered`, `retry` or `dead`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PushLabels {
    /// `accepted` or `ignored`.
    pub result: &'static str,
}

/// How late a loop may be on the progress it promised before it counts as
/// hung (`/healthz` fails, systemd's watchdog is no longer fed).
pub(crate) const GRACE: std::time::Duration = std::time::Duration::from_secs(60);

pub(crate) struct Metrics {
    registry: Registry,
    pub polls: Family<PollLabels, Counter>,
    pub fetch_seconds: Histogram,
    pub articles: Counter,
    pub match_seconds: Histogram,
    pub ingest_seconds: Histogram,
    pub matches: Family<RuleLabels, Counter>,
    pub alerts: Family<DestinationLabels, Counter>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    pub pushes: Family<PushLabels, Counter>,
    pub rules: Gauge,
    pub feeds: Gauge,
    /// Read from the store when scraped.
    pub feeds_failing: Gauge,
    pub outbox_pending: Gauge,
    pub outbox_dead: Gauge,
    pub outbox_oldest_seconds: Gauge<f64, AtomicU64>,
    feed_names: Bounded,
    rule_names: Bounded,
    /// By when each running loop (the scheduler, each destination's outbox
    /// worker) said it would next make progress.
    progress: Mutex<HashMap<String, std::time::Instant>>,
}

/// The process's metrics.
pub(crate) fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("newswatch");
        let m = Metrics {
            polls: Family::default(),
            fetch_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 13)),
            articles: Counter::default(),
            match_seconds: Histogram::new(exponential_buckets(1e-6, 4.0, 10)),
            ingest_seconds: Histogram::new(exponential_buckets(1e-4, 2.0, 14)),
            matches: Family::default(),
            alerts: Family::default(),
            deliveries: Family::default(),
            pushes: Family::default(),
            rules: Gauge::default(),
            feeds: Gauge::default(),
            feeds_failing: Gauge::default(),
            outbox_pending: Gauge::default(),
            outbox_dead: Gauge::default(),
            outbox_oldest_seconds: Gauge::default(),
            feed_names: Bounded::default(),
            rule_names: Bounded::default(),
            progress: Mutex::default(),
            registry: Registry::default(),
        };
        let build = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        registry.register("build", "The running version", build);
        registry.register(
            "polls",
            "Feed polls by feed and result (new entries, unchanged, not modified, error)",
            m.polls.clone(),
        );
        registry.register(
            "fetch_duration_seconds",
            "Time to fetch a feed's document",
            m.fetch_seconds.clone(),
        );
        registry.register(
            "articles_parsed",
            "Entries read from fetched and pushed documents",
            m.articles.clone(),
        );
        registry.register(
            "match_duration_seconds",
            "Time to match one new article against every rule",
            m.match_seconds.clone(),
        );
        registry.register(
            "ingest_duration_seconds",
            "From a fetched document received to its alerts committed (parse, match, store)",
            m.ingest_seconds.clone(),
        );
        registry.register("matches", "Articles matched, by rule", m.matches.clone());
        registry.register(
            "alerts_queued",
            "Alerts made for new matching entries and put in the outbox, by destination",
            m.alerts.clone(),
        );
        registry.register(
            "deliveries",
            "Delivery attempts by destination and outcome (delivered, retry, dead)",
            m.deliveries.clone(),
        );
        registry.register(
            "websub_pushes",
            "Documents pushed by WebSub hubs (accepted, or ignored: unsigned or unreadable)",
            m.pushes.clone(),
        );
        registry.register("rules", "Rules loaded", m.rules.clone());
        registry.register("feeds", "Feeds configured", m.feeds.clone());
        registry.register(
            "feeds_failing",
            "Feeds whose last poll failed",
            m.feeds_failing.clone(),
        );
        registry.register(
            "outbox_pending",
            "Alerts waiting in the outbox",
            m.outbox_pending.clone(),
        );
        registry.register(
            "outbox_dead",
            "Dead letters (alerts given up on, kept until dropped or retried)",
            m.outbox_dead.clone(),
        );
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest alert waiting in the outbox (0 when none waits)",
            m.outbox_oldest_seconds.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The label for feed `name` (or `_other`, past the limit).
    pub(crate) fn feed(&self, name: &str) -> String {
        self.feed_names.label(name)
    }

    /// The label for rule `name` (or `_other`, past the limit).
    pub(crate) fn rule(&self, name: &str) -> String {
        self.rule_names.label(name)
    }

    /// `who` will make progress again within `within` (a loop about to
    /// wait, sleep or send says for how long at most).
    pub(crate) fn expect(&self, who: &str, within: std::time::Duration) {
        let deadline = std::time::Instant::now() + within + GRACE;
        let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        match progress.get_mut(who) {
            Some(at) => *at = deadline,
            None => {
                progress.insert(who.to_string(), deadline);
            }
        }
    }

    /// `who` has stopped (shutdown, reload): nothing is expected of it.
    pub(crate) fn retire(&self, who: &str) {
        let mut progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        progress.remove(who);
    }

    /// The loops past the progress they promised, and by how much.
    pub(crate) fn overdue(&self) -> Vec<(String, std::time::Duration)> {
        let now = std::time::Instant::now();
        let progress = self.progress.lock().unwrap_or_else(|p| p.into_inner());
        let mut late: Vec<_> = progress
            .iter()
            .filter(|(_, at)| **at < now)
            .map(|(who, at)| (who.clone(), now - *at + GRACE))
            .collect();
        late.sort();
        late
    }

    /// The OpenMetrics text of every metric.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Label values admitted up to [`LABELS_MAX`]; later ones become `_other`.
#[derive(Default)]
struct Bounded(Mutex<HashSet<String>>);

impl Bounded {
    fn label(&self, value: &str) -> String {
        let mut admitted = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if admitted.contains(value) || admitted.len() < LABELS_MAX && admitted.insert(value.into())
        {
            value.to_string()
        } else {
            "_other".to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_past_the_limit_share_one_label() {
        let bounded = Bounded::default();
        for i in 0..LABELS_MAX {
            assert_eq!(bounded.label(&format!("f{i}")), format!("f{i}"));
        }
        assert_eq!(bounded.label("one too many"), "_other");
        assert_eq!(bounded.label("f0"), "f0");
    }
}
