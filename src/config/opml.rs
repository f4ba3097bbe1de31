//! OPML feed lists, as feed readers export them: `opml = ["feeds.opml"]` in
//! the config, `newswatch feeds import` and `newswatch feeds export`. An
//! outline with a feed URL is a feed; the outlines around it (folders) and
//! its `category` attribute are its tags.
//!
//! Readers write the same thing differently: `xmlUrl` in any letter case,
//! or `url`; `type="rss"`, `"atom"` or none; folders as nested outlines or
//! as `category="/News/World,/Tech"`; `title`, `text` or both. All are read.

use crate::ingest::schedule::FeedConfig;
use crate::model::article::hex;
use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::{BytesStart, Event};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// A feed read from an OPML outline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpmlFeed {
    /// Its `title`, else its `text`, else its URL.
    pub(crate) title: String,
    pub(crate) url: String,
    /// The folders around it, outermost first, then its categories; once each.
    pub(crate) tags: Vec<String>,
    /// Where its outline is in the file.
    pub(crate) span: Range<usize>,
}

/// Why an OPML file could not be read, and where (a byte offset).
#[derive(Debug)]
pub(crate) struct OpmlError {
    pub(crate) message: String,
    pub(crate) at: usize,
}

/// The names of feeds read from OPML (`(title, url)`, in order): the title
/// where no other feed has it (`taken`: names in use already), else the
/// title and a short hash of the URL, `Wire (3f9a2c)`. The store keeps a
/// feed's state by name, so a name must not pass to another feed when the
/// outlines are reordered, as a number by position would. Added to `taken`.
pub(crate) fn opml_names(feeds: &[(&str, &str)], taken: &mut HashSet<String>) -> Vec<String> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (title, _) in feeds {
        *count.entry(title).or_default() += 1;
    }
    feeds
        .iter()
        .map(|&(title, url)| {
            let mut name = title.to_string();
            if count[title] > 1 || taken.contains(&name) {
                let hash = hex(&Sha256::digest(url.as_bytes())[..3]);
                name = format!("{title} ({hash})");
            }
            // Two URLs whose hashes meet (one in 16 million): a number too.
            let base = name.clone();
            for n in 2.. {
                if taken.insert(name.clone()) {
                    break;
                }
                name = format!("{base} ({n})");
            }
            name
        })
        .collect()
}

/// The feeds of an OPML document, in the order written.
pub(crate) fn read_opml(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = Reader::from_str(text);
    // Each open outline: the folder it names (None for a feed's own outline).
    let mut open: Vec<Option<String>> = Vec::new();
    let mut feeds = Vec::new();
    let mut seen_opml = false;
    loop {
        let start = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| OpmlError {
            message: format!("not well-formed XML: {e}"),
            at: reader.error_position() as usize,
        })?;
        let span = start..reader.buffer_position() as usize;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if name.eq_ignore_ascii_case("opml") {
                    seen_opml = true;
                }
                if !name.eq_ignore_ascii_case("outline") {
                    continue;
                }
                let feed = outline_feed(e, &open, span);
                let folder = match &feed {
                    Some(_) => None,
                    None => Some(outline_title(e)).filter(|t| !t.is_empty()),
                };
                feeds.extend(feed);
                if matches!(event, Event::Start(_)) {
                    open.push(folder);
                }
            }
            Event::End(e) if e.local_name().as_ref().eq_ignore_ascii_case("outline") => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_opml {
        return Err(OpmlError {
            message: "not an OPML document (no <opml> element)".to_string(),
            at: 0,
        });
    }
    Ok(feeds)
}

/// The feed an outline stands for, if it has a feed URL.
fn outline_feed(e: &BytesStart, open: &[Option<String>], span: Range<usize>) -> Option<OpmlFeed> {
    let kind = attribute(e, "type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    // `url` is a feed's address in some exports, but a link's or an
    // included file's where the type says so.
    let url = attribute(e, "xmlUrl").or_else(|| {
        (!matches!(kind.as_str(), "link" | "include" | "html"))
            .then(|| attribute(e, "url"))
            .flatten()
    })?;
    let url = url.trim().to_string();
    if url.is_empty() {
        return None;
    }
    let title = Some(outline_title(e))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| url.clone());
    let mut tags: Vec<String> = open.iter().flatten().cloned().collect();
    // OPML 2.0: comma-separated, slash-delimited category strings.
    for category in attribute(e, "category").unwrap_or_default().split(',') {
        let category = category.trim().trim_matches('/').trim();
        if !category.is_empty() {
            tags.push(category.to_string());
        }
    }
    let mut once = std::collections::HashSet::new();
    tags.retain(|t| once.insert(t.clone()));
    Some(OpmlFeed {
        title,
        url,
        tags,
        span,
    })
}

