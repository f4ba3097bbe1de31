//! The scheduler: when each feed is polled. Feeds are polled when due, a few
//! at a time; the next due time comes from the poll itself (its interval with
//! jitter, or a backoff after failures).

use crate::metrics::metrics;
use chrono::{DateTime, Utc};
use sd_notify::NotifyState;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;
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

/// How many polls run at once: in all, and to any one host (so that a host
/// with 500 feeds is not hammered).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrency: usize,
    pub per_host: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 16,
            per_host: 2,
        }
    }
}

/// The scheduler's name in the progress it promises (`metrics().expect`).
const SCHEDULER: &str = "the scheduler";

/// The longest that the feeds due at start (new, or overdue after
/// downtime) are spread over, so that they are not all polled at once.
const CATCH_UP_WINDOW: Duration = Duration::from_secs(60);
/// The spread per such feed (300 feeds: 0.3 s; 100,000: a minute).
const CATCH_UP_STEP: Duration = Duration::from_millis(1);

/// Polls each feed when it is due, within `limits`, until `stop`. A feed is
/// first due at its entry of `first_due` (now if `None` or past: those are
/// spread over a short window); `poll` polls one feed and says when it is
/// next due. Due times are kept in a heap and polls waiting for their
/// host's turn in a queue per host, so the cost of a poll does not grow with
/// the number of feeds, nor does a waiting poll hold a task.
pub(crate) async fn run<P, F>(
    feeds: Vec<FeedConfig>,
    first_due: Vec<Option<DateTime<Utc>>>,
    limits: Limits,
    poll: P,
    stop: CancellationToken,
) where
    P: Fn(FeedConfig) -> F,
    F: Future<Output = DateTime<Utc>> + Send + 'static,
{
    let start = Instant::now();
    let hosts: Vec<String> = feeds
        .iter()
        .map(|f| f.url.host_str().unwrap_or_default().to_string())
        .collect();
    // When each feed is first due; None: now (new, or overdue after downtime).
    let first: Vec<Option<Instant>> = (0..feeds.len())
        .map(|i| {
            let at = first_due.get(i).copied().flatten();
            // Compared as times of day: a past one is "now" as an Instant.
            at.filter(|&at| at > Utc::now()).map(instant_at)
        })
        .collect();
    let catching_up = first.iter().filter(|at| at.is_none()).count() as u32;
    let step = match catching_up {
        0 => CATCH_UP_STEP,
        n => CATCH_UP_STEP.min(CATCH_UP_WINDOW / n),
    };
    let mut due = BinaryHeap::with_capacity(feeds.len());
    let mut k = 0;
    for (i, at) in first.into_iter().enumerate() {
        let at = at.unwrap_or_else(|| {
            k += 1;
            start + step * (k - 1)
        });
        due.push(Reverse((at, i)));
    }
    let mut busy_hosts: HashMap<&str, usize> = HashMap::new();
    let mut waiting = Waiting::default();
    // systemd's watchdog is fed from this loop, so a stuck scheduler gets restarted.
    let mut watchdog = sd_notify::watchdog_enabled().map(|period| {
        let mut ticker = tokio::time::interval(period / 2);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        ticker
    });
    let mut running = JoinSet::new();
    // Progress, for /healthz: each pass of the loop, and a pass at least
    // every few seconds.
    let mut heartbeat = tokio::time::interval(Duration::from_secs(5));
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Which feed each poll task is for, so even a panicked poll is rescheduled.
    let mut task_feed = HashMap::new();
    loop {
        // It passes every few seconds (the heartbeat tick below).
        metrics().expect(SCHEDULER, Duration::from_secs(10));
        let now = Instant::now();
        while running.len() < limits.concurrency {
            // A feed that waited for its host goes first; then the next due.
            let ready = waiting.next_ready(&busy_hosts, limits.per_host);
            let i = match ready {
                Some(i) => i,
                None => match due.peek() {
                    Some(Reverse((at, _))) if *at <= now => {
                        let Some(Reverse((_, i))) = due.pop() else {
                            break;
                        };
                        let host = hosts[i].as_str();
                        if busy_hosts.get(host).copied().unwrap_or(0) >= limits.per_host {
                            waiting.push(host, i);
                            continue;
                        }
                        i
                    }
                    _ => break,
                },
            };
            *busy_hosts.entry(hosts[i].as_str()).or_default() += 1;
            // Started only when a slot is free; a poll still running at
            // shutdown or reload is dropped (see below).
            let handle = running.spawn(poll(feeds[i].clone()));
            task_feed.insert(handle.id(), i);
        }
        let next_due = match due.peek() {
            Some(Reverse((at, _))) if running.len() < limits.concurrency => *at,
            _ => now + Duration::from_secs(3600),
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            Some(done) = running.join_next_with_id() => {
                let (id, next) = match done {
                    Ok((id, next)) => (id, Some(instant_at(next))),
                    Err(error) => {
                        tracing::error!(feed = ?task_feed.get(&error.id()).map(|&i| &feeds[i].name), %error, "Feed poll task failed");
                        let id = error.id();
                        let again = task_feed.get(&id).map(|&i| Instant::now() + feeds[i].interval);
                        (id, again)
                    }
                };
                if let Some(i) = task_feed.remove(&id) {
                    if let Some(count) = busy_hosts.get_mut(hosts[i].as_str()) {
                        *count = count.saturating_sub(1);
                    }
                    if let Some(next) = next {
                        due.push(Reverse((next, i)));
                    }
                }
            }
            _ = tokio::time::sleep_until(next_due) => {}
            _ = heartbeat.tick() => {}
            _ = tick(&mut watchdog) => {
                // Only while every outbox worker keeps its word too:
                // systemd restarts a daemon whose delivery has hung.
                let late = metrics().overdue();
                if !late.is_empty() {
                    tracing::error!(?late, "Not making the progress promised; not telling systemd all is well");
                } else if let Err(error) = sd_notify::notify(&[NotifyState::Watchdog]) {
                    tracing::warn!(%error, "Cannot notify systemd");
                }
            }
        }
    }
    metrics().retire(SCHEDULER);
    // Polls in flight are dropped, not awaited: a slow feed must not hold
    // up a shutdown until its own timeout. A poll commits in one
    // transaction, which either happened or not: a dropped poll simply did
    // not take place, and is due again at the next start.
    running.abort_all();
    while running.join_next().await.is_some() {}
}

