//! Outbox worker: takes due alerts from the store, hands each to its
//! destination's deliverer, and records the result. An alert leaves the
//! outbox only after the destination accepted it.

use crate::config::RetryPolicy;
use crate::deliver::{Deliverer, DeliveryError};
use crate::store::{QueuedAlert, Store, StoreError};
use chrono::Utc;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 100;
/// How long an alert for a destination missing from the config waits.
const HOLD_UNKNOWN_DESTINATION: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
}

pub struct Outbox {
    pub store: Arc<dyn Store>,
    pub deliverers: HashMap<String, Deliverer>,
    pub retry: RetryPolicy,
}

impl Outbox {
    /// Attempts every alert that is due now, once each; stops early (between
    /// alerts, never during one) when `shutdown` fires.
    pub async fn deliver_due(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let started = Utc::now();
        // Each alert is tried once per pass: a retry due again within the same
        // second (the store's resolution) waits for the next pass.
        let mut tried = std::collections::HashSet::new();
        loop {
            let due = self.store.due_alerts(started, BATCH).await?;
            let fresh: Vec<QueuedAlert> = due
                .into_iter()
                .filter(|q| !tried.contains(&q.alert.id))
                .collect();
            if fresh.is_empty() {
                return Ok(report);
            }
            for queued in fresh {
                if shutdown.is_cancelled() {
                    return Ok(report);
                }
                tried.insert(queued.alert.id.clone());
                self.deliver_one(queued, &mut report).await?;
            }
        }
    }

    async fn deliver_one(
        &self,
        queued: QueuedAlert,
        report: &mut DeliveryReport,
    ) -> Result<(), StoreError> {
        let alert = &queued.alert;
        let Some(deliverer) = self.deliverers.get(&alert.destination) else {
            // The destination left the config; keep the alert in case it returns.
            let error = format!("destination {:?} is not configured", alert.destination);
            tracing::warn!(alert = %alert.id, %error, "Alert held");
            report.retrying += 1;
            return self
                .store
                .mark_retry(&alert.id, &error, Utc::now() + HOLD_UNKNOWN_DESTINATION)
                .await;
        };
        match deliverer.deliver(alert).await {
            Ok(()) => {
                tracing::info!(alert = %alert.id, destination = %alert.destination, rule = %alert.rule, "Alert delivered");
                report.delivered += 1;
                self.store.mark_delivered(&alert.id).await
            }
            Err(DeliveryError::Temporary(error)) if !self.given_up(alert.created_at) => {
                let delay = retry_delay(&self.retry, queued.attempts + 1);
                tracing::warn!(
                    alert = %alert.id,
                    destination = %alert.destination,
                    %error,
                    attempt = queued.attempts + 1,
                    retry_in = %humantime::format_duration(delay),
                    "Alert delivery failed"
                );
                report.retrying += 1;
                self.store
                    .mark_retry(&alert.id, &error, Utc::now() + delay)
                    .await
            }
            Err(error) => {
                tracing::error!(alert = %alert.id, destination = %alert.destination, %error, "Alert is a dead letter");
                report.dead += 1;
                self.store.mark_dead(&alert.id, &error.to_string()).await
            }
        }
    }

    fn given_up(&self, created_at: chrono::DateTime<Utc>) -> bool {
        (Utc::now() - created_at).to_std().unwrap_or_default() >= self.retry.give_up_after
    }

    /// Delivers due alerts until `shutdown`, waking when `wake` is notified
    /// (new alerts) or when the next retry falls due.
    pub async fn run(&self, wake: Arc<tokio::sync::Notify>, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.deliver_due(&shutdown).await {
                tracing::error!(%error, "Outbox pass failed");
            }
            let next = match self.store.next_alert_due().await {
                Ok(Some(at)) => (at - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .max(Duration::from_secs(1)),
                Ok(None) => Duration::from_secs(300),
                Err(error) => {
                    tracing::error!(%error, "Cannot read outbox");
                    Duration::from_secs(30)
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(next.min(Duration::from_secs(300))) => {}
            }
        }
    }
}

/// The initial delay doubling per attempt up to the maximum, with ±20%
/// jitter so that alerts that failed together do not retry together.
fn retry_delay(policy: &RetryPolicy, attempt: u32) -> Duration {
    let base = policy
        .initial
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(policy.max);
    base.mul_f64(0.8 + fastrand::f64() * 0.4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_grows_and_caps() {
        for (attempt, base) in [(1, 30.0), (2, 60.0), (3, 120.0), (10, 3600.0)] {
            let d = retry_delay(&RetryPolicy::default(), attempt).as_secs_f64();
            assert!(
                (base * 0.8..=base * 1.2).contains(&d),
                "attempt {attempt}: {d}"
            );
        }
    }
}
