//! Deliverers: send one notice (an alert or a digest) to one destination and
//! say whether a failure is worth retrying. One classification for all:
//! connection errors, timeouts, SMTP 4xx and HTTP 408/429/5xx are temporary;
//! SMTP 5xx and other HTTP 4xx are permanent; HTTP 410 disables the destination.

use crate::delivery::chat;
use crate::delivery::destination::{
    DestinationConfig, DestinationKind, HttpFormat, MailTransport, SmtpTls,
};
use crate::delivery::email::{self, Templates};
use crate::delivery::webhook;
use crate::http::{
    StatusClass, classify_status, error_chain, install_crypto_provider, retry_after,
};
use crate::model::alert::Notice;
use chrono::Utc;
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSendmailTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// How much of an error response's body goes into the error message.
const ERROR_BODY_BYTES: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later: the server is down, busy or said so.
    #[error("temporary failure: {message}")]
    Temporary {
        message: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// Retrying will not help: the server refused this notice.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// HTTP 410: the endpoint is gone for good.
    #[error("destination gone: {0}")]
    Gone(String),
}

impl DeliveryError {
    pub(crate) fn temporary(message: impl Into<String>) -> DeliveryError {
        DeliveryError::Temporary {
            message: message.into(),
            retry_after: None,
        }
    }
}

pub struct Deliverer {
    transport: Transport,
    timezone: TimeZone,
}

enum Transport {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        to: Vec<Mailbox>,
        templates: Templates,
        timeout: Duration,
    },
    Sendmail {
        transport: AsyncSendmailTransport<Tokio1Executor>,
        from: Mailbox,
        to: Vec<Mailbox>,
        templates: Templates,
        timeout: Duration,
    },
    Maildir {
        path: PathBuf,
        templates: Templates,
    },
    Http {
        client: reqwest::Client,
        url: Url,
        format: HttpFormat,
        headers: HeaderMap,
    },
}

impl Deliverer {
    pub fn build(dest: &DestinationConfig) -> Result<Deliverer, String> {
        let transport = match &dest.kind {
            DestinationKind::Email {
                transport,
                from,
                to,
                timeout,
                templates,
            } => match transport {
                MailTransport::Smtp {
                    host,
                    port,
                    tls,
                    credentials,
                } => {
                    install_crypto_provider();
                    let params = TlsParameters::new(host.clone())
                        .map_err(|e| format!("TLS setup for {host}: {e}"))?;
                    let tls = match tls {
                        SmtpTls::Opportunistic => Tls::Opportunistic(params),
                        SmtpTls::Required => Tls::Required(params),
                        SmtpTls::Implicit => Tls::Wrapper(params),
                    };
                    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                        .port(*port)
                        .tls(tls)
                        .timeout(Some(*timeout));
                    if let Some((user, password)) = credentials {
                        builder = builder.credentials(Credentials::new(
                            user.clone(),
                            password.expose().to_string(),
                        ));
                    }
                    Transport::Smtp {
                        transport: builder.build(),
                        from: from.clone(),
                        to: to.clone(),
                        templates: templates.clone(),
                        timeout: *timeout,
                    }
                }
                MailTransport::Sendmail { path } => Transport::Sendmail {
                    transport: match path {
                        Some(p) => AsyncSendmailTransport::new_with_command(p),
                        None => AsyncSendmailTransport::new(),
                    },
                    from: from.clone(),
                    to: to.clone(),
                    templates: templates.clone(),
                    timeout: *timeout,
                },
            },
            DestinationKind::Maildir { path, templates } => Transport::Maildir {
                path: path.clone(),
                templates: templates.clone(),
            },
            DestinationKind::Http {
                format,
                url,
                headers,
                timeout,
            } => {
                install_crypto_provider();
                let client = reqwest::Client::builder()
                    // A redirected POST would either lose its body or repeat it
                    // somewhere unintended: report it instead.
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(*timeout)
                    .connect_timeout((*timeout).min(Duration::from_secs(10)))
                    .user_agent(concat!("newswatch/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build HTTP client: {e}"))?;
                let mut map = HeaderMap::new();
                for (name, value) in headers {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|e| format!("header {name:?}: {e}"))?;
                    let value = HeaderValue::from_str(value)
                        .map_err(|e| format!("header {name:?}: {e}"))?;
                    map.insert(name, value);
                }
                Transport::Http {
                    client,
                    url: url.clone(),
                    format: format.clone(),
                    headers: map,
                }
            }
        };
        Ok(Deliverer {
            transport,
            timezone: dest.timezone.clone(),
        })
    }

    pub async fn deliver(&self, notice: Notice<'_>) -> Result<(), DeliveryError> {
        let tz = &self.timezone;
        match &self.transport {
            Transport::Smtp {
                transport,
                from,
                to,
                templates,
                timeout,
            } => {
                let message = render(notice, templates, tz, from, to)?;
                // lettre's own timeout covers connecting only: a server that
                // accepts and then stalls must not hold the destination.
                let sent = tokio::time::timeout(*timeout, transport.send(message))
                    .await
                    .map_err(|_| {
                        DeliveryError::temporary(format!(
                            "SMTP timed out after {}",
                            humantime::format_duration(*timeout)
                        ))
                    })?;
                sent.map(drop).map_err(|e| {
                    if e.is_permanent() {
                        DeliveryError::Permanent(e.to_string())
                    } else {
                        DeliveryError::temporary(e.to_string())
                    }
                })
            }
            Transport::Sendmail {
                transport,
                from,
                to,
                templates,
                timeout,
            } => {
                let message = render(notice, templates, tz, from, to)?;
                tokio::time::timeout(*timeout, transport.send(message))
                    .await
                    .map_err(|_| {
                        DeliveryError::temporary(format!(
                            "sendmail timed out after {}",
                            humantime::format_duration(*timeout)
                        ))
                    })?
                    .map_err(|e| DeliveryError::temporary(e.to_string()))
            }
            Transport::Maildir { path, templates } => {
                let me: Mailbox = "newswatch <newswatch@localhost>"
                    .parse()
                    .expect("valid literal address");
                let message = render(notice, templates, tz, &me, std::slice::from_ref(&me))?;
                write_maildir(path, notice.id(), &message.formatted())
                    .await
                    .map_err(|e| {
                        DeliveryError::temporary(format!("maildir {}: {e}", path.display()))
                    })
            }
            Transport::Http {
                client,
                url,
                format,
                headers,
            } => post(client, url, format, headers, notice).await,
        }
    }
}

