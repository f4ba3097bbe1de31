//! The scheduler: when each feed is polled. Feeds are polled when due, a few
//! at a time; the next due time comes from the poll itself (its interval with
//! jitter, or a backoff after failures).

use chrono::{DateTime, Utc};
use sd_notify::NotifyState;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use url::Url;

/// What to do with the entries a feed already has on its first successful poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstPoll {
    /// Mark them seen without alerting.
    Quiet,
    /// Match and alert on them like new entries.
    Alert,
}

/// A feed as configured: where it is, how it is tagged, how often to poll it.
#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub name: String,
    pub url: Url,
    pub tags: Vec<String>,
    pub interval: Duration,
    pub first_poll: FirstPoll,
}

/// Polls each feed when it is due, at most `concurrency` at a time, until
/// `stop`. A feed is first due at its entry of `first_due` (now if `None`);
/// `poll` polls one feed and says when it is next due.
pub(crate) async fn run<P, F>(
    feeds: Vec<FeedConfig>,
    first_due: Vec<Option<DateTime<Utc>>>,
    concurrency: usize,
    poll: P,
    stop: CancellationToken,
) where
    P: Fn(FeedConfig) -> F,
    F: Future<Output = DateTime<Utc>> + Send + 'static,
{
    let mut due: HashMap<usize, Instant> = (0..feeds.len())
        .map(|i| {
            let at = first_due.get(i).copied().flatten();
            (i, at.map_or_else(Instant::now, instant_at))
        })
        .collect();
    let semaphore = Arc::new(Semaphore::new(concurrency));
    // systemd's watchdog is fed from this loop, so a stuck scheduler gets restarted.
    let mut watchdog = sd_notify::watchdog_enabled().map(|period| {
        let mut ticker = tokio::time::interval(period / 2);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        ticker
    });
    let mut running = JoinSet::new();
    // Which feed each poll task is for, so even a panicked poll is rescheduled.
    let mut task_feed = HashMap::new();
    loop {
        let now = Instant::now();
        let ready: Vec<usize> = due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(i, _)| *i)
            .collect();
        for i in ready {
            due.remove(&i);
            let (polled, semaphore, stop) =
                (poll(feeds[i].clone()), semaphore.clone(), stop.clone());
            let handle = running.spawn(async move {
                // Polls still waiting for a fetch slot give way to shutdown or
                // reload; polls already running finish (they commit atomically).
                let _permit = tokio::select! {
                    permit = semaphore.acquire_owned() => permit,
                    _ = stop.cancelled() => return None,
                };
                Some(polled.await)
            });
            task_feed.insert(handle.id(), i);
        }
        let next_due = due
            .values()
            .min()
            .copied()
            .unwrap_or(now + Duration::from_secs(3600));
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(done) = running.join_next_with_id() => match done {
                Ok((id, next)) => {
                    if let (Some(i), Some(next)) = (task_feed.remove(&id), next) {
                        due.insert(i, instant_at(next));
                    }
                }
                Err(error) => {
                    tracing::error!(feed = ?task_feed.get(&error.id()).map(|&i| &feeds[i].name), %error, "Feed poll task failed");
                    if let Some(i) = task_feed.remove(&error.id()) {
                        due.insert(i, Instant::now() + feeds[i].interval);
                    }
                }
            },
            _ = tokio::time::sleep_until(next_due) => {}
            _ = tick(&mut watchdog) => {
                if let Err(error) = sd_notify::notify(&[NotifyState::Watchdog]) {
                    tracing::warn!(%error, "Cannot notify systemd");
                }
            }
        }
    }
    // Let polls in flight finish: their results are committed atomically.
    while running.join_next().await.is_some() {}
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn instant_at(at: DateTime<Utc>) -> Instant {
    Instant::now() + (at - Utc::now()).to_std().unwrap_or_default()
}

/// The poll interval ±10%, so feeds added together do not stay in lockstep.
pub(crate) fn jittered(interval: Duration) -> chrono::Duration {
    let factor = 0.9 + fastrand::f64() * 0.2;
    chrono::Duration::from_std(interval.mul_f64(factor)).unwrap_or(chrono::Duration::days(365))
}

/// Delay after the n-th consecutive failure: the interval, doubling per
/// failure, capped at `max` (but never below the interval). A failing feed is
/// never dropped.
pub(crate) fn backoff(interval: Duration, failures: u32, max: Duration) -> chrono::Duration {
    let exp = failures.saturating_sub(1).min(20);
    let delay = interval.saturating_mul(1 << exp).min(max.max(interval));
    chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::days(365))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let min = |m: u64| Duration::from_secs(60 * m);
        let cap = min(60);
        let got: Vec<i64> = (1..=6)
            .map(|n| backoff(min(10), n, cap).num_minutes())
            .collect();
        assert_eq!(got, [10, 20, 40, 60, 60, 60]);
        // An interval longer than the cap is kept as is.
        assert_eq!(backoff(min(120), 3, cap).num_minutes(), 120);
    }
}
