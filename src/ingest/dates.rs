//! Feed dates as they are really written. RFC 3339 and RFC 2822 first; then
//! what news feeds commonly send instead: "2016-03-23 09:12:00", long month
//! names, a wrong or foreign weekday, zone names such as CEST, one-digit
//! hours, month before day, "9:12 PM". A date without a zone is taken as UTC
//! (as feedparser does). Anything else yields `None`: the entry is kept,
//! undated, never rejected.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Parses a feed date; `None` when no known form fits, or for a year
/// outside 1..=9999 (which no article has, and RFC 2822 cannot write).
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if text.is_empty() || text.len() > 100 {
        return None;
    }
    let parsed = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc2822(text))
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| numeric(text))
        .or_else(|| worded(text))?;
    (1..=9999)
        .contains(&chrono::Datelike::year(&parsed))
        .then_some(parsed)
}

/// ISO-like forms: `2016-03-23 09:12:00`, `2016-03-23T09:12`, `2016/03/23`,
/// `2016-03-23 09:12:00 +0100`, `2016-03-23T09:12:00.5+01:00`.
fn numeric(text: &str) -> Option<DateTime<Utc>> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let text = text.replace('/', "-");
    let (datetime, zone) = split_zone(&text);
    let offset = match zone {
        Some(zone) => zone_offset(zone)?,
        None => FixedOffset::east_opt(0)?,
    };
    let datetime = datetime.trim().replacen(['T', 't'], " ", 1);
    let naive = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&datetime, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(&datetime, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })?;
    Some(
        offset
            .from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

/// Splits `2016-03-23 09:12:00+0100` into date-time and zone; the date's
/// own hyphens are not a zone.
fn split_zone(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_suffix(['Z', 'z']) {
        return (rest, Some("Z"));
    }
    // A zone starts after the time part (past the first ':').
    let Some(time_at) = text.find(':') else {
        return (text, None);
    };
    match text[time_at..].find(['+', '-']) {
        Some(i) => (&text[..time_at + i], Some(text[time_at + i..].trim())),
        None => match text[time_at..].find(' ') {
            Some(i) => (&text[..time_at + i], Some(text[time_at + i..].trim())),
            None => (text, None),
        },
    }
}

/// Forms with a month name, in any order of day and month, with or without
/// a weekday, seconds, zone or AM/PM: `Wednesday, 23 March 2016 09:12 CET`,
/// `Mar 23 2016 9:12:00 PM EST`, `23 Mar 2016 24:00:00 UT`.
fn worded(text: &str) -> Option<DateTime<Utc>> {
    let (mut day, mut month, mut year, mut time, mut zone) = (None, None, None, None, None);
    let mut pm = None;
    for token in text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
    {
        let lower = token.to_ascii_lowercase();
        if token.contains(':') && time.is_none() {
            time = Some(token);
        } else if lower == "am" || lower == "pm" {
            pm = Some(lower == "pm");
        } else if let Some(m) = month_number(&lower).filter(|_| month.is_none()) {
            month = Some(m);
        } else if is_weekday(&lower) {
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            let n: i32 = token.parse().ok()?;
            match token.len() {
                1 | 2 if day.is_none() => day = Some(n as u32),
                4 if year.is_none() => year = Some(n),
                2 if year.is_none() => year = Some(if n < 70 { 2000 + n } else { 1900 + n }),
                _ => return None,
            }
        } else if zone.is_none() && time.is_some() {
            zone = Some(token);
        } else {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year?, month?, day?)?;
    let mut parts = time.unwrap_or("00:00").split(':');
    let mut hour: u32 = parts.next()?.parse().ok()?;
    let minute: u32 = parts.next()?.parse().ok()?;
    let second: u32 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
    match pm {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    // "24:00:00" is midnight at the end of the day.
    let date = if hour == 24 {
        hour = 0;
        date.succ_opt()?
    } else {
        date
    };
    let naive = date.and_hms_opt(hour, minute, second.min(59))?;
    let offset = match zone {
        Some(zone) => zone_offset(zone)?,
        None => FixedOffset::east_opt(0)?,
    };
    Some(
        offset
            .from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc),
    )
}

fn month_number(lower: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let word = lower.trim_end_matches('.');
    if word.len() < 3 {
        return None;
    }
    // "Mar", "March", "Sept", "Sept." all name March and September.
    MONTHS
        .iter()
        .position(|m| m.starts_with(word))
        .map(|i| i as u32 + 1)
}

fn is_weekday(lower: &str) -> bool {
    const DAYS: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    let word = lower.trim_end_matches('.');
    word.len() >= 3
        && DAYS
            .iter()
            .any(|d| d.starts_with(word) || word.starts_with(&d[..3]))
}

/// `+0100`, `+01:00`, `-05`, `Z`, `GMT`, `UTC`, `EST`, `CEST` and the other
/// zone names news feeds use.
fn zone_offset(zone: &str) -> Option<FixedOffset> {
    let zone = zone.trim();
    if let Some(sign) = zone.chars().next().filter(|c| *c == '+' || *c == '-') {
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match digits.len() {
            2 => (digits.parse::<i32>().ok()?, 0),
            4 => (
                digits[..2].parse::<i32>().ok()?,
                digits[2..].parse::<i32>().ok()?,
            ),
            _ => return None,
        };
        let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
        return FixedOffset::east_opt(secs);
    }
    let hours: f32 = match zone.to_ascii_uppercase().as_str() {
        "Z" | "UT" | "UTC" | "GMT" | "WET" => 0.0,
        "BST" | "CET" | "MET" | "WAT" | "WEST" => 1.0,
        "CEST" | "MEST" | "EET" | "CAT" | "SAST" | "IST2" => 2.0,
        "EEST" | "MSK" | "EAT" | "AST3" => 3.0,
        "GST" => 4.0,
        "PKT" => 5.0,
        "IST" => 5.5,
        "ICT" | "WIB" => 7.0,
        "HKT" | "SGT" | "AWST" | "PHT" => 8.0,
        "JST" | "KST" => 9.0,
        "AEST" => 10.0,
        "AEDT" => 11.0,
        "NZST" => 12.0,
        "NZDT" => 13.0,
        "ADT" => -3.0,
        "AST" | "EDT" => -4.0,
        "EST" | "CDT" => -5.0,
        "CST" | "MDT" => -6.0,
        "MST" | "PDT" => -7.0,
        "PST" | "AKDT" => -8.0,
        "AKST" => -9.0,
        "HST" => -10.0,
        _ => return None,
    };
    FixedOffset::east_opt((hours * 3600.0) as i32)
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn utc(text: &str) -> Option<String> {
        parse(text).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
    }

    #[test]
    fn standard_forms() {
        assert_eq!(
            utc("2016-03-23T09:12:00+01:00").as_deref(),
            Some("2016-03-23 08:12:00")
        );
        assert_eq!(
            utc("Wed, 23 Mar 2016 09:12:00 GMT").as_deref(),
            Some("2016-03-23 09:12:00")
        );
        assert_eq!(
            utc("Wed, 23 Mar 2016 09:12:00 -0500").as_deref(),
            Some("2016-03-23 14:12:00")
        );
    }

    #[test]
    fn forms_feeds_send_instead() {
        for (text, expected) in [
            ("2016-03-23 09:12:00", "2016-03-23 09:12:00"),
            ("2016-03-23 09:12", "2016-03-23 09:12:00"),
            ("2016-03-23T09:12:00", "2016-03-23 09:12:00"),
            ("2016/03/23 09:12:00", "2016-03-23 09:12:00"),
            ("2016-03-23", "2016-03-23 00:00:00"),
            ("2016-03-23 09:12:00 +0100", "2016-03-23 08:12:00"),
            ("2016-03-23T09:12:00+0100", "2016-03-23 08:12:00"),
            ("2016-03-23 09:12:00.250Z", "2016-03-23 09:12:00"),
            ("2016-03-23 09:12:00 CET", "2016-03-23 08:12:00"),
            (
                "Wednesday, 23 March 2016 09:12:00 GMT",
                "2016-03-23 09:12:00",
            ),
            // The weekday is wrong (23 March 2016 was a Wednesday): ignored.
            ("Sat, 23 Mar 2016 09:12:00 GMT", "2016-03-23 09:12:00"),
            ("Thurs, 23 Mar 2016 09:12:00 UTC", "2016-03-23 09:12:00"),
            ("Wed, 23 Mar 2016 9:12:00 CEST", "2016-03-23 07:12:00"),
            ("Mar 23, 2016 9:12 PM EST", "2016-03-24 02:12:00"),
            ("23 Sept 2016 09:12", "2016-09-23 09:12:00"),
            ("Wed, 23 Mar 16 09:12:00 +0000", "2016-03-23 09:12:00"),
            ("23 Mar 2016 24:00:00 UT", "2016-03-24 00:00:00"),
        ] {
            assert_eq!(utc(text).as_deref(), Some(expected), "{text}");
        }
    }

    #[test]
    fn nonsense_is_none_not_a_panic() {
        for text in [
            "",
            "yesterday",
            "2016-13-45 99:99:99",
            "Wed, 32 Mar 2016 09:12:00 GMT",
            "12:00",
            "2016-03-23 09:12:00 +99999",
            "23 Mar 2016 09:12:00 XYZT",
            "ééé, 23 ééé 2016",
            // Years no RFC 2822 date can carry.
            "0000-01-01T00:00:00+01:00",
            "9999-12-31T23:00:00-05:00",
        ] {
            assert_eq!(utc(text), None, "{text}");
        }
    }
}
