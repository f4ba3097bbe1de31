//! How the stores write times: whole seconds since the epoch, UTC.

use chrono::{DateTime, Utc};

pub(super) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// Rounded up: a retry is never due before the time asked for (Retry-After).
pub(super) fn ts_ceil(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

pub(super) fn from_ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}
