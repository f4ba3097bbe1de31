//! A WebSub subscription: a feed's hub pushes its new entries to our
//! callback, so they arrive when published rather than at the next poll.

use chrono::{DateTime, Utc};
use url::Url;

/// Where a subscription stands with its hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Asked for; the hub has not yet verified it (or the request failed:
    /// then `last_error` says why, and it is asked again later).
    Requested,
    /// Verified by the hub until `lease_until`.
    Active,
    /// The hub refused it (`hub.mode=denied`).
    Denied,
    /// The feed left the config: we asked the hub to stop.
    Unsubscribing,
}

impl SubscriptionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionState::Requested => "requested",
            SubscriptionState::Active => "active",
            SubscriptionState::Denied => "denied",
            SubscriptionState::Unsubscribing => "unsubscribing",
        }
    }

    pub fn parse(text: &str) -> Option<SubscriptionState> {
        [
            SubscriptionState::Requested,
            SubscriptionState::Active,
            SubscriptionState::Denied,
            SubscriptionState::Unsubscribing,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// One feed's subscription, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub feed: String,
    pub hub: Url,
    /// The feed's `rel="self"` URL (what the hub knows it by), else its URL.
    pub topic: Url,
    /// The last segment of our callback URL: unguessable, so only the hub
    /// we gave it to can reach this subscription.
    pub token: String,
    /// The key the hub signs what it pushes with (`hub.secret`).
    pub secret: String,
    pub state: SubscriptionState,
    /// When the hub's lease ends (active subscriptions).
    pub lease_until: Option<DateTime<Utc>>,
    /// When we last asked the hub (to subscribe, renew or unsubscribe).
    pub requested_at: DateTime<Utc>,
    /// When the hub last verified a subscription (the lease runs from then).
    pub verified_at: Option<DateTime<Utc>>,
    /// Why the last request failed, or why the hub denied it.
    pub last_error: Option<String>,
}
