//! Deliverers: send one alert to one destination and say whether a failure
//! is worth retrying.

use crate::alert::Alert;
use crate::config::{DestinationConfig, MailTransport, SmtpTls};
use crate::email;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSendmailTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later: the server is down, busy or said 4xx.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Retrying will not help: the server said 5xx, or the alert cannot be sent.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub enum Deliverer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
        to: Vec<Mailbox>,
    },
    Sendmail {
        transport: AsyncSendmailTransport<Tokio1Executor>,
        from: Mailbox,
        to: Vec<Mailbox>,
    },
    Maildir {
        path: PathBuf,
        from: Mailbox,
        to: Mailbox,
    },
}

impl Deliverer {
    pub fn build(dest: &DestinationConfig) -> Result<Deliverer, String> {
        Ok(match dest {
            DestinationConfig::Email {
                transport,
                from,
                to,
                timeout,
            } => match transport {
                MailTransport::Smtp {
                    host,
                    port,
                    tls,
                    credentials,
                } => {
                    crate::fetch::install_crypto_provider();
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
                    Deliverer::Smtp {
                        transport: builder.build(),
                        from: from.clone(),
                        to: to.clone(),
                    }
                }
                MailTransport::Sendmail { path } => Deliverer::Sendmail {
                    transport: match path {
                        Some(p) => AsyncSendmailTransport::new_with_command(p),
                        None => AsyncSendmailTransport::new(),
                    },
                    from: from.clone(),
                    to: to.clone(),
                },
            },
            DestinationConfig::Maildir { path } => Deliverer::Maildir {
                path: path.clone(),
                from: "newswatch <newswatch@localhost>"
                    .parse()
                    .expect("valid literal address"),
                to: "newswatch <newswatch@localhost>"
                    .parse()
                    .expect("valid literal address"),
            },
        })
    }

    pub async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
        match self {
            Deliverer::Smtp {
                transport,
                from,
                to,
            } => {
                let message = render(alert, from, to)?;
                transport.send(message).await.map(drop).map_err(|e| {
                    if e.is_permanent() {
                        DeliveryError::Permanent(e.to_string())
                    } else {
                        DeliveryError::Temporary(e.to_string())
                    }
                })
            }
            Deliverer::Sendmail {
                transport,
                from,
                to,
            } => {
                let message = render(alert, from, to)?;
                transport
                    .send(message)
                    .await
                    .map_err(|e| DeliveryError::Temporary(e.to_string()))
            }
            Deliverer::Maildir { path, from, to } => {
                let message = render(alert, from, std::slice::from_ref(to))?;
                write_maildir(path, &alert.id, &message.formatted())
                    .await
                    .map_err(|e| {
                        DeliveryError::Temporary(format!("maildir {}: {e}", path.display()))
                    })
            }
        }
    }
}

fn render(alert: &Alert, from: &Mailbox, to: &[Mailbox]) -> Result<lettre::Message, DeliveryError> {
    email::render(alert, from, to)
        .map_err(|e| DeliveryError::Permanent(format!("cannot build email: {e}")))
}

/// Writes one message into a Maildir the standard way (tmp/, then rename into
/// new/). The file is named after the alert id, so a redelivery replaces the
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
