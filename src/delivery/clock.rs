//! The outbox's notion of "now": the system clock in the daemon, tokio's
//! (pausable) clock in tests, so digests and quiet hours can be tested
//! without waiting for 08:00.

use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    /// Wall time `base` at tokio instant `start`, advancing with tokio's clock.
    Tokio {
        base: DateTime<Utc>,
        start: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock that reads `base` now and follows tokio's clock from here.
    pub fn tokio(base: DateTime<Utc>) -> Clock {
        Clock::Tokio {
            base,
            start: tokio::time::Instant::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Tokio { base, start } => {
                *base + chrono::Duration::from_std(start.elapsed()).unwrap_or_default()
            }
        }
    }

    /// How long from now until `at` (zero if it has passed).
    pub(crate) fn until(&self, at: DateTime<Utc>) -> Duration {
        (at - self.now()).to_std().unwrap_or_default()
    }
}
