//! Parser and normaliser: feed bytes (RSS, Atom, JSON Feed, via feed-rs) to
//! plain-text [`Article`]s.

use crate::ingest::websub::discovery::Advertised;
use crate::ingest::{encoding, html};
use crate::model::article::{Article, article_key};

mod panic_boundary;
mod repair;
pub(crate) use panic_boundary::message as panic_message;
mod rewrite;
use feed_rs::model::{Category, Entry, FeedType, Person, Text};
use feed_rs::parser::{self, ParseErrorKind, ParseFeedError};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("not a feed: the document is an HTML page")]
    HtmlPage,
    #[error("not a feed: {0}")]
    NotAFeed(String),
    #[error("malformed feed: {0}")]
    Malformed(String),
    /// A dependency panicked on the document: caught, and this feed's error only.
    #[error(
        "the parser failed on this document ({0}); this is a bug, please report it with the feed"
    )]
    Panicked(String),
}

/// A parsed feed: its entries, and why it was not well-formed if it was not
/// (then `articles` holds the entries that could be recovered).
#[derive(Debug)]
pub struct Parsed {
    pub articles: Vec<Article>,
    /// An entry cut short where a truncated document ends: shown by
    /// `inspect`, but never matched or marked seen (its full text would then
    /// never be matched); it is read whole once the feed is.
    pub partial: Vec<Article>,
    pub malformed: Option<String>,
    /// What was repaired or guessed on the way (`inspect --verbose` shows it).
    pub warnings: Vec<String>,
    /// How long the feed may be cached (RSS `<ttl>`, in minutes there).
    pub ttl: Option<std::time::Duration>,
    /// The WebSub hub and topic its `<link rel="hub">` and `rel="self"` name.
    pub advertised: Advertised,
}

/// Parses feed bytes (not text: the encoding is decided here, from a BOM,
/// the HTTP `charset` or the XML declaration, in that order). Strict first;
/// if the document is malformed, each entry is parsed on its own and the
/// document is also repaired as a whole, and the reading that keeps more
/// entries wins, so a broken entry or a truncated tail costs only those
/// entries. Never panics: a dependency's panic is this feed's error.
pub fn parse(bytes: &[u8], http_charset: Option<&str>) -> Result<Parsed, ParseError> {
    parse_from(bytes, http_charset, None)
}

/// [`parse`] for a feed fetched from `base`: relative links (and `xml:base`)
/// are resolved against it.
pub(crate) fn parse_from(
    bytes: &[u8],
    http_charset: Option<&str>,
    base: Option<&Url>,
) -> Result<Parsed, ParseError> {
    panic_boundary::catch(|| parse_unguarded(bytes, http_charset, base))
        .unwrap_or_else(|message| Err(ParseError::Panicked(message)))
}

fn parse_unguarded(
    bytes: &[u8],
    http_charset: Option<&str>,
    base: Option<&Url>,
) -> Result<Parsed, ParseError> {
    let mut warnings = Vec::new();
    let utf8 = encoding::to_utf8(bytes, http_charset, &mut warnings);
    let rewritten = rewrite::rewrite(&utf8, &mut warnings);
    let bytes: &[u8] = &rewritten;
    let dates = DateWarnings::default();
    let result = match strict_with_ttl(bytes, base, &dates) {
        Ok((articles, ttl, advertised)) => Ok(Parsed {
            articles,
            partial: Vec::new(),
            malformed: None,
            warnings: Vec::new(),
            ttl: ttl.map(|minutes| std::time::Duration::from_secs(60 * u64::from(minutes))),
            advertised,
        }),
        Err(err) if looks_like_html(bytes) => {
            tracing::debug!(error = %err, "Parser rejected an HTML page");
            Err(ParseError::HtmlPage)
        }
        // No feed root and no entries: not a feed. Any other error may sit in
        // one entry, or in a root or head damaged around whole entries.
        Err(ParseFeedError::ParseError(kind @ ParseErrorKind::NoFeedRoot))
            if !has_entries(bytes) =>
        {
            Err(ParseError::NotAFeed(kind.to_string()))
        }
        Err(err) => {
            let (articles, partial) = tolerant(bytes, base, &dates, &mut warnings);
            if articles.is_empty() && partial.is_empty() {
                Err(ParseError::Malformed(err.to_string()))
            } else {
                Ok(Parsed {
                    articles,
                    partial,
                    malformed: Some(err.to_string()),
                    warnings: Vec::new(),
                    ttl: None,
                    advertised: Advertised::default(),
                })
            }
        }
    };
    result.map(|mut parsed| {
        warnings.extend(dates.take());
        parsed.warnings = warnings;
        parsed
    })
}

