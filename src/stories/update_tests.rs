//! What `story = "updates"` would send on the labelled corpora: of the
//! articles that join a story, how many of those labelled follow-ups carry
//! news (`adds`), and how many wire copies and rewrites wrongly do.

use super::Stories;
use super::corpus_tests::corpus_entries;

/// (follow-ups that joined, of them sent; copies and rewrites that joined,
/// of them sent).
fn updates_sent(corpus: &str) -> (usize, usize, usize, usize) {
    let (entries, _) = corpus_entries(corpus);
    let stories = Stories::new(std::time::Duration::from_secs(48 * 3600));
    let mut counts = (0, 0, 0, 0);
    for e in &entries {
        let (kind, article) = (&e.kind, &e.article);
        let placed = stories.place(&e.feed, article, article.published.unwrap_or_default());
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
    let mut total = (0, 0, 0, 0);
    for corpus in [
        "stories",
        "stories-heldout",
        "stories-third",
        "stories-fourth",
        "stories-fifth",
    ] {
        eprintln!("{corpus}:");
        let (follow_ups, sent, copies, copies_sent) = updates_sent(corpus);
        eprintln!(
            "{corpus}: follow-ups sent {sent} of {follow_ups} that joined their story; \
             wire copies and rewrites sent {copies_sent} of {copies}"
        );
        assert!(follow_ups > 0 && copies > 0);
        total = (
            total.0 + follow_ups,
            total.1 + sent,
            total.2 + copies,
            total.3 + copies_sent,
        );
    }
    // Measured (figures of the headline and the lead's first sentence,
    // counts written as words included): follow-ups sent 8 of 13, 10 of 13,
    // 15 of 23, and on the fourth and fifth corpora, never tuned on, 10 of
    // 15 and 13 of 18; other outlets' copies and rewrites 5 of 32, 8 of 35,
    // 8 of 28, 12 of 35 and 9 of 29. Of the whole lead instead (first two
    // corpora, an earlier clusterer): 20 of 23 follow-ups but 25 of 69
    // copies and rewrites; digits only, 11 of 23 and 8 of 69. Asserted as
    // measured in all, less a margin.
    let (follow_ups, sent, copies, copies_sent) = total;
    assert!(
        sent * 10 >= follow_ups * 6,
        "{sent} of {follow_ups} follow-ups"
    );
    assert!(
        copies_sent * 10 <= copies * 3,
        "{copies_sent} of {copies} copies"
    );
}
