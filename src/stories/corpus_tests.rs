//! Story clustering against a labelled corpus (tests/fixtures/stories): six
//! outlets' feeds, each article labelled with the event it reports, and
//! pairs of stories that must never merge. Pairwise precision, recall and
//! F1 of "same story" decisions, beside a baseline that merges articles
//! whose title words overlap (Jaccard ≥ 0.3).

use super::*;
use crate::ingest::feed;
use crate::model::article::Article;
use std::collections::{BTreeMap, HashMap, HashSet};
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
}

#[derive(serde::Deserialize)]
struct HardNegative {
    a: String,
    b: String,
}

/// Articles, each with its labelled story.
type Labelled = Vec<(Article, String)>;

/// The corpus's articles in published order, each with its labelled story,
/// and the pairs of stories that must not merge.
fn corpus() -> (Labelled, Vec<(String, String)>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stories");
    let labels: Labels =
        toml::from_str(&std::fs::read_to_string(dir.join("labels.toml")).unwrap()).unwrap();
    let story_of: HashMap<(String, String), String> = labels
        .article
        .iter()
        .map(|l| ((l.feed.clone(), l.guid.clone()), l.story.clone()))
        .collect();
    let mut articles = Vec::new();
    for feed_file in labels
        .article
        .iter()
        .map(|l| &l.feed)
        .collect::<HashSet<_>>()
    {
        let bytes = std::fs::read(dir.join(feed_file)).unwrap();
        for article in feed::parse(&bytes, None).unwrap().articles {
            let guid = article.guid.clone().unwrap_or_default();
            let story = story_of
                .get(&(feed_file.clone(), guid.clone()))
                .unwrap_or_else(|| panic!("{feed_file} {guid} has no label"))
                .clone();
            articles.push((article, story));
        }
    }
    assert_eq!(
        articles.len(),
        labels.article.len(),
        "every label read once"
    );
    articles.sort_by_key(|(a, _)| (a.published, a.key.clone()));
    let negatives = labels
        .hard_negative
        .into_iter()
        .map(|n| (n.a, n.b))
        .collect();
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

#[test]
fn stories_are_found_across_outlets_and_hard_negatives_kept_apart() {
    let (articles, negatives) = corpus();
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
    let stories: BTreeMap<&String, usize> = labels.iter().fold(BTreeMap::new(), |mut m, s| {
        *m.entry(s).or_default() += 1;
        m
    });
    eprintln!(
        "stories corpus: {} articles, {} stories, {} hard-negative pairs\n\
         clustering:           precision {:.3} recall {:.3} F1 {:.3}, hard negatives merged {}\n\
         title-word Jaccard:   precision {:.3} recall {:.3} F1 {:.3}, hard negatives merged {}",
        articles.len(),
        stories.len(),
        negatives.len(),
        ours.precision,
        ours.recall,
        ours.f1,
        ours.negatives_merged,
        baseline.precision,
        baseline.recall,
        baseline.f1,
        baseline.negatives_merged
    );
    if std::env::var_os("NEWSWATCH_STORY_PAIRS").is_some() {
        for i in 0..articles.len() {
            for j in i + 1..articles.len() {
                let why =
                    clusterer.explain(&Features::of(&articles[i].0), &Features::of(&articles[j].0));
                eprintln!(
                    "PAIR {} {} {:.3} {} {} {:.3} {:.3}",
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
    assert!(ours.f1 >= 0.9, "{ours:?}");
    assert_eq!(ours.negatives_merged, 0, "{ours:?}");
}
