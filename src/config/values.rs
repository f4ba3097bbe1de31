//! Single values as written in the config: durations, `first_poll`, mail
//! addresses.

use crate::ingest::schedule::FirstPoll;
use crate::model::diagnostic::{Diagnostic, SourceFile};
use lettre::message::Mailbox;
use std::time::Duration;
use toml::Spanned;

/// Bounds for every duration in the config: "15ms" meant as "15m" would poll
/// a feed back to back, and "300000 years" would overflow date arithmetic.
pub(super) const MIN_DURATION: Duration = Duration::from_secs(1);
pub(super) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

pub(super) fn mailbox(
    source: &SourceFile,
    text: &Spanned<String>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Mailbox> {
    text.get_ref()
        .parse()
        .map_err(|e| {
            errors.push(source.error_in(
                &text.span(),
                format!("invalid address {:?}: {e}", text.get_ref()),
            ))
        })
        .ok()
}

pub(super) fn duration(
    source: &SourceFile,
    text: Option<&Spanned<String>>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let text = text?;
    match humantime::parse_duration(text.get_ref()) {
        Ok(d) if (MIN_DURATION..=MAX_DURATION).contains(&d) => Some(d),
        Ok(_) => {
            errors.push(source.error_in(&text.span(), "duration must be between 1s and 365days"));
            None
        }
        Err(e) => {
            errors.push(source.error_in(
                &text.span(),
                format!(
                    "invalid duration {:?}: {e} (e.g. \"90s\", \"15m\", \"1h\")",
                    text.get_ref()
                ),
            ));
            None
        }
    }
}

pub(super) fn first_poll(
    source: &SourceFile,
    text: Option<&Spanned<String>>,
    errors: &mut Vec<Diagnostic>,
) -> Option<FirstPoll> {
    let text = text?;
    match text.get_ref().as_str() {
        "quiet" => Some(FirstPoll::Quiet),
        "alert" => Some(FirstPoll::Alert),
        other => {
            errors.push(source.error_in(
                &text.span(),
                format!("first_poll must be \"quiet\" or \"alert\", not {other:?}"),
            ));
            None
        }
    }
}
