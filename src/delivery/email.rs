//! Renders a notice (one alert or a digest) as an email: multipart/alternative
//! with a plain-text and an HTML part from minijinja templates (built in,
//! overridable per destination), the HTML sanitised by ammonia.

use crate::delivery::timing::local_time;
use crate::model::alert::Excerpt;
use crate::model::alert::{Alert, Digest, Notice};
use crate::model::story::StoryMode;
use jiff::tz::TimeZone;
use lettre::Message;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, Mailboxes, MultiPart};
use minijinja::Environment;
use minijinja::value::Serde;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// The templates a destination may override, by file name.
const BUILT_IN: [(&str, &str); 4] = [
    ("alert.txt", include_str!("templates/alert.txt")),
    ("alert.html", include_str!("templates/alert.html")),
    ("digest.txt", include_str!("templates/digest.txt")),
    ("digest.html", include_str!("templates/digest.html")),
];

/// The built-in templates with a destination's overrides, compiled once
/// when the config is loaded.
#[derive(Debug, Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

impl Default for Templates {
    fn default() -> Self {
        Templates::compile(BTreeMap::new())
            .map_err(|(name, e)| describe(&e) + " in built-in " + name)
            .expect("the built-in templates compile (tested)")
    }
}

impl Templates {
    /// Reads overrides (`alert.html`, `alert.txt`, `digest.html`,
    /// `digest.txt`) from `dir` and checks that they compile.
    pub(crate) fn load(dir: &Path) -> Result<Templates, String> {
        let mut overrides = BTreeMap::new();
        for (name, _) in BUILT_IN {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    overrides.insert(name, text);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("cannot read template {}: {e}", path.display())),
            }
        }
        if overrides.is_empty() {
            return Err(format!(
                "no templates in {} (expected alert.html, alert.txt, digest.html or digest.txt)",
                dir.display()
            ));
        }
        let templates = Templates::compile(overrides).map_err(|(name, e)| {
            format!("template {}: {}", dir.join(name).display(), describe(&e))
        })?;
        // Render each one once now: an unknown variable is a config error,
        // not a dead letter at the first alert.
        let sample = sample_alert();
        let digest = Digest::new("sample", vec![sample.clone()]);
        for notice in [Notice::Alert(&sample), Notice::Digest(&digest)] {
            bodies(notice, &templates, &TimeZone::UTC)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        Ok(templates)
    }

    /// Compiles the templates; an error names the template that failed.
    fn compile(
        mut overrides: BTreeMap<&'static str, String>,
    ) -> Result<Templates, (&'static str, minijinja::Error)> {
        let mut env = Environment::new();
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        // Undefined names are template mistakes: fail instead of printing nothing.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // Errors name the undefined variable in release builds too.
        env.set_debug(true);
        for (name, built_in) in BUILT_IN {
            let source = overrides
                .remove(name)
                .unwrap_or_else(|| built_in.to_string());
            env.add_template_owned(name, source)
                .map_err(|e| (name, e))?;
        }
        Ok(Templates { env: Arc::new(env) })
    }
}

/// An alert with every field set, to try templates on.
fn sample_alert() -> Alert {
    Alert {
        id: "0000000000000000".into(),
        rule: "sample".into(),
        query: "Brussels".into(),
        destination: "sample".into(),
        feed: "sample".into(),
        article: crate::model::alert::AlertArticle {
            key: "link:https://example.org/".into(),
            title: "Sample title".into(),
            link: Some("https://example.org/".into()),
            published: Some(chrono::DateTime::UNIX_EPOCH),
            authors: vec!["Sample Author".into()],
        },
        excerpts: vec![Excerpt {
            field: crate::model::field::Field::Summary,
            text: "News from Brussels".into(),
            spans: vec![(10, 18)],
        }],
        created_at: chrono::DateTime::UNIX_EPOCH,
        story: None,
    }
}

/// A minijinja error with its line, for the config's error list.
fn describe(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

/// The `Message-ID` of a notice's email: the same on every redelivery, so a
/// mail client can drop a repeat.
pub(crate) fn message_id(notice: Notice<'_>) -> String {
    message_id_of(notice.id())
}

/// The `Message-ID` of the notice with this id.
fn message_id_of(id: &str) -> String {
    format!("<{id}@newswatch.alert>")
}

/// What the templates see of one alert. Feed text is data here: the HTML
/// templates escape it, and only http(s) links become `href`s.
#[derive(Debug, Serialize)]
struct AlertView<'a> {
    id: &'a str,
    rule: &'a str,
    query: &'a str,
    /// "Zaventem, explosions (query: @brussels AND blast*)"
    matched: String,
    feed: &'a str,
    title: &'a str,
    link: Option<String>,
    published: Option<String>,
    authors: String,
    excerpts: Vec<ExcerptView<'a>>,
    story: Option<StoryView<'a>>,
}

