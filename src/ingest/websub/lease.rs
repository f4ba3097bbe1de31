//! When a subscription needs its hub again: leases renewed before they
//! end, requests the hub left unanswered sent again, feeds that left the
//! config unsubscribed. Never two subscribe requests for one subscription
//! within [`MIN_GAP`], whatever a hub grants or answers.

use crate::model::subscription::{Subscription, SubscriptionState};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The least time between two requests for one subscription.
pub(super) const MIN_GAP: Duration = Duration::from_secs(60);
/// A hub that has not verified a request within this is asked again.
const ASK_AGAIN: Duration = Duration::from_secs(3600);
/// A hub that denied a subscription is asked again after this; an
/// unsubscription it never confirms is forgotten after it.
const AFTER_DENIAL: Duration = Duration::from_secs(24 * 3600);
/// The most a lease is renewed ahead of its end.
const RENEW_AHEAD: Duration = Duration::from_secs(24 * 3600);
/// The longest lease taken from a hub (a larger one is read as this).
pub(super) const LONGEST_LEASE: Duration = Duration::from_secs(366 * 24 * 3600);

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Action {
    Subscribe,
    Unsubscribe,
    Forget,
}

/// What a subscription needs next, and when: a lease is renewed a fifth of
/// it (at most a day) before it ends, and a renewal the hub has not
/// verified is sent again every fifth of the lease (a minute to an hour); a
/// request the hub did not verify is sent again after an hour, a denied
/// one after a day; a feed that left the config is unsubscribed, and
/// forgotten a day later if its hub never confirms.
pub(super) fn due(s: &Subscription, configured: bool) -> (DateTime<Utc>, Action) {
    let after = |d: Duration| s.requested_at + seconds(d);
    let (at, action) = match (s.state, configured) {
        (SubscriptionState::Unsubscribing, _) => return (after(AFTER_DENIAL), Action::Forget),
        // Once: it is marked as leaving before it is sent.
        (_, false) => return (s.requested_at, Action::Unsubscribe),
        (SubscriptionState::Active, true) => match (s.lease_until, s.verified_at) {
            (Some(until), Some(verified)) => {
                let lease = (until - verified).to_std().unwrap_or_default();
                let renew = until - seconds((lease / 5).min(RENEW_AHEAD));
                match s.requested_at > verified {
                    true => {
                        let again = (lease / 5).clamp(MIN_GAP, ASK_AGAIN);
                        (renew.max(after(again)), Action::Subscribe)
                    }
                    false => (renew, Action::Subscribe),
                }
            }
            _ => (after(ASK_AGAIN), Action::Subscribe),
        },
        (SubscriptionState::Requested, true) => (after(ASK_AGAIN), Action::Subscribe),
        (SubscriptionState::Denied, true) => (after(AFTER_DENIAL), Action::Subscribe),
    };
    (at.max(after(MIN_GAP)), action)
}

/// Whether a hub's verification of a subscribe request is one we are
/// waiting for: a request, or a renewal sent since the last verification.
pub(super) fn awaits_verification(s: &Subscription) -> bool {
    match s.state {
        SubscriptionState::Requested => true,
        SubscriptionState::Active => s.verified_at.is_none_or(|v| s.requested_at >= v),
        SubscriptionState::Denied | SubscriptionState::Unsubscribing => false,
    }
}

pub(super) fn seconds(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::days(366))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(state: SubscriptionState, lease: Option<u64>) -> Subscription {
        let at = DateTime::from_timestamp(1_000_000, 0).unwrap();
        Subscription {
            feed: "f".into(),
            hub: "https://hub.example/".parse().unwrap(),
            topic: "https://news.example/feed.xml".parse().unwrap(),
            token: "t".into(),
            secret: "s".into(),
            state,
            lease_until: lease.map(|secs| at + chrono::Duration::seconds(secs as i64)),
            requested_at: at,
            verified_at: lease.map(|_| at),
            last_error: None,
        }
    }

    fn at(s: &Subscription, configured: bool) -> (i64, Action) {
        let (when, action) = due(s, configured);
        ((when - s.requested_at).num_seconds(), action)
    }

    #[test]
    fn leases_are_renewed_before_they_end_and_leavers_unsubscribed() {
        use SubscriptionState::*;
        // Ten days: renewed a day before the end; 1000 s: 200 s before.
        let ten_days = 10 * 24 * 3600;
        assert_eq!(
            at(&subscription(Active, Some(ten_days)), true),
            (ten_days as i64 - 24 * 3600, Action::Subscribe)
        );
        assert_eq!(
            at(&subscription(Active, Some(1000)), true),
            (800, Action::Subscribe)
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
            at(&subscription(Active, Some(1000)), false),
            (0, Action::Unsubscribe)
        );
        assert_eq!(
            at(&subscription(Unsubscribing, Some(100)), false),
            (24 * 3600, Action::Forget)
        );
    }

    #[test]
    fn a_hub_granting_no_lease_is_not_asked_again_at_once() {
        use SubscriptionState::*;
        for lease in [0, 1, 5] {
            assert_eq!(
                at(&subscription(Active, Some(lease)), true),
                (60, Action::Subscribe),
                "{lease}"
            );
        }
    }

    #[test]
    fn only_requests_sent_wait_for_verification() {
        use SubscriptionState::*;
        assert!(awaits_verification(&subscription(Requested, None)));
        let verified = subscription(Active, Some(1000));
        assert!(awaits_verification(&verified), "sent and verified at once");
        let mut settled = verified.clone();
        settled.verified_at = Some(settled.requested_at + chrono::Duration::seconds(1));
        assert!(!awaits_verification(&settled));
        settled.requested_at += chrono::Duration::seconds(2);
        assert!(awaits_verification(&settled), "a renewal sent");
        assert!(!awaits_verification(&subscription(Denied, None)));
        assert!(!awaits_verification(&subscription(Unsubscribing, None)));
    }
}
