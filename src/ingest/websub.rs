//! WebSub subscriber (W3C recommendation): a feed that names a hub
//! (`<link rel="hub">`, or a `Link` header) is subscribed to with a callback
//! on our listener, so its new entries are pushed to us when published; the
//! hub verifies that we asked, signs what it pushes with a secret of ours,
//! and the lease is renewed before it ends. Polling goes on, at
//! `max_interval`, in case a push is lost.

use crate::ingest::fetch::{FetchError, Fetcher};
use crate::ingest::schedule::FeedConfig;
use crate::model::subscription::{Subscription, SubscriptionState};
use crate::store::Store;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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

/// A hub that has not verified a request within this is asked again.
const ASK_AGAIN: Duration = Duration::from_secs(3600);
/// A hub that denied a subscription is asked again after this.
const AFTER_DENIAL: Duration = Duration::from_secs(24 * 3600);
/// The most a lease is renewed ahead of its end.
const RENEW_AHEAD: Duration = Duration::from_secs(24 * 3600);

/// Where a feed says its hub is, and what the hub knows it as.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Advertised {
    pub hub: Option<Url>,
    /// `rel="self"`: the topic URL to subscribe to.
    pub topic: Option<Url>,
}

impl Advertised {
    /// What `Link` header values say (RFC 8288), relative to `base`.
    pub fn from_link_headers<'a>(values: impl Iterator<Item = &'a str>, base: &Url) -> Self {
        let mut advertised = Advertised::default();
        for value in values {
            for (target, rels) in link_values(value) {
                let Ok(url) = base.join(target) else {
                    continue;
                };
                for rel in rels.split_ascii_whitespace() {
                    let slot = match rel.to_ascii_lowercase().as_str() {
                        "hub" => &mut advertised.hub,
                        "self" => &mut advertised.topic,
                        _ => continue,
                    };
                    slot.get_or_insert_with(|| url.clone());
                }
            }
        }
        advertised
    }

    /// These links, else `other`'s (the HTTP headers win over the document).
    pub fn or(self, other: Advertised) -> Advertised {
        match self.hub {
            Some(_) => self,
            None => other,
        }
    }
}

/// The `<target>; rel="..."` pairs of one `Link` header value. Commas and
/// semicolons inside quotes or angle brackets do not split.
fn link_values(value: &str) -> Vec<(&str, String)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let target = rest[open + 1..open + close].trim();
        rest = &rest[open + close + 1..];
        // The parameters run to the next comma outside quotes.
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                quoted ^= c == '"';
                c == ',' && !quoted
            })
            .map_or(rest.len(), |(i, _)| i);
        let params = &rest[..end];
        rest = &rest[end..];
        let rel = params.split(';').find_map(|param| {
            let (name, value) = param.split_once('=')?;
            (name.trim().eq_ignore_ascii_case("rel")).then(|| value.trim().trim_matches('"'))
        });
        if let Some(rel) = rel {
            links.push((target, rel.to_string()));
        }
    }
    links
}

/// The subscriptions as the store has them, by feed and by callback token.
#[derive(Default)]
struct Known {
    by_feed: HashMap<String, Subscription>,
    feed_of: HashMap<String, String>,
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
}

/// Subscribes the configured feeds that name a hub, answers their hubs,
/// renews leases and unsubscribes feeds that left the config.
pub(crate) struct Subscriber {
    config: WebSubConfig,
    store: Arc<dyn Store>,
    fetcher: Fetcher,
    feeds: HashMap<String, FeedConfig>,
    known: tokio::sync::OnceCell<Mutex<Known>>,
    /// Wakes [`Subscriber::maintain`]: a subscription changed.
    changed: tokio::sync::Notify,
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
            known: tokio::sync::OnceCell::new(),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// The subscriptions, read from the store on first use.
    async fn known(&self) -> &Mutex<Known> {
        self.known
            .get_or_init(|| async {
                let mut known = Known::default();
                match self.store.subscriptions().await {
                    Ok(all) => all.into_iter().for_each(|s| known.put(s)),
                    Err(error) => {
                        tracing::error!(%error, "Cannot read WebSub subscriptions; asking hubs again")
                    }
                }
                Mutex::new(known)
            })
            .await
    }