fn render(
    notice: Notice<'_>,
    templates: &Templates,
    tz: &TimeZone,
    from: &Mailbox,
    to: &[Mailbox],
) -> Result<lettre::Message, DeliveryError> {
    email::render(notice, templates, tz, from, to)
        .map_err(|e| DeliveryError::Permanent(format!("cannot build email: {e}")))
}

async fn post(
    client: &reqwest::Client,
    url: &Url,
    format: &HttpFormat,
    custom: &HeaderMap,
    notice: Notice<'_>,
) -> Result<(), DeliveryError> {
    let mut target = url.clone();
    // Custom headers first; ours replace any of the same name.
    let mut headers = custom.clone();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = match format {
        HttpFormat::Webhook { secret } => {
            let now = Utc::now();
            let body = webhook::body(notice, now);
            // Standard Webhooks: the id lets receivers drop a redelivery.
            let mut set = |name: &'static str, value: String| {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(HeaderName::from_static(name), value);
                }
            };
            set("webhook-id", notice.id().to_string());
            set("webhook-timestamp", now.timestamp().to_string());
            if let Some(key) = secret {
                set(
                    "webhook-signature",
                    key.sign(notice.id(), now.timestamp(), &body),
                );
            }
            body
        }
        HttpFormat::Slack => json(&chat::slack(notice)),
        HttpFormat::Discord => json(&chat::discord(notice)),
        HttpFormat::Teams => json(&chat::teams(notice)),
        HttpFormat::Ntfy => {
            // ntfy takes JSON at its root (the URL without the topic), with
            // the topic inside.
            let (root, topic) = ntfy_root_and_topic(url);
            target = root;
            json(&chat::ntfy(notice, &topic))
        }
    };
    let response = client
        .post(target.clone())
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(|e| {
            DeliveryError::temporary(format!(
                "POST {}: {}",
                endpoint(&target),
                error_chain(&e.without_url())
            ))
        })?;
    classify(&target, response).await
}

/// `https://ntfy.example/sub/alerts` → (`https://ntfy.example/sub/`, `alerts`).
pub(crate) fn ntfy_root_and_topic(url: &Url) -> (Url, String) {
    let mut root = url.clone();
    let topic = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default()
        .to_string();
    if let Ok(mut segments) = root.path_segments_mut() {
        segments.pop();
        segments.push("");
    }
    (root, topic)
}

/// The endpoint for logs and dead letters: chat webhook URLs carry their
/// token in the path, so only the scheme and host are shown.
fn endpoint(url: &Url) -> String {
    let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?"));
    match url.port() {
        Some(port) => format!("{shown}:{port}/…"),
        None => format!("{shown}/…"),
    }
}

fn json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values serialise")
}

/// Turns an HTTP response into the shared retry classification.
async fn classify(url: &Url, mut response: reqwest::Response) -> Result<(), DeliveryError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let wait = retry_after(response.headers());
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_BYTES);
    let said = String::from_utf8_lossy(&body)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let message = format!(
        "POST {}: HTTP {status}{}{said}",
        endpoint(url),
        if said.is_empty() { "" } else { ": " }
    );
    Err(match classify_status(status) {
        StatusClass::Gone => DeliveryError::Gone(message),
        StatusClass::Temporary => DeliveryError::Temporary {
            message,
            retry_after: wait,
        },
        StatusClass::Redirect => DeliveryError::Permanent(format!(
            "{message} (redirect to {}; redirects are not followed for POST, fix the URL)",
            location.as_deref().unwrap_or("?")
        )),
        StatusClass::Permanent => DeliveryError::Permanent(message),
    })
}

/// Writes one message into a Maildir the standard way (tmp/, then rename into
/// new/). The file is named after the notice id, so a redelivery replaces the
/// first copy instead of adding a second.
async fn write_maildir(dir: &Path, id: &str, bytes: &[u8]) -> std::io::Result<()> {
    for sub in ["tmp", "new", "cur"] {
        tokio::fs::create_dir_all(dir.join(sub)).await?;
    }
    let name = format!("{id}.newswatch");
    let tmp = dir.join("tmp").join(&name);
    let mut file = tokio::fs::File::create(&tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
    // On disk before the rename and before the outbox marks it delivered.
    file.sync_all().await?;
    tokio::fs::rename(&tmp, dir.join("new").join(&name)).await?;
    tokio::fs::File::open(dir.join("new"))
        .await?
        .sync_all()
        .await
}
