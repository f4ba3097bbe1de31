//! What an article is compared on: the words of its title and lead (the
//! first sentences, where a news report states its event), the names in
//! them, and a MinHash sketch of its word shingles (wire copies).

use crate::matching::is_frequent;
use crate::matching::text::tokenize;
use crate::model::article::Article;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};

/// Words of the text that count as its lead.
const LEAD_WORDS: usize = 60;
/// MinHash values per article: the estimate of a Jaccard of 0.5 is within
/// ±0.09 at one standard deviation.
pub(super) const SKETCH: usize = 32;

/// One article, reduced to what story clustering compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Content words of the title (normalised, no everyday words).
    pub title: Vec<u64>,
    /// Content words of the lead.
    pub lead: Vec<u64>,
    /// Words written with a capital inside a sentence (places, people,
    /// groups), from title and lead, as hashes of their normal form.
    pub names: Vec<u64>,
    /// Names in the title alone.
    pub title_names: Vec<u64>,
    /// Content words of the lead's first sentence (where a report says
    /// what happened where), sorted.
    pub first: Vec<u64>,
    /// The content words of each part of the title and each sentence of
    /// the lead, sorted: a roundup's parts report different stories.
    pub units: Vec<Vec<u64>>,
    /// How many of `units` are the headline's (the first ones).
    pub title_units: usize,
    /// MinHash of the word 3-shingles of title and lead.
    pub sketch: [u64; SKETCH],
    /// Title and lead words together, sorted, each with its weight before
    /// rarity: 2 for a title word, 1 for a lead word, 3 for both.
    pub terms: Vec<(u64, u8)>,
}

fn hash(word: &str) -> u64 {
    let mut h = FxHasher::default();
    word.hash(&mut h);
    h.finish()
}

/// What one text (a title, or a lead) gives: its content words, its
/// names, all its words in order (for shingles), its units (the title's
/// parts between commas, colons and "and"; the lead's sentences) as content
/// words, and whether it is written in title case.
struct Read {
    content: Vec<u64>,
    names: Vec<u64>,
    all: Vec<u64>,
    units: Vec<Vec<u64>>,
    title_case: bool,
}

/// Whether a word is written all in capitals (two letters or more).
fn shouted(word: &str) -> bool {
    word.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !word.chars().any(char::is_lowercase)
}

/// Reads `text` (at most `limit` words). A title's units end at `,;:` and
/// at "and"; a lead's at the end of each sentence.
fn read(text: &str, limit: usize, title: bool) -> Read {
    let tokens = tokenize(text);
    let mut read = Read {
        content: Vec::new(),
        names: Vec::new(),
        all: Vec::new(),
        units: vec![Vec::new()],
        title_case: false,
    };
    let n = tokens.tokens.len().min(limit);
    let originals: Vec<&str> = tokens.tokens[..n].iter().map(|t| &text[t.span()]).collect();
    let capital = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    let long: Vec<&&str> = originals.iter().filter(|w| w.chars().count() > 3).collect();
    read.title_case = title
        && long.len() >= 3
        && long.iter().filter(|w| capital(w)).count() * 10 >= long.len() * 7;
    let mut sentence_start = true;
    for (i, token) in tokens.tokens.iter().enumerate().take(n) {
        let word = tokens.word(i);
        let original = originals[i];
        let h = hash(word);
        read.all.push(h);
        // A run of words in capitals is a tabloid's kicker ("HOLIDAY
        // HORROR:"), not names; an acronym on its own is one ("JNIM").
        let in_caps_run = shouted(original)
            && (i > 0 && shouted(originals[i - 1])
                || originals.get(i + 1).is_some_and(|w| shouted(w)));
        let numeric = word.chars().all(|c| c.is_ascii_digit());
        if capital(original) && !sentence_start && !in_caps_run && !is_frequent(word) {
            read.names.push(h);
        }
        let content = !is_frequent(word) && (word.chars().count() > 2 || numeric);
        if title && word == "and" {
            read.units.push(Vec::new());
        } else if content {
            read.content.push(h);
            if let Some(unit) = read.units.last_mut() {
                unit.push(h);
            }
        }
        // The next word starts a sentence if this one ends one.
        let after = text[token.span().end..].trim_start();
        sentence_start = after.starts_with(['.', '!', '?', ':']) || after.is_empty();
        let ends_unit = match title {
            true => after.starts_with([',', ';', ':']),
            false => after.starts_with(['.', '!', '?', ';']),
        };
        if ends_unit {
            read.units.push(Vec::new());
        }
    }
    read.units.retain(|u| u.len() >= 2);
    read
}

fn dedup(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v.dedup();
    v
}

impl Features {
    pub fn of(article: &Article) -> Features {
        let text = article.text();
        let title = read(&article.title, usize::MAX, true);
        let lead = read(text, LEAD_WORDS, false);
        let mut sketch = [u64::MAX; SKETCH];
        let all: Vec<u64> = title.all.iter().chain(&lead.all).copied().collect();
        for shingle in all.windows(3) {
            let base = shingle[0] ^ shingle[1].rotate_left(21) ^ shingle[2].rotate_left(42);
            for (k, slot) in sketch.iter_mut().enumerate() {
                // One hash function per slot: the shingle mixed with k.
                let h = mix(base ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                *slot = (*slot).min(h);
            }
        }
        // A headline in title case capitalises every word: its names are
        // those the lead writes with a capital too.
        let title_names: Vec<u64> = match title.title_case {
            true => title
                .names
                .iter()
                .filter(|n| lead.names.contains(n))
                .copied()
                .collect(),
            false => title.names.clone(),
        };
        let names = dedup(title_names.iter().chain(&lead.names).copied().collect());
        let first = dedup(lead.units.first().cloned().unwrap_or_default());
        let mut units = title.units;
        let title_units = units.len();
        units.extend(lead.units);
        let (title, lead) = (dedup(title.content), dedup(lead.content));
        let mut terms: Vec<(u64, u8)> = title.iter().map(|&t| (t, 2)).collect();
        terms.extend(lead.iter().map(|&t| (t, 1)));
        terms.sort_unstable();
        terms.dedup_by(|b, a| {
            let same = a.0 == b.0;
            if same {
                a.1 += b.1;
            }
            same
        });
        Features {
            title,
            lead,
            names,
            title_names: dedup(title_names),
            first,
            units: units.into_iter().map(dedup).collect(),
            title_units,
            sketch,
            terms,
        }
    }

    /// The estimated Jaccard similarity of two articles' shingles.
    pub fn resemblance(&self, other: &Features) -> f64 {
        let same = self
            .sketch
            .iter()
            .zip(&other.sketch)
            .filter(|(a, b)| a == b && **a != u64::MAX)
            .count();
        same as f64 / SKETCH as f64
    }
}

/// A 64-bit finaliser (SplitMix64): spreads nearby inputs over all bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
