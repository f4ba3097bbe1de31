//! Story clustering against labelled corpora: six outlets' feeds each,
//! every article labelled with the event it reports, and pairs of stories
//! that must never merge. Pairwise precision, recall and F1 of "same story"
//! decisions, beside a baseline that merges articles whose title words
//! overlap (Jaccard ≥ 0.3).
//!
//! `tests/fixtures/stories` is the corpus the clusterer's thresholds were
//! tuned on; `tests/fixtures/stories-heldout` was written afterwards,
//! independently, and is only measured, never tuned on.
//! `tests/fixtures/stories-third` was written before any tuning on the
//! held-out corpus, to give held-out figures once the clusterer has been
//! improved using the first two. `tests/fixtures/stories-fourth` was
//! written independently while the clusterer was being improved with all
//! three in view, without reading its code or their articles, to give the
//! held-out figure at the end. `tests/fixtures/stories-fifth` was written
//! the same way once all four were in view, and is held out in turn;
//! `stories-sixth` and `stories-seventh` likewise once all five were.

use super::*;
use crate::ingest::feed;
use crate::model::article::Article;
use std::collections::{HashMap, HashSet};
use std::path::Path;

#[derive(serde::Deserialize)]
struct Labels {
    article: Vec<Label>,
    #[serde(default)]
    hard_negative: Vec<HardNegative>,
}

#[derive(serde::Deserialize)]
struct Label {
    feed: String,
    guid: String,
    story: String,
    kind: String,
}

#[derive(serde::Deserialize)]
struct HardNegative {
    a: String,
    b: String,
}

/// Articles, each with its labelled story.
type Labelled = Vec<(Article, String)>;

/// One article of a corpus: its feed file, its labelled story and kind
/// (first, wire-copy, rewrite, follow-up, singleton, roundup, negative).
pub(super) struct Entry {
    pub feed: String,
    pub article: Article,
    pub story: String,
    pub kind: String,
}

/// The articles of the corpus in `tests/fixtures/<name>` in published
/// order, labelled, and the pairs of stories that must not merge.
pub(super) fn corpus_entries(name: &str) -> (Vec<Entry>, Vec<(String, String)>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let labels: Labels =
        toml::from_str(&std::fs::read_to_string(dir.join("labels.toml")).unwrap()).unwrap();
    let label_of: HashMap<(String, String), &Label> = labels
        .article
        .iter()
        .map(|l| ((l.feed.clone(), l.guid.clone()), l))
        .collect();
    let mut entries = Vec::new();
    for feed_file in labels
        .article
        .iter()
        .map(|l| &l.feed)
        .collect::<HashSet<_>>()
    {
        let bytes = std::fs::read(dir.join(feed_file)).unwrap();
        for article in feed::parse(&bytes, None).unwrap().articles {
            let guid = article.guid.clone().unwrap_or_default();
            let label = label_of
                .get(&(feed_file.clone(), guid.clone()))
                .unwrap_or_else(|| panic!("{feed_file} {guid} has no label"));
            entries.push(Entry {
                feed: feed_file.clone(),
                story: label.story.clone(),
                kind: label.kind.clone(),
                article,
            });
        }
    }
    assert_eq!(entries.len(), labels.article.len(), "every label read once");
    entries.sort_by_key(|e| (e.article.published, e.article.key.clone()));
    let negatives = labels
        .hard_negative
        .into_iter()
        .map(|n| (n.a, n.b))
        .collect();
    (entries, negatives)
}

/// The corpus's articles with their labelled stories (see
/// [`corpus_entries`]).
fn corpus(name: &str) -> (Labelled, Vec<(String, String)>) {
    let (entries, negatives) = corpus_entries(name);
    let articles = entries.into_iter().map(|e| (e.article, e.story)).collect();
    (articles, negatives)
}

/// Pairwise figures of a grouping against the labels.
#[derive(Debug)]
struct Score {
    precision: f64,
    recall: f64,
    f1: f64,
    /// Hard-negative story pairs with at least one article pair merged.
    negatives_merged: usize,
}

