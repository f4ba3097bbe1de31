//! What `story = "updates"` would send on the labelled corpora: of the
//! articles that join a story, how many of those labelled follow-ups carry
//! news (`adds`), and how many wire copies and rewrites wrongly do.

use super::Stories;
use crate::ingest::feed;
use std::collections::HashMap;
use std::path::Path;

#[derive(serde::Deserialize)]
struct Labels {
    article: Vec<Label>,
}

#[derive(serde::Deserialize)]
struct Label {
    feed: String,
    guid: String,
    kind: String,
}

/// (follow-ups that joined, of them sent; copies and rewrites that joined,
/// of them sent).
fn updates_sent(corpus: &str) -> (usize, usize, usize, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(corpus);
    let labels: Labels =
        toml::from_str(&std::fs::read_to_string(dir.join("labels.toml")).unwrap()).unwrap();
    let kind: HashMap<(String, String), String> = labels
        .article
        .iter()
        .map(|l| ((l.feed.clone(), l.guid.clone()), l.kind.clone()))
        .collect();
    let mut feeds: Vec<&String> = labels.article.iter().map(|l| &l.feed).collect();
    feeds.sort();
    feeds.dedup();
    let mut articles = Vec::new();
    for file in feeds {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        for article in feed::parse(&bytes, None).unwrap().articles {
            let guid = article.guid.clone().unwrap_or_default();
            articles.push((kind[&(file.clone(), guid)].clone(), file.clone(), article));
        }
    }
    articles.sort_by_key(|(_, _, a)| (a.published, a.key.clone()));
    let stories = Stories::new(std::time::Duration::from_secs(48 * 3600));
    let mut counts = (0, 0, 0, 0);
    for (kind, file, article) in &articles {
        let placed = stories.place(file, article, article.published.unwrap_or_default());
        if placed.story.articles == 1 {
            continue;
        }
        let sent = placed.story.adds.is_some();
        match kind.as_str() {
            "follow-up" => {
                counts.0 += 1;
                counts.1 += usize::from(sent);
            }
            "wire-copy" | "rewrite" => {
                counts.2 += 1;
                counts.3 += usize::from(sent);
            }
            _ => {}
        }
        eprintln!(
            "  {kind:<10} sent={sent:<5} {:?} {:?}",
            article.title, placed.story.adds
        );
    }
    counts
}

#[test]
fn updates_are_follow_ups_with_news_not_other_outlets_copies() {
    for corpus in ["stories", "stories-heldout", "stories-third"] {
        eprintln!("{corpus}:");
        let (follow_ups, sent, copies, copies_sent) = updates_sent(corpus);
        eprintln!(
            "{corpus}: follow-ups sent {sent} of {follow_ups} that joined their story; \
             wire copies and rewrites sent {copies_sent} of {copies}"
        );
        assert!(follow_ups > 0 && copies > 0);
        // Measured (figures of the headline and the lead's first sentence,
        // counts written as words included): follow-ups sent 8 of 13, 10 of
        // 13 and 15 of 23 on the three corpora; other outlets' copies and
        // rewrites 5 of 32, 8 of 35 and 8 of 28. Of the whole lead instead
        // (first two corpora, an earlier clusterer): 20 of 23 follow-ups
        // but 25 of 69 copies and rewrites; digits only, 11 of 23 and 8 of 69.
        assert!(sent * 2 >= follow_ups, "{sent} of {follow_ups} follow-ups");
        assert!(
            copies_sent * 3 <= copies,
            "{copies_sent} of {copies} copies"
        );
    }
}