/// What the templates see of an alert's story.
#[derive(Debug, Serialize)]
struct StoryView<'a> {
    title: &'a str,
    /// This alert follows the story's first one (a thread).
    follow_up: bool,
    /// What this article adds ("new figures: 11").
    adds: Option<&'a str>,
    articles: u32,
    /// The other feeds that reported it: "Harbour Post, Lakeside Daily".
    also: String,
}

#[derive(Debug, Serialize)]
struct ExcerptView<'a> {
    field: &'static str,
    /// An author, category, feed or link that matched (not a passage of
    /// the text): templates label it with its field.
    metadata: bool,
    parts: Vec<Part<'a>>,
}

#[derive(Debug, Serialize)]
struct Part<'a> {
    text: &'a str,
    mark: bool,
}

#[derive(Debug, Serialize)]
struct DigestView<'a> {
    id: &'a str,
    count: usize,
    rules: Vec<RuleGroup<'a>>,
}

#[derive(Debug, Serialize)]
struct RuleGroup<'a> {
    rule: &'a str,
    count: usize,
    alerts: Vec<AlertView<'a>>,
}

fn alert_view<'a>(alert: &'a Alert, tz: &TimeZone) -> AlertView<'a> {
    let terms = alert.matched_terms();
    let matched = if terms.is_empty() {
        alert.query.clone()
    } else {
        format!("{} (query: {})", terms.join(", "), alert.query)
    };
    AlertView {
        id: &alert.id,
        rule: &alert.rule,
        query: &alert.query,
        matched,
        feed: &alert.feed,
        title: &alert.article.title,
        link: alert.article.web_link(),
        published: alert.article.published.map(|t| local_time(t, tz)),
        authors: alert.article.authors.join(", "),
        excerpts: alert.excerpts.iter().map(excerpt_view).collect(),
        story: alert.story.as_ref().map(|story| StoryView {
            title: &story.title,
            follow_up: story.follows.is_some(),
            adds: story.adds.as_deref(),
            articles: story.articles,
            also: alert.also_reported_by().join(", "),
        }),
    }
}

fn excerpt_view(excerpt: &Excerpt) -> ExcerptView<'_> {
    let mut parts = Vec::new();
    let mut at = 0;
    for &(start, end) in &excerpt.spans {
        let (Some(before), Some(word)) =
            (excerpt.text.get(at..start), excerpt.text.get(start..end))
        else {
            continue;
        };
        if !before.is_empty() {
            parts.push(Part {
                text: before,
                mark: false,
            });
        }
        parts.push(Part {
            text: word,
            mark: true,
        });
        at = end;
    }
    let rest = excerpt.text.get(at..).unwrap_or_default();
    if !rest.is_empty() {
        parts.push(Part {
            text: rest,
            mark: false,
        });
    }
    ExcerptView {
        field: excerpt.field.name(),
        metadata: excerpt.field.is_metadata(),
        parts,
    }
}

/// The plain-text and HTML bodies of a notice.
pub(crate) fn bodies(
    notice: Notice<'_>,
    templates: &Templates,
    tz: &TimeZone,
) -> Result<(String, String), String> {
    let render = |name: &str, context: minijinja::Value| {
        templates
            .env
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(|e| format!("template {name}: {}", describe(&e)))
    };
    let context = match notice {
        Notice::Alert(alert) => minijinja::Value::from(Serde(alert_view(alert, tz))),
        Notice::Digest(digest) => minijinja::Value::from(Serde(DigestView {
            id: &digest.id,
            count: digest.alerts.len(),
            rules: digest
                .by_rule()
                .into_iter()
                .map(|(rule, alerts)| RuleGroup {
                    rule,
                    count: alerts.len(),
                    alerts: alerts.into_iter().map(|a| alert_view(a, tz)).collect(),
                })
                .collect(),
        })),
    };
    let kind = match notice {
        Notice::Alert(_) => "alert",
        Notice::Digest(_) => "digest",
    };
    let text = render(&format!("{kind}.txt"), context.clone())?;
    let html = render(&format!("{kind}.html"), context)?;
    Ok((text, html_document(&sanitise(&html))))
}

