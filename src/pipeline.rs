//! One poll of one feed through every stage: fetch → parse → dedup → match →
//! store (seen keys and alerts in one transaction). Each outcome is logged
//! here, once.

use crate::http::redact;
use crate::ingest::feed::{self, ParseError, panic_message};
use crate::ingest::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::ingest::health::{Failing, HealthConfig, is_quiet};
use crate::ingest::schedule::{FeedConfig, FirstPoll, adaptive_interval, backoff, jittered};
use crate::ingest::websub::Subscriber;
use crate::matching::{FeedRef, RuleSet};
use crate::metrics::{DestinationLabels, PollLabels, RuleLabels, metrics};
use crate::model::alert::{Alert, AlertArticle, alert_id};
use crate::model::article::Article;
use crate::model::story::{AlertStory, StoryMode};
use crate::store::{Entries, FeedState, Known, Leases, PollCommit, Said, Store, StoreError};
use crate::stories::Stories;
use crate::stories::revision::{fingerprint, lead};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub(crate) enum PollError {
    #[error("fetch failed: {0}")]
    Fetch(#[from] FetchError),
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("store error: {0}")]
    Store(#[from] StoreError),
    /// A panic anywhere in the poll: this feed's failure, with backoff.
    #[error("the poll failed unexpectedly ({0}); this is a bug, please report it")]
    Panicked(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PollReport {
    pub not_modified: bool,
    pub entries: usize,
    pub new_entries: usize,
    pub alerts_queued: usize,
    /// First successful poll with `first_poll = "quiet"`: entries marked seen only.
    pub quiet: bool,
    /// The document was malformed; its complete entries were recovered.
    pub malformed: bool,
    /// The feed had been failing since then, and its "feed failing" notice
    /// was sent: it is owed a "feed recovered" one.
    pub recovered_from: Option<DateTime<Utc>>,
    /// When the feed is next polled, as recorded.
    pub next_poll_at: Option<DateTime<Utc>>,
    /// From the body received to its alerts committed: parse, match, store.
    pub ingest: Duration,
}

pub(crate) struct Pipeline {
    pub fetcher: Fetcher,
    pub store: Arc<dyn Store>,
    pub rules: Arc<RuleSet>,
    /// The longest a failing feed waits between polls.
    pub max_backoff: Duration,
    /// Who hears about failing feeds, and after how long.
    pub health: HealthConfig,
    /// The longest a feed that publishes seldom waits between polls.
    pub max_interval: Duration,
    /// Subscribes feeds that name a WebSub hub (`[websub]`, the daemon only).
    pub websub: Option<Arc<Subscriber>>,
    /// The stories of the window, shared by all polls.
    pub stories: Arc<Stories>,
    /// Feeds' leases, when instances share the store: a feed is polled by
    /// the instance that holds its lease.
    pub leases: Option<Arc<Leases>>,
    /// When the stories were last brought up to what other instances placed.
    pub stories_synced_at: tokio::sync::Mutex<Option<std::time::Instant>>,
}

impl Pipeline {
    /// Polls `feed` as [`Pipeline::poll_and_record`] does, if this instance
    /// may (with a store it shares, it must hold the feed's lease, and the
    /// feed must be due: another instance may have polled it); returns when
    /// to look at the feed again.
    pub(crate) async fn poll_if_leased(&self, feed: &FeedConfig) -> DateTime<Utc> {
        let Some(leases) = &self.leases else {
            return self.poll_and_record(feed, None).await.1;
        };
        let name = format!("feed:{}", feed.name);
        let now = Utc::now();
        let taken_until = now + leases.term();
        match leases.take(&name, taken_until).await {
            Ok(None) => {}
            // Another instance's: looked at again when its lease runs out
            // (it keeps it while it polls the feed).
            Ok(Some(until)) => return until.max(now) + chrono::Duration::milliseconds(100),
            Err(error) => {
                tracing::error!(feed = %feed.name, %error, "Cannot take the feed's lease");
                return now + leases.term();
            }
        }
        // Polled meanwhile by the instance that held it: due when it said.
        // (The state read is the poll's: read once.)
        let state = self.store.feed_state(&feed.name).await;
        if let Ok(Some(state)) = &state
            && let Some(next) = state.next_poll_at.filter(|&next| next > now)
        {
            self.keep_lease(leases, &name, next).await;
            return next;
        }
        let state = state.ok().map(Option::unwrap_or_default);
        let next = match leases.hold(&name, self.poll_and_record(feed, state)).await {
            Some((_, next)) => next,
            None => return now + leases.term(),
        };
        // Polled again within the lease taken (an interval shorter than a
        // term): it is kept by taking it then.
        if next > taken_until {
            self.keep_lease(leases, &name, next).await;
        }
        next
    }

    /// Keeps a feed's lease until it is next due, and at least a term: this
    /// instance polls it then, unless it has stopped, when another takes
    /// it over (at its due time, or a term after this instance's last poll,
    /// whichever is later).
    async fn keep_lease(&self, leases: &Leases, name: &str, next: DateTime<Utc>) {
        let until = next.max(Utc::now() + leases.term());
        if let Err(error) = leases.take(name, until).await {
            tracing::warn!(lease = name, %error, "Cannot keep the feed's lease");
        }
    }

    /// Polls `feed` (its `state`, if just read; else read here), records
    /// the outcome (including failures, with backoff) and returns when the
    /// feed should next be polled.
    pub(crate) async fn poll_and_record(
        &self,
        feed: &FeedConfig,
        state: Option<FeedState>,
    ) -> (Result<PollReport, PollError>, DateTime<Utc>) {
        // A panic (a bug, or a dependency meeting input it cannot take) is
        // this feed's failed poll: backed off like any other, and the other
        // feeds' polls and deliveries go on.
        let poll = self.poll(feed, state);
        let result = match AssertUnwindSafe(poll).catch_unwind().await {
            Ok(result) => result,
            Err(payload) => Err(PollError::Panicked(panic_message(payload.as_ref()))),
        };
        if let Ok(report) = &result {
            self.recovered(feed, report.recovered_from).await;
        }
        let outcome = match &result {
            Ok(report) if report.not_modified => "not_modified",
            Ok(report) if report.new_entries > 0 => "new",
            Ok(_) => "unchanged",
            Err(_) => "error",
        };
        let labels = PollLabels {
            feed: metrics().feed(&feed.name),
            result: outcome,
        };
        metrics().polls.get_or_create(&labels).inc();
        let next_ok = match &result {
            Ok(report) => report.next_poll_at,
            Err(_) => None,
        }
        .unwrap_or_else(|| Utc::now() + jittered(feed.interval));
        match &result {
            Ok(report) if report.not_modified => {
                tracing::info!(feed = %feed.name, "Feed not modified");
                (result, next_ok)
            }
            Ok(report) => {
                tracing::info!(
                    feed = %feed.name,
                    entries = report.entries,
                    new = report.new_entries,
                    alerts = report.alerts_queued,
                    quiet_first_poll = report.quiet,
                    ingest_us = report.ingest.as_micros() as u64,
                    "Feed fetched"
                );
                (result, next_ok)
            }
            Err(error) => {
                let before = self.store.feed_state(&feed.name).await.ok().flatten();
                let errors = before.as_ref().map_or(0, |s| s.error_count) + 1;
                let message = error.to_string();
                // Said once per change: a feed that stays broken the same way
                // is not re-announced on every retry.
                let repeated = before.as_ref().is_some_and(|s| {
                    s.error_count > 0 && s.last_error.as_deref() == Some(&message)
                });
                let mut delay = backoff(feed.interval, errors, self.max_backoff);
                if let PollError::Fetch(fetch) = error {
                    let asked = fetch
                        .retry_after()
                        .unwrap_or_default()
                        .min(self.max_backoff);
                    delay = delay.max(chrono::Duration::from_std(asked).unwrap_or_default());
                }
                let next = Utc::now() + delay;
                if let Err(store_error) =
                    self.store.record_failure(&feed.name, &message, next).await
                {
                    tracing::error!(feed = %feed.name, error = %store_error, "Cannot record feed failure");
                }
                self.notice_failing(feed, errors, &message).await;
                let retry_in = humantime::format_duration(Duration::from_secs(
                    delay.num_seconds().max(0) as u64,
                ));
                if repeated {
                    tracing::debug!(feed = %feed.name, %error, consecutive_failures = errors, %retry_in, "Feed still failing");
                } else {
                    tracing::warn!(
                        feed = %feed.name,
                        url = %redact(&feed.url),
                        %error,
                        consecutive_failures = errors,
                        %retry_in,
                        "Feed failed"
                    );
                }
                (result, next)
            }
        }
    }

    /// Queues the one "feed failing" notice of a failing run once it has
    /// lasted `failing_after` (read after this failure was recorded).
    async fn notice_failing(&self, feed: &FeedConfig, failures: u32, error: &str) {
        if self.health.notify.is_empty() {
            return;
        }
        let Ok(Some(state)) = self.store.feed_state(&feed.name).await else {
            return;
        };
        let now = Utc::now();
        let Some(since) = state.failing_since else {
            return;
        };
        if state.failing_noticed_since == Some(since) || !self.health.failing_is_due(since, now) {
            return;
        }
        let failing = Failing {
            since,
            failures,
            error,
            last_success: state.last_success_at,
        };
        let notices = self.health.failing(feed, &failing, now);
        self.queue_notices(feed, notices, Said::Failing(since))
            .await;
    }

    /// Queues health notices with what they said, and logs it (a notice that
    /// cannot be queued is retried at the next poll: the flag is not set).
    async fn queue_notices(&self, feed: &FeedConfig, notices: Vec<Alert>, said: Said) {
        match self.store.queue_notices(&feed.name, notices, said).await {
            Ok(queued) => {
                tracing::warn!(feed = %feed.name, notices = queued, ?said, "Feed health notice queued")
            }
            Err(e) => {
                tracing::error!(feed = %feed.name, error = %e, ?said, "Cannot queue feed health notice")
            }
        }
    }

    /// Queues the "feed recovered" notice owed since a "feed failing" one.
    async fn recovered(&self, feed: &FeedConfig, failing_since: Option<DateTime<Utc>>) {
        let Some(since) = failing_since else {
            return;
        };
        let notices = self.health.recovered(feed, since, Utc::now());
        self.queue_notices(feed, notices, Said::Recovered).await;
    }

    /// When to poll `feed` next, after a poll that worked: its interval, or
    /// half its usual gap between new entries where that is longer (up to
    /// `max_interval`), and never sooner than the server said the document
    /// stays fresh (`fresh_for`: max-age, Expires, RSS ttl; up to the same cap).
    /// A feed whose hub pushes its entries (WebSub) is polled at
    /// `max_interval`, in case a push is lost.
    async fn next_poll(
        &self,
        feed: &FeedConfig,
        state: &FeedState,
        fresh_for: Option<Duration>,
    ) -> DateTime<Utc> {
        let mut interval =
            adaptive_interval(feed.interval, self.max_interval, state.entry_gap, fresh_for);
        if let Some(websub) = &self.websub
            && websub.is_pushed(&feed.name).await
        {
            interval = interval.max(self.max_interval);
        }
        Utc::now() + jittered(interval)
    }

    /// Queues the one "feed quiet" notice of a feed that still answers but
    /// has had no new entry for several of its usual gaps.
    async fn notice_quiet(&self, feed: &FeedConfig, state: &FeedState) {
        let now = Utc::now();
        let (Some(last), Some(gap)) = (state.last_new_entry_at, state.entry_gap) else {
            return;
        };
        if self.health.notify.is_empty()
            || state.quiet_noticed
            || !is_quiet(Some(last), Some(gap), now)
        {
            return;
        }
        let notices = self.health.quiet(feed, last, gap, now);
        self.queue_notices(feed, notices, Said::Quiet).await;
    }

    async fn poll(
        &self,
        feed: &FeedConfig,
        state: Option<FeedState>,
    ) -> Result<PollReport, PollError> {
        let state = match state {
            Some(state) => state,
            None => self.store.feed_state(&feed.name).await?.unwrap_or_default(),
        };
        // Owed until queued: a crash after this poll's commit leaves it owed.
        let recovered_from = state.failing_noticed_since;
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let fetch_started = std::time::Instant::now();
        let fetched = self.fetcher.fetch(&feed.url, &validators).await;
        metrics()
            .fetch_seconds
            .observe(fetch_started.elapsed().as_secs_f64());
        let fetched = fetched?;
        let received = std::time::Instant::now();
        let (bytes, validators, charset, location, fresh_for, advertised) = match fetched {
            Fetched::NotModified { fresh_for } => {
                let next_poll_at = self.next_poll(feed, &state, fresh_for).await;
                self.store
                    .record_not_modified(&feed.name, next_poll_at)
                    .await?;
                self.notice_quiet(feed, &state).await;
                return Ok(PollReport {
                    not_modified: true,
                    recovered_from,
                    next_poll_at: Some(next_poll_at),
                    ..Default::default()
                });
            }
            Fetched::Body {
                fresh_for,
                bytes,
                validators,
                charset,
                location,
                advertised,
            } => (bytes, validators, charset, location, fresh_for, advertised),
        };
        let base = location.as_ref().unwrap_or(&feed.url);
        let parsed = feed::parse_from(&bytes, charset.as_deref(), Some(base))?;
        metrics().articles.inc_by(parsed.articles.len() as u64);
        // Only an entry cut short (a truncated download): a failed poll, so it
        // is retried, and its validators are not stored.
        if let (true, Some(error)) = (parsed.articles.is_empty(), &parsed.malformed) {
            return Err(ParseError::Malformed(error.clone()).into());
        }
        // Said once per change, not on every poll of a feed that stays broken.
        if parsed.malformed != state.malformed {
            match &parsed.malformed {
                Some(error) => {
                    tracing::warn!(feed = %feed.name, %error, recovered = parsed.articles.len(), "Feed malformed; complete entries recovered")
                }
                None => tracing::info!(feed = %feed.name, "Feed well-formed again"),
            }
        }
        let malformed = parsed.malformed;
        if let Some(websub) = &self.websub {
            let advertised = (*advertised).or(parsed.advertised);
            websub.observe(feed, advertised, malformed.is_none()).await;
        }
        let next_poll_at = self
            .next_poll(feed, &state, fresh_for.max(parsed.ttl))
            .await;
        let articles = dedup_in_fetch(parsed.articles);
        let recognised = self.recognise(feed, &state, &articles).await?;
        let report = PollReport {
            not_modified: false,
            entries: articles.len(),
            new_entries: recognised.new,
            alerts_queued: 0,
            quiet: recognised.quiet,
            malformed: malformed.is_some(),
            recovered_from,
            next_poll_at: Some(next_poll_at),
            ingest: Duration::ZERO,
        };
        let entries = recognised.entries;
        let commit = PollCommit {
            etag: validators.etag,
            last_modified: validators.last_modified,
            next_poll_at: Some(next_poll_at),
            seen_keys: entries.seen_keys,
            present_keys: entries.present_keys,
            alerts: entries.alerts,
            malformed,
            fingerprints: entries.fingerprints,
            story_articles: entries.story_articles,
        };
        let nothing_new = commit.seen_keys.is_empty();
        let alerts_queued = self.store.commit_poll(&feed.name, commit).await?;
        let ingest = received.elapsed();
        metrics().ingest_seconds.observe(ingest.as_secs_f64());
        if nothing_new {
            self.notice_quiet(feed, &state).await;
        }
        Ok(PollReport {
            alerts_queued,
            ingest,
            ..report
        })
    }

    /// Reads a document a WebSub hub pushed for `feed` (`topic` is its
    /// base): its new entries are matched and recorded as a poll's are; the
    /// feed's polling state is left as is. Returns the entries new, and the
    /// alerts queued.
    pub(crate) async fn ingest_push(
        &self,
        feed: &FeedConfig,
        topic: &url::Url,
        bytes: &[u8],
        charset: Option<&str>,
    ) -> Result<(usize, usize), PollError> {
        // As for a poll, a panic is this document's failure, not the listener's.
        AssertUnwindSafe(self.ingest_push_unguarded(feed, topic, bytes, charset))
            .catch_unwind()
            .await
            .unwrap_or_else(|payload| Err(PollError::Panicked(panic_message(payload.as_ref()))))
    }

    async fn ingest_push_unguarded(
        &self,
        feed: &FeedConfig,
        topic: &url::Url,
        bytes: &[u8],
        charset: Option<&str>,
    ) -> Result<(usize, usize), PollError> {
        let state = self.store.feed_state(&feed.name).await?.unwrap_or_default();
        let parsed = feed::parse_from(bytes, charset, Some(topic))?;
        metrics().articles.inc_by(parsed.articles.len() as u64);
        let articles = dedup_in_fetch(parsed.articles);
        let recognised = self.recognise(feed, &state, &articles).await?;
        let queued = self
            .store
            .commit_push(&feed.name, recognised.entries)
            .await?;
        Ok((recognised.new, queued))
    }

    /// With a store instances share: the articles the others placed in
    /// stories since this one last looked, placed here too, so that one
    /// event read by feeds of two instances is one story.
    async fn sync_stories(&self) -> Result<(), StoreError> {
        // At most once a second, whatever the polls: an article the others
        // placed within the last second may start a story of its own here.
        const EVERY: Duration = Duration::from_secs(1);
        if self.leases.is_none() {
            return Ok(());
        }
        let mut last = self.stories_synced_at.lock().await;
        if last.is_some_and(|at| at.elapsed() < EVERY) {
            return Ok(());
        }
        let since = Utc::now() - self.stories.window();
        let read = self
            .store
            .story_articles(since, self.stories.synced())
            .await?;
        self.stories.restore_read(&read);
        *last = Some(std::time::Instant::now());
        Ok(())
    }

    /// What is new in a document, and what to record of it: new entries
    /// are placed in stories and matched (no alerts on a first poll with
    /// `first_poll = "quiet"`); an entry whose id changed but whose text
    /// did not is recorded, not alerted again; an entry edited under its
    /// key is offered to the rules that want its story's updates.
    async fn recognise(
        &self,
        feed: &FeedConfig,
        state: &FeedState,
        articles: &[Article],
    ) -> Result<Recognised, PollError> {
        let prints: Vec<(String, Option<String>)> = articles
            .iter()
            .map(|a| (a.key.clone(), fingerprint(&a.title, lead(a.text()))))
            .collect();
        let known = self.store.recognise(&feed.name, &prints).await?;
        if known.contains(&Known::New) {
            self.sync_stories().await?;
        }
        let quiet = !state.polled_ok && feed.first_poll == FirstPoll::Quiet;
        let now = Utc::now();
        let mut entries = Entries::default();
        let mut new = 0;
        // Oldest first (feeds list newest first): a story's first report is
        // placed first, and its later ones are what is new.
        let mut entries_in_order: Vec<_> =
            articles.iter().zip(prints).zip(known).enumerate().collect();
        entries_in_order.sort_by_key(|(i, ((a, _), _))| (a.published, std::cmp::Reverse(*i)));
        for (_, ((article, (key, print)), known)) in entries_in_order {
            match known {
                Known::New => {
                    new += 1;
                    entries.seen_keys.push(key.clone());
                    let placed = self.stories.place(&feed.name, article, now);
                    if !quiet {
                        self.alerts_for(feed, article, &placed.story, false, &mut entries.alerts);
                    }
                    entries.story_articles.push(placed.record);
                    entries.fingerprints.extend(print.map(|p| (key, p)));
                }
                Known::Renamed { was } => {
                    tracing::info!(feed = %feed.name, key = %key, was = %was, title = %article.title, "Entry changed its id; not alerted again");
                    entries.seen_keys.push(key.clone());
                    entries.fingerprints.extend(print.map(|p| (key, p)));
                }
                Known::Seen { fingerprint, story } => {
                    entries.present_keys.push(key.clone());
                    let Some(print) = print.filter(|p| fingerprint.as_ref() != Some(p)) else {
                        continue;
                    };
                    // Seen before fingerprints were kept: nothing to compare.
                    if let (Some(_), Some((story, before))) = (&fingerprint, story)
                        && let Some(placed) = self
                            .stories
                            .edited(&story, &before, &feed.name, article, now)
                    {
                        tracing::info!(feed = %feed.name, key = %key, title = %article.title, adds = ?placed.story.adds, "Entry edited");
                        if placed.story.adds.is_some() {
                            self.alerts_for(
                                feed,
                                article,
                                &placed.story,
                                true,
                                &mut entries.alerts,
                            );
                        }
                        entries.story_articles.push(placed.record);
                    }
                    entries.fingerprints.push((key, print));
                }
            }
        }
        Ok(Recognised {
            new,
            quiet,
            entries,
        })
    }

    /// The alerts of an article in `story`, one per matching rule and
    /// destination; for an `edit`, only rules that want a story's updates
    /// (its id names the edit, so each edit is its own alert).
    fn alerts_for(
        &self,
        feed: &FeedConfig,
        article: &Article,
        story: &AlertStory,
        edit: bool,
        alerts: &mut Vec<Alert>,
    ) {
        let now = Utc::now();
        let feed_ref = FeedRef {
            name: &feed.name,
            tags: &feed.tags,
        };
        let started = std::time::Instant::now();
        let matched = self.rules.matches(article, Some(feed_ref));
        metrics()
            .match_seconds
            .observe(started.elapsed().as_secs_f64());
        for m in matched {
            if edit && m.rule.story != StoryMode::Updates {
                continue;
            }
            tracing::info!(feed = %feed.name, rule = %m.rule.name, title = %article.title, story = %story.id, "Article matched");
            let rule = metrics().rule(&m.rule.name);
            metrics().matches.get_or_create(&RuleLabels { rule }).inc();
            let key = match (edit, &story.adds) {
                (true, Some(adds)) => format!("{}#{adds}", article.key),
                _ => article.key.clone(),
            };
            for destination in &m.rule.notify {
                let labels = DestinationLabels {
                    destination: destination.clone(),
                };
                metrics().alerts.get_or_create(&labels).inc();
                alerts.push(Alert {
                    id: alert_id(&m.rule.name, &feed.name, &key, destination),
                    rule: m.rule.name.clone(),
                    query: m.rule.query_text.clone(),
                    destination: destination.clone(),
                    feed: feed.name.clone(),
                    article: AlertArticle::from_article(article),
                    excerpts: m.excerpts.to_vec(),
                    created_at: now,
                    story: Some(AlertStory {
                        mode: m.rule.story,
                        ..story.clone()
                    }),
                });
            }
        }
    }
}

/// A document's entries sorted out (see [`Pipeline::recognise`]).
struct Recognised {
    /// Entries not seen before (their ids, that is).
    new: usize,
    /// A quiet first poll: nothing alerted.
    quiet: bool,
    entries: Entries,
}

/// Keeps the first of entries that share a key (feeds do repeat entries).
fn dedup_in_fetch(articles: Vec<Article>) -> Vec<Article> {
    let mut keys = HashSet::new();
    articles
        .into_iter()
        .filter(|a| keys.insert(a.key.clone()))
        .collect()
}
