//! Messages in each chat service's own format: Slack and Discord incoming
//! webhooks, Microsoft Teams workflows (Adaptive Cards) and ntfy. Each shows
//! the title as a link, the rule, the feed and the marked excerpts.

use crate::delivery::email::marked_escaped;
use crate::model::alert::{Alert, Notice};
use serde_json::{Value, json};

/// How many alerts of a digest are listed before "and N more".
const DIGEST_LISTED: usize = 20;

/// Slack `mrkdwn`: `&`, `<` and `>` are the only characters to escape.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A link target inside Slack's `<url|text>`: `|` would end it early.
fn slack_target(link: &str) -> String {
    slack_escape(link).replace('|', "%7C")
}

/// A link target inside markdown's `[text](url)`: parentheses would end it early.
fn markdown_target(link: &str) -> String {
    link.replace('(', "%28").replace(')', "%29")
}

/// Discord and Teams markdown: a backslash before each markup character, so
/// a title cannot bold, link or mention anything.
fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\*_~`|>#[]()<@".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn excerpts(alert: &Alert, escape: fn(&str) -> String, open: &str, close: &str) -> Vec<String> {
    let mut lines: Vec<String> = story_line(alert).map(|l| escape(&l)).into_iter().collect();
    lines.extend(alert.excerpts.iter().map(|e| {
        let marked = marked_escaped(e, open, close, escape);
        match e.field.is_metadata() {
            true => format!("[{}] {marked}", e.field.name()),
            false => marked,
        }
    }));
    lines
}

/// "Update: new figures: 11 · also: Harbour Post": what a story's alert
/// adds, and who else reported it.
fn story_line(alert: &Alert) -> Option<String> {
    let story = alert.story.as_ref()?;
    let mut parts = Vec::new();
    if story.follows.is_some() {
        parts.push(format!(
            "Update{}",
            story
                .adds
                .as_deref()
                .map(|a| format!(": {a}"))
                .unwrap_or_default()
        ));
    }
    let also = alert.also_reported_by();
    if !also.is_empty() {
        parts.push(format!("also: {}", also.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn heading(notice: Notice<'_>) -> String {
    match notice {
        Notice::Alert(alert) => format!("newswatch: {}", alert.rule),
        Notice::Digest(digest) => match digest.alerts.len() {
            1 => "newswatch digest: 1 alert".to_string(),
            n => format!("newswatch digest: {n} alerts"),
        },
    }
}

/// A line for each alert past the first `from` (shown in full), as long as
/// `budget` characters last, then how many did not fit: a long digest still
/// names every alert the service's message size allows.
fn rest_lines(
    notice: Notice<'_>,
    from: usize,
    budget: usize,
    line: impl Fn(&Alert) -> String,
) -> Vec<String> {
    let alerts = notice.alerts();
    let mut out = Vec::new();
    let mut used = 0;
    for (i, alert) in alerts.iter().enumerate().skip(from) {
        let text = line(alert);
        if used + text.len() > budget {
            out.push(format!("…and {} more", alerts.len() - i));
            break;
        }
        used += text.len() + 1;
        out.push(text);
    }
    out
}

pub(crate) fn slack(notice: Notice<'_>) -> Value {
    let mut lines = vec![format!("*{}*", slack_escape(&heading(notice)))];
    for alert in notice.alerts().iter().take(DIGEST_LISTED) {
        let title = slack_escape(&alert.article.title);
        lines.push(match alert.article.web_link() {
            Some(link) => format!("*<{}|{title}>*", slack_target(&link)),
            None => format!("*{title}*"),
        });
        lines.push(format!(
            "_{}_ · rule {}",
            slack_escape(&alert.feed),
            slack_escape(&alert.rule)
        ));
        for excerpt in excerpts(alert, slack_escape, "*", "*") {
            lines.push(format!("> {excerpt}"));
        }
    }
    // Slack takes up to 40,000 characters of text.
    lines.extend(rest_lines(notice, DIGEST_LISTED, 30_000, |alert| {
        let title = slack_escape(&alert.article.title);
        match alert.article.web_link() {
            Some(link) => format!(
                "• <{}|{title}> ({})",
                slack_target(&link),
                slack_escape(&alert.rule)
            ),
            None => format!("• {title} ({})", slack_escape(&alert.rule)),
        }
    }));
    json!({ "text": lines.join("\n"), "unfurl_links": false, "unfurl_media": false })
}

pub(crate) fn discord(notice: Notice<'_>) -> Value {
    // Discord takes at most 10 embeds per message and 6000 characters in
    // all of them together.
    let shown = notice.alerts().len().min(10);
    let budget = 5000 / shown.max(1);
    let embeds: Vec<Value> = notice
        .alerts()
        .iter()
        .take(shown)
        .map(|alert| {
            let mut description = excerpts(alert, markdown_escape, "**", "**").join("\n\n");
            truncate(
                &mut description,
                budget.saturating_sub(350).clamp(100, 4000),
            );
            let mut title = alert.article.title.clone();
            truncate(&mut title, 250);
            let mut embed = json!({
                "title": title,
                "description": description,
                "footer": { "text": format!("{} · rule {}", alert.feed, alert.rule) },
            });
            if let Some(link) = alert.article.web_link() {
                embed["url"] = json!(link);
            }
            if let Some(published) = alert.article.published {
                embed["timestamp"] = json!(published.to_rfc3339());
            }
            embed
        })
        .collect();
    // The alerts past the 10 embeds, one line each in the 2000-character content.
    let mut content = vec![heading(notice)];
    content.extend(rest_lines(notice, shown, 1800, |alert| {
        let title = markdown_escape(&alert.article.title);
        match alert.article.web_link() {
            // <…> keeps Discord from adding a preview for every link.
            Some(link) => format!("• [{title}](<{link}>) ({})", markdown_escape(&alert.rule)),
            None => format!("• {title} ({})", markdown_escape(&alert.rule)),
        }
    }));
    let content = content.join("\n");
    // No @everyone, role or user pings from feed text.
    json!({ "content": content, "embeds": embeds, "allowed_mentions": { "parse": [] } })
}

pub(crate) fn teams(notice: Notice<'_>) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock", "text": markdown_escape(&heading(notice)),
        "weight": "Bolder", "size": "Medium", "wrap": true,
    })];
    for alert in notice.alerts().iter().take(DIGEST_LISTED) {
        let title = markdown_escape(&alert.article.title);
        body.push(json!({
            "type": "TextBlock", "wrap": true, "weight": "Bolder",
            "text": match alert.article.web_link() {
                Some(link) => format!("[{title}]({})", markdown_target(&link)),
                None => title,
            },
        }));
        body.push(json!({
            "type": "TextBlock", "wrap": true, "isSubtle": true, "spacing": "None",
            "text": format!("{} · rule {}", markdown_escape(&alert.feed), markdown_escape(&alert.rule)),
        }));
        for excerpt in excerpts(alert, markdown_escape, "**", "**") {
            body.push(json!({ "type": "TextBlock", "wrap": true, "text": excerpt }));
        }
    }
    let rest = rest_lines(notice, DIGEST_LISTED, 20_000, |alert| {
        let title = markdown_escape(&alert.article.title);
        match alert.article.web_link() {
            Some(link) => format!(
                "- [{title}]({}) ({})",
                markdown_target(&link),
                markdown_escape(&alert.rule)
            ),
            None => format!("- {title} ({})", markdown_escape(&alert.rule)),
        }
    });
    if !rest.is_empty() {
        body.push(json!({ "type": "TextBlock", "wrap": true, "text": rest.join("\n") }));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// ntfy's JSON publishing: POSTed to the server's root with the topic inside.
pub(crate) fn ntfy(notice: Notice<'_>, topic: &str) -> Value {
    // ntfy keeps messages up to 4096 bytes: a phone notification shows a
    // few alerts in full and names the rest.
    const IN_FULL: usize = 3;
    const MAX_BYTES: usize = 4000;
    let alerts = notice.alerts();
    let mut message = Vec::new();
    for alert in alerts.iter().take(IN_FULL) {
        if alerts.len() > 1 {
            message.push(format!("• {}", markdown_escape(&alert.article.title)));
        }
        for mut excerpt in excerpts(alert, markdown_escape, "**", "**") {
            truncate(&mut excerpt, MAX_BYTES / 8);
            message.push(excerpt);
        }
    }
    let used: usize = message.iter().map(|m| m.len() + 1).sum();
    message.extend(rest_lines(
        notice,
        IN_FULL,
        MAX_BYTES.saturating_sub(used + 40),
        |alert| {
            format!(
                "• {} ({})",
                markdown_escape(&alert.article.title),
                markdown_escape(&alert.rule)
            )
        },
    ));
    let title = match notice {
        Notice::Alert(alert) => format!("{}: {}", alert.rule, alert.article.title),
        Notice::Digest(_) => heading(notice),
    };
    let mut body = json!({
        "topic": topic,
        "title": title,
        "message": message.join("\n"),
        "tags": ["newspaper"],
        "markdown": true,
    });
    if let [alert] = alerts
        && let Some(link) = alert.article.web_link()
    {
        body["click"] = json!(link);
    }
    body
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let cut = crate::model::boundary::floor_char_boundary(text, max - 3);
        text.truncate(cut);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alert::AlertArticle;
    use crate::model::alert::Excerpt;
    use crate::model::field::Field;

    fn alert() -> Alert {
        Alert {
            id: "a1".into(),
            rule: "brussels".into(),
            query: "@brussels".into(),
            destination: "chat".into(),
            feed: "wire".into(),
            article: AlertArticle {
                key: "link:https://example.org/1".into(),
                title: "Blast <b>at</b> @everyone *airport*".into(),
                link: Some("https://example.org/1".into()),
                published: None,
                authors: vec![],
            },
            excerpts: vec![Excerpt {
                field: Field::Summary,
                text: "two explosions at Zaventem airport".into(),
                spans: vec![(18, 26)],
            }],
            created_at: chrono::Utc::now(),
            story: None,
        }
    }

    #[test]
    fn slack_escapes_and_marks() {
        let a = alert();
        let text = slack(Notice::Alert(&a))["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            text.contains("<https://example.org/1|Blast &lt;b&gt;at&lt;/b&gt;"),
            "{text}"
        );
        assert!(
            text.contains("> two explosions at *Zaventem* airport"),
            "{text}"
        );
    }

    #[test]
    fn discord_never_pings_and_escapes_markdown() {
        let a = alert();
        let body = discord(Notice::Alert(&a));
        assert_eq!(body["allowed_mentions"]["parse"], json!([]));
        assert_eq!(body["embeds"][0]["title"], json!(a.article.title));
        assert_eq!(
            body["embeds"][0]["description"],
            json!("two explosions at **Zaventem** airport")
        );
    }

    #[test]
    fn teams_is_an_adaptive_card() {
        let a = alert();
        let body = teams(Notice::Alert(&a));
        let card = &body["attachments"][0]["content"];
        assert_eq!(card["type"], json!("AdaptiveCard"));
        let title = card["body"][1]["text"].as_str().unwrap();
        assert!(
            title.starts_with(
                "[Blast \\<b\\>at\\</b\\> \\@everyone \\*airport\\*](https://example.org/1)"
            ),
            "{title}"
        );
    }

    #[test]
    fn only_web_links_are_linked() {
        let mut a = alert();
        a.article.link = Some("javascript:alert(1)".into());
        for body in [
            slack(Notice::Alert(&a)),
            discord(Notice::Alert(&a)),
            teams(Notice::Alert(&a)),
            ntfy(Notice::Alert(&a), "t"),
        ] {
            assert!(!body.to_string().contains("javascript"), "{body}");
        }
    }

    #[test]
    fn big_discord_digests_stay_within_limits() {
        let mut a = alert();
        a.excerpts[0].text = "word ".repeat(2000);
        a.excerpts[0].spans = vec![(0, 4)];
        let digest = crate::model::alert::Digest::new("chat", vec![a; 15]);
        let body = discord(Notice::Digest(&digest));
        let embeds = body["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 10);
        let total: usize = embeds
            .iter()
            .map(|e| {
                ["title", "description"]
                    .iter()
                    .map(|k| e[k].as_str().unwrap().chars().count())
                    .sum::<usize>()
                    + e["footer"]["text"].as_str().unwrap().chars().count()
            })
            .sum();
        assert!(total <= 6000, "{total} characters");
        // The five past the embeds are named in the content.
        let content = body["content"].as_str().unwrap();
        assert_eq!(content.matches("• [").count(), 5, "{content}");
        assert!(content.chars().count() <= 2000);
    }

    #[test]
    fn long_digests_name_every_alert_that_fits() {
        let mut alerts = Vec::new();
        for n in 0..60 {
            let mut a = alert();
            a.id = format!("a{n}");
            a.article.title = format!("Story {n}");
            alerts.push(a);
        }
        let digest = crate::model::alert::Digest::new("chat", alerts);
        let text = slack(Notice::Digest(&digest))["text"]
            .as_str()
            .unwrap()
            .to_string();
        for n in 0..60 {
            assert!(text.contains(&format!("|Story {n}>")), "Story {n} missing");
        }
        assert!(!text.contains("more"), "{text}");
        let message = ntfy(Notice::Digest(&digest), "t")["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.len() <= 4096);
    }

    #[test]
    fn ntfy_has_topic_title_and_click() {
        let a = alert();
        let body = ntfy(Notice::Alert(&a), "alerts");
        assert_eq!(body["topic"], json!("alerts"));
        assert_eq!(body["click"], json!("https://example.org/1"));
        assert_eq!(
            body["message"],
            json!("two explosions at **Zaventem** airport")
        );
    }
}