/// Whatever the template produced (an override included), only safe markup
/// reaches the mail client: no scripts, event handlers, forms or non-web links.
pub(crate) fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .add_generic_attributes(["style"])
        .filter_style_properties(HashSet::from([
            "color",
            "background-color",
            "border-left",
            "font-family",
            "font-size",
            "font-weight",
            "line-height",
            "margin",
            "max-width",
            "padding",
            "text-decoration",
        ]))
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string()
}

fn html_document(body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta name=\"color-scheme\" content=\"light\"></head>\n<body>\n{body}\n</body></html>\n"
    )
}

pub(crate) fn render(
    notice: Notice<'_>,
    templates: &Templates,
    tz: &TimeZone,
    from: &Mailbox,
    to: &[Mailbox],
) -> Result<Message, String> {
    let (text, html) = bodies(notice, templates, tz)?;
    let to: Mailboxes = to.iter().cloned().collect();
    let mut message = Message::builder()
        .from(from.clone())
        .mailbox(lettre::message::header::To::from(to))
        .subject(subject(notice))
        .message_id(Some(message_id(notice)))
        .date_now()
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| e.to_string())?;
    let headers = message.headers_mut();
    // A story's follow-up answers its first alert: one thread in the reader.
    if let Notice::Alert(alert) = notice
        && let Some(root) = alert.story.as_ref().and_then(|s| s.follows.as_deref())
    {
        let root = message_id_of(root);
        for name in ["In-Reply-To", "References"] {
            headers.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str(name),
                root.clone(),
            ));
        }
    }
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".to_string(),
    ));
    let rules: Vec<&str> = match notice {
        Notice::Alert(alert) => vec![&alert.rule],
        Notice::Digest(digest) => digest.by_rule().into_iter().map(|(r, _)| r).collect(),
    };
    headers.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("X-Newswatch-Rule"),
        one_line(&rules.join(", ")),
    ));
    // Lets mail clients filter and thread alerts per rule.
    if let [rule] = rules[..] {
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Id"),
            list_id(rule),
        ));
    }
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

fn subject(notice: Notice<'_>) -> String {
    match notice {
        // One subject for a story's alerts, so every mail client threads
        // them (some go by subject alone).
        Notice::Alert(alert) => format!(
            "[newswatch] {}: {}",
            one_line(&alert.rule),
            one_line(match &alert.story {
                Some(story) if story.mode != StoryMode::Every => &story.title,
                _ => &alert.article.title,
            })
        ),
        Notice::Digest(digest) => {
            let rules: Vec<String> = digest
                .by_rule()
                .into_iter()
                .map(|(rule, alerts)| format!("{} ({})", one_line(rule), alerts.len()))
                .collect();
            format!(
                "[newswatch] digest: {} alert{}: {}",
                digest.alerts.len(),
                if digest.alerts.len() == 1 { "" } else { "s" },
                rules.join(", ")
            )
        }
    }
}

/// Header values must not carry line breaks (they would start a new header);
/// runs of spaces collapse too.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The excerpt text with each matched span wrapped in `open`/`close`.
pub(crate) fn marked(excerpt: &Excerpt, open: &str, close: &str) -> String {
    marked_escaped(excerpt, open, close, str::to_string)
}

