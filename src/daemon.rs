//! The control loop: builds the runtime pieces from a `Config`, runs the
//! scheduler and the outbox worker, and handles reload and shutdown.

use crate::commands::store_admin;
use crate::config::Config;
use crate::delivery::clock::Clock;
use crate::delivery::outbox::{DeliveryReport, Outbox};
use crate::ingest::fetch::Fetcher;
use crate::ingest::schedule::{self, FeedConfig};
use crate::ingest::websub::{Subscriber, WebSubConfig};
use crate::metrics::{MetricsConfig, metrics};
use crate::pipeline::{Pipeline, PollError};
use crate::serve::monitor::{self, Checks};
use crate::serve::websub::{self as listener, Endpoint};
use crate::store::{self, Leases, Store};
use crate::stories::Stories;
use anyhow::{Context, Result};
use chrono::Utc;
use sd_notify::NotifyState;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;

use tokio_util::sync::CancellationToken;

/// What the daemon is told from outside (signals, tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// Load the config again; keep the old one if the new one is invalid.
    Reload,
    /// Finish in-flight work and stop.
    Shutdown,
}

/// The runtime built from one `Config`.
struct Runtime {
    config: Config,
    pipeline: Arc<Pipeline>,
    outbox: Arc<Outbox>,
}

/// Builds the runtime; WebSub subscriptions are made only where hubs can
/// reach us (`listening`: the daemon, not `once`).
fn build(
    config: Config,
    store: Arc<dyn Store>,
    stories: Arc<Stories>,
    listening: bool,
) -> Result<Runtime> {
    let leases = Leases::new(&store, config.store_lease);
    let fetcher = Fetcher::new(&config.fetch);
    let websub = config.websub.as_ref().filter(|_| listening).map(|websub| {
        Arc::new(Subscriber::new(
            websub.clone(),
            store.clone(),
            fetcher.clone(),
            &config.feeds,
        ))
    });
    let outbox = Outbox::new(
        store.clone(),
        &config.destinations,
        config.retry,
        config.digests(),
        Clock::System,
    )
    .map_err(anyhow::Error::msg)?
    .with_leases(leases.clone());
    Ok(Runtime {
        pipeline: Arc::new(Pipeline {
            fetcher,
            store: store.clone(),
            rules: config.rules.clone(),
            max_backoff: config.max_backoff,
            health: config.health.clone(),
            max_interval: config.max_interval,
            websub,
            stories,
            leases,
            stories_synced_at: Default::default(),
        }),
        outbox: Arc::new(outbox),
        config,
    })
}

/// Alerts queued for a destination that has left the config wait for it to
/// come back; say so once per start or reload rather than keep them silently.
async fn warn_orphaned_alerts(store: &dyn Store, config: &Config) {
    let Ok(entries) = store.outbox_entries(true).await else {
        return;
    };
    let mut orphaned: std::collections::BTreeMap<String, usize> = Default::default();
    for entry in entries {
        if entry.status == "pending" && !config.destinations.contains_key(&entry.alert.destination)
        {
            *orphaned.entry(entry.alert.destination).or_default() += 1;
        }
    }
    for (destination, alerts) in orphaned {
        tracing::warn!(%destination, alerts, "Alerts wait for a destination that is not configured: add it back, or drop them with `newswatch outbox drop`");
    }
}

async fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    store::open(&config.store)
        .await
        .with_context(|| format!("cannot open store {}", config.store))
}

/// The stories of the window as the store kept them.
async fn load_stories(config: &Config, store: &dyn Store) -> Result<Arc<Stories>> {
    let window = config.retention.stories;
    let since = Utc::now() - chrono::Duration::from_std(window).unwrap_or_default();
    let read = store
        .story_articles(since, 0)
        .await
        .context("cannot read the stories of the window")?;
    let stories = Stories::new(window);
    stories.restore_read(&read);
    tracing::debug!(
        articles = read.articles.len(),
        stories = stories.len(),
        "Stories restored"
    );
    Ok(Arc::new(stories))
}

/// Summary of a `once` run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct OnceReport {
    pub feeds_ok: usize,
    pub feeds_failed: usize,
    /// Feeds read, but malformed: only their complete entries were kept.
    pub feeds_malformed: usize,
    pub alerts_queued: usize,
    pub delivery: DeliveryReport,
}

