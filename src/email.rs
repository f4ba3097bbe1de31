//! Renders an alert as an email message.

use crate::alert::Alert;
use crate::matcher::Excerpt;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes};

/// The `Message-ID` of an alert's email: the same on every redelivery, so a
/// mail client can drop a repeat.
pub fn message_id(alert: &Alert) -> String {
    format!("<{}@newswatch.alert>", alert.id)
}

pub fn render(
    alert: &Alert,
    from: &Mailbox,
    to: &[Mailbox],
) -> Result<Message, lettre::error::Error> {
    let to: Mailboxes = to.iter().cloned().collect();
    let mut message = Message::builder()
        .from(from.clone())
        .mailbox(lettre::message::header::To::from(to))
        .subject(subject(alert))
        .message_id(Some(message_id(alert)))
        .date_now()
        .header(ContentType::TEXT_PLAIN)
        .body(plain_body(alert))?;
    let headers = message.headers_mut();
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".to_string(),
    ));
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("X-Newswatch-Rule"),
        one_line(&alert.rule),
    ));
    // Lets mail clients filter and thread alerts per rule.
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("List-Id"),
        list_id(&alert.rule),
    ));
    Ok(message)
}

/// `List-Id: brussels-incident <brussels-incident.rules.newswatch>` (RFC 2919).
fn list_id(rule: &str) -> String {
    let label: String = rule
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let label = label.trim_matches('-');
    let label = if label.is_empty() { "rule" } else { label };
    format!("{} <{label}.rules.newswatch>", one_line(rule))
}

fn subject(alert: &Alert) -> String {
    format!(
        "[newswatch] {}: {}",
        one_line(&alert.rule),
        one_line(&alert.article.title)
    )
}

/// Header values must not carry line breaks (they would start a new header).
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn plain_body(alert: &Alert) -> String {
    let a = &alert.article;
    let mut body = String::new();
    body.push_str(&format!("{}\n", a.title));
    if let Some(link) = &a.link {
        body.push_str(&format!("{link}\n"));
    }
    body.push('\n');
    body.push_str(&format!("Rule:      {}  ({})\n", alert.rule, alert.query));
    body.push_str(&format!("Feed:      {}\n", alert.feed));
    if let Some(published) = a.published {
        body.push_str(&format!(
            "Published: {}\n",
            published.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if !a.authors.is_empty() {
        body.push_str(&format!("Author:    {}\n", a.authors.join(", ")));
    }
    for excerpt in &alert.excerpts {
        body.push_str(&format!(
            "\n[{}] {}\n",
            excerpt.field.name(),
            marked(excerpt, "*", "*")
        ));
    }
    body.push_str(&format!("\n-- \nnewswatch alert {}\n", alert.id));
    body
}

/// The excerpt text with each matched span wrapped in `open`/`close`.
pub fn marked(excerpt: &Excerpt, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut at = 0;
    for &(start, end) in &excerpt.spans {
        if start < at || end > excerpt.text.len() {
            continue;
        }
        let (Some(before), Some(word)) =
            (excerpt.text.get(at..start), excerpt.text.get(start..end))
        else {
            continue;
        };
        out.push_str(before);
        out.push_str(open);
        out.push_str(word);
        out.push_str(close);
        at = end;
    }
    out.push_str(excerpt.text.get(at..).unwrap_or_default());
    out
}
