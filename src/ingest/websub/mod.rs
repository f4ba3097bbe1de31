//! WebSub subscriber (W3C recommendation): a feed that names a hub
//! (`<link rel="hub">`, or a `Link` header) is subscribed to with a callback
//! on our listener, so its new entries are pushed to us when published; the
//! hub verifies that we asked, signs what it pushes with a secret of ours,
//! and the lease is renewed before it ends. Polling goes on, at
//! `max_interval`, in case a push is lost.
//!
//! Every change to a subscription happens under one lock, written to the
//! store and kept here together; a request is sent only by the maintenance
//! task (which a shutdown or reload stops), and its outcome recorded only if
//! nothing changed the subscription meanwhile.

pub(crate) mod discovery;
mod lease;
mod signature;

pub use discovery::Advertised;

use crate::ingest::fetch::{FetchError, Fetcher};
use crate::ingest::network::origin;
use crate::ingest::schedule::FeedConfig;
use crate::model::subscription::{Subscription, SubscriptionState};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use lease::{Action, LONGEST_LEASE, awaits_verification, due, seconds};
use signature::{random_hex, signed};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard, Notify};
use tokio_util::sync::CancellationToken;
use url::Url;

/// `[websub]`: where hubs reach us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSubConfig {
    /// The address the callback listener binds.
    pub listen: SocketAddr,
    /// The listener as hubs reach it (through a proxy, often): each
    /// subscription's callback is this URL and a token.
    pub public_url: Url,
    /// The lease asked for; the hub decides.
    pub lease: Duration,
}

/// A complete document must fail to name the hub this many polls in a row
/// before the feed is unsubscribed (a CDN may drop a `Link` header now and
/// then).
const MISSING_BEFORE_UNSUBSCRIBE: u32 = 3;

/// The subscriptions, by feed and by callback token, and requests waiting
/// for the maintenance task to send them.
#[derive(Default)]
struct Known {
    by_feed: HashMap<String, Subscription>,
    feed_of: HashMap<String, String>,
    /// Polls in a row whose complete document named no hub, by feed.
    missing: HashMap<String, u32>,
    outgoing: Vec<(Subscription, &'static str)>,
}

impl Known {
    fn put(&mut self, subscription: Subscription) {
        if let Some(old) = self.by_feed.get(&subscription.feed) {
            self.feed_of.remove(&old.token);
        }
        self.feed_of
            .insert(subscription.token.clone(), subscription.feed.clone());
        self.by_feed.insert(subscription.feed.clone(), subscription);
    }

    fn remove(&mut self, feed: &str) {
        if let Some(old) = self.by_feed.remove(feed) {
            self.feed_of.remove(&old.token);
        }
    }

    fn by_token(&self, token: &str) -> Option<&Subscription> {
        self.by_feed.get(self.feed_of.get(token)?)
    }
}

/// What became of content a hub pushed.
#[derive(Debug)]
pub(crate) enum Pushed {
    /// No subscription has this callback: the hub may stop (410 Gone).
    Unknown,
    /// The subscriptions cannot be read now: the hub should retry (503).
    Unavailable,
    /// Not signed with the subscription's secret: acknowledged, ignored.
    BadSignature { feed: String },
    /// Signed by the hub: to be read as the feed's document.
    Accepted { feed: Box<FeedConfig>, topic: Url },
}

/// What the listener answers a hub's verification of intent.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verified {
    /// 200 with the challenge as the body.
    Confirmed(String),
    /// 200, nothing to echo (a denial noted).
    Noted,
    /// 404: we did not ask for this.
    Refused,
    /// 503: the subscriptions cannot be read now.
    Unavailable,
}

/// Subscribes the configured feeds that name a hub, answers their hubs,
/// renews leases and unsubscribes feeds that left the config.
pub(crate) struct Subscriber {
    config: WebSubConfig,
    store: Arc<dyn Store>,
    fetcher: Fetcher,
    feeds: HashMap<String, FeedConfig>,
    /// Read from the store on first use (again later if that failed).
    known: Mutex<Option<Known>>,
    /// Wakes [`Subscriber::maintain`]: a subscription changed.
    changed: Notify,
}

impl Subscriber {
    pub(crate) fn new(
        config: WebSubConfig,
        store: Arc<dyn Store>,
        fetcher: Fetcher,
        feeds: &[FeedConfig],
    ) -> Self {
        Subscriber {
            config,
            store,
            fetcher,
            feeds: feeds.iter().map(|f| (f.name.clone(), f.clone())).collect(),
            known: Mutex::new(None),
            changed: Notify::new(),
        }
    }

