//! Parser and normaliser: feed bytes (RSS, Atom, JSON Feed, via feed-rs) to
//! plain-text [`Article`]s.

use crate::article::{Article, article_key};
use crate::{encoding, html};
use feed_rs::model::{Entry, Text};
use feed_rs::parser::{self, ParseFeedError};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: the document is an HTML page")]
    HtmlPage,
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("malformed feed: {0}")]
    Malformed(String),
}

/// Parses feed bytes (not text: the encoding is decided here, from the HTTP
/// `charset`, a BOM or the XML declaration, in that order).
pub fn parse(bytes: &[u8], http_charset: Option<&str>) -> Result<Vec<Article>, ParseError> {
    let utf8 = encoding::to_utf8(bytes, http_charset);
    let bytes: &[u8] = &utf8;
    // An empty id from the generator means "the feed gave none"; feed-rs's own
    // generator would invent an id that changes on every parse.
    let parser = parser::Builder::new()
        .id_generator(|_links, _title, _uri| String::new())
        .build();
    match parser.parse(bytes) {
        Ok(feed) => Ok(feed.entries.into_iter().map(normalize).collect()),
        Err(err) if looks_like_html(bytes) => {
            tracing::debug!(error = %err, "Parser rejected an HTML page");
            Err(ParseError::HtmlPage)
        }
        Err(ParseFeedError::ParseError(kind)) => Err(ParseError::NotAFeed(kind.to_string())),
        Err(err) => Err(ParseError::Malformed(err.to_string())),
    }
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let head = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

fn normalize(entry: Entry) -> Article {
    let guid = Some(entry.id.trim().to_string()).filter(|id| !id.is_empty());
    let title = entry.title.as_ref().map(plain_text).unwrap_or_default();
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|href| !href.is_empty());
    let summary = entry.summary.as_ref().map(plain_text).unwrap_or_default();
    let content = entry
        .content
        .as_ref()
        .and_then(|c| {
            let body = c.body.as_deref()?;
            Some(if is_plain(c.content_type.as_ref()) {
                html::collapse_whitespace(body)
            } else {
                html::to_text(body)
            })
        })
        .unwrap_or_default();
    let key = article_key(
        guid.as_deref(),
        link.as_deref(),
        &title,
        if content.is_empty() {
            &summary
        } else {
            &content
        },
    );
    Article {
        key,
        guid,
        title: title.replace('\n', " "),
        link,
        published: entry.published.or(entry.updated),
        authors: entry
            .authors
            .iter()
            .filter_map(|p| p.name.as_deref().map(str::trim).filter(|n| !n.is_empty()))
            .map(str::to_string)
            .collect(),
        categories: entry
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .collect(),
        summary,
        content,
    }
}

fn plain_text(text: &Text) -> String {
    // RSS titles are marked plain but routinely carry escaped markup or
    // entities ("&lt;em&gt;", "&amp;eacute;"): readers render them as HTML.
    if is_plain(text.content_type.as_ref()) && !has_markup(&text.content) {
        html::collapse_whitespace(&text.content)
    } else {
        html::to_text(&text.content)
    }
}

/// Whether text holds a tag (`<b`, `</`, `<!`) or an entity (`&amp;`, `&#39;`).
fn has_markup(text: &str) -> bool {
    let bytes = text.as_bytes();
    let tag = bytes
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'));
    tag || text
        .match_indices('&')
        .any(|(i, _)| is_entity(&text[i + 1..]))
}

/// Whether `rest` (the text after a `&`) starts with `name;` or `#digits;`.
fn is_entity(rest: &str) -> bool {
    let body = rest.strip_prefix('#').unwrap_or(rest);
    let len = body.bytes().take_while(u8::is_ascii_alphanumeric).count();
    len > 0 && len <= 32 && body.as_bytes().get(len) == Some(&b';')
}

fn is_plain(media_type: &str) -> bool {
    media_type.starts_with("text/plain")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_plain_titles_is_rendered() {
        assert!(has_markup("a <em>b</em>"));
        assert!(has_markup("Caf&eacute;"));
        assert!(!has_markup("AT&T: 3 < 4 & 5"));
    }

    #[test]
    fn entries_without_id_get_a_stable_key() {
        let xml = br#"<rss version="2.0"><channel><title>t</title>
            <item><title>No id or link</title><description>Body text</description></item>
            </channel></rss>"#;
        let first = parse(xml, None).unwrap();
        let second = parse(xml, None).unwrap();
        assert_eq!(first[0].guid, None);
        assert!(first[0].key.starts_with("hash:"));
        assert_eq!(first[0].key, second[0].key);
    }

    #[test]
    fn invalid_utf8_costs_nothing() {
        let xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>\
            <item><title>A\xe9roport de Li\xe8ge ferm\xe9</title><guid>1</guid></item>\
            <item><title>Second</title><guid>2</guid></item></channel></rss>";
        let articles = parse(xml, None).unwrap();
        assert_eq!(articles.len(), 2);
        assert_eq!(articles[0].title, "Aéroport de Liège fermé");
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let err = parse(b"<!DOCTYPE html><html><body>hi</body></html>", None).unwrap_err();
        assert!(matches!(err, ParseError::HtmlPage));
    }
}