/// Dates no known form fits, noted while feed-rs parses (its date hook is
/// a plain function, so the notes are shared).
#[derive(Clone, Default)]
struct DateWarnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl DateWarnings {
    fn parser(
        &self,
    ) -> impl Fn(&str) -> Option<chrono::DateTime<chrono::Utc>> + Send + Sync + 'static {
        let notes = self.0.clone();
        move |text| {
            let parsed = crate::ingest::dates::parse(text);
            if parsed.is_none() {
                let mut notes = notes.lock().unwrap_or_else(|p| p.into_inner());
                if notes.len() < 20 {
                    notes.push(format!(
                        "unrecognised date {text:?}; the entry is kept undated"
                    ));
                }
            }
            parsed
        }
    }

    fn take(&self) -> Vec<String> {
        let mut notes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut taken = std::mem::take(&mut *notes);
        taken.dedup();
        taken
    }
}

/// The entries of a well-formed document.
fn strict(
    bytes: &[u8],
    base: Option<&Url>,
    dates: &DateWarnings,
) -> Result<Vec<Article>, ParseFeedError> {
    strict_with_ttl(bytes, base, dates).map(|(articles, ..)| articles)
}

/// [`strict`], the document's RSS `<ttl>` (minutes) and its WebSub links.
fn strict_with_ttl(
    bytes: &[u8],
    base: Option<&Url>,
    dates: &DateWarnings,
) -> Result<(Vec<Article>, Option<u32>, Advertised), ParseFeedError> {
    // An empty id from the generator means "the feed gave none"; feed-rs's own
    // generator would invent an id that changes on every parse.
    let parser = parser::Builder::new()
        .id_generator(|_links, _title, _uri| String::new())
        .timestamp_parser(dates.parser())
        .base_uri(base.map(Url::as_str))
        .build();
    let feed = parser.parse(bytes)?;
    // Atom says what its text is (type="text" means plain, even with `<`);
    // RSS does not, and its "plain" titles routinely carry markup.
    let declared = feed.feed_type == FeedType::Atom;
    let mut advertised = Advertised::default();
    for link in &feed.links {
        let url = match base {
            Some(base) => base.join(link.href.trim()),
            None => Url::parse(link.href.trim()),
        };
        if let (Some(rel), Ok(url)) = (&link.rel, url) {
            advertised.add(rel, url);
        }
    }
    let articles = feed
        .entries
        .into_iter()
        .map(|entry| without_nul(normalize(entry, base, declared)))
        .collect();
    Ok((articles, feed.ttl, advertised))
}

/// The entries of a malformed document: each entry parsed on its own (so
/// damage costs only its entry), or, where that keeps fewer, the document
/// repaired as a whole (damage in the root, or around tags). Then the entry
/// cut short at the end of a truncated document, if any, apart.
fn tolerant(
    bytes: &[u8],
    base: Option<&Url>,
    dates: &DateWarnings,
    warnings: &mut Vec<String>,
) -> (Vec<Article>, Vec<Article>) {
    let mut notes = Vec::new();
    let recovered = recover(bytes, base, dates, &mut notes).unwrap_or_default();
    let read = |doc: &str| {
        strict(doc.as_bytes(), base, dates).unwrap_or_else(|_| {
            recover(doc.as_bytes(), base, dates, &mut Vec::new()).unwrap_or_default()
        })
    };
    let repair = std::str::from_utf8(bytes).ok().and_then(repair::repair);
    let repaired = repair.as_ref().map(|r| read(&r.whole)).unwrap_or_default();
    // The cut-short entry is the one more that the document read with it has.
    let partial: Vec<Article> = repair
        .as_ref()
        .and_then(|r| r.with_cut_short.as_deref())
        .map(read)
        .filter(|all| all.len() == repaired.len() + 1)
        .and_then(|mut all| all.pop())
        .into_iter()
        .collect();
    if !partial.is_empty() {
        warnings.push("the last entry is cut short: not matched until the feed is whole".into());
    }
    if repaired.len() > recovered.len() {
        warnings.push(format!(
            "document repaired as a whole: {} entries (entry by entry: {})",
            repaired.len(),
            recovered.len()
        ));
        (repaired, partial)
    } else {
        warnings.extend(notes);
        (recovered, partial)
    }
}

