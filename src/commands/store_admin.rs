//! `newswatch db`: the store's sizes and row counts, and pruning it now;
//! and the daemon's hourly pruning.

use crate::config::Config;
use crate::store::{Pruned, Retention, Store, StoreStats};
use anyhow::{Context, Result};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows removed per batch: each batch is one short transaction, so polls
/// and deliveries go on between them.
const BATCH: usize = 1000;

async fn open(config: &Config) -> Result<Arc<dyn Store>> {
    crate::store::open(&config.store)
        .await
        .with_context(|| format!("cannot open store {}", config.store))
}

pub async fn migrate(config: &Config) -> Result<ExitCode> {
    let ran = crate::store::migrate(&config.store)
        .await
        .with_context(|| format!("cannot migrate store {}", config.store))?;
    println!("{}: schema up to date ({ran} migrations run)", config.store);
    Ok(ExitCode::SUCCESS)
}

pub async fn stats(config: &Config, json: bool) -> Result<ExitCode> {
    let stats = open(config).await?.stats().await?;
    match json {
        true => println!("{}", serde_json::to_string(&stats)?),
        false => print!("{}", human(&stats)),
    }
    Ok(ExitCode::SUCCESS)
}

fn human(s: &StoreStats) -> String {
    let mb = |bytes: u64| format!("{:.1} MB", bytes as f64 / 1e6);
    // A write-ahead log and free pages are SQLite's (PostgreSQL reports none).
    let file = match (s.wal_bytes, s.free_bytes) {
        (0, 0) => String::new(),
        (wal, free) => format!(" (write-ahead log {}, free inside {})", mb(wal), mb(free)),
    };
    format!(
        "{}: {}{file}\n\
         feeds          {}\n\
         seen keys      {}\n\
         alerts         {} pending, {} delivered, {} dead letters\n\
         subscriptions  {}\n\
         stories        {} articles in the window\n",
        s.path,
        mb(s.file_bytes),
        s.feeds,
        s.seen,
        s.pending,
        s.delivered,
        s.dead,
        s.subscriptions,
        s.story_articles
    )
}

pub async fn prune(config: &Config, json: bool) -> Result<ExitCode> {
    let store = open(config).await?;
    // An older store is rewritten once so that its file can shrink: here,
    // asked for, not at a daemon start systemd is timing.
    if store.shrinkable().await? {
        eprintln!("rewrote the store so that pruning can shrink its file");
    }
    let keep = configured(config);
    let pruned = prune_all(
        store.as_ref(),
        config.retention,
        &keep,
        &CancellationToken::new(),
    )
    .await?;
    match json {
        true => println!(
            "{}",
            serde_json::json!({"seen": pruned.seen, "delivered": pruned.delivered, "feeds": pruned.feeds, "stories": pruned.stories})
        ),
        false => println!(
            "forgot {} seen keys, {} delivered alerts, {} feeds no longer polled, {} story rows past the window",
            pruned.seen, pruned.delivered, pruned.feeds, pruned.stories
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Prunes batch after batch until nothing is left to prune (or `stop`).
async fn prune_all(
    store: &dyn Store,
    retention: Retention,
    keep: &[String],
    stop: &CancellationToken,
) -> Result<Pruned> {
    let mut all = Pruned::default();
    while !stop.is_cancelled() {
        let batch = store
            .prune(retention, chrono::Utc::now(), BATCH, keep)
            .await?;
        all.seen += batch.seen;
        all.delivered += batch.delivered;
        all.feeds += batch.feeds;
        all.stories += batch.stories;
        if batch.total() == 0 {
            break;
        }
        // Room for polls and deliveries between batches.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(all)
}

/// The configured feeds' names: never forgotten whole.
pub(crate) fn configured(config: &Config) -> Vec<String> {
    config.feeds.iter().map(|f| f.name.clone()).collect()
}

/// The daemon's pruning: a minute after start, then every hour, until `stop`.
pub(crate) async fn prune_hourly(
    store: Arc<dyn Store>,
    retention: Retention,
    keep: Vec<String>,
    stop: CancellationToken,
) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = Duration::from_secs(3600);
        match prune_all(store.as_ref(), retention, &keep, &stop).await {
            Ok(pruned) if pruned.total() > 0 => tracing::info!(
                seen = pruned.seen,
                delivered = pruned.delivered,
                feeds = pruned.feeds,
                stories = pruned.stories,
                "Store pruned"
            ),
            Ok(_) => {}
            Err(error) => tracing::error!(error = %format!("{error:#}"), "Cannot prune the store"),
        }
    }
}