fn score(groups: &[u64], labels: &[String], negatives: &[(String, String)]) -> Score {
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    let mut merged: HashSet<(String, String)> = HashSet::new();
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            let (same, truth) = (groups[i] == groups[j], labels[i] == labels[j]);
            match (same, truth) {
                (true, true) => tp += 1.0,
                (true, false) => {
                    fp += 1.0;
                    merged.insert((labels[i].clone(), labels[j].clone()));
                    merged.insert((labels[j].clone(), labels[i].clone()));
                }
                (false, true) => fn_ += 1.0,
                (false, false) => {}
            }
        }
    }
    let precision: f64 = if tp + fp == 0.0 { 1.0 } else { tp / (tp + fp) };
    let recall: f64 = if tp + fn_ == 0.0 {
        1.0
    } else {
        tp / (tp + fn_)
    };
    Score {
        precision,
        recall,
        f1: 2.0 * precision * recall / (precision + recall).max(f64::MIN_POSITIVE),
        negatives_merged: negatives.iter().filter(|n| merged.contains(*n)).count(),
    }
}

/// Each article joins the group of the earlier article whose title words
/// overlap most (Jaccard ≥ 0.3), else starts one.
fn title_jaccard_baseline(articles: &[(Article, String)]) -> Vec<u64> {
    let words = |a: &Article| -> HashSet<String> {
        crate::matching::text::words(&a.title)
            .into_iter()
            .filter(|w| !crate::matching::is_frequent(w))
            .collect()
    };
    let sets: Vec<HashSet<String>> = articles.iter().map(|(a, _)| words(a)).collect();
    let mut groups: Vec<u64> = Vec::new();
    for i in 0..sets.len() {
        let best = (0..i)
            .map(|j| {
                let inter = sets[i].intersection(&sets[j]).count() as f64;
                let union = sets[i].union(&sets[j]).count().max(1) as f64;
                (inter / union, j)
            })
            .filter(|(s, _)| *s >= 0.3)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        groups.push(best.map_or(i as u64, |(_, j)| groups[j]));
    }
    groups
}

/// One corpus's figures: the clusterer's and the baseline's.
struct Measured {
    articles: usize,
    stories: usize,
    negatives: usize,
    ours: Score,
    baseline: Score,
}

/// Clusters the corpus `name` in published order, as the daemon would, and
/// scores it. Prints the wrong decisions (and, with NEWSWATCH_STORY_PAIRS
/// set, every pair's scores: `PAIR <corpus> <same story> <hard negative>
/// <resemblance> <shared name> <conflict> <cosine> <key overlap>`).
fn measure(name: &str) -> Measured {
    let (articles, negatives) = corpus(name);
    let labels: Vec<String> = articles.iter().map(|(_, s)| s.clone()).collect();
    let mut clusterer = Clusterer::new(std::time::Duration::from_secs(48 * 3600));
    let groups: Vec<u64> = articles
        .iter()
        .map(|(a, _)| {
            let at = a.published.unwrap_or_default();
            clusterer.assign(Features::of(a), at).story
        })
        .collect();
    let ours = score(&groups, &labels, &negatives);
    let baseline = score(&title_jaccard_baseline(&articles), &labels, &negatives);
    let stories: HashSet<&String> = labels.iter().collect();
    if std::env::var_os("NEWSWATCH_STORY_PAIRS").is_some() {
        for i in 0..articles.len() {
            for j in i + 1..articles.len() {
                let why =
                    clusterer.explain(&Features::of(&articles[i].0), &Features::of(&articles[j].0));
                eprintln!(
                    "PAIR {name} {} {} {:.3} {} {} {:.3} {:.3}",
                    labels[i] == labels[j],
                    negatives
                        .iter()
                        .any(|(a, b)| a == &labels[i] && b == &labels[j]
                            || b == &labels[i] && a == &labels[j]),
                    why.0,
                    why.1,
                    why.2,
                    why.3,
                    why.4
                );
            }
        }
    }
    // Which labelled pairs went wrong, for whoever tunes it.
    eprintln!("{name}: wrong decisions");
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            if (groups[i] == groups[j]) != (labels[i] == labels[j]) {
                let why =
                    clusterer.explain(&Features::of(&articles[i].0), &Features::of(&articles[j].0));
                eprintln!(
                    "  {} {why:.2?} {:?} [{}] / {:?} [{}]",
                    if groups[i] == groups[j] {
                        "merged"
                    } else {
                        "split"
                    },
                    articles[i].0.title,
                    labels[i],
                    articles[j].0.title,
                    labels[j]
                );
            }
        }
    }
    Measured {
        articles: articles.len(),
        stories: stories.len(),
        negatives: negatives.len(),
        ours,
        baseline,
    }
}

