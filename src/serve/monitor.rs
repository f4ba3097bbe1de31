//! The monitoring listener (`[metrics] listen`): `/metrics` for Prometheus
//! (OpenMetrics text), `/healthz` (is the daemon doing its work?) and
//! `/readyz` (has it started?). Bound once, at start, like the WebSub one.

use crate::metrics::{MetricsConfig, metrics};
use crate::store::Store;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the running config says about health.
#[derive(Debug, Clone)]
pub(crate) struct Checks {
    pub config: MetricsConfig,
    /// Feeds configured (none: no feed can have worked).
    pub feeds: usize,
}

#[derive(Clone)]
struct Monitor {
    store: Arc<dyn Store>,
    started: DateTime<Utc>,
    current: watch::Receiver<Option<Checks>>,
    /// The last write probe: when, and its error (probes are fsynced
    /// writes; anyone who reaches the listener may ask for /healthz).
    probed: Arc<tokio::sync::Mutex<Option<Probe>>>,
}

/// When the store was last probed, and why it could not be written.
type Probe = (std::time::Instant, Option<String>);

/// How long a write probe's result stands.
const PROBE_FOR: Duration = Duration::from_secs(30);

impl Monitor {
    /// Why the store cannot be written, if it cannot (probed at most every
    /// [`PROBE_FOR`]).
    async fn probe_write(&self) -> Option<String> {
        let mut probed = self.probed.lock().await;
        if let Some((at, error)) = probed.as_ref()
            && at.elapsed() < PROBE_FOR
        {
            return error.clone();
        }
        let error = self.store.probe_write().await.err().map(|e| e.to_string());
        *probed = Some((std::time::Instant::now(), error.clone()));
        error
    }
}

/// Serves monitoring on `listener` until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    store: Arc<dyn Store>,
    current: watch::Receiver<Option<Checks>>,
    stop: CancellationToken,
) {
    let monitor = Monitor {
        store,
        started: Utc::now(),
        current,
        probed: Arc::default(),
    };
    let app = Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(monitor);
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::error!(%error, "The monitoring listener stopped");
    }
}

/// Every metric, with the store's figures read now.
async fn scrape(State(monitor): State<Monitor>) -> impl IntoResponse {
    let m = metrics();
    match monitor.store.health().await {
        Ok(health) => {
            let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            m.feeds_failing.set(gauge(health.feeds_failing));
            m.outbox_pending.set(gauge(health.outbox.pending));
            m.outbox_dead.set(gauge(health.outbox.dead));
            let age = health.oldest_pending.map_or(0.0, |t| {
                (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
            });
            m.outbox_oldest_seconds.set(age);
        }
        Err(error) => tracing::warn!(%error, "Cannot read the store for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.encode(),
    )
}

/// 200 `ok`, or 503 with a line for each problem: a loop that stopped
/// making progress, a store that cannot be written, no feed that has
/// worked for `no_success_after`.
async fn healthz(State(monitor): State<Monitor>) -> (StatusCode, String) {
    let Some(checks) = monitor.current.borrow().clone() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not started\n".into());
    };
    let now = Utc::now();
    let mut problems = Vec::new();
    for (who, late) in metrics().overdue() {
        problems.push(format!(
            "{who} has not made the progress it promised for {}",
            humantime::format_duration(Duration::from_secs(late.as_secs()))
        ));
    }
    if let Some(error) = monitor.probe_write().await {
        problems.push(format!("the store cannot be written: {error}"));
    }
    if checks.feeds > 0 {
        let last = match monitor.store.health().await {
            Ok(health) => health.last_success,
            Err(error) => {
                problems.push(format!("the store cannot be read: {error}"));
                None
            }
        };
        // Counted from the start at the earliest: a fresh daemon is given time.
        let since = last.unwrap_or(monitor.started).max(monitor.started);
        let without = (now - since).to_std().unwrap_or_default();
        if without > checks.config.no_success_after {
            let last = last.map_or("never".to_string(), |t| t.to_rfc3339());
            problems.push(format!(
                "no feed has worked for {} (last success: {last})",
                humantime::format_duration(Duration::from_secs(without.as_secs()))
            ));
        }
    }
    match problems.is_empty() {
        true => (StatusCode::OK, "ok\n".into()),
        false => (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n") + "\n"),
    }
}

/// 200 once the config is loaded and the daemon runs.
async fn readyz(State(monitor): State<Monitor>) -> (StatusCode, &'static str) {
    match monitor.current.borrow().is_some() {
        true => (StatusCode::OK, "ready\n"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
    }
}
