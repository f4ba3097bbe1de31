//! What an article is compared on: the words of its title and lead (the
//! first sentences, where a news report states its event), the names in
//! them, and a MinHash sketch of its word shingles (wire copies).
//!
//! A story keeps its articles' features for the whole window, so they are
//! compact: the word lists in one allocation, the sketch 32-bit values.

use crate::matching::everyday_words;
use crate::matching::text::tokenize;
use crate::model::article::Article;
use crate::model::boundary::floor_char_boundary;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// Words of the text that count as its lead.
const LEAD_WORDS: usize = 60;
/// MinHash values per article: the estimate of a Jaccard of 0.5 is within
/// ±0.09 at one standard deviation.
pub(super) const SKETCH: usize = 32;
/// The bits of a word's hash that are its weight in [`Features::terms`].
const WEIGHT: u64 = 3;

/// One article, reduced to what story clustering compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Its names, then its title's names, then its terms (see the
    /// accessors), each sorted.
    words: Box<[u64]>,
    names: u16,
    title_names: u16,
    /// MinHash of the word 3-shingles of title and lead (`u32::MAX` in
    /// every slot for a text of fewer than three words).
    sketch: [u32; SKETCH],
}

/// A word's hash, its [`WEIGHT`] bits clear.
fn hash(word: &str) -> u64 {
    let mut h = FxHasher::default();
    word.hash(&mut h);
    h.finish() & !WEIGHT
}

/// Whether a word (by its hash) is an everyday word (see
/// [`crate::matching::is_frequent`]).
fn is_frequent(h: u64) -> bool {
    static FREQUENT: OnceLock<Vec<u64>> = OnceLock::new();
    let frequent = FREQUENT.get_or_init(|| {
        let mut hashes: Vec<u64> = everyday_words().iter().map(|w| hash(w)).collect();
        hashes.sort_unstable();
        hashes
    });
    frequent.binary_search(&h).is_ok()
}

/// The words of a text, as hashes.
#[derive(Default)]
struct Words {
    /// Content words (no everyday words, none of one or two letters
    /// unless a number).
    content: Vec<u64>,
    /// Words written with a capital inside a sentence (places, people,
    /// groups).
    names: Vec<u64>,
    /// Every word, in order (for shingles).
    all: Vec<u64>,
}

/// The words of `text` (at most `limit`), added to `out`.
fn words(text: &str, limit: usize, out: &mut Words) {
    // The lead of a long text is at its start: tokenise a prefix likely to
    // hold it, the whole text only when the prefix falls short (a token
    // followed by another ends where it would in the whole text).
    let mut tokens = tokenize(&text[..floor_char_boundary(text, limit.saturating_mul(16))]);
    if tokens.tokens.len() <= limit && text.len() > limit.saturating_mul(16) {
        tokens = tokenize(text);
    }
    let mut sentence_start = true;
    for (i, token) in tokens.tokens.iter().enumerate().take(limit) {
        let word = tokens.word(i);
        let original = &text[token.span()];
        let h = hash(word);
        out.all.push(h);
        if !is_frequent(h) {
            let capital = original.chars().next().is_some_and(char::is_uppercase);
            if capital && !sentence_start {
                out.names.push(h);
            }
            let short = word.chars().nth(2).is_none();
            if !short || word.bytes().all(|c| c.is_ascii_digit()) {
                out.content.push(h);
            }
        }
        // The next word starts a sentence if this one ends one.
        let after = text[token.span().end..].trim_start();
        sentence_start = after.starts_with(['.', '!', '?', ':']) || after.is_empty();
    }
}

fn dedup(v: &mut Vec<u64>) {
    v.sort_unstable();
    v.dedup();
}

/// The multipliers and addends of the sketch's hash functions (multiply,
/// add, keep the high half: one pairwise independent function per slot).
const SLOT_HASHES: [(u64, u64); SKETCH] = {
    let mut out = [(0, 0); SKETCH];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut k = 0;
    while k < SKETCH {
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let a = mix(seed) | 1;
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        out[k] = (a, mix(seed));
        k += 1;
    }
    out
};