#[test]
fn stories_are_found_across_outlets_and_hard_negatives_kept_apart() {
    let names = [
        "stories",
        "stories-heldout",
        "stories-third",
        "stories-fourth",
        "stories-fifth",
        "stories-sixth",
        "stories-seventh",
    ];
    let measured: Vec<Measured> = names.iter().map(|n| measure(n)).collect();
    let row = |what: &str, f: &dyn Fn(&Measured) -> String| {
        let cells: String = measured.iter().map(|m| format!("{:>18}", f(m))).collect();
        eprintln!("{what:<28}{cells}");
    };
    eprintln!();
    let header: String = names.iter().map(|n| format!("{n:>18}")).collect();
    eprintln!("{:<28}{header}", "");
    row("articles / stories", &|m| {
        format!("{} / {}", m.articles, m.stories)
    });
    row("hard-negative pairs", &|m| m.negatives.to_string());
    row("clustering precision", &|m| {
        format!("{:.3}", m.ours.precision)
    });
    row("clustering recall", &|m| format!("{:.3}", m.ours.recall));
    row("clustering F1", &|m| format!("{:.3}", m.ours.f1));
    row("  hard negatives merged", &|m| {
        m.ours.negatives_merged.to_string()
    });
    row("title-word Jaccard precision", &|m| {
        format!("{:.3}", m.baseline.precision)
    });
    row("title-word Jaccard recall", &|m| {
        format!("{:.3}", m.baseline.recall)
    });
    row("title-word Jaccard F1", &|m| {
        format!("{:.3}", m.baseline.f1)
    });
    row("  hard negatives merged", &|m| {
        m.baseline.negatives_merged.to_string()
    });
    let [tuned, heldout, third, fourth, fifth, sixth, seventh] = &measured[..] else {
        unreachable!("seven corpora");
    };
    let ours = &tuned.ours;
    assert!(ours.f1 >= 0.9, "{ours:?}");
    assert_eq!(ours.negatives_merged, 0, "{ours:?}");
    // The second corpus, written after the thresholds were set, measured
    // 0.783 / 0.740 / F1 0.761 with 5 of 16 hard negatives merged (the same
    // group in two countries, twice; three roundups joining the story of
    // their first item). Then the clusterer changed with the first two and
    // then all three corpora in view: a conflict of headlines looks at the
    // other's headline and first sentence only; a roundup is told by its
    // parts (a headline that lists, or sentences of other stories); a
    // shared name is not enough without a shared word of what happened;
    // two stories that fit alike make a roundup only if the article names
    // something of each alone; the threshold moved from 0.22 to 0.17.
    // Now 1.000 / 0.929 / F1 0.963, none merged.
    let ours = &heldout.ours;
    assert!(ours.f1 >= 0.9, "{ours:?}");
    assert_eq!(ours.negatives_merged, 0, "{ours:?}");
    // The third corpus, written before any tuning on the other two, with
    // the clusterer before that tuning: precision 0.828, recall 0.594, F1
    // 0.692, 2 of its 16 hard-negative pairs merged; the title-word
    // baseline F1 0.135. With the clusterer tuned on the first two, before
    // anything in this one was looked at: 0.864 / 0.739 / F1 0.797, still
    // 2 merged (that version's held-out figure). Tuned with it in view:
    // 0.939 / 0.899 / F1 0.919, 1 merged (a footballer's transfer and his
    // call-up, whose report names the transfer in its first sentence).
    // tests/fixtures/stories-fourth, written meanwhile, is held out.
    let ours = &third.ours;
    assert!(ours.f1 >= 0.9, "{ours:?}");
    assert!(ours.negatives_merged <= 1, "{ours:?}");
    // The fourth corpus, written independently while the clusterer was
    // being improved with the other three in view (neither its code nor
    // their articles read). With the clusterer tuned on the first two:
    // precision 0.871, recall 0.729, F1 0.793, 1 of its 15 hard-negative
    // pairs merged; the title-word baseline F1 0.289, 0 merged. With the
    // clusterer tuned on the first three, before anything in this one was
    // looked at (its held-out figure): 0.821 / 0.831 / F1 0.826, 2 merged.
    // Asserted as measured, less a small margin; not a target.
    let ours = &fourth.ours;
    assert!(ours.f1 >= 0.8, "{ours:?}");
    assert!(ours.negatives_merged <= 2, "{ours:?}");
    // The fifth corpus, written independently once the clusterer had been
    // tuned with all four others in view (neither its code nor their
    // articles read), and committed before the first run. First run, with
    // the clusterer and thresholds unchanged: precision 0.824, recall
    // 0.809, F1 0.816, 2 of its 15 hard-negative pairs merged (28 article
    // pairs merged wrongly, 31 split); the title-word baseline F1 0.312,
    // 0 merged. Asserted as measured, less a small margin; not a target.
    let ours = &fifth.ours;
    assert!(ours.f1 >= 0.78, "{ours:?}");
    assert!(ours.negatives_merged <= 2, "{ours:?}");
    // The sixth and seventh corpora, written independently and at the
    // same time once the clusterer had been tuned with the first five in
    // view, committed before their first run. First run, the clusterer as
    // at 6bbb742: sixth 0.875 / 0.733 / F1 0.798, 2 of 15 hard negatives
    // merged (baseline F1 0.163); seventh 0.854 / 0.775 / F1 0.812, 2 of 16
    // merged (baseline 0.089). Asserted as measured, less a small margin.
    //
    // Tried on the first five since, and dropped (mean F1 of the five and
    // hard negatives merged in them, against 0.892 and 5):
    // - two events apart when each headline and first sentence name at
    //   least two rare names (rarity-weighted) the other never mentions:
    //   0.906 / 3 at 2.5, 0.893 / 1 at 2 (chosen leave-one-corpus-out in
    //   four folds of five; held-out folds 0.901 / 3), but on the sixth and
    //   seventh F1 0.737 and 0.800, 2 merged each: follow-ups name new
    //   people and firms in their first sentence, and are split;
    // - the same, unless the two lead with a rare name in common: no change;
    // - days and months (and a day of the month) not names nor words:
    //   0.897 / 7 (roundup headlines like "Evening briefing: Monday,
    //   March 23" lose the words that kept them off the day's top story);
    //   not names only: 0.898 / 6;
    // - a headline's first word a name when the lead capitalises it
    //   mid-sentence: third 0.868, fourth 0.805.
    let ours = &sixth.ours;
    assert!(ours.f1 >= 0.76, "{ours:?}");
    assert!(ours.negatives_merged <= 2, "{ours:?}");
    let ours = &seventh.ours;
    assert!(ours.f1 >= 0.77, "{ours:?}");
    assert!(ours.negatives_merged <= 2, "{ours:?}");
}

