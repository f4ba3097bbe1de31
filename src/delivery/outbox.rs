//! Outbox workers: one per destination, so a slow or failing destination
//! never delays another. Each takes its due alerts from the store, decides
//! when they go out (now, or in a digest after a schedule or quiet hours),
//! hands them to its deliverer at its own concurrency and rate, and records
//! the result. An alert leaves the outbox only after the destination
//! accepted it.

use crate::delivery::clock::Clock;
use crate::delivery::deliver::{Deliverer, DeliveryError};
use crate::delivery::destination::DestinationConfig;
use crate::delivery::timing::{DigestSchedule, QuietHours};
use crate::metrics::{DeliveryLabels, metrics};
use crate::model::alert::{Digest, Notice};
use crate::store::{Leases, QueuedAlert, Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::StreamExt;
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 200;
/// The longest a worker sleeps without looking at the store again (so an
/// `outbox retry` from the command line is picked up within a minute).
const IDLE: Duration = Duration::from_secs(60);
/// The longest a worker waits between looks at a store instances share.
const SHARED_IDLE: Duration = Duration::from_secs(2);
/// The longest a send (or a digest's) is expected to take: a destination's
/// `timeout` is 30 s by default; past this it has hung.
const SEND_AT_MOST: Duration = Duration::from_secs(300);
/// How long a send in flight may still take once shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// A server asking for more than this in `Retry-After` gets this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// When failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure; doubles per failure.
    pub initial: Duration,
    pub max: Duration,
    /// A temporary failure that lasts this long becomes a dead letter.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(30),
            max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
    /// Alerts set aside for a later digest.
    pub held: usize,
}

impl DeliveryReport {
    fn add(&mut self, other: DeliveryReport) {
        self.delivered += other.delivered;
        self.retrying += other.retrying;
        self.dead += other.dead;
        self.held += other.held;
    }
}

/// One destination with its deliverer and its sending limits.
pub struct Destination {
    pub name: String,
    deliverer: Deliverer,
    timezone: TimeZone,
    quiet_hours: Option<QuietHours>,
    concurrency: usize,
    min_interval: Option<Duration>,
    /// When the next send may start (rate limit).
    next_send: Mutex<Instant>,
    /// Set by HTTP 410; cleared by building the outbox again (reload, restart).
    disabled: AtomicBool,
}

impl Destination {
    pub fn new(name: &str, config: &DestinationConfig) -> Result<Destination, String> {
        Ok(Destination {
            name: name.to_string(),
            deliverer: Deliverer::build(config)?,
            timezone: config.timezone.clone(),
            quiet_hours: config.quiet_hours,
            concurrency: config.concurrency.max(1),
            min_interval: config.min_interval,
            next_send: Mutex::new(Instant::now()),
            disabled: AtomicBool::new(false),
        })
    }

    /// This destination's worker, as `/healthz` names it.
    fn progress_name(&self) -> String {
        format!("the outbox worker for {}", self.name)
    }

    fn disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    /// Waits for this destination's rate limit to allow one more send.
    async fn pace(&self) {
        let Some(interval) = self.min_interval else {
            return;
        };
        let start = {
            let mut next = self.next_send.lock().unwrap_or_else(|p| p.into_inner());
            let start = (*next).max(Instant::now());
            *next = start + interval;
            start
        };
        // A rate limit's wait is progress as promised, however long.
        let wait = start.saturating_duration_since(Instant::now());
        metrics().expect(&self.progress_name(), wait + SEND_AT_MOST);
        tokio::time::sleep_until(start).await;
    }
}

/// When a due alert goes out.
enum When {
    Now,
    /// With the other alerts of this digest, now.
    Batch(String),
    /// In the digest of this key, at this time.
    Later(String, DateTime<Utc>),
}

/// One send: an alert, or the alerts of one digest.
enum Job {
    One(Box<QueuedAlert>),
    Batch(Vec<QueuedAlert>),
}

pub struct Outbox {
    pub store: Arc<dyn Store>,
    pub destinations: BTreeMap<String, Arc<Destination>>,
    pub retry: RetryPolicy,
    /// Rules delivered in digests, by rule name.
    pub digests: HashMap<String, DigestSchedule>,
    pub clock: Clock,
    /// Destinations' leases, when instances share the store.
    leases: Option<Arc<Leases>>,
}