fn has_entries(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes)
        .is_ok_and(|text| find_tag(text, "<item").is_some() || find_tag(text, "<entry").is_some())
}

/// Parses each `<item>` / `<entry>` of a malformed document on its own,
/// inside the document's own head, and keeps those that parse.
fn recover(
    bytes: &[u8],
    base: Option<&Url>,
    dates: &DateWarnings,
    warnings: &mut Vec<String>,
) -> Option<Vec<Article>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let (open, close) = if find_tag(text, "<entry").is_some() {
        ("<entry", "</entry>")
    } else {
        ("<item", "</item>")
    };
    let first = find_tag(text, open)?;
    let head = &text[..first];
    let (root, tail) = if open == "<entry" {
        ("<feed", "</feed>")
    } else if find_tag(head, "<rdf:RDF").is_some() {
        ("<rdf:RDF", "</rdf:RDF>")
    } else {
        ("<rss", "</channel></rss>")
    };
    // If the head itself is damaged (a bare `&` or an unclosed `<b>` in the
    // channel title), each entry is tried again inside just the root's start
    // tag (its namespaces) and, for RSS, a bare <channel>.
    let bare_heads = bare_heads(head, root);
    let mut articles = Vec::new();
    let mut rest = &text[first..];
    let mut number = 0;
    while let Some(start) = find_tag(rest, open) {
        number += 1;
        let chunk = &rest[start..];
        let next_open = find_tag(&chunk[1..], open).map(|i| i + 1);
        let end = chunk.find(close).map(|i| i + close.len());
        let (entry, advance) = match (end, next_open) {
            // Closed before the next entry starts: a whole entry.
            (Some(end), Some(next)) if end <= next => (&chunk[..end], end),
            (Some(end), None) => (&chunk[..end], end),
            // Never closed: broken (or truncated); skip to the next entry.
            (_, Some(next)) => ("", next),
            (None, None) => ("", chunk.len()),
        };
        let offset = text.len() - chunk.len();
        if entry.is_empty() {
            warnings.push(format!(
                "entry {number} (byte {offset}) skipped: no {close} before the next entry or the end"
            ));
        } else {
            let mut parsed = strict(format!("{head}{entry}{tail}").as_bytes(), base, dates);
            for bare in &bare_heads {
                if parsed.is_err() {
                    parsed = strict(format!("{bare}{entry}{tail}").as_bytes(), base, dates);
                }
            }
            match parsed {
                Ok(mut one) if one.len() == 1 => articles.push(one.remove(0)),
                Ok(_) => warnings.push(format!(
                    "entry {number} (byte {offset}) skipped: not one entry"
                )),
                Err(e) => warnings.push(format!("entry {number} (byte {offset}) skipped: {e}")),
            }
        }
        rest = &chunk[advance..];
    }
    Some(articles)
}