/// Prints each article of the corpus named by NEWSWATCH_STORY_DUMP as the
/// clusterer reads it (names, headline names, headline and first-sentence
/// words), for tuning: `NEWSWATCH_STORY_DUMP=stories-fifth cargo test --lib
/// dump_features -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump_features() {
    let Some(name) = std::env::var_os("NEWSWATCH_STORY_DUMP") else {
        return;
    };
    let (entries, _) = corpus_entries(name.to_str().unwrap());
    for e in &entries {
        // The features keep hashes: the article's own words name them.
        let mut words: HashMap<u64, String> = HashMap::new();
        for text in [e.article.title.as_str(), e.article.text()] {
            let tokens = crate::matching::text::tokenize(text);
            for i in 0..tokens.tokens.len() {
                let w = tokens.word(i);
                words.insert(super::features::word_hash(w), w.to_string());
            }
        }
        let show = |hashes: &mut dyn Iterator<Item = u64>| -> String {
            let shown: Vec<&str> = hashes
                .map(|h| words.get(&h).map_or("?", String::as_str))
                .collect();
            shown.join(" ")
        };
        let f = Features::of(&e.article);
        eprintln!("[{}] {} ({})", e.story, e.article.title, e.kind);
        eprintln!("   names: {}", show(&mut f.names().iter().copied()));
        eprintln!(
            "   headline names: {}",
            show(&mut f.title_names().iter().copied())
        );
        eprintln!(
            "   headline and first sentence: {}",
            show(&mut f.lead_words())
        );
    }
}
