//! Leases, when several instances share a store: each feed and each
//! destination is worked by the one instance that holds its lease. A lease
//! is kept by taking it again before it runs out; an instance that stops
//! releases its own, and one that dies loses them when they run out, so the
//! others take its feeds and destinations over within a lease's term.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub struct Leases {
    store: Arc<dyn Store>,
    /// This instance, as the store's lease rows name it.
    holder: String,
    term: Duration,
}

impl Leases {
    /// `None` for a store of one instance's own (nothing to share).
    pub fn new(store: &Arc<dyn Store>, term: Duration) -> Option<Arc<Leases>> {
        store.shared().then(|| {
            Arc::new(Leases {
                store: store.clone(),
                holder: instance_name(),
                term,
            })
        })
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How long a lease lasts unless it is taken again.
    pub fn term(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.term).unwrap_or(chrono::Duration::minutes(1))
    }

    /// Takes or keeps `name` until `until`: `None` if it is this
    /// instance's now, else when another instance's lease on it runs out.
    pub async fn take(
        &self,
        name: &str,
        until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.store
            .lease(name, &self.holder, Utc::now(), until)
            .await
    }

    /// Runs `work` holding `name` (taken already, for a term), taking it
    /// again every third of a term. `None` if `work` was dropped: another
    /// instance took the lease, or it was not taken again in time, and
    /// `work` stops a sixth of a term before the lease could pass to
    /// another instance (the store unreachable meanwhile).
    pub async fn hold<F: Future>(&self, name: &str, work: F) -> Option<F::Output> {
        let started = Instant::now();
        // Counted from before each request: the lease's end as the store
        // has it is no later.
        let mut held_until = started + self.term;
        let mut renew = tokio::time::interval_at(started + self.term / 3, self.term / 3);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(work);
        loop {
            let deadline = held_until - self.term / 6;
            tokio::select! {
                done = &mut work => return Some(done),
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(lease = name, "Lease not renewed in time; stopping its work");
                    return None;
                }
                _ = renew.tick() => {
                    let asked = Instant::now();
                    match self.take(name, Utc::now() + self.term()).await {
                        Ok(None) => held_until = asked + self.term,
                        Ok(Some(_)) => {
                            tracing::warn!(lease = name, "Lease taken by another instance; stopping its work");
                            return None;
                        }
                        Err(error) => tracing::warn!(lease = name, %error, "Cannot renew lease"),
                    }
                }
            }
        }
    }

    /// Gives up this instance's leases (it is stopping).
    pub async fn release(&self) {
        if let Err(error) = self.store.release(&self.holder).await {
            tracing::warn!(%error, "Cannot release leases; others take them over when they run out");
        }
    }
}

/// This process, told apart from other instances on this and other hosts:
/// the host name, the process id and a random number (a restarted process
/// may reuse the id). The same for the process's life, across reloads.
fn instance_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        format!("{host}:{}:{:08x}", std::process::id(), fastrand::u32(..))
    })
    .clone()
}
