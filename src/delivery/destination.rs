//! A destination as configured: how to reach it (mail server, Maildir, HTTP
//! endpoint and format) and when to send (time zone, quiet hours, rate).

use crate::delivery::email::Templates;
use crate::delivery::timing::QuietHours;
use crate::delivery::webhook::SigningKey;
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// A password that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: String) -> Secret {
        Secret(secret)
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtp://`: STARTTLS when the server offers it.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or fail.
    Required,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

#[derive(Debug, Clone)]
pub enum MailTransport {
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
        credentials: Option<(String, Secret)>,
    },
    Sendmail {
        path: Option<PathBuf>,
    },
}

/// A destination as configured: how to reach it and when to send.
#[derive(Debug, Clone)]
pub struct DestinationConfig {
    pub kind: DestinationKind,
    /// Shows published times, and places digests and quiet hours.
    pub timezone: TimeZone,
    pub quiet_hours: Option<QuietHours>,
    /// How many alerts may be in flight to it at once.
    pub concurrency: usize,
    /// At least this long between two sends (from `rate_limit = "1/s"`).
    pub min_interval: Option<Duration>,
}

#[derive(Debug, Clone)]
pub enum DestinationKind {
    Email {
        transport: MailTransport,
        from: Mailbox,
        to: Vec<Mailbox>,
        timeout: Duration,
        templates: Templates,
    },
    /// Writes each alert as a mail file into a Maildir (readable by mutt,
    /// Thunderbird, Dovecot): alerts with no mail server at all.
    Maildir { path: PathBuf, templates: Templates },
    /// An HTTP POST: a signed JSON webhook or a chat service's own format.
    Http {
        format: HttpFormat,
        url: Url,
        headers: Vec<(String, String)>,
        timeout: Duration,
    },
}

#[derive(Debug, Clone)]
pub enum HttpFormat {
    /// Our versioned JSON payload, signed per Standard Webhooks if a secret is set.
    Webhook {
        secret: Option<SigningKey>,
    },
    Slack,
    Discord,
    Teams,
    Ntfy,
}

impl HttpFormat {
    /// What the service accepts without throttling us (per its documentation).
    pub(crate) fn default_min_interval(&self) -> Option<Duration> {
        match self {
            HttpFormat::Slack | HttpFormat::Teams => Some(Duration::from_secs(1)),
            HttpFormat::Discord => Some(Duration::from_secs(2)),
            HttpFormat::Webhook { .. } | HttpFormat::Ntfy => None,
        }
    }
}