/// An outline's `title`, else its `text`, trimmed.
fn outline_title(e: &BytesStart) -> String {
    attribute(e, "title")
        .filter(|t| !t.trim().is_empty())
        .or_else(|| attribute(e, "text"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// An attribute's value by name in any letter case, entities decoded (or
/// as written, where an exporter left a bare `&` in a URL).
fn attribute(e: &BytesStart, name: &str) -> Option<String> {
    let attr = e
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref().eq_ignore_ascii_case(name))?;
    Some(
        match attr.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(value) => value.into_owned(),
            Err(_) => attr.value.to_string(),
        },
    )
}

/// The feeds as an OPML 2.0 document: each under a folder named by its
/// first tag, with all its tags in `category` (so that importing it again
/// gives the same tags).
pub(crate) fn write_opml(feeds: &[FeedConfig]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>newswatch feeds</title>\n  </head>\n  <body>\n",
    );
    let outline = |feed: &FeedConfig, indent: &str| {
        let mut line = format!(
            "{indent}<outline type=\"rss\" text=\"{name}\" title=\"{name}\" xmlUrl=\"{url}\"",
            name = escape(&feed.name),
            url = escape(feed.url.as_str()),
        );
        if !feed.tags.is_empty() {
            line.push_str(&format!(" category=\"{}\"", escape(feed.tags.join(","))));
        }
        line.push_str("/>\n");
        line
    };
    // Folders in the order their first feed comes.
    let mut folders: Vec<&str> = Vec::new();
    for feed in feeds {
        if let Some(tag) = feed.tags.first()
            && !folders.contains(&tag.as_str())
        {
            folders.push(tag);
        }
    }
    for folder in folders {
        out.push_str(&format!(
            "    <outline text=\"{name}\" title=\"{name}\">\n",
            name = escape(folder)
        ));
        for feed in feeds
            .iter()
            .filter(|f| f.tags.first().map(String::as_str) == Some(folder))
        {
            out.push_str(&outline(feed, "      "));
        }
        out.push_str("    </outline>\n");
    }
    for feed in feeds.iter().filter(|f| f.tags.is_empty()) {
        out.push_str(&outline(feed, "    "));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<(String, String, Vec<String>)> {
        read_opml(text)
            .expect("reads")
            .into_iter()
            .map(|f| (f.title, f.url, f.tags))
            .collect()
    }

    fn feed(title: &str, url: &str, tags: &[&str]) -> (String, String, Vec<String>) {
        let tags = tags.iter().map(|t| t.to_string()).collect();
        (title.to_string(), url.to_string(), tags)
    }

    #[test]
    fn folders_nested_as_outlines_become_tags() {
        // As Miniflux, Feedly, Inoreader and NetNewsWire write them.
        let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="Wire &amp; World" title="Wire &amp; World"
               xmlUrl="https://example.org/world.xml" htmlUrl="https://example.org/"/>
      <outline text="Europe">
        <outline type="rss" text="EU desk" xmlUrl="https://example.org/eu.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="Loose" xmlUrl="https://example.org/loose.xml"/>
  </body>
</opml>"#;
        assert_eq!(
            read(text),
            [
                feed("Wire & World", "https://example.org/world.xml", &["World"]),
                feed(
                    "EU desk",
                    "https://example.org/eu.xml",
                    &["World", "Europe"]
                ),
                feed("Loose", "https://example.org/loose.xml", &[]),
            ]
        );
    }

    #[test]
    fn other_spellings_of_the_same_list_are_read_alike() {
        // `xmlurl` in lower case, `url` with no type, categories as an
        // attribute, a title only in `text`, a bare `&` in a URL, namespaced
        // reader-specific attributes, and outlines that are links, not feeds.
        let text = r#"<?xml version="1.0"?>
<opml version="2.0" xmlns:frss="https://freshrss.org/opml">
  <body>
    <outline text="A" xmlurl="https://a.example/rss" frss:cssFullContent="article"/>
    <outline text="B" url="https://b.example/feed?x=1&y=2"/>
    <outline text="C" type="atom" xmlUrl="https://c.example/atom" category="/News/World, /Tech"/>
    <outline text="Home page" type="link" url="https://d.example/"/>
    <outline text="Empty" xmlUrl="  "/>
  </body>
</opml>"#;
        assert_eq!(
            read(text),
            [
                feed("A", "https://a.example/rss", &[]),
                feed("B", "https://b.example/feed?x=1&y=2", &[]),
                feed("C", "https://c.example/atom", &["News/World", "Tech"]),
            ]
        );
    }

    #[test]
    fn broken_documents_are_errors_with_a_position() {
        let err = read_opml("<opml><body><outline text='x'></body></opml>").unwrap_err();
        assert!(err.message.contains("not well-formed"), "{err:?}");
        assert!(err.at > 0, "{err:?}");
        let err = read_opml("<rss><channel/></rss>").unwrap_err();
        assert!(err.message.contains("not an OPML document"), "{err:?}");
    }

    #[test]
    fn a_written_list_reads_back_the_same() {
        let config = |name: &str, url: &str, tags: &[&str]| FeedConfig {
            name: name.to_string(),
            url: url::Url::parse(url).expect("url"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            interval: std::time::Duration::from_secs(900),
            first_poll: crate::ingest::schedule::FirstPoll::Quiet,
        };
        let feeds = [
            config(
                "Wire <&> \"quotes\"",
                "https://example.org/a?x=1&y=2",
                &["world", "wire"],
            ),
            config("Plain", "https://example.org/b", &[]),
            config("Second in world", "https://example.org/c", &["world"]),
        ];
        let back = read(&write_opml(&feeds));
        let expected: Vec<_> = [&feeds[0], &feeds[2], &feeds[1]]
            .iter()
            .map(|f| (f.name.clone(), f.url.to_string(), f.tags.clone()))
            .collect();
        assert_eq!(back, expected);
    }
}