/// Polls every feed once, then attempts every due alert once.
pub(crate) async fn once(config: Config) -> Result<OnceReport> {
    let store = open_store(&config).await?;
    let stories = load_stories(&config, store.as_ref()).await?;
    // No listener: `once` makes no WebSub subscription.
    let rt = build(config, store.clone(), stories, false)?;
    warn_orphaned_alerts(store.as_ref(), &rt.config).await;
    let mut report = OnceReport::default();
    let limits = rt.config.limits;
    let semaphore = Arc::new(Semaphore::new(limits.concurrency));
    // As in the daemon, a host's feeds take turns (`polls_per_host`).
    let mut hosts: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let mut polls = JoinSet::new();
    for feed in rt.config.feeds.clone() {
        let pipeline = rt.pipeline.clone();
        let semaphore = semaphore.clone();
        let host = hosts
            .entry(feed.url.host_str().unwrap_or_default().to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(limits.per_host)))
            .clone();
        polls.spawn(async move {
            let _host = host.acquire_owned().await;
            let _permit = semaphore.acquire_owned().await;
            pipeline.poll_and_record(&feed, None).await.0
        });
    }
    while let Some(result) = polls.join_next().await {
        // A poll's panic is caught inside it; a task lost anyway is a failed feed.
        match result.unwrap_or_else(|e| Err(PollError::Panicked(e.to_string()))) {
            Ok(poll) => {
                report.feeds_ok += 1;
                report.feeds_malformed += usize::from(poll.malformed);
                report.alerts_queued += poll.alerts_queued;
            }
            Err(_) => report.feeds_failed += 1,
        }
    }
    let delivered = rt.outbox.deliver_due(&CancellationToken::new()).await;
    // Destinations it sent to are the daemons' again at once.
    if let Some(leases) = &rt.pipeline.leases {
        leases.release().await;
    }
    report.delivery = delivered?;
    Ok(report)
}

/// Runs the daemon until `Control::Shutdown` arrives or `control` closes.
/// Tells systemd (when started by it) READY once the store is open and the
/// rules are compiled.
pub(crate) async fn run(config: Config, mut control: mpsc::Receiver<Control>) -> Result<()> {
    let store = open_store(&config).await?;
    let listeners = Listeners::bind(&config, store.clone()).await?;
    let stories = load_stories(&config, store.as_ref()).await?;
    let mut rt = build(config, store.clone(), stories, true)?;
    tracing::info!(
        feeds = rt.config.feeds.len(),
        rules = rt.config.rules.rules().len(),
        rules_for_every_article = rt.config.rules.costly_rules().len(),
        destinations = rt.config.destinations.len(),
        state_dir = %rt.config.state_dir.display(),
        store = %rt.config.store,
        "Newswatch started"
    );
    if let Some(leases) = &rt.pipeline.leases {
        tracing::info!(instance = leases.holder(), lease = ?rt.config.store_lease, "Sharing the store with other instances: feeds and destinations are leased");
    }
    log_warnings(&rt.config);
    notify_systemd(&[NotifyState::Ready]);
    warn_orphaned_alerts(store.as_ref(), &rt.config).await;
    let mut stop = CancellationToken::new();
    let mut tasks = start(&rt, stop.clone(), &listeners);
    loop {
        let mut command = control.recv().await.unwrap_or(Control::Shutdown);
        // A reload is prepared (the config read, the rules compiled: with a
        // million rules, seconds) while the old runtime keeps polling and
        // delivering; it is stopped only to swap in a new one that is ready.
        let mut next = None;
        while command == Control::Reload {
            notify_systemd(&[NotifyState::Reloading]);
            let path = rt.config.path.clone();
            let state = (rt.config.state_dir.clone(), rt.config.store.clone());
            let store = store.clone();
            let bound = (rt.config.websub.clone(), listen(&rt.config.metrics));
            // The stories of the window carry over (its length may not change).
            let stories = (rt.pipeline.stories.clone(), rt.config.retention.stories);
            let mut preparing = tokio::task::spawn_blocking(move || {
                prepare(&path, &state, bound, (store, stories))
            });
            // What is asked meanwhile: a shutdown stops at once (the half-read
            // config is dropped when its thread is done); another reload
            // reads the config again once this one is in (it may have
            // changed since it was read).
            let mut again = false;
            let mut still_reloading = extend_interval();
            let prepared = loop {
                tokio::select! {
                    prepared = &mut preparing => break Some(prepared),
                    _ = still_reloading.tick() => extend_systemd_timeout(),
                    asked = control.recv() => match asked.unwrap_or(Control::Shutdown) {
                        Control::Shutdown => break None,
                        Control::Reload => again = true,
                    },
                }
            };
            let Some(prepared) = prepared else {
                command = Control::Shutdown;
                break;
            };
            next = match prepared {
                Ok(prepared) => prepared.or(next),
                Err(error) => {
                    tracing::error!(error = %error, "Reload failed; keeping the old config");
                    next
                }
            };
            command = if again {
                Control::Reload
            } else {
                match control.try_recv() {
                    Ok(asked) => asked,
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => Control::Shutdown,
                }
            };
        }
        if command == Control::Shutdown || next.is_some() {
            stop.cancel();
            for task in tasks.drain(..) {
                let _ = task.await;
            }
        }
        if command == Control::Shutdown {
            // Other instances take this one's feeds and destinations now.
            if let Some(leases) = &rt.pipeline.leases {
                leases.release().await;
            }
            listeners.stop().await;
            notify_systemd(&[NotifyState::Stopping]);
            tracing::info!("Newswatch stopped");
            return Ok(());
        }
        if let Some(new) = next {
            rt = new;
            tracing::info!(
                feeds = rt.config.feeds.len(),
                rules = rt.config.rules.rules().len(),
                "Config reloaded"
            );
            log_warnings(&rt.config);
            stop = CancellationToken::new();
            tasks = start(&rt, stop.clone(), &listeners);
            warn_orphaned_alerts(store.as_ref(), &rt.config).await;
        }
        notify_systemd(&[NotifyState::Ready]);
    }
}