impl Outbox {
    /// The outbox for `destinations`; `digests` are the rules delivered in
    /// digests, by rule name.
    pub fn new(
        store: Arc<dyn Store>,
        configured: &BTreeMap<String, DestinationConfig>,
        retry: RetryPolicy,
        digests: HashMap<String, DigestSchedule>,
        clock: Clock,
    ) -> Result<Outbox, String> {
        let mut destinations = BTreeMap::new();
        for (name, dest) in configured {
            let built =
                Destination::new(name, dest).map_err(|e| format!("destination {name:?}: {e}"))?;
            destinations.insert(name.clone(), Arc::new(built));
        }
        Ok(Outbox {
            store,
            destinations,
            retry,
            digests,
            clock,
            leases: None,
        })
    }

    /// With a store several instances share: a destination's alerts are
    /// sent by the instance holding its lease (so one at a time: its rate
    /// limit and digests hold across instances).
    pub fn with_leases(mut self, leases: Option<Arc<Leases>>) -> Outbox {
        self.leases = leases;
        self
    }

    /// Attempts every due alert of every destination once (destinations in
    /// parallel); stops early, between sends, when `shutdown` fires.
    pub async fn deliver_due(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<DeliveryReport, StoreError> {
        let passes = self
            .destinations
            .values()
            .map(|dest| self.pass_if_leased(dest, shutdown));
        let mut report = DeliveryReport::default();
        for result in futures_util::future::join_all(passes).await {
            report.add(result?.0);
        }
        Ok(report)
    }

    /// A pass over a destination's due alerts if this instance may send
    /// them (with a store it shares, it must hold the destination's lease,
    /// kept while the pass runs); else when the other holder's lease runs
    /// out.
    async fn pass_if_leased(
        &self,
        dest: &Destination,
        shutdown: &CancellationToken,
    ) -> Result<(DeliveryReport, Option<DateTime<Utc>>), StoreError> {
        let Some(leases) = &self.leases else {
            return Ok((self.pass(dest, shutdown).await?, None));
        };
        let name = format!("destination:{}", dest.name);
        if let Some(until) = leases.take(&name, Utc::now() + leases.term()).await? {
            return Ok((DeliveryReport::default(), Some(until)));
        }
        match leases.hold(&name, self.pass(dest, shutdown)).await {
            Some(report) => Ok((report?, None)),
            // Lost mid-pass: what was sent is recorded; the rest is the
            // new holder's.
            None => Ok((DeliveryReport::default(), Some(Utc::now() + leases.term()))),
        }
    }

    /// One pass over a destination's due alerts; each is tried at most once.
    async fn pass(
        &self,
        dest: &Destination,
        shutdown: &CancellationToken,
    ) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let started = self.clock.now();
        // A retry due again within the same pass waits for the next pass.
        let mut tried = HashSet::new();
        loop {
            if shutdown.is_cancelled() || dest.disabled() {
                return Ok(report);
            }
            let due = self.store.due_alerts(&dest.name, started, BATCH).await?;
            let fresh: Vec<QueuedAlert> = due
                .into_iter()
                .filter(|q| tried.insert(q.alert.id.clone()))
                .collect();
            if fresh.is_empty() {
                return Ok(report);
            }
            let now = self.clock.now();
            let mut jobs = Vec::new();
            let mut batches: BTreeMap<String, Vec<QueuedAlert>> = BTreeMap::new();
            for queued in fresh {
                match self.when(dest, &queued, now) {
                    When::Now => jobs.push(Job::One(Box::new(queued))),
                    When::Batch(key) => batches.entry(key).or_default().push(queued),
                    When::Later(key, at) => {
                        self.store.defer(&queued.alert.id, &key, at).await?;
                        tracing::debug!(alert = %queued.alert.id, destination = %dest.name, at = %at, "Alert held for a digest");
                        report.held += 1;
                    }
                }
            }
            // A digest goes out whole: its alerts past this page of due
            // alerts join it now rather than make a second digest.
            for (key, mut alerts) in batches {
                for queued in self.store.batch_alerts(&dest.name, &key, started).await? {
                    if tried.insert(queued.alert.id.clone()) {
                        alerts.push(queued);
                    }
                }
                jobs.push(Job::Batch(alerts));
            }
            let results: Vec<_> = futures_util::stream::iter(jobs)
                .map(|job| self.send(dest, job, shutdown))
                .buffer_unordered(dest.concurrency)
                .collect()
                .await;
            for result in results {
                report.add(result?);
            }
        }
    }