impl Features {
    pub fn of(article: &Article) -> Features {
        let (mut title, mut lead) = (Words::default(), Words::default());
        words(&article.title, usize::MAX, &mut title);
        words(article.text(), LEAD_WORDS, &mut lead);
        let mut sketch = [u32::MAX; SKETCH];
        let all: Vec<u64> = title.all.iter().chain(&lead.all).copied().collect();
        for shingle in all.windows(3) {
            let base = mix(shingle[0] ^ shingle[1].rotate_left(21) ^ shingle[2].rotate_left(42));
            for (slot, &(a, b)) in sketch.iter_mut().zip(&SLOT_HASHES) {
                let h = (base.wrapping_mul(a).wrapping_add(b) >> 32) as u32;
                *slot = (*slot).min(h);
            }
        }
        let mut names = title.names.clone();
        names.extend(&lead.names);
        dedup(&mut names);
        dedup(&mut title.names);
        dedup(&mut title.content);
        dedup(&mut lead.content);
        // Title words weigh 2, lead words 1, words in both 3.
        let mut words = names;
        words.extend(&title.names);
        let terms_from = words.len();
        words.extend(title.content.iter().map(|&t| t | 2));
        words.extend(lead.content.iter().map(|&t| t | 1));
        words[terms_from..].sort_unstable();
        let mut terms = words.split_off(terms_from);
        terms.dedup_by(|b, a| {
            let same = *a & !WEIGHT == *b & !WEIGHT;
            if same {
                *a |= *b & WEIGHT;
            }
            same
        });
        let names = u16::try_from(words.len() - title.names.len()).unwrap_or(u16::MAX);
        let title_names = u16::try_from(title.names.len()).unwrap_or(u16::MAX);
        words.extend(terms);
        Features {
            words: words.into_boxed_slice(),
            names,
            title_names,
            sketch,
        }
    }

    /// Names (words written with a capital inside a sentence: places,
    /// people, groups) of title and lead, as hashes of their normal form,
    /// sorted.
    pub fn names(&self) -> &[u64] {
        &self.words[..usize::from(self.names)]
    }

    /// Names in the title alone.
    pub fn title_names(&self) -> &[u64] {
        let from = usize::from(self.names);
        &self.words[from..from + usize::from(self.title_names)]
    }

    /// Content words of title and lead (normalised, no everyday words),
    /// sorted, each with its weight before rarity in its two low bits: 2
    /// for a title word, 1 for a lead word, 3 for both.
    pub fn terms(&self) -> &[u64] {
        &self.words[usize::from(self.names) + usize::from(self.title_names)..]
    }

    /// Whether the article has a word (by its hash) among its names or
    /// terms.
    pub fn mentions(&self, word: u64) -> bool {
        self.names().binary_search(&word).is_ok()
            || self
                .terms()
                .binary_search_by_key(&word, |t| t & !WEIGHT)
                .is_ok()
    }

    /// The content words of the title.
    pub fn title(&self) -> impl Iterator<Item = u64> + '_ {
        self.terms()
            .iter()
            .filter(|t| *t & 2 != 0)
            .map(|t| t & !WEIGHT)
    }

    /// The estimated Jaccard similarity of two articles' shingles.
    pub fn resemblance(&self, other: &Features) -> f64 {
        let same = self
            .sketch
            .iter()
            .zip(&other.sketch)
            .filter(|(a, b)| a == b && **a != u32::MAX)
            .count();
        same as f64 / SKETCH as f64
    }
}

/// A term's word (its hash) and weight.
pub(super) fn term(t: u64) -> (u64, u8) {
    (t & !WEIGHT, (t & WEIGHT) as u8)
}

/// A 64-bit finaliser (SplitMix64): spreads nearby inputs over all bits.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
