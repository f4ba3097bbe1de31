//! Parser and normaliser: feed bytes (RSS, Atom, JSON Feed, via feed-rs) to
//! plain-text [`Article`]s.

use crate::article::{Article, article_key};
use crate::html;
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

/// Parses feed bytes (not text: the feed's own encoding declaration must win).
pub fn parse(bytes: &[u8]) -> Result<Vec<Article>, ParseError> {
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
    let head = String::from_utf8_lossy(head).trim_start().to_ascii_lowercase();
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
            Some(if is_plain(&c.content_type.to_string()) {
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
        if content.is_empty() { &summary } else { &content },
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
    if is_plain(&text.content_type.to_string()) {
        html::collapse_whitespace(&text.content)
    } else {
        html::to_text(&text.content)
    }
}

fn is_plain(media_type: &str) -> bool {
    media_type.starts_with("text/plain")
}