    /// A digest rule's alerts wait for its next slot; any alert that would go
    /// out during the destination's quiet hours waits for their end. Both
    /// then go out as one digest.
    fn when(&self, dest: &Destination, queued: &QueuedAlert, now: DateTime<Utc>) -> When {
        let tz = &dest.timezone;
        if let Some(batch) = &queued.batch {
            // A digest retried into quiet hours waits for their end too.
            let release = dest.quiet_hours.map_or(now, |q| q.release(now, tz));
            return if release > now {
                When::Later(release.to_rfc3339_opts(SecondsFormat::Secs, true), release)
            } else {
                When::Batch(batch.clone())
            };
        }
        let release = |at: DateTime<Utc>| dest.quiet_hours.map_or(at, |q| q.release(at, tz));
        let key = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        match self.digests.get(&queued.alert.rule) {
            // A digest alert belongs to its slot (moved past quiet hours),
            // even when the slot has passed: all of the slot's alerts go
            // out together.
            Some(schedule) => {
                let at = release(schedule.next_slot(queued.alert.created_at, tz));
                if at > now {
                    When::Later(key(at), at)
                } else {
                    When::Batch(key(at))
                }
            }
            None => {
                let at = release(now);
                if at > now {
                    When::Later(key(at), at)
                } else {
                    When::Now
                }
            }
        }
    }

    async fn send(
        &self,
        dest: &Destination,
        job: Job,
        shutdown: &CancellationToken,
    ) -> Result<DeliveryReport, StoreError> {
        // Waiting for the rate limit ends at shutdown: nothing is in flight yet.
        tokio::select! {
            _ = dest.pace() => {}
            _ = shutdown.cancelled() => return Ok(DeliveryReport::default()),
        }
        if shutdown.is_cancelled() || dest.disabled() {
            return Ok(DeliveryReport::default());
        }
        match job {
            Job::One(queued) => {
                let result = within_grace(
                    dest.deliverer.deliver(Notice::Alert(&queued.alert)),
                    shutdown,
                )
                .await;
                if result.is_ok() {
                    let a = &queued.alert;
                    tracing::info!(alert = %a.id, destination = %dest.name, rule = %a.rule, "Alert delivered");
                }
                self.record(dest, std::slice::from_ref(&*queued), result)
                    .await
            }
            Job::Batch(queued) => {
                let digest =
                    Digest::new(&dest.name, queued.iter().map(|q| q.alert.clone()).collect());
                let result =
                    within_grace(dest.deliverer.deliver(Notice::Digest(&digest)), shutdown).await;
                if result.is_ok() {
                    tracing::info!(digest = %digest.id, destination = %dest.name, alerts = queued.len(), "Digest delivered");
                }
                self.record(dest, &queued, result).await
            }
        }
    }

    /// Stores the outcome of one send for each alert it carried. The alerts
    /// of a digest share one retry time, so a retried digest goes out whole,
    /// with the same id.
    async fn record(
        &self,
        dest: &Destination,
        queued: &[QueuedAlert],
        result: Result<(), DeliveryError>,
    ) -> Result<DeliveryReport, StoreError> {
        let report = self.record_outcome(dest, queued, result).await?;
        metrics().expect(&dest.progress_name(), SEND_AT_MOST);
        for (outcome, alerts) in [
            ("delivered", report.delivered),
            ("retry", report.retrying),
            ("dead", report.dead),
        ] {
            if alerts > 0 {
                let labels = DeliveryLabels {
                    destination: dest.name.clone(),
                    outcome,
                };
                metrics()
                    .deliveries
                    .get_or_create(&labels)
                    .inc_by(alerts as u64);
            }
        }
        Ok(report)
    }

    async fn record_outcome(
        &self,
        dest: &Destination,
        queued: &[QueuedAlert],
        result: Result<(), DeliveryError>,
    ) -> Result<DeliveryReport, StoreError> {
        let mut report = DeliveryReport::default();
        let now = self.clock.now();
        let attempt = queued.iter().map(|q| q.attempts).max().unwrap_or(0) + 1;
        let since = queued.iter().map(waiting_since).min().unwrap_or(now);
        let ids: Vec<String> = queued.iter().map(|q| q.alert.id.clone()).collect();
        let (error, retry_in) = match &result {
            Ok(()) => {
                self.store.mark_delivered(&ids).await?;
                report.delivered = queued.len();
                return Ok(report);
            }
            Err(DeliveryError::Gone(error)) => {
                if !dest.disabled.swap(true, Ordering::Relaxed) {
                    tracing::error!(destination = %dest.name, %error, "Destination disabled: the endpoint is gone (HTTP 410); its alerts wait until the config is fixed and reloaded");
                }
                (
                    format!("{error}; destination disabled until reload"),
                    retry_delay(&self.retry, attempt),
                )
            }
            Err(DeliveryError::Temporary {
                message,
                retry_after,
            }) if !self.given_up(since, now) => {
                let delay = match retry_after {
                    Some(wait) => (*wait).min(MAX_RETRY_AFTER),
                    None => retry_delay(&self.retry, attempt),
                };
                tracing::warn!(
                    alerts = %ids.join(","),
                    destination = %dest.name,
                    error = %message,
                    attempt,
                    retry_in = %humantime::format_duration(delay),
                    "Alert delivery failed"
                );
                (message.clone(), delay)
            }
            Err(error) => {
                for id in &ids {
                    tracing::error!(alert = %id, destination = %dest.name, %error, "Alert is a dead letter");
                }
                self.store.mark_dead(&ids, &error.to_string()).await?;
                report.dead = queued.len();
                return Ok(report);
            }
        };
        let at = now + chrono::Duration::from_std(retry_in).unwrap_or_default();
        self.store.mark_retry(&ids, &error, at).await?;
        report.retrying = queued.len();
        Ok(report)
    }

