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

/// The content words of `text` (at most `limit`), and its names.
fn words(text: &str, limit: usize) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let tokens = tokenize(text);
    let (mut content, mut names, mut all) = (Vec::new(), Vec::new(), Vec::new());
    let mut sentence_start = true;
    for (i, token) in tokens.tokens.iter().enumerate().take(limit) {
        let word = tokens.word(i);
        let original = &text[token.span()];
        let h = hash(word);
        all.push(h);
        let capital = original.chars().next().is_some_and(char::is_uppercase);
        let numeric = word.chars().all(|c| c.is_ascii_digit());
        if capital && !sentence_start && !is_frequent(word) {
            names.push(h);
        }
        if !is_frequent(word) && (word.chars().count() > 2 || numeric) {
            content.push(h);
        }
        // The next word starts a sentence if this one ends one.
        let after = text[token.span().end..].trim_start();
        sentence_start = after.starts_with(['.', '!', '?', ':']) || after.is_empty();
    }
    (content, names, all)
}

fn dedup(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v.dedup();
    v
}

impl Features {
    pub fn of(article: &Article) -> Features {
        let text = article.text();
        let (title, title_names, title_all) = words(&article.title, usize::MAX);
        let (lead, lead_names, lead_all) = words(text, LEAD_WORDS);
        let mut sketch = [u64::MAX; SKETCH];
        let all: Vec<u64> = title_all.into_iter().chain(lead_all).collect();
        for shingle in all.windows(3) {
            let base = shingle[0] ^ shingle[1].rotate_left(21) ^ shingle[2].rotate_left(42);
            for (k, slot) in sketch.iter_mut().enumerate() {
                // One hash function per slot: the shingle mixed with k.
                let h = mix(base ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                *slot = (*slot).min(h);
            }
        }
        let names = dedup(title_names.iter().chain(&lead_names).copied().collect());
        let (title, lead) = (dedup(title), dedup(lead));
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