/// A runtime built from the config file read again, or `None` (and why,
/// logged) if it is invalid or cannot be built: the old one then stays.
fn prepare(
    path: &Path,
    (state_dir, location): &(PathBuf, store::Location),
    (websub, metrics): (Option<WebSubConfig>, Option<SocketAddr>),
    (store, (stories, window)): (Arc<dyn Store>, (Arc<Stories>, std::time::Duration)),
) -> Option<Runtime> {
    let new = match Config::load(path) {
        Ok(config) => config,
        Err(errors) => {
            tracing::error!(errors = %errors, "Reload rejected: invalid config; keeping the old one");
            return None;
        }
    };
    if new.state_dir != *state_dir || new.store != *location {
        tracing::error!("Reload rejected: state_dir or store changed, which needs a restart");
        return None;
    }
    // Hubs hold callback URLs on the listener bound at start.
    if new.websub != websub {
        tracing::error!("Reload rejected: [websub] changed, which needs a restart");
        return None;
    }
    if listen(&new.metrics) != metrics {
        tracing::error!("Reload rejected: [metrics] listen changed, which needs a restart");
        return None;
    }
    // The stories in memory and the store's pruning keep one window.
    if new.retention.stories != window {
        tracing::error!("Reload rejected: [stories] window changed, which needs a restart");
        return None;
    }
    build(new, store, stories, true)
        .inspect_err(|error| {
            tracing::error!(error = %format!("{error:#}"), "Reload rejected; keeping the old config");
        })
        .ok()
}

fn start(
    rt: &Runtime,
    stop: CancellationToken,
    listeners: &Listeners,
) -> Vec<tokio::task::JoinHandle<()>> {
    let (wake, woken) = watch::channel(());
    let outbox_task = tokio::spawn(rt.outbox.clone().run(woken, stop.clone()));
    let mut tasks = vec![outbox_task];
    listeners.answer_for(rt, &wake);
    tasks.push(tokio::spawn(store_admin::prune_hourly(
        rt.pipeline.store.clone(),
        rt.config.retention,
        store_admin::configured(&rt.config),
        stop.clone(),
    )));
    if let Some(subscriber) = rt.pipeline.websub.clone() {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move { subscriber.maintain(stop).await }));
    }
    let (pipeline, feeds) = (rt.pipeline.clone(), rt.config.feeds.clone());
    let limits = rt.config.limits;
    let scheduler = tokio::spawn(async move {
        // Every feed's state in one read (a round trip per feed is seconds
        // at 100k feeds on a database across the network).
        let due: HashMap<String, chrono::DateTime<Utc>> = match pipeline.store.next_polls().await {
            Ok(due) => due.into_iter().collect(),
            Err(error) => {
                tracing::error!(%error, "Cannot read when feeds are due; polling them all now");
                HashMap::new()
            }
        };
        let first_due: Vec<_> = feeds.iter().map(|f| due.get(&f.name).copied()).collect();
        // Each poll wakes the outbox: it may have queued alerts.
        let poll = |feed: FeedConfig| {
            let (pipeline, wake) = (pipeline.clone(), wake.clone());
            async move {
                let next = pipeline.poll_if_leased(&feed).await;
                wake.send_replace(());
                next
            }
        };
        schedule::run(feeds, first_due, limits, poll, stop).await;
    });
    tasks.push(scheduler);
    tasks
}

