//! When alerts go out: a rule's digest schedule and a destination's quiet
//! hours, both in the destination's time zone.

use chrono::{DateTime, Utc};
use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum DigestSchedule {
    /// Every day at this local time (`digest = "daily 08:00"`).
    Daily(Time),
    /// At every multiple of this period since the Unix epoch (`every = "1h"`).
    Every(Duration),
}

impl DigestSchedule {
    /// Parses `daily HH:MM`.
    pub(crate) fn parse_daily(text: &str) -> Result<DigestSchedule, String> {
        let time = text
            .trim()
            .strip_prefix("daily")
            .map(str::trim)
            .ok_or_else(|| format!("digest schedule {text:?} must look like \"daily 08:00\""))?;
        Ok(DigestSchedule::Daily(parse_time(time)?))
    }

    /// Parses a period such as `1h` (from a minute to a year).
    pub(crate) fn parse_every(text: &str) -> Result<DigestSchedule, String> {
        match humantime::parse_duration(text) {
            Ok(d)
                if (Duration::from_secs(60)..=Duration::from_secs(366 * 24 * 3600))
                    .contains(&d) =>
            {
                Ok(DigestSchedule::Every(d))
            }
            Ok(_) => Err("digest period must be between 1m and 366days".to_string()),
            Err(e) => Err(format!("invalid period {text:?}: {e} (e.g. \"1h\")")),
        }
    }

    /// The first slot at or after `t`.
    pub(crate) fn next_slot(&self, t: DateTime<Utc>, tz: &TimeZone) -> DateTime<Utc> {
        match self {
            DigestSchedule::Every(period) => {
                let period = period.as_secs().max(1) as i64;
                let secs = t.timestamp();
                let slot = secs.div_euclid(period) * period;
                let slot = if slot < secs { slot + period } else { slot };
                DateTime::from_timestamp(slot, 0).unwrap_or(t)
            }
            DigestSchedule::Daily(time) => {
                let now = zoned(t, tz);
                let today = at_local(&now, *time, 0);
                if today.timestamp() >= now.timestamp() {
                    to_chrono(&today, t)
                } else {
                    to_chrono(&at_local(&now, *time, 1), t)
                }
            }
        }
    }
}

/// `quiet_hours = "22:00-07:00"`: alerts that would go out inside the window
/// wait for its end and go out together as a digest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuietHours {
    start: Time,
    end: Time,
}

impl QuietHours {
    pub fn parse(text: &str) -> Result<QuietHours, String> {
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| format!("quiet_hours {text:?} must look like \"22:00-07:00\""))?;
        let (start, end) = (parse_time(start)?, parse_time(end)?);
        if start == end {
            return Err(format!("quiet_hours {text:?} is empty: start equals end"));
        }
        Ok(QuietHours { start, end })
    }

    /// If `t` falls inside quiet hours, the moment they end; otherwise `t`.
    pub(crate) fn release(&self, t: DateTime<Utc>, tz: &TimeZone) -> DateTime<Utc> {
        let now = zoned(t, tz);
        let local = now.time();
        let wraps = self.start > self.end;
        let inside = if wraps {
            local >= self.start || local < self.end
        } else {
            local >= self.start && local < self.end
        };
        if !inside {
            return t;
        }
        // Past midnight's start (22:00-07:00 at 23:00) the window ends tomorrow.
        let days = i64::from(wraps && local >= self.start);
        to_chrono(&at_local(&now, self.end, days), t)
    }
}

fn parse_time(text: &str) -> Result<Time, String> {
    let text = text.trim();
    let invalid = || format!("invalid time {text:?} (expected HH:MM, 24-hour)");
    let (h, m) = text.split_once(':').ok_or_else(invalid)?;
    let (h, m): (i8, i8) = (
        h.parse().map_err(|_| invalid())?,
        m.parse().map_err(|_| invalid())?,
    );
    Time::new(h, m, 0, 0).map_err(|_| invalid())
}