/// [`marked`], with each piece of the feed's text passed through `escape`
/// (the marks are not): for chat services' markup.
pub(crate) fn marked_escaped(
    excerpt: &Excerpt,
    open: &str,
    close: &str,
    escape: fn(&str) -> String,
) -> String {
    let mut out = String::new();
    for part in excerpt_view(excerpt).parts {
        if part.mark {
            out.push_str(open);
            out.push_str(&escape(part.text));
            out.push_str(close);
        } else {
            out.push_str(&escape(part.text));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alert::AlertArticle;
    use crate::model::field::Field;

    fn alert(title: &str) -> Alert {
        Alert {
            id: "0123abcd".into(),
            rule: "brussels".into(),
            query: "@brussels AND blast*".into(),
            destination: "desk".into(),
            feed: "wire".into(),
            article: AlertArticle {
                key: "link:https://news.test/1".into(),
                title: title.into(),
                link: Some("https://news.test/1".into()),
                published: Some("2026-03-22T07:12:00Z".parse().unwrap()),
                authors: vec!["A. Writer".into()],
            },
            excerpts: vec![Excerpt {
                field: Field::Summary,
                text: "two blasts at Zaventem <airport> & more".into(),
                spans: vec![(4, 10), (14, 22)],
            }],
            created_at: "2026-03-22T07:13:00Z".parse().unwrap(),
            story: None,
        }
    }

    fn mailboxes() -> (Mailbox, Vec<Mailbox>) {
        (
            "newswatch <nw@test.example>".parse().unwrap(),
            vec!["desk@test.example".parse().unwrap()],
        )
    }

    #[test]
    fn built_in_templates_render_both_parts() {
        let a = alert("Blasts at the airport");
        let tz = crate::delivery::timing::time_zone("Europe/Brussels").unwrap();
        let (text, html) = bodies(Notice::Alert(&a), &Templates::default(), &tz).unwrap();
        assert!(
            text.contains("[summary] two *blasts* at *Zaventem* <airport> & more"),
            "{text}"
        );
        assert!(text.contains("Published: 2026-03-22 08:12 CET"), "{text}");
        assert!(
            text.contains("Matched:   blasts, Zaventem (query: @brussels AND blast*)"),
            "{text}"
        );
        // Feed text is escaped, the marks are ours.
        assert!(html.contains("two <mark"), "{html}");
        assert!(html.contains("&lt;airport&gt; &amp; more"), "{html}");
        assert!(html.contains("<a href=\"https://news.test/1\""), "{html}");

        let digest = Digest::new("desk", vec![a.clone(), alert("Another")]);
        let (text, html) = bodies(Notice::Digest(&digest), &Templates::default(), &tz).unwrap();
        assert!(text.contains("== brussels (2) =="), "{text}");
        assert!(html.contains("brussels (2)"), "{html}");
    }

    #[test]
    fn unsafe_links_are_not_clickable() {
        let mut a = alert("x");
        a.article.link = Some("javascript:alert(1)".into());
        let (text, html) =
            bodies(Notice::Alert(&a), &Templates::default(), &TimeZone::UTC).unwrap();
        assert!(!text.contains("javascript") && !html.contains("javascript"));
    }

    #[test]
    fn sanitise_keeps_layout_and_drops_active_content() {
        let clean = sanitise(
            "<p style=\"color: red; position: fixed\" onclick=\"x()\">a<script>b</script>\
             <a href=\"javascript:c()\">d</a><mark>e</mark><img src=x onerror=f()></p>",
        );
        assert_eq!(
            clean,
            "<p style=\"color:red\">a<a rel=\"noopener noreferrer\">d</a><mark>e</mark><img src=\"x\"></p>"
        );
    }

    #[test]
    fn long_subjects_fold_and_headers_cannot_be_injected() {
        let title = format!(
            "{}\r\nBcc: victim@evil.example",
            "Très longue dépêche ".repeat(8)
        );
        let a = alert(&title);
        let (from, to) = mailboxes();
        let message = render(
            Notice::Alert(&a),
            &Templates::default(),
            &TimeZone::UTC,
            &from,
            &to,
        )
        .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        let head = raw.split("\r\n\r\n").next().unwrap();
        for line in head.split("\r\n") {
            assert!(line.len() <= 78, "unfolded header line: {line:?}");
            assert!(!line.starts_with("Bcc:"), "{head}");
        }
        let parsed = mailparse::parse_mail(raw.as_bytes()).unwrap();
        let subject = parsed
            .headers
            .iter()
            .find(|h| h.get_key() == "Subject")
            .unwrap()
            .get_value();
        assert_eq!(
            subject,
            format!(
                "[newswatch] brussels: {} Bcc: victim@evil.example",
                "Très longue dépêche ".repeat(8).trim_end()
            )
        );
    }

    #[test]
    fn overrides_replace_built_ins_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("alert.txt"), "{{ rule }}: {{ title }}\n").unwrap();
        let templates = Templates::load(dir.path()).unwrap();
        let a = alert("Blasts");
        let (text, html) = bodies(Notice::Alert(&a), &templates, &TimeZone::UTC).unwrap();
        assert_eq!(text, "brussels: Blasts\n");
        assert!(html.contains("<mark"), "the HTML part stays built in");

        std::fs::write(dir.path().join("alert.txt"), "ok\n{{ nosuchvar }}\n").unwrap();
        // An unknown variable is caught when the templates are loaded.
        let error = Templates::load(dir.path()).unwrap_err();
        assert!(
            error.contains("alert.txt") && error.contains("line 2") && error.contains("nosuchvar"),
            "{error}"
        );

        std::fs::write(dir.path().join("alert.txt"), "{% if %}\n").unwrap();
        let error = Templates::load(dir.path()).unwrap_err();
        assert!(error.contains("alert.txt: line 1"), "{error}");
        assert!(Templates::load(&dir.path().join("missing")).is_err());
    }
}