/// Stand-ins for a damaged head: the root element's start tag as found
/// (its namespaces and version), then the format's plain root; for RSS
/// followed by a bare `<channel>`.
fn bare_heads(head: &str, root: &str) -> Vec<String> {
    let found = find_tag(head, root).and_then(|at| {
        let end = head[at..].find('>')? + at + 1;
        Some(&head[at..end]).filter(|t| !t.ends_with("/>"))
    });
    let plain = match root {
        "<feed" => "<feed xmlns=\"http://www.w3.org/2005/Atom\">",
        "<rdf:RDF" => {
            "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">"
        }
        _ => "<rss version=\"2.0\">",
    };
    let channel = if root == "<rss" { "<channel>" } else { "" };
    found
        .into_iter()
        .chain([plain])
        .map(|tag| format!("{tag}{channel}"))
        .filter(|bare| bare != head)
        .collect()
}

/// Byte offset of the start tag `<name` (not `<names`) in `text`.
fn find_tag(text: &str, open: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(open) {
        let at = from + i;
        match text[at + open.len()..].chars().next() {
            Some(c) if c == '>' || c == '/' || c.is_whitespace() => return Some(at),
            None => return None,
            _ => from = at + open.len(),
        }
    }
    None
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let head = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// The article without NUL characters: a JSON escape (`\u0000`) makes one
/// that no text needs, and PostgreSQL's text columns refuse it (the feed's
/// every poll would fail to be recorded).
fn without_nul(mut article: Article) -> Article {
    let strip = |text: &mut String| {
        if text.contains('\0') {
            text.retain(|c| c != '\0');
        }
    };
    strip(&mut article.key);
    article.guid.iter_mut().for_each(strip);
    strip(&mut article.title);
    article.link.iter_mut().for_each(strip);
    article.authors.iter_mut().for_each(strip);
    article.categories.iter_mut().for_each(strip);
    strip(&mut article.summary);
    strip(&mut article.content);
    article
}

fn normalize(entry: Entry, base: Option<&Url>, declared: bool) -> Article {
    let plain_text = |text: &Text| plain_text(text, declared);
    let guid = Some(entry.id.trim().to_string()).filter(|id| !id.is_empty());
    // Media RSS items (video, podcasts) often carry their title and
    // description only as media:title and media:description.
    let media_text = |pick: fn(&feed_rs::model::MediaObject) -> Option<&Text>| {
        entry
            .media
            .iter()
            .find_map(pick)
            .map(plain_text)
            .unwrap_or_default()
    };
    let title = entry
        .title
        .as_ref()
        .map(plain_text)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| media_text(|m| m.title.as_ref()));
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.trim().to_string())
        .filter(|href| !href.is_empty())
        // "/2026/03/story" in an RSS <link>: relative to the feed's address.
        .map(|href| match (Url::parse(&href), base) {
            (Err(url::ParseError::RelativeUrlWithoutBase), Some(base)) => {
                base.join(&href).map_or(href, |u| u.to_string())
            }
            _ => href,
        })
        // RSS permalink GUIDs are the article's address when there is no <link>.
        .or_else(|| {
            guid.clone()
                .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
        });
    let summary = entry
        .summary
        .as_ref()
        .map(plain_text)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| media_text(|m| m.description.as_ref()));
    let content = entry
        .content
        .as_ref()
        .and_then(|c| {
            let body = c.body.as_deref()?;
            let body = encoding::demoronize(body);
            Some(if is_plain(c.content_type.as_ref()) {
                html::collapse_whitespace(&body)
            } else {
                html::to_text(&body)
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
        // Shown resolved (an Atom id may be a relative reference, as a link
        // may); the key above keeps the id as written, so no stored key changes.
        guid: guid.map(|id| {
            if declared {
                resolve_relative_id(id, base)
            } else {
                id
            }
        }),
        title: title.replace('\n', " "),
        link,
        published: entry.published.or(entry.updated),
        authors: authors(&entry),
        categories: {
            let mut names = Vec::new();
            categories(&entry.categories, &mut names);
            names
        },
        summary,
        content,
    }
}

/// An Atom id like `/2026/story` resolved against the feed's base; ids that
/// are absolute (`tag:`, `urn:`, `https:`) or not paths stay as written.
fn resolve_relative_id(id: String, base: Option<&Url>) -> String {
    match (Url::parse(&id), base) {
        (Err(url::ParseError::RelativeUrlWithoutBase), Some(base))
            if id.contains('/') && !id.contains(char::is_whitespace) =>
        {
            base.join(&id).map_or(id, |u| u.to_string())
        }
        _ => id,
    }
}

/// "Name (email)" as feedparser and mail readers show a person; the name
/// alone without an email.
fn authors(entry: &Entry) -> Vec<String> {
    let shown = |p: &Person| {
        let name = p.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let email = p.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
        match (name, email) {
            (Some(name), Some(email)) if !name.contains(email) => Some(format!("{name} ({email})")),
            (Some(name), _) => Some(name.to_string()),
            (None, email) => email.map(str::to_string),
        }
    };
    entry.authors.iter().filter_map(shown).collect()
}

/// Category terms (what the feed files it under; the label is only its
/// display form), then their iTunes subcategories.
fn categories(list: &[Category], names: &mut Vec<String>) {
    for c in list {
        let term = c.term.trim();
        match c.label.as_deref() {
            _ if !term.is_empty() => names.push(term.to_string()),
            Some(label) if !label.trim().is_empty() => names.push(label.trim().to_string()),
            _ => {}
        }
        categories(&c.subcategories, names);
    }
}

fn plain_text(text: &Text, declared: bool) -> String {
    let content = encoding::demoronize(&text.content);
    // RSS titles are marked plain but routinely carry escaped markup or
    // entities ("&lt;em&gt;", "&amp;eacute;"): readers render them as HTML.
    // An Atom type="text" is plain as declared.
    if is_plain(text.content_type.as_ref()) && (declared || !has_markup(&content)) {
        html::collapse_whitespace(&content)
    } else {
        html::to_text(&content)
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
mod compat;

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
        let first = parse(xml, None).unwrap().articles;
        let second = parse(xml, None).unwrap().articles;
        assert_eq!(first[0].guid, None);
        assert!(first[0].key.starts_with("hash:"));
        assert_eq!(first[0].key, second[0].key);
    }

    #[test]
    fn invalid_utf8_costs_nothing() {
        let xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>\
            <item><title>A\xe9roport de Li\xe8ge ferm\xe9</title><guid>1</guid></item>\
            <item><title>Second</title><guid>2</guid></item></channel></rss>";
        let articles = parse(xml, None).unwrap().articles;
        assert_eq!(articles.len(), 2);
        assert_eq!(articles[0].title, "Aéroport de Liège fermé");
    }

    #[test]
    fn nul_characters_escaped_in_json_are_dropped() {
        let json = br#"{"version": "https://jsonfeed.org/version/1.1", "title": "t",
            "items": [{"id": "x\u0000y", "title": "Brussels\u0000 airport",
                       "content_text": "closed\u0000 today"}]}"#;
        let articles = parse(json, None).unwrap().articles;
        let a = &articles[0];
        assert_eq!(a.guid.as_deref(), Some("xy"));
        assert_eq!(a.title, "Brussels airport");
        assert!(!a.key.contains('\0') && !a.text().contains('\0'), "{a:?}");
    }

    const GOOD: &str = "<item><title>Good one</title><guid>g1</guid></item>";

    fn rss(items: &str) -> String {
        format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title>{items}</channel></rss>"
        )
    }

    #[test]
    fn a_broken_entry_costs_only_itself() {
        let broken = "<item><title>Bad <b>unclosed</title><guid>g2</guid></item>";
        let parsed = parse(
            rss(&format!(
                "{GOOD}{broken}<item><title>Third</title><guid>g3</guid></item>"
            ))
            .as_bytes(),
            None,
        )
        .unwrap();
        let titles: Vec<&str> = parsed.articles.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["Good one", "Bad unclosed", "Third"]);
        assert!(parsed.malformed.is_some());
    }

    #[test]
    fn a_truncated_feed_keeps_its_complete_entries() {
        let full = rss(&format!(
            "{GOOD}<item><title>Second</title><guid>g2</guid></item><item><title>Cut"
        ));
        let cut = &full[..full.find("Cut").unwrap() + 3];
        let parsed = parse(cut.as_bytes(), None).unwrap();
        let titles: Vec<&str> = parsed.articles.iter().map(|a| a.title.as_str()).collect();
        assert_eq!(titles, ["Good one", "Second"]);
    }

    #[test]
    fn truncated_atom_keeps_its_complete_entries() {
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title><id>f</id>\
            <entry><id>e1</id><title>One</title></entry><entry><id>e2</id><title>Tw";
        let parsed = parse(atom.as_bytes(), None).unwrap();
        assert_eq!(parsed.articles.len(), 1);
        assert_eq!(parsed.articles[0].title, "One");
    }

    #[test]
    fn permalink_guid_stands_in_for_a_missing_link() {
        let xml = rss("<item><title>x</title><guid>https://news.test/a/1</guid></item>");
        let articles = parse(xml.as_bytes(), None).unwrap().articles;
        assert_eq!(articles[0].link.as_deref(), Some("https://news.test/a/1"));
    }

    #[test]
    fn recovery_in_rss_with_feedburner_head() {
        let xml = "<rss version=\"2.0\"><channel><title>t</title><feedburner:info uri=\"x\"/>\
            <item><title>One</title><guid>1</guid></item><item><title>Tw";
        assert_eq!(parse(xml.as_bytes(), None).unwrap().articles.len(), 1);
    }

    #[test]
    fn relative_links_resolve_against_the_feed_url() {
        let xml = rss("<item><title>x</title><link>/2026/03/story</link></item>");
        let base = Url::parse("https://news.test/feeds/world.xml").unwrap();
        let articles = parse_from(xml.as_bytes(), None, Some(&base))
            .unwrap()
            .articles;
        assert_eq!(
            articles[0].link.as_deref(),
            Some("https://news.test/2026/03/story")
        );
        let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"https://cdn.test/a/\"><title>t</title><id>f</id>\
            <entry><id>e</id><title>t</title><link href=\"b/c\"/></entry></feed>";
        let articles = parse_from(atom.as_bytes(), None, Some(&base))
            .unwrap()
            .articles;
        assert_eq!(articles[0].link.as_deref(), Some("https://cdn.test/a/b/c"));
    }

    #[test]
    fn media_title_and_description_stand_in() {
        let xml = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>t</title>\
            <item><guid>2</guid><media:content url=\"https://x.test/v.mp4\"><media:title>Clip about Zaventem</media:title>\
            <media:description>Footage from the airport.</media:description></media:content></item></channel></rss>";
        let articles = parse(xml.as_bytes(), None).unwrap().articles;
        assert_eq!(articles[0].title, "Clip about Zaventem");
        assert_eq!(articles[0].summary, "Footage from the airport.");
    }

    #[test]
    fn html_page_is_not_a_feed() {
        let err = parse(b"<!DOCTYPE html><html><body>hi</body></html>", None).unwrap_err();
        assert!(matches!(err, ParseError::HtmlPage));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]

        #[test]
        fn truncation_keeps_every_complete_item(n in 1usize..8, cut in 0usize..400, at in 0usize..2000, byte in proptest::prelude::any::<u8>()) {
            let items: String = (0..n)
                .map(|i| format!("<item><title>Story {i} &amp; more</title><guid>g{i}</guid><description>&lt;p&gt;Text {i}&lt;/p&gt;</description></item>"))
                .collect();
            let full = rss(&items);
            // Truncated anywhere: never a panic; cut after the k-th </item>, the first k items.
            let end = full.len().saturating_sub(cut);
            let truncated = &full.as_bytes()[..end];
            let complete = full[..end].matches("</item>").count();
            match parse(truncated, None) {
                Ok(parsed) => proptest::prop_assert_eq!(parsed.articles.len(), complete.min(n)),
                Err(_) => proptest::prop_assert_eq!(complete, 0),
            }
            // One corrupted byte anywhere: never a panic.
            let mut corrupted = full.clone().into_bytes();
            let at = at % corrupted.len();
            corrupted[at] = byte;
            let _ = parse(&corrupted, None);
        }
    }
}