    /// The subscriptions, locked; read from the store if not yet.
    async fn known(&self) -> Result<KnownGuard<'_>, StoreError> {
        let mut guard = self.known.lock().await;
        if guard.is_none() {
            let mut known = Known::default();
            for subscription in self.store.subscriptions().await? {
                known.put(subscription);
            }
            *guard = Some(known);
        }
        Ok(KnownGuard(guard))
    }

    /// Records a subscription, in the store and here, under the lock.
    async fn save(&self, known: &mut Known, subscription: Subscription) {
        if let Err(error) = self.store.save_subscription(&subscription).await {
            tracing::error!(feed = %subscription.feed, %error, "Cannot record WebSub subscription");
        }
        known.put(subscription);
        self.changed.notify_one();
    }

    /// Whether a hub pushes `feed`'s entries now (then it is polled seldom).
    pub(crate) async fn is_pushed(&self, feed: &str) -> bool {
        let Ok(known) = self.known().await else {
            return false;
        };
        known.by_feed.get(feed).is_some_and(|s| {
            s.state == SubscriptionState::Active && s.lease_until.is_some_and(|t| t > Utc::now())
        })
    }

    /// After a poll that read a document: subscribes `feed` to the hub it
    /// names if it is not subscribed to one of them yet, and unsubscribes
    /// it once complete documents (`complete`) have named none for a few
    /// polls. The request is sent by the maintenance task.
    pub(crate) async fn observe(&self, feed: &FeedConfig, advertised: Advertised, complete: bool) {
        let Ok(mut known) = self.known().await else {
            return;
        };
        let current = known
            .by_feed
            .get(&feed.name)
            .filter(|s| s.state != SubscriptionState::Unsubscribing)
            .cloned();
        let topic = advertised.topic.unwrap_or_else(|| feed.url.clone());
        let Some(hub) = advertised.hubs.first().cloned() else {
            let Some(current) = current.filter(|_| complete) else {
                return;
            };
            let missing = known.missing.entry(feed.name.clone()).or_default();
            *missing += 1;
            if *missing < MISSING_BEFORE_UNSUBSCRIBE {
                return;
            }
            known.missing.remove(&feed.name);
            let leaving = Subscription {
                state: SubscriptionState::Unsubscribing,
                requested_at: Utc::now(),
                ..current
            };
            self.save(&mut known, leaving.clone()).await;
            known.outgoing.push((leaving, "unsubscribe"));
            return;
        };
        known.missing.remove(&feed.name);
        // A hub it is subscribed to already, if still named, is kept.
        if current.is_some_and(|s| advertised.hubs.contains(&s.hub) && s.topic == topic) {
            return;
        }
        let fresh = Subscription {
            feed: feed.name.clone(),
            hub,
            topic,
            token: random_hex(16),
            secret: random_hex(32),
            state: SubscriptionState::Requested,
            lease_until: None,
            requested_at: Utc::now(),
            verified_at: None,
            last_error: None,
        };
        self.save(&mut known, fresh.clone()).await;
        known.outgoing.push((fresh, "subscribe"));
    }

    fn callback(&self, token: &str) -> Url {
        let mut url = self.config.public_url.clone();
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        url.join(token).unwrap_or(url)
    }

    /// Sends a subscribe (or renew, or unsubscribe) request to the hub; the
    /// hub then verifies it by calling us back. `subscription` is as
    /// recorded when the request was decided; if it has changed since (the
    /// hub answered, a poll replaced it), nothing is sent.
    async fn request(&self, subscription: Subscription, mode: &str) {
        let asked_at = Utc::now();
        {
            let Ok(mut known) = self.known().await else {
                return;
            };
            if known.by_feed.get(&subscription.feed) != Some(&subscription) {
                return;
            }
            // Recorded before it is sent: the hub may verify it at once.
            let sent = Subscription {
                requested_at: asked_at,
                ..subscription.clone()
            };
            self.save(&mut known, sent).await;
        }
        let callback = self.callback(&subscription.token);
        let lease = self.config.lease.as_secs().to_string();
        let mut form = vec![
            ("hub.mode", mode),
            ("hub.topic", subscription.topic.as_str()),
            ("hub.callback", callback.as_str()),
        ];
        if mode == "subscribe" {
            form.push(("hub.lease_seconds", &lease));
            form.push(("hub.secret", &subscription.secret));
        }
        // Only the operator's own origin for this feed is trusted: a hub a
        // feed names anywhere else is held to the network policy.
        let feed_origin = self.feeds.get(&subscription.feed).map(|f| origin(&f.url));
        let trusted = feed_origin.as_deref() == Some(&origin(&subscription.hub));
        let sent = self
            .fetcher
            .post_form(&subscription.hub, &form, trusted)
            .await;
        let (feed, hub) = (&subscription.feed, &subscription.hub);
        let error = match sent {
            Ok(()) => {
                tracing::info!(%feed, %hub, mode, "WebSub request accepted by the hub");
                None
            }
            Err(error) => {
                let error = hub_error(&error);
                tracing::warn!(%feed, %hub, mode, %error, "WebSub request failed");
                Some(error)
            }
        };
        // Unless the hub has answered (or a poll replaced it) meanwhile.
        let Ok(mut known) = self.known().await else {
            return;
        };
        if let Some(current) = known.by_feed.get(feed).cloned()
            && current.token == subscription.token
            && current.requested_at == asked_at
            && current.last_error != error
            && current.verified_at.is_none_or(|v| v < asked_at)
        {
            let current = Subscription {
                last_error: error,
                ..current
            };
            self.save(&mut known, current).await;
        }
    }

    /// A hub's verification of intent (`GET callback?hub.mode=...`): only
    /// for a request we sent and are waiting on, for its topic.
    pub(crate) async fn verify(&self, token: &str, query: &HashMap<String, String>) -> Verified {
        let param = |name: &str| query.get(name).map(String::as_str);
        let Ok(mut known) = self.known().await else {
            return Verified::Unavailable;
        };
        let Some(mut subscription) = known.by_token(token).cloned() else {
            return Verified::Refused;
        };
        let topic = param("hub.topic").and_then(|t| Url::parse(t).ok());
        if topic.as_ref() != Some(&subscription.topic) {
            return Verified::Refused;
        }
        let challenge = param("hub.challenge").unwrap_or_default().to_string();
        let configured = self.feeds.contains_key(&subscription.feed);
        let now = Utc::now();
        let (feed, hub) = (subscription.feed.clone(), subscription.hub.clone());
        match (param("hub.mode"), subscription.state) {
            (Some("subscribe"), _) if configured && awaits_verification(&subscription) => {
                let granted = param("hub.lease_seconds")
                    .and_then(|s| s.parse::<u64>().ok())
                    .map_or(self.config.lease, Duration::from_secs)
                    .min(LONGEST_LEASE);
                subscription.state = SubscriptionState::Active;
                subscription.lease_until = Some(now + seconds(granted));
                subscription.verified_at = Some(now);
                subscription.last_error = None;
                tracing::info!(%feed, %hub, lease = %humantime::format_duration(granted), "WebSub subscription verified");
                self.save(&mut known, subscription).await;
                Verified::Confirmed(challenge)
            }
            (Some("unsubscribe"), SubscriptionState::Unsubscribing) => {
                tracing::info!(%feed, %hub, "WebSub unsubscription verified");
                if let Err(error) = self.store.delete_subscription(&feed, token).await {
                    tracing::error!(%feed, %error, "Cannot forget WebSub subscription");
                }
                known.remove(&feed);
                Verified::Confirmed(challenge)
            }
            // A hub that refuses to unsubscribe us: the subscription is
            // forgotten a day after we asked anyway.
            (Some("denied"), SubscriptionState::Unsubscribing) => Verified::Noted,
            (Some("denied"), _) => {
                let reason = param("hub.reason").unwrap_or("no reason given");
                tracing::warn!(%feed, %hub, reason, "WebSub hub denied the subscription; polling goes on");
                subscription.state = SubscriptionState::Denied;
                subscription.last_error = Some(format!("denied by the hub: {reason}"));
                subscription.requested_at = now;
                self.save(&mut known, subscription).await;
                Verified::Noted
            }
            _ => Verified::Refused,
        }
    }

    /// Whether `token` is one of our callbacks (checked before a pushed
    /// body is read).
    pub(crate) async fn knows(&self, token: &str) -> Option<bool> {
        let known = self.known().await.ok()?;
        Some(known.by_token(token).is_some_and(|s| {
            s.state != SubscriptionState::Unsubscribing && self.feeds.contains_key(&s.feed)
        }))
    }

    /// Content a hub pushed to `token`'s callback, with its
    /// `X-Hub-Signature` header.
    pub(crate) async fn authenticate(
        &self,
        token: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Pushed {
        let Ok(known) = self.known().await else {
            return Pushed::Unavailable;
        };
        let Some(subscription) = known.by_token(token).cloned() else {
            return Pushed::Unknown;
        };
        drop(known);
        let Some(feed) = self.feeds.get(&subscription.feed) else {
            return Pushed::Unknown;
        };
        if subscription.state == SubscriptionState::Unsubscribing {
            return Pushed::Unknown;
        }
        match signature.is_some_and(|s| signed(s, subscription.secret.as_bytes(), body)) {
            true => Pushed::Accepted {
                feed: Box::new(feed.clone()),
                topic: subscription.topic,
            },
            false => Pushed::BadSignature {
                feed: subscription.feed,
            },
        }
    }

    /// Sends the requests polls decided, renews leases before they end,
    /// asks again where a hub did not answer or denied long ago, and
    /// unsubscribes feeds that left the config, until `stop`. A request
    /// that failed is sent again at once after a start or reload (the hub,
    /// or the network policy, may have been fixed).
    pub(crate) async fn maintain(&self, stop: CancellationToken) {
        let mut first = true;
        loop {
            let now = Utc::now();
            let mut next = now + seconds(Duration::from_secs(60));
            let mut due_now: Vec<(Subscription, &str)> = Vec::new();
            if let Ok(mut known) = self.known().await {
                due_now.append(&mut known.outgoing);
                // Only what is due is taken out (a subscription per feed).
                for s in known.by_feed.values() {
                    let configured = self.feeds.contains_key(&s.feed);
                    let failed = s.state == SubscriptionState::Requested && s.last_error.is_some();
                    let mode = match due(s, configured) {
                        (_, Action::Subscribe) if first && failed => "subscribe",
                        (at, _) if at > now => {
                            next = next.min(at);
                            continue;
                        }
                        (_, Action::Subscribe) => "subscribe",
                        (_, Action::Unsubscribe) => "unsubscribe",
                        (_, Action::Forget) => "forget",
                    };
                    if !due_now.iter().any(|(queued, _)| queued.feed == s.feed) {
                        due_now.push((s.clone(), mode));
                    }
                }
            }
            first = false;
            for (subscription, mode) in due_now {
                let work = self.act(subscription, mode);
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = work => {}
                }
            }
            let wait = (next - Utc::now()).to_std().unwrap_or_default();
            // At most a pass a second, however often subscriptions change.
            let pause = tokio::time::sleep(Duration::from_secs(1));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.changed.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = pause => {}
            }
        }
    }

    async fn act(&self, subscription: Subscription, mode: &str) {
        match mode {
            "forget" => {
                let Ok(mut known) = self.known().await else {
                    return;
                };
                if known.by_feed.get(&subscription.feed) != Some(&subscription) {
                    return;
                }
                let (feed, token) = (&subscription.feed, &subscription.token);
                if let Err(error) = self.store.delete_subscription(feed, token).await {
                    tracing::error!(%feed, %error, "Cannot forget WebSub subscription");
                }
                known.remove(feed);
            }
            "unsubscribe" if subscription.state != SubscriptionState::Unsubscribing => {
                // Marked first, so the hub's verification finds it leaving.
                let leaving = {
                    let Ok(mut known) = self.known().await else {
                        return;
                    };
                    if known.by_feed.get(&subscription.feed) != Some(&subscription) {
                        return;
                    }
                    let leaving = Subscription {
                        state: SubscriptionState::Unsubscribing,
                        ..subscription
                    };
                    self.save(&mut known, leaving.clone()).await;
                    leaving
                };
                self.request(leaving, "unsubscribe").await;
            }
            mode => self.request(subscription, mode).await,
        }
    }
}

/// The subscriptions, held under the lock.
struct KnownGuard<'a>(MutexGuard<'a, Option<Known>>);

impl std::ops::Deref for KnownGuard<'_> {
    type Target = Known;
    fn deref(&self) -> &Known {
        self.0.as_ref().expect("filled by Subscriber::known")
    }
}

impl std::ops::DerefMut for KnownGuard<'_> {
    fn deref_mut(&mut self) -> &mut Known {
        self.0.as_mut().expect("filled by Subscriber::known")
    }
}

/// Why a request to a hub failed, without its URL (it may hold a token).
fn hub_error(error: &FetchError) -> String {
    match error {
        FetchError::Status { status, .. } => format!("the hub answered HTTP {status}"),
        other => other.to_string(),
    }
}

/// When a lease runs out, for people: "lapsed" once it has.
pub(crate) fn lease_state(s: &Subscription, now: DateTime<Utc>) -> &'static str {
    match (s.state, s.lease_until) {
        (SubscriptionState::Active, Some(until)) if until <= now => "lapsed",
        (state, _) => state.as_str(),
    }
}