/// Polls waiting for their host's turn: a queue per host, and the hosts
/// in the order they take turns (each goes to the back once served), so no
/// host waits behind another.
#[derive(Default)]
struct Waiting<'a> {
    queues: HashMap<&'a str, VecDeque<usize>>,
    turns: VecDeque<&'a str>,
}

impl<'a> Waiting<'a> {
    fn push(&mut self, host: &'a str, feed: usize) {
        let queue = self.queues.entry(host).or_default();
        if queue.is_empty() {
            self.turns.push_back(host);
        }
        queue.push_back(feed);
    }

    /// The next feed whose host has a free slot now, taking hosts in turn.
    fn next_ready(&mut self, busy: &HashMap<&str, usize>, per_host: usize) -> Option<usize> {
        let at = self
            .turns
            .iter()
            .position(|host| busy.get(host).copied().unwrap_or(0) < per_host)?;
        let host = self.turns.remove(at)?;
        let queue = self.queues.get_mut(host)?;
        let feed = queue.pop_front();
        if queue.is_empty() {
            self.queues.remove(host);
        } else {
            self.turns.push_back(host);
        }
        feed
    }
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

/// How long a feed that worked waits for its next poll: its `interval`,
/// or half its usual gap between new entries where that is longer (a feed
/// that publishes weekly is not polled every 15 minutes), up to `max`; and
/// never less than the server says the document stays fresh (Cache-Control
/// `max-age`, `Expires`, RSS `<ttl>`), up to the same cap. (`max` below the
/// interval is the interval.)
pub(crate) fn adaptive_interval(
    interval: Duration,
    max: Duration,
    entry_gap: Option<Duration>,
    fresh_for: Option<Duration>,
) -> Duration {
    let cap = max.max(interval);
    let learned = entry_gap.map_or(interval, |gap| gap / 2);
    learned
        .clamp(interval, cap)
        .max(fresh_for.unwrap_or_default().min(cap))
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
    use std::sync::{Arc, Mutex};

    fn feed(name: &str, host: &str) -> FeedConfig {
        FeedConfig {
            name: name.to_string(),
            url: Url::parse(&format!("https://{host}/{name}.xml")).unwrap(),
            tags: Vec::new(),
            interval: Duration::from_secs(3600),
            first_poll: FirstPoll::Quiet,
        }
    }

    /// Polls running now and at most, per host and in all.
    #[derive(Default)]
    struct Load {
        now: HashMap<String, usize>,
        most: HashMap<String, usize>,
        total: usize,
        most_total: usize,
        started: Vec<Instant>,
        done: usize,
    }

    /// Runs the scheduler on `feeds` (each poll taking a second, next due
    /// in an hour) until every feed was polled once; what it did.
    async fn polled_once(feeds: Vec<FeedConfig>, limits: Limits) -> Load {
        let count = feeds.len();
        let load = Arc::new(Mutex::new(Load::default()));
        let poll = {
            let load = load.clone();
            move |feed: FeedConfig| {
                let load = load.clone();
                async move {
                    let host = feed.url.host_str().unwrap_or_default().to_string();
                    {
                        let mut l = load.lock().unwrap();
                        let now = l.now.entry(host.clone()).or_default();
                        *now += 1;
                        let now = *now;
                        let most = l.most.entry(host.clone()).or_default();
                        *most = (*most).max(now);
                        l.total += 1;
                        l.most_total = l.most_total.max(l.total);
                        l.started.push(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let mut l = load.lock().unwrap();
                    *l.now.get_mut(&host).unwrap() -= 1;
                    l.total -= 1;
                    l.done += 1;
                    Utc::now() + chrono::Duration::hours(1)
                }
            }
        };
        let stop = CancellationToken::new();
        let scheduler = tokio::spawn(run(feeds, Vec::new(), limits, poll, stop.clone()));
        // The clock is paused: each wait moves it on at once.
        for _ in 0..100_000 {
            if load.lock().unwrap().done == count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.cancel();
        scheduler.await.unwrap();
        Arc::try_unwrap(load).ok().unwrap().into_inner().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn polls_keep_to_the_limits_in_all_and_per_host() {
        let feeds = (0..6)
            .map(|i| feed(&format!("a{i}"), "a.example"))
            .chain((0..4).map(|i| feed(&format!("b{i}"), "b.example")))
            .chain((0..3).map(|i| feed(&format!("c{i}"), &format!("c{i}.example"))))
            .collect();
        let limits = Limits {
            concurrency: 4,
            per_host: 2,
        };
        let load = polled_once(feeds, limits).await;
        assert_eq!(load.done, 13);
        assert_eq!((load.most["a.example"], load.most["b.example"]), (2, 2));
        assert_eq!(load.most_total, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn feeds_due_at_start_are_spread_over_a_window() {
        // After downtime every feed is overdue: 5,000 hosts, no limit met.
        let feeds = (0..5000)
            .map(|i| feed(&format!("f{i}"), &format!("h{i}.example")))
            .collect();
        let limits = Limits {
            concurrency: 5000,
            per_host: 2,
        };
        let load = polled_once(feeds, limits).await;
        let first = *load.started.iter().min().unwrap();
        let last = *load.started.iter().max().unwrap();
        // 1 ms apart: 5 s from the first to the last; with polls of a
        // second, about a thousand at once, not five.
        let spread = last - first;
        assert!(
            spread >= Duration::from_millis(4990) && spread <= Duration::from_millis(5100),
            "{spread:?}"
        );
        assert!(load.most_total <= 1100, "{} at once", load.most_total);
    }

    #[test]
    fn intervals_follow_the_publishing_rhythm_and_the_server_within_bounds() {
        let min = |m: u64| Duration::from_secs(60 * m);
        let (interval, max) = (min(15), min(60));
        assert_eq!(adaptive_interval(interval, max, None, None), min(15));
        // Publishing every 50 minutes: polled every 25; every day: every hour.
        assert_eq!(
            adaptive_interval(interval, max, Some(min(50)), None),
            min(25)
        );
        assert_eq!(
            adaptive_interval(interval, max, Some(min(1440)), None),
            min(60)
        );
        // Publishing every minute: still the configured interval.
        assert_eq!(
            adaptive_interval(interval, max, Some(min(1)), None),
            min(15)
        );
        // The server's freshness is honoured, up to the cap.
        assert_eq!(
            adaptive_interval(interval, max, None, Some(min(30))),
            min(30)
        );
        assert_eq!(
            adaptive_interval(interval, max, None, Some(min(600))),
            min(60)
        );
        assert_eq!(
            adaptive_interval(interval, min(5), None, Some(min(30))),
            min(15)
        );
    }

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