fn zoned(t: DateTime<Utc>, tz: &TimeZone) -> Zoned {
    Timestamp::from_second(t.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(tz.clone())
}

/// `time` on the local date of `day`, `days_later` days on. A time that a DST
/// change skips resolves to the moment after the gap.
fn at_local(day: &Zoned, time: Time, days_later: i64) -> Zoned {
    let date = day
        .date()
        .checked_add(jiff::Span::new().days(days_later))
        .unwrap_or(day.date());
    date.to_datetime(time)
        .to_zoned(day.time_zone().clone())
        .unwrap_or_else(|_| day.clone())
}

fn to_chrono(z: &Zoned, fallback: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(z.timestamp().as_second(), 0).unwrap_or(fallback)
}

/// Parses a time zone name for the config (`"Europe/Brussels"`, `"UTC"`).
pub(crate) fn time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|e| format!("unknown time zone {name:?}: {e}"))
}

/// `t` as the destination reads it: "2026-03-22 08:12 CET".
pub(crate) fn local_time(t: DateTime<Utc>, tz: &TimeZone) -> String {
    zoned(t, tz).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn daily_slot_is_local_time_today_or_tomorrow() {
        let brussels = time_zone("Europe/Brussels").unwrap();
        let daily = DigestSchedule::parse_daily("daily 08:00").unwrap();
        // 06:30 UTC is 07:30 in Brussels (CET, winter): today 08:00 local = 07:00 UTC.
        assert_eq!(
            daily.next_slot(utc("2026-01-10T06:30:00Z"), &brussels),
            utc("2026-01-10T07:00:00Z")
        );
        assert_eq!(
            daily.next_slot(utc("2026-01-10T07:00:01Z"), &brussels),
            utc("2026-01-11T07:00:00Z")
        );
        // Summer time: 08:00 CEST = 06:00 UTC.
        assert_eq!(
            daily.next_slot(utc("2026-07-10T05:00:00Z"), &brussels),
            utc("2026-07-10T06:00:00Z")
        );
        assert!(DigestSchedule::parse_daily("weekly 08:00").is_err());
        assert!(DigestSchedule::parse_daily("daily 25:00").is_err());
    }

    #[test]
    fn every_slot_is_aligned() {
        let every = DigestSchedule::Every(Duration::from_secs(3600));
        assert_eq!(
            every.next_slot(utc("2026-01-10T06:30:00Z"), &TimeZone::UTC),
            utc("2026-01-10T07:00:00Z")
        );
        assert_eq!(
            every.next_slot(utc("2026-01-10T07:00:00Z"), &TimeZone::UTC),
            utc("2026-01-10T07:00:00Z")
        );
    }

    #[test]
    fn quiet_hours_release_at_their_end() {
        let tz = time_zone("Europe/Brussels").unwrap();
        let quiet = QuietHours::parse("22:00-07:00").unwrap();
        // 22:30 local (21:30 UTC) waits for 07:00 local next day (06:00 UTC).
        assert_eq!(
            quiet.release(utc("2026-01-10T21:30:00Z"), &tz),
            utc("2026-01-11T06:00:00Z")
        );
        // 03:00 local waits for 07:00 the same day.
        assert_eq!(
            quiet.release(utc("2026-01-11T02:00:00Z"), &tz),
            utc("2026-01-11T06:00:00Z")
        );
        // 12:00 local is not quiet.
        assert_eq!(
            quiet.release(utc("2026-01-11T11:00:00Z"), &tz),
            utc("2026-01-11T11:00:00Z")
        );
        let lunch = QuietHours::parse("12:00-13:30").unwrap();
        assert_eq!(
            lunch.release(utc("2026-01-11T11:15:00Z"), &tz),
            utc("2026-01-11T12:30:00Z")
        );
        assert!(QuietHours::parse("22:00").is_err());
        assert!(QuietHours::parse("07:00-07:00").is_err());
    }

    #[test]
    fn local_time_names_the_zone() {
        let tz = time_zone("Europe/Brussels").unwrap();
        assert_eq!(
            local_time(utc("2026-03-22T07:12:00Z"), &tz),
            "2026-03-22 08:12 CET"
        );
        assert!(time_zone("Mars/Olympus").is_err());
    }
}
