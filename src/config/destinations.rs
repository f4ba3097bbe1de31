//! `[destination.NAME]`: each destination's kind (email, maildir, webhook,
//! chat services) with the keys that kind takes, and when it is sent to.

use super::raw::RawDestination;
use super::secrets::{SecretFrom, read_secret};
use super::sources::Sources;
use super::values::{duration, mailbox};
use crate::delivery::deliver::ntfy_root_and_topic;
use crate::delivery::destination::{
    DestinationConfig, DestinationKind, HttpFormat, MailTransport, Secret, SmtpTls,
};
use crate::delivery::email::Templates;
use crate::delivery::timing::{self, QuietHours};
use crate::delivery::webhook::SigningKey;
use crate::model::diagnostic::{Diagnostic, SourceFile};
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use url::Url;

pub(super) fn build_destination(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
    state_dir: &Path,
    name: &str,
    raw: RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<DestinationConfig> {
    let before = errors.len();
    for key in inapplicable_keys(&raw) {
        errors.push(source.error_in(
            &raw.kind.span(),
            format!(
                "destination {name:?}: `{key}` does not apply to kind {:?}",
                raw.kind.get_ref()
            ),
        ));
    }
    let kind = destination_kind(source, base, files, state_dir, name, &raw, errors);
    let timezone = match &raw.timezone {
        Some(tz) => timing::time_zone(tz.get_ref())
            .map_err(|e| errors.push(source.error_in(&tz.span(), e)))
            .unwrap_or(TimeZone::UTC),
        None => TimeZone::system(),
    };
    let quiet_hours = raw.quiet_hours.as_ref().and_then(|q| {
        QuietHours::parse(q.get_ref())
            .map_err(|e| errors.push(source.error_in(&q.span(), e)))
            .ok()
    });
    let concurrency = match &raw.concurrency {
        Some(n) if (1..=64).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => {
            errors.push(source.error_in(&n.span(), "concurrency must be between 1 and 64"));
            1
        }
        // Mail and webhooks take a few at once; chat services want one at a time.
        None => match &kind {
            Some(DestinationKind::Email { .. }) => 2,
            Some(DestinationKind::Http {
                format: HttpFormat::Webhook { .. },
                ..
            }) => 4,
            _ => 1,
        },
    };
    let min_interval = match &raw.rate_limit {
        Some(rate) => rate_limit(rate.get_ref())
            .map_err(|e| errors.push(source.error_in(&rate.span(), e)))
            .unwrap_or(None),
        None => match &kind {
            Some(DestinationKind::Http { format, .. }) => format.default_min_interval(),
            _ => None,
        },
    };
    if errors.len() > before {
        return None;
    }
    Some(DestinationConfig {
        kind: kind?,
        timezone,
        quiet_hours,
        concurrency,
        min_interval,
    })
}

pub(super) fn destination_kind(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
    state_dir: &Path,
    name: &str,
    raw: &RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<DestinationKind> {
    let kind_span = raw.kind.span();
    let http_format = match raw.kind.get_ref().as_str() {
        "email" => return email_kind(source, base, files, name, raw, errors),
        "maildir" => {
            let templates = templates(source, base, raw, errors)?;
            return Some(DestinationKind::Maildir {
                path: raw
                    .path
                    .as_deref()
                    .map_or_else(|| state_dir.join("maildir").join(name), |p| base.join(p)),
                templates,
            });
        }
        // A bad secret is reported along with any other error of this block.
        "webhook" => webhook_secret(source, base, files, raw, errors)
            .map(|secret| HttpFormat::Webhook { secret }),
        "slack" => Some(HttpFormat::Slack),
        "discord" => Some(HttpFormat::Discord),
        "teams" => Some(HttpFormat::Teams),
        "ntfy" => Some(HttpFormat::Ntfy),
        other => {
            errors.push(source.error_in(
                &kind_span,
                format!(
                    "destination {name:?}: unknown kind {other:?} (expected email, maildir, \
                     webhook, slack, discord, teams or ntfy)"
                ),
            ));
            return None;
        }
    };
    http_kind(source, name, raw, http_format, errors)
}

/// An `email` destination: the mail transport, sender, recipients, templates.
fn email_kind(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
    name: &str,
    raw: &RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<DestinationKind> {
    let kind_span = raw.kind.span();
    let transport = match &raw.smtp {
        None => {
            errors.push(source.error_in(
                &kind_span,
                format!("destination {name:?}: email needs `smtp`"),
            ));
            None
        }
        Some(smtp) => mail_transport(source, base, files, raw, smtp, errors),
    };
    let from = match &raw.from {
        None => {
            errors.push(source.error_in(
                &kind_span,
                format!("destination {name:?}: email needs `from`"),
            ));
            None
        }
        Some(from) => mailbox(source, from, errors),
    };
    if raw.to.is_empty() {
        errors.push(source.error_in(
            &kind_span,
            format!("destination {name:?}: email needs `to`"),
        ));
    }
    let to: Vec<Mailbox> = raw
        .to
        .iter()
        .filter_map(|t| mailbox(source, t, errors))
        .collect();
    let timeout = duration(source, raw.timeout.as_ref(), errors).unwrap_or(Duration::from_secs(60));
    let templates = templates(source, base, raw, errors);
    Some(DestinationKind::Email {
        transport: transport?,
        from: from?,
        to,
        timeout,
        templates: templates?,
    })
}

/// An HTTP destination (webhook or chat service) of `format`: its URL,
/// headers and timeout.
fn http_kind(
    source: &SourceFile,
    name: &str,
    raw: &RawDestination,
    http_format: Option<HttpFormat>,
    errors: &mut Vec<Diagnostic>,
) -> Option<DestinationKind> {
    let kind_span = raw.kind.span();
    let Some(url_text) = &raw.url else {
        errors.push(source.error_in(
            &kind_span,
            format!("destination {name:?}: {} needs `url`", raw.kind.get_ref()),
        ));
        return None;
    };
    let url = match Url::parse(url_text.get_ref()) {
        Ok(url)
            if http_format
                .as_ref()
                .is_some_and(|f| matches!(f, HttpFormat::Ntfy))
                && ntfy_root_and_topic(&url).1.is_empty() =>
        {
            errors.push(source.error_in(
                &url_text.span(),
                "an ntfy URL ends with the topic, e.g. https://ntfy.sh/newsroom-alerts",
            ));
            return None;
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        Ok(url) => {
            errors.push(source.error_in(
                &url_text.span(),
                format!(
                    "unsupported URL scheme {:?} (use http or https)",
                    url.scheme()
                ),
            ));
            return None;
        }
        Err(e) => {
            errors.push(source.error_in(&url_text.span(), format!("invalid URL: {e}")));
            return None;
        }
    };
    let mut headers = Vec::new();
    for (header, value) in &raw.headers {
        let valid_name = reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_ok();
        let valid_value = reqwest::header::HeaderValue::from_str(value.get_ref()).is_ok();
        if !valid_name || !valid_value {
            errors.push(source.error_in(
                &value.span(),
                format!("invalid HTTP header {header:?} (name or value)"),
            ));
        } else {
            headers.push((header.clone(), value.get_ref().clone()));
        }
    }
    let timeout = duration(source, raw.timeout.as_ref(), errors).unwrap_or(Duration::from_secs(30));
    Some(DestinationKind::Http {
        format: http_format?,
        url,
        headers,
        timeout,
    })
}

/// The templates an `email` or `maildir` destination renders with.
fn templates(
    source: &SourceFile,
    base: &Path,
    raw: &RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<Templates> {
    match &raw.templates {
        Some(dir) => Templates::load(&base.join(dir.get_ref()))
            .map_err(|e| errors.push(source.error_in(&dir.span(), e)))
            .ok(),
        None => Some(Templates::default()),
    }
}

/// Keys set on a destination whose kind does not use them: a `secret_file`
/// on a Slack destination is a mistake to report, not to ignore.
pub(super) fn inapplicable_keys(raw: &RawDestination) -> Vec<&'static str> {
    let kind = raw.kind.get_ref().as_str();
    let http = matches!(kind, "webhook" | "slack" | "discord" | "teams" | "ntfy");
    let keys = [
        ("smtp", raw.smtp.is_some(), kind == "email"),
        ("from", raw.from.is_some(), kind == "email"),
        ("to", !raw.to.is_empty(), kind == "email"),
        ("username", raw.username.is_some(), kind == "email"),
        (
            "password_file",
            raw.password_file.is_some(),
            kind == "email",
        ),
        ("password_env", raw.password_env.is_some(), kind == "email"),
        (
            "sendmail_path",
            raw.sendmail_path.is_some(),
            kind == "email",
        ),
        ("timeout", raw.timeout.is_some(), kind != "maildir"),
        (
            "templates",
            raw.templates.is_some(),
            matches!(kind, "email" | "maildir"),
        ),
        ("path", raw.path.is_some(), kind == "maildir"),
        ("url", raw.url.is_some(), http),
        ("headers", !raw.headers.is_empty(), http),
        ("secret_file", raw.secret_file.is_some(), kind == "webhook"),
        ("secret_env", raw.secret_env.is_some(), kind == "webhook"),
    ];
    let known = matches!(kind, "email" | "maildir") || http;
    keys.into_iter()
        .filter(|&(_, set, applies)| known && set && !applies)
        .map(|(key, _, _)| key)
        .collect()
}

/// `secret_file` or `secret_env` holding `whsec_<base64>`; `Some(None)` when
/// the webhook is unsigned.
pub(super) fn webhook_secret(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
    raw: &RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<Option<SigningKey>> {
    let Some((text, span, _)) = read_secret(
        source,
        base,
        files,
        "secret",
        &raw.secret_file,
        &raw.secret_env,
        errors,
    )
    .ok()?
    else {
        return Some(None);
    };
    let text = text.trim();
    match SigningKey::parse(text) {
        Ok(key) => Some(Some(key)),
        Err(e) => {
            errors.push(source.error_in(&span, e));
            None
        }
    }
}

/// `"1/s"`, `"30/min"`, `"100/h"` or `"none"` as the least time between sends.
pub(super) fn rate_limit(text: &str) -> Result<Option<Duration>, String> {
    if text.trim() == "none" {
        return Ok(None);
    }
    let invalid = || format!("invalid rate_limit {text:?} (e.g. \"1/s\", \"30/min\", \"none\")");
    let (count, unit) = text.split_once('/').ok_or_else(invalid)?;
    let count: u32 = count.trim().parse().map_err(|_| invalid())?;
    let unit = match unit.trim() {
        "s" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        _ => return Err(invalid()),
    };
    if count == 0 {
        return Err(invalid());
    }
    Ok(Some(Duration::from_secs(unit) / count))
}

pub(super) fn mail_transport(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
    raw: &RawDestination,
    smtp: &Spanned<String>,
    errors: &mut Vec<Diagnostic>,
) -> Option<MailTransport> {
    if smtp.get_ref() == "sendmail" {
        return Some(MailTransport::Sendmail {
            path: raw.sendmail_path.as_ref().map(PathBuf::from),
        });
    }
    let url = match Url::parse(smtp.get_ref()) {
        Ok(url) => url,
        Err(e) => {
            errors.push(source.error_in(&smtp.span(), format!("invalid smtp URL: {e}")));
            return None;
        }
    };
    if url.password().is_some() {
        errors.push(source.secret_error_in(
            &smtp.span(),
            "a password may not be written in the config: use password_file or password_env",
        ));
        return None;
    }
    let tls_required = url
        .query_pairs()
        .any(|(k, v)| k == "tls" && v == "required");
    let (tls, default_port) = match url.scheme() {
        "smtp" if tls_required => (SmtpTls::Required, 587),
        "smtp" => (SmtpTls::Opportunistic, 25),
        "smtps" => (SmtpTls::Implicit, 465),
        other => {
            errors.push(source.error_in(
                &smtp.span(),
                format!(
                    "unsupported mail scheme {other:?} (use smtp://, smtps:// or \"sendmail\")"
                ),
            ));
            return None;
        }
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        errors.push(source.error_in(&smtp.span(), "smtp URL has no host"));
        return None;
    };
    let password = read_secret(
        source,
        base,
        files,
        "password",
        &raw.password_file,
        &raw.password_env,
        errors,
    )
    .ok()?
    .map(|(text, _, from)| match from {
        // A file's trailing newline is not part of the password.
        SecretFrom::File => Secret::new(text.trim_end_matches(['\r', '\n']).to_string()),
        SecretFrom::Env => Secret::new(text),
    });
    // `smtp://alerts%40example.org@host`: the URL form of the name is encoded.
    let url_user = percent_encoding::percent_decode_str(url.username())
        .decode_utf8_lossy()
        .into_owned();
    let user = raw
        .username
        .clone()
        .or_else(|| Some(url_user).filter(|u| !u.is_empty()));
    let credentials = match (user, password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        _ => {
            errors.push(source.error_in(
                &smtp.span(),
                "SMTP login needs both `username` and a password (password_file or password_env)",
            ));
            return None;
        }
    };
    Some(MailTransport::Smtp {
        host: host.to_string(),
        port: url.port().unwrap_or(default_port),
        tls,
        credentials,
    })
}