    fn lock(known: &Mutex<Known>) -> std::sync::MutexGuard<'_, Known> {
        known.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a hub pushes `feed`'s entries now (then it is polled seldom).
    pub(crate) async fn is_pushed(&self, feed: &str) -> bool {
        let known = Self::lock(self.known().await);
        known.by_feed.get(feed).is_some_and(|s| {
            s.state == SubscriptionState::Active && s.lease_until.is_some_and(|t| t > Utc::now())
        })
    }

    /// After a poll that read a document: subscribes `feed` if it names a
    /// hub it is not yet subscribed to there, and unsubscribes it if a
    /// well-formed document (`complete`) names none any more. The request
    /// runs on its own task.
    pub(crate) async fn observe(
        self: &Arc<Self>,
        feed: &FeedConfig,
        advertised: Advertised,
        complete: bool,
    ) {
        let (request, mode) = {
            let known = Self::lock(self.known().await);
            let current = known
                .by_feed
                .get(&feed.name)
                .filter(|s| s.state != SubscriptionState::Unsubscribing);
            match (advertised.hub, current) {
                (None, Some(current)) if complete => {
                    let mut leaving = current.clone();
                    leaving.state = SubscriptionState::Unsubscribing;
                    (leaving, "unsubscribe")
                }
                (None, _) => return,
                (Some(hub), current) => {
                    let topic = advertised.topic.unwrap_or_else(|| feed.url.clone());
                    if current.is_some_and(|s| s.hub == hub && s.topic == topic) {
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
                    (fresh, "subscribe")
                }
            }
        };
        // Recorded now, so the next poll does not ask again meanwhile.
        self.save(request.clone()).await;
        let this = self.clone();
        tokio::spawn(async move { this.request(request, mode).await });
    }

    /// Records a subscription, in the store and here.
    async fn save(&self, subscription: Subscription) {
        if let Err(error) = self.store.save_subscription(&subscription).await {
            tracing::error!(feed = %subscription.feed, %error, "Cannot record WebSub subscription");
        }
        Self::lock(self.known().await).put(subscription);
        self.changed.notify_one();
    }

    async fn forget(&self, subscription: &Subscription) {
        let (feed, token) = (&subscription.feed, &subscription.token);
        if let Err(error) = self.store.delete_subscription(feed, token).await {
            tracing::error!(%feed, %error, "Cannot forget WebSub subscription");
        }
        let mut known = Self::lock(self.known().await);
        if known.by_feed.get(feed).is_some_and(|s| &s.token == token) {
            known.remove(feed);
        }
    }

    fn callback(&self, token: &str) -> Url {
        let mut url = self.config.public_url.clone();
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        url.join(token).unwrap_or(url)
    }

    /// Sends a subscribe (or renew, or unsubscribe) request to the hub; the
    /// hub then verifies it by calling us back.
    async fn request(&self, mut subscription: Subscription, mode: &str) {
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
        // Recorded before it is sent: the hub may verify it before it answers.
        subscription.requested_at = Utc::now();
        self.save(subscription.clone()).await;
        let sent = self.fetcher.post_form(&subscription.hub, &form).await;
        subscription.last_error = match sent {
            Ok(()) => {
                tracing::info!(feed = %subscription.feed, hub = %subscription.hub, mode, "WebSub request accepted by the hub");
                None
            }
            Err(error) => {
                let error = hub_error(&error);
                tracing::warn!(feed = %subscription.feed, hub = %subscription.hub, mode, %error, "WebSub request failed");
                Some(error)
            }
        };
        // Unless the hub has verified (or denied) it meanwhile.
        let current = Self::lock(self.known().await)
            .by_feed
            .get(&subscription.feed)
            .cloned();
        if let Some(current) = current.filter(|c| c.token == subscription.token) {
            if current.state == subscription.state && current.last_error != subscription.last_error
            {
                self.save(Subscription {
                    last_error: subscription.last_error,
                    ..current
                })
                .await;
            }
        }
    }

    /// A hub's verification of intent (`GET callback?hub.mode=...`).
    pub(crate) async fn verify(&self, token: &str, query: &HashMap<String, String>) -> Verified {
        let param = |name: &str| query.get(name).map(String::as_str);
        let Some(mut subscription) = Self::lock(self.known().await).by_token(token).cloned() else {
            return Verified::Refused;
        };
        if param("hub.topic") != Some(subscription.topic.as_str()) {
            return Verified::Refused;
        }
        let challenge = param("hub.challenge").unwrap_or_default().to_string();
        let now = Utc::now();
        match (param("hub.mode"), subscription.state) {
            (Some("subscribe"), SubscriptionState::Unsubscribing) => Verified::Refused,
            (Some("subscribe"), _) => {
                let granted = param("hub.lease_seconds")
                    .and_then(|s| s.parse::<u64>().ok())
                    .map_or(self.config.lease, Duration::from_secs);
                subscription.state = SubscriptionState::Active;
                subscription.lease_until = Some(now + seconds(granted));
                subscription.verified_at = Some(now);
                subscription.last_error = None;
                tracing::info!(feed = %subscription.feed, hub = %subscription.hub, lease = %humantime::format_duration(granted), "WebSub subscription verified");
                self.save(subscription).await;
                Verified::Confirmed(challenge)
            }
            (Some("unsubscribe"), SubscriptionState::Unsubscribing) => {
                tracing::info!(feed = %subscription.feed, hub = %subscription.hub, "WebSub unsubscription verified");
                self.forget(&subscription).await;
                Verified::Confirmed(challenge)
            }
            (Some("denied"), _) => {
                let reason = param("hub.reason").unwrap_or("no reason given");
                tracing::warn!(feed = %subscription.feed, hub = %subscription.hub, reason, "WebSub hub denied the subscription; polling goes on");
                subscription.state = SubscriptionState::Denied;
                subscription.last_error = Some(format!("denied by the hub: {reason}"));
                subscription.requested_at = now;
                self.save(subscription).await;
                Verified::Noted
            }
            _ => Verified::Refused,
        }
    }

    /// Content a hub pushed to `token`'s callback, with its
    /// `X-Hub-Signature` header.
    pub(crate) async fn authenticate(
        &self,
        token: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> Pushed {
        let Some(subscription) = Self::lock(self.known().await).by_token(token).cloned() else {
            return Pushed::Unknown;
        };
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

    /// Renews leases before they end, asks again where a hub did not
    /// answer or denied long ago, and unsubscribes feeds that left the
    /// config, until `stop`.
    /// A request that failed is sent again at once after a start or reload
    /// (the hub, or the network policy, may have been fixed).
    pub(crate) async fn maintain(&self, stop: tokio_util::sync::CancellationToken) {
        let mut first = true;
        loop {
            let now = Utc::now();
            let mut next = now + seconds(Duration::from_secs(60));
            // Only what is due is taken out of the lock (there may be a
            // subscription per feed).
            let mut due_now = Vec::new();
            for subscription in Self::lock(self.known().await).by_feed.values() {
                let configured = self.feeds.contains_key(&subscription.feed);
                let failed = subscription.state == SubscriptionState::Requested
                    && subscription.last_error.is_some();
                match due(subscription, configured) {
                    (_, Action::Subscribe) if first && failed => {
                        due_now.push((subscription.clone(), Action::Subscribe))
                    }
                    (at, _) if at > now => next = next.min(at),
                    (_, action) => due_now.push((subscription.clone(), action)),
                }
            }
            for (subscription, action) in due_now {
                match action {
                    Action::Subscribe => self.request(subscription, "subscribe").await,
                    Action::Unsubscribe => {
                        let mut leaving = subscription;
                        leaving.state = SubscriptionState::Unsubscribing;
                        self.request(leaving, "unsubscribe").await;
                    }
                    Action::Forget => self.forget(&subscription).await,
                }
            }
            first = false;
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
}

#[derive(Debug, PartialEq, Eq)]
enum Action {
    Subscribe,
    Unsubscribe,
    Forget,
}

/// What a subscription needs next, and when: a lease is renewed a fifth of
/// it (at most a day) before it ends, and a renewal the hub has not
/// verified is sent again every fifth of the lease (from a minute to an
/// hour); a request the hub did not verify is sent again after an hour, a
/// denied one after a day; a feed that left the config is unsubscribed at
/// once, and forgotten after a day if its hub never confirms.
fn due(s: &Subscription, configured: bool) -> (DateTime<Utc>, Action) {
    let after = |d: Duration| s.requested_at + seconds(d);
    match (s.state, configured) {
        (SubscriptionState::Unsubscribing, _) => (after(AFTER_DENIAL), Action::Forget),
        (_, false) => (s.requested_at, Action::Unsubscribe),
        (SubscriptionState::Active, true) => {
            let (Some(until), Some(verified)) = (s.lease_until, s.verified_at) else {
                return (after(ASK_AGAIN), Action::Subscribe);
            };
            let lease = (until - verified).to_std().unwrap_or_default();
            let renew = until - seconds((lease / 5).min(RENEW_AHEAD));
            match s.requested_at > verified {
                true => {
                    let again = (lease / 5).clamp(Duration::from_secs(60), ASK_AGAIN);
                    (renew.max(after(again)), Action::Subscribe)
                }
                false => (renew, Action::Subscribe),
            }
        }
        (SubscriptionState::Requested, true) => (after(ASK_AGAIN), Action::Subscribe),
        (SubscriptionState::Denied, true) => (after(AFTER_DENIAL), Action::Subscribe),
    }
}

fn seconds(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(365))
}

/// Why a request to a hub failed, without its URL (it may hold a token).
fn hub_error(error: &FetchError) -> String {
    match error {
        FetchError::Status { status, .. } => format!("the hub answered HTTP {status}"),
        other => other.to_string(),
    }
}

/// `n` random bytes from the OS, as hex.
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if let Err(error) = getrandom::fill(&mut bytes) {
        // Without the OS's randomness there is no secret to give a hub.
        panic!("the operating system's random source failed: {error}");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `X-Hub-Signature` (`method=hex`) is `body`'s HMAC with `secret`.
fn signed(header: &str, secret: &[u8], body: &[u8]) -> bool {
    let Some((method, hex)) = header.trim().split_once('=') else {
        return false;
    };
    let Some(expected) = decode_hex(hex.trim()) else {
        return false;
    };
    fn check<M: Mac + hmac::digest::KeyInit>(secret: &[u8], body: &[u8], expected: &[u8]) -> bool {
        let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(expected).is_ok()
    }
    match method.to_ascii_lowercase().as_str() {
        "sha1" => check::<Hmac<sha1::Sha1>>(secret, body, &expected),
        "sha256" => check::<Hmac<sha2::Sha256>>(secret, body, &expected),
        "sha384" => check::<Hmac<sha2::Sha384>>(secret, body, &expected),
        "sha512" => check::<Hmac<sha2::Sha512>>(secret, body, &expected),
        _ => false,
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn link_headers_name_the_hub_and_the_topic() {
        let base = url("https://news.example/feed.xml");
        let got = Advertised::from_link_headers(
            [
                r#"<https://hub.example/>; rel="hub", </feed.xml?a=1,2>; rel="self""#,
                r#"<https://other.example/>; rel="alternate hub""#,
            ]
            .into_iter(),
            &base,
        );
        assert_eq!(got.hub, Some(url("https://hub.example/")));
        assert_eq!(got.topic, Some(url("https://news.example/feed.xml?a=1,2")));
        // A quoted comma does not end a link; rel is case-insensitive.
        let got = Advertised::from_link_headers(
            [r#"<https://a.example/>; title="x, y"; REL=Hub"#].into_iter(),
            &base,
        );
        assert_eq!(got.hub, Some(url("https://a.example/")));
        assert_eq!(
            Advertised::from_link_headers(["garbage; rel=hub"].into_iter(), &base),
            Advertised::default()
        );
    }

    #[test]
    fn signatures_are_checked_for_each_method() {
        let body = b"<feed/>";
        let sign = |method: &str| {
            let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
            let mac = match method {
                "sha1" => hex(&Hmac::<sha1::Sha1>::new_from_slice(b"k")
                    .unwrap()
                    .chain_update(body)
                    .finalize()
                    .into_bytes()),
                _ => hex(&Hmac::<sha2::Sha256>::new_from_slice(b"k")
                    .unwrap()
                    .chain_update(body)
                    .finalize()
                    .into_bytes()),
            };
            format!("{method}={mac}")
        };
        assert!(signed(&sign("sha1"), b"k", body));
        assert!(signed(&sign("sha256"), b"k", body));
        assert!(!signed(&sign("sha256"), b"other", body));
        assert!(!signed(&sign("sha256"), b"k", b"<feed>changed</feed>"));
        assert!(!signed(
            &sign("sha256").replace("sha256", "md5"),
            b"k",
            body
        ));
        assert!(!signed("sha256=zz", b"k", body));
        assert!(!signed("", b"k", body));
    }

    fn subscription(state: SubscriptionState, lease: Option<u64>) -> Subscription {
        let at = DateTime::from_timestamp(1_000_000, 0).unwrap();
        Subscription {
            feed: "f".into(),
            hub: url("https://hub.example/"),
            topic: url("https://news.example/feed.xml"),
            token: "t".into(),
            secret: "s".into(),
            state,
            lease_until: lease.map(|secs| at + chrono::Duration::seconds(secs as i64)),
            requested_at: at,
            verified_at: lease.map(|_| at),
            last_error: None,
        }
    }

    #[test]
    fn leases_are_renewed_before_they_end_and_leavers_unsubscribed() {
        let at = |s: &Subscription, configured| {
            let (when, action) = due(s, configured);
            ((when - s.requested_at).num_seconds(), action)
        };
        use SubscriptionState::*;
        // Ten days: renewed a day before the end; 100 s: 20 s before.
        let ten_days = 10 * 24 * 3600;
        assert_eq!(
            at(&subscription(Active, Some(ten_days)), true),
            (ten_days as i64 - 24 * 3600, Action::Subscribe)
        );
        assert_eq!(
            at(&subscription(Active, Some(100)), true),
            (80, Action::Subscribe)
        );
        // A renewal sent and not verified: again a fifth of the lease later
        // (at least a minute), also once the lease has run out.
        let mut pending = subscription(Active, Some(ten_days));
        pending.requested_at += chrono::Duration::seconds(ten_days as i64 - 24 * 3600);
        assert_eq!(at(&pending, true), (3600, Action::Subscribe));
        let mut lapsed = subscription(Active, Some(100));
        lapsed.requested_at += chrono::Duration::seconds(500);
        assert_eq!(at(&lapsed, true), (60, Action::Subscribe));
        assert_eq!(
            at(&subscription(Requested, None), true),
            (3600, Action::Subscribe)
        );
        assert_eq!(
            at(&subscription(Denied, None), true),
            (24 * 3600, Action::Subscribe)
        );
        assert_eq!(
            at(&subscription(Active, Some(100)), false),
            (0, Action::Unsubscribe)
        );
        assert_eq!(
            at(&subscription(Unsubscribing, Some(100)), false),
            (24 * 3600, Action::Forget)
        );
    }
}