/// The HTTP listeners, bound once at start (hubs keep our callback URLs,
/// monitoring its scrape target); each runtime answers behind them.
struct Listeners {
    hubs: watch::Sender<Option<Endpoint>>,
    monitor: watch::Sender<Option<Checks>>,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Listeners {
    async fn bind(config: &Config, store: Arc<dyn Store>) -> Result<Listeners> {
        let (hubs, hubs_current) = watch::channel(None);
        let (monitor, monitor_current) = watch::channel(None);
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        if let Some(websub) = &config.websub {
            let socket = bind(websub.listen, "[websub]").await?;
            let max_body = usize::try_from(config.fetch.max_body_bytes).unwrap_or(usize::MAX);
            tracing::info!(listen = %websub.listen, "WebSub listener started");
            let serving = listener::serve(socket, hubs_current, max_body, stop.clone());
            tasks.push(tokio::spawn(serving));
        }
        if let Some(monitoring) = &config.metrics {
            let socket = bind(monitoring.listen, "[metrics]").await?;
            tracing::info!(listen = %monitoring.listen, "Monitoring listener started");
            let serving = monitor::serve(socket, store, monitor_current, stop.clone());
            tasks.push(tokio::spawn(serving));
        }
        Ok(Listeners {
            hubs,
            monitor,
            stop,
            tasks,
        })
    }

    /// From now on, `rt` answers hubs and monitoring.
    fn answer_for(&self, rt: &Runtime, wake: &watch::Sender<()>) {
        self.hubs
            .send_replace(rt.pipeline.websub.clone().map(|subscriber| Endpoint {
                subscriber,
                pipeline: rt.pipeline.clone(),
                wake: wake.clone(),
            }));
        let m = metrics();
        m.rules.set(rt.config.rules.rules().len() as i64);
        m.feeds.set(rt.config.feeds.len() as i64);
        self.monitor
            .send_replace(rt.config.metrics.clone().map(|config| Checks {
                config,
                feeds: rt.config.feeds.len(),
            }));
    }

    async fn stop(self) {
        self.stop.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn bind(address: SocketAddr, section: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("{section} cannot listen on {address}"))
}

fn listen(metrics: &Option<MetricsConfig>) -> Option<SocketAddr> {
    metrics.as_ref().map(|m| m.listen)
}

/// What `newswatch check` warns about, in the log: the first few, and how
/// many in all (a generated file can have a warning per rule).
fn log_warnings(config: &Config) {
    const SHOWN: usize = 20;
    for warning in config.warnings.iter().take(SHOWN) {
        tracing::warn!("{warning}");
    }
    if config.warnings.len() > SHOWN {
        tracing::warn!(
            warnings = config.warnings.len(),
            "More config warnings; `newswatch check` lists them all"
        );
    }
}

/// Runs `work` (loading the config at start), telling systemd meanwhile
/// that start-up goes on: a million rules take seconds to compile, more on a
/// loaded machine, and systemd would otherwise kill a start that is slow.
pub(crate) async fn extending_timeout<T>(work: impl std::future::Future<Output = T>) -> T {
    let mut work = std::pin::pin!(work);
    let mut still_starting = extend_interval();
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = still_starting.tick() => extend_systemd_timeout(),
        }
    }
}

/// How often systemd hears that a start or reload is still under way (a
/// quick one says nothing); each time its timeout is extended by three
/// times that.
fn extend_interval() -> tokio::time::Interval {
    let every = std::time::Duration::from_secs(10);
    tokio::time::interval_at(tokio::time::Instant::now() + every, every)
}

fn extend_systemd_timeout() {
    notify_systemd(&[NotifyState::ExtendTimeoutUsec(30_000_000)]);
}

/// Sends a state to systemd; a no-op when not started by systemd.
fn notify_systemd(state: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(state) {
        tracing::warn!(%error, "Cannot notify systemd");
    }
}