    fn given_up(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - since).to_std().unwrap_or_default() >= self.retry.give_up_after
    }

    /// Runs one worker per destination until `shutdown`. A worker wakes when
    /// `wake` changes (new alerts were queued) or its next alert falls due;
    /// on shutdown, sends in flight finish and no new one starts.
    pub(crate) async fn run(
        self: Arc<Self>,
        wake: watch::Receiver<()>,
        shutdown: CancellationToken,
    ) {
        let workers = self.destinations.values().map(|dest| {
            let (outbox, dest, wake, shutdown) =
                (self.clone(), dest.clone(), wake.clone(), shutdown.clone());
            async move { outbox.work(&dest, wake, shutdown).await }
        });
        futures_util::future::join_all(workers).await;
    }

    async fn work(
        &self,
        dest: &Destination,
        mut wake: watch::Receiver<()>,
        shutdown: CancellationToken,
    ) {
        let name = dest.progress_name();
        let stop = |outcome| {
            metrics().retire(&name);
            outcome
        };
        loop {
            // Back within the longest wait below, or after a send.
            metrics().expect(&name, IDLE + SEND_AT_MOST);
            if dest.disabled() {
                // Gone (HTTP 410): nothing to do until a reload builds it
                // anew; idle by design, not hung.
                tokio::select! {
                    _ = shutdown.cancelled() => return stop(()),
                    _ = tokio::time::sleep(IDLE) => continue,
                }
            }
            let held_elsewhere = match self.pass_if_leased(dest, &shutdown).await {
                Ok((_, held)) => held,
                Err(error) => {
                    tracing::error!(destination = %dest.name, %error, "Outbox pass failed");
                    None
                }
            };
            let next = match held_elsewhere {
                Some(until) => self.clock.until(until).max(Duration::from_secs(1)),
                None => match self.store.next_alert_due(&dest.name).await {
                    Ok(Some(at)) => self.clock.until(at).max(Duration::from_secs(1)),
                    Ok(None) => IDLE,
                    Err(error) => {
                        tracing::error!(destination = %dest.name, %error, "Cannot read outbox");
                        Duration::from_secs(30)
                    }
                },
            };
            // Other instances queue alerts without waking this worker: it
            // looks again soon (and keeps its lease).
            let next = match self.leases {
                Some(_) => next.min(SHARED_IDLE),
                None => next,
            };
            tokio::select! {
                _ = shutdown.cancelled() => return stop(()),
                _ = async {
                    if wake.changed().await.is_err() {
                        // Nobody can wake us any more: wait for the timer.
                        std::future::pending::<()>().await;
                    }
                } => {}
                _ = tokio::time::sleep(next.min(IDLE)) => {}
            }
        }
    }
}

/// Lets a send finish after shutdown is asked for, up to a grace period;
/// one that takes longer is abandoned and stays queued (a redelivery carries
/// the same id, so the receiver can tell).
async fn within_grace(
    send: impl Future<Output = Result<(), DeliveryError>>,
    shutdown: &CancellationToken,
) -> Result<(), DeliveryError> {
    tokio::select! {
        result = send => result,
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => Err(DeliveryError::temporary("interrupted by shutdown; it will be sent again")),
    }
}

/// Where an alert's give-up clock starts: when it was raised, or for an
/// alert that waited for a digest or quiet hours, when that wait ended.
fn waiting_since(queued: &QueuedAlert) -> DateTime<Utc> {
    queued
        .batch
        .as_deref()
        .and_then(|b| DateTime::parse_from_rfc3339(b).ok())
        .map_or(queued.alert.created_at, |t| t.with_timezone(&Utc))
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
