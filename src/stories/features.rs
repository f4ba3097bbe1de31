//! What an article is compared on: the words of its title and lead (the
//! first sentences, where a news report states its event), the names in
//! them, and a MinHash sketch of its word shingles (wire copies).
//!
//! A story keeps its articles' features for the whole window, so they are
//! compact: the word lists in one allocation, the sketch 32-bit values.

use super::revision::LEAD_WORDS;
use crate::matching::everyday_words;
use crate::matching::text::tokenize;
use crate::model::article::Article;
use crate::model::boundary::floor_char_boundary;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

/// Words of a title read at most (a feed may send a title of megabytes).
const TITLE_WORDS: usize = 64;
/// MinHash values per article: the estimate of a Jaccard of 0.5 is within
/// ±0.09 at one standard deviation (0.08 measured on leads of 60 words).
pub(super) const SKETCH: usize = 32;
/// The bits of a term that are its weight (see [`Features::terms`]).
const WEIGHT: u64 = 3;
/// The bit of a term that marks a word of the lead's first sentence.
const FIRST: u64 = 4;
/// The low bits of a word's hash left clear for [`WEIGHT`] and [`FIRST`].
const MARKS: u64 = WEIGHT | FIRST;

/// One article, reduced to what story clustering compares.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Its names, then its title's names, then its terms (see the
    /// accessors), each sorted.
    words: Box<[u64]>,
    names: u16,
    title_names: u16,
    /// The content words of each part of the title and each sentence of
    /// the lead (a roundup's parts report different stories), one part
    /// after another, each sorted; and where each part ends. Read of an
    /// article being placed, not kept (see [`Features::kept`]).
    units: Vec<u64>,
    unit_ends: Vec<u16>,
    /// How many parts are the headline's (the first ones).
    title_units: u8,
    /// MinHash of the word 3-shingles of title and lead (`u32::MAX` in
    /// every slot for a text of fewer than three words).
    sketch: [u32; SKETCH],
}

/// A word's hash, its [`MARKS`] bits clear.
fn hash(word: &str) -> u64 {
    let mut h = FxHasher::default();
    word.hash(&mut h);
    h.finish() & !MARKS
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
    /// The content words of each part (the title's parts between commas,
    /// colons and "and"; the lead's sentences), one after another; and
    /// where each part ends.
    units: Vec<u64>,
    unit_ends: Vec<usize>,
    /// Whether it is written in title case (most longer words capitalised).
    title_case: bool,
}

/// Whether a word is written all in capitals (two letters or more).
fn shouted(word: &str) -> bool {
    word.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !word.chars().any(char::is_lowercase)
}

/// The words of `text` (at most `limit`), added to `out`. A title's parts
/// end at `,;:` and at "and"; a lead's at the end of each sentence.
fn words(text: &str, limit: usize, title: bool, out: &mut Words) {
    // The lead of a long text is at its start: tokenise a prefix likely to
    // hold it, the whole text only when the prefix falls short (a token
    // followed by another ends where it would in the whole text).
    let mut tokens = tokenize(&text[..floor_char_boundary(text, limit.saturating_mul(16))]);
    if tokens.tokens.len() <= limit && text.len() > limit.saturating_mul(16) {
        tokens = tokenize(text);
    }
    let n = tokens.tokens.len().min(limit);
    let original = |i: usize| &text[tokens.tokens[i].span()];
    let capital = |w: &str| w.chars().next().is_some_and(char::is_uppercase);
    let (mut long, mut capitalised) = (0, 0);
    for i in 0..n {
        if original(i).chars().nth(3).is_some() {
            long += 1;
            capitalised += usize::from(capital(original(i)));
        }
    }
    out.title_case = title && long >= 3 && capitalised * 10 >= long * 7;
    let mut unit_start = out.units.len();
    let mut end_unit = |out: &mut Words| {
        // A part of fewer than two words says too little to tell whose it is.
        if out.units.len() - unit_start >= 2 {
            out.unit_ends.push(out.units.len());
        } else {
            out.units.truncate(unit_start);
        }
        unit_start = out.units.len();
    };
    let mut sentence_start = true;
    for (i, token) in tokens.tokens[..n].iter().enumerate() {
        let word = tokens.word(i);
        let h = hash(word);
        out.all.push(h);
        if title && word == "and" {
            end_unit(out);
        } else if !is_frequent(h) {
            // A run of words in capitals is a tabloid's kicker ("HOLIDAY
            // HORROR:"), not names; an acronym on its own is one ("JNIM").
            let kicker = shouted(original(i))
                && (i > 0 && shouted(original(i - 1)) || i + 1 < n && shouted(original(i + 1)));
            if capital(original(i)) && !sentence_start && !kicker {
                out.names.push(h);
            }
            let short = word.chars().nth(2).is_none();
            if !short || word.bytes().all(|c| c.is_ascii_digit()) {
                out.content.push(h);
                out.units.push(h);
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
            end_unit(out);
        }
    }
    end_unit(out);
}

fn dedup(v: &mut Vec<u64>) {
    v.sort_unstable();
    v.dedup();
}

/// The MinHash sketch of a text's word 3-shingles, by one permutation
/// hashing: each shingle hashed once, the hash's top bits choosing the
/// slot whose minimum it competes for (a slot per hash function would cost
/// [`SKETCH`] hashes a shingle). A slot no shingle fell in borrows the value
/// of a slot chosen by its own sequence of hashes, the same in every text
/// (optimal densification, Shrivastava 2017), so that two texts' slots
/// still agree with the probability of their Jaccard similarity.
fn sketch(words: &[u64]) -> [u32; SKETCH] {
    const SLOT_BITS: u32 = SKETCH.trailing_zeros();
    const _: () = assert!(SKETCH.is_power_of_two());
    let mut sketch = [u32::MAX; SKETCH];
    let mut filled = 0u64;
    for shingle in words.windows(3) {
        let h = mix(shingle[0] ^ shingle[1].rotate_left(21) ^ shingle[2].rotate_left(42));
        let slot = (h >> (64 - SLOT_BITS)) as usize;
        sketch[slot] = sketch[slot].min(h as u32);
        filled |= 1 << slot;
    }
    if filled == 0 {
        return sketch;
    }
    let drawn = sketch;
    for (slot, value) in sketch.iter_mut().enumerate() {
        if filled & (1 << slot) != 0 {
            continue;
        }
        // Ends: some slot is filled, and the draws cover them all.
        for attempt in 1u64.. {
            let from = (mix(((slot as u64) << 32) | attempt) >> (64 - SLOT_BITS)) as usize;
            if filled & (1 << from) != 0 {
                *value = drawn[from];
                break;
            }
        }
    }
    sketch
}

impl Features {
    pub fn of(article: &Article) -> Features {
        let mut title = Words::default();
        words(&article.title, TITLE_WORDS, true, &mut title);
        // The lead's words follow the title's in `all`.
        let mut lead = Words {
            all: std::mem::take(&mut title.all),
            ..Words::default()
        };
        words(article.text(), LEAD_WORDS, false, &mut lead);
        let sketch = sketch(&lead.all);
        // The lead's first sentence: its first part.
        let first_end = lead.unit_ends.first().copied().unwrap_or(0);
        let mut first = lead.units[..first_end].to_vec();
        dedup(&mut first);
        // Title words weigh 2, lead words 1, words in both 3; a word of the
        // lead's first sentence is marked.
        let mut terms: Vec<u64> = title.content.iter().map(|&t| t | 2).collect();
        terms.extend(lead.content.iter().map(|&t| {
            let first = first.binary_search(&t).is_ok();
            t | 1 | if first { FIRST } else { 0 }
        }));
        terms.sort_unstable();
        terms.dedup_by(|b, a| {
            let same = *a & !MARKS == *b & !MARKS;
            if same {
                *a |= *b & MARKS;
            }
            same
        });
        // A headline in title case capitalises every word: its names are
        // those the lead writes with a capital too.
        if title.title_case {
            title.names.retain(|n| lead.names.contains(n));
        }
        dedup(&mut title.names);
        let mut names = lead.names;
        names.extend(&title.names);
        dedup(&mut names);
        let mut words = Vec::with_capacity(names.len() + title.names.len() + terms.len());
        words.extend(&names);
        words.extend(&title.names);
        words.extend(&terms);
        let count = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        let title_units = u8::try_from(title.unit_ends.len()).unwrap_or(u8::MAX);
        // The parts, title's then lead's, each sorted.
        let mut units = title.units;
        let mut unit_ends: Vec<u16> = title.unit_ends.iter().map(|&e| count(e)).collect();
        let offset = units.len();
        units.extend(&lead.units);
        unit_ends.extend(lead.unit_ends.iter().map(|&e| count(offset + e)));
        let mut start = 0;
        for &end in &unit_ends {
            let part = &mut units[start..usize::from(end)];
            part.sort_unstable();
            start = usize::from(end);
        }
        Features {
            names: count(names.len()),
            title_names: count(title.names.len()),
            words: words.into_boxed_slice(),
            units,
            unit_ends,
            title_units,
            sketch,
        }
    }

    /// The article as a story keeps it: without its parts.
    pub(super) fn kept(mut self) -> Features {
        self.units = Vec::new();
        self.unit_ends = Vec::new();
        self
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
    /// for a title word, 1 for a lead word, 3 for both (see [`term`]); and
    /// a bit for a word of the lead's first sentence.
    pub fn terms(&self) -> &[u64] {
        &self.words[usize::from(self.names) + usize::from(self.title_names)..]
    }

    /// The term of a word (by its hash), if the article has it.
    fn term_of(&self, word: u64) -> Option<u64> {
        let terms = self.terms();
        let i = terms.binary_search_by_key(&word, |t| t & !MARKS).ok()?;
        Some(terms[i])
    }

    /// The weight of a word (by its hash) among the terms: 2 in the title,
    /// 1 in the lead, 3 in both, 0 if absent.
    pub fn weight(&self, word: u64) -> u8 {
        self.term_of(word).map_or(0, |t| term(t).1)
    }

    /// Whether a word (by its hash) is in the headline or the lead's
    /// first sentence (where a report says what happened where).
    pub fn leads_with(&self, word: u64) -> bool {
        self.term_of(word).is_some_and(|t| t & (2 | FIRST) != 0)
    }

    /// The content words of the headline and the lead's first sentence.
    pub fn lead_words(&self) -> impl Iterator<Item = u64> + '_ {
        self.terms()
            .iter()
            .filter(|t| *t & (2 | FIRST) != 0)
            .map(|t| t & !MARKS)
    }

    /// The parts of the article, each sorted: its title's (the first
    /// [`Features::title_units`]), then its lead's sentences.
    pub fn units(&self) -> impl Iterator<Item = &[u64]> + '_ {
        let mut start = 0;
        self.unit_ends.iter().map(move |&end| {
            let part = &self.units[start..usize::from(end)];
            start = usize::from(end);
            part
        })
    }

    pub fn title_units(&self) -> usize {
        usize::from(self.title_units)
    }

    /// Whether the article has a word (by its hash) among its names or
    /// terms.
    pub fn mentions(&self, word: u64) -> bool {
        self.names().binary_search(&word).is_ok()
            || self
                .terms()
                .binary_search_by_key(&word, |t| t & !MARKS)
                .is_ok()
    }

    /// The content words of the title.
    pub fn title(&self) -> impl Iterator<Item = u64> + '_ {
        self.terms()
            .iter()
            .filter(|t| *t & 2 != 0)
            .map(|t| t & !MARKS)
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
    (t & !MARKS, (t & WEIGHT) as u8)
}

/// A 64-bit finaliser (SplitMix64): spreads nearby inputs over all bits.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A word's hash as the features keep it (to print features as words).
#[cfg(test)]
pub(super) fn word_hash(word: &str) -> u64 {
    hash(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(words: &[u64]) -> Features {
        let summary: Vec<String> = words.iter().map(|w| format!("w{w}x")).collect();
        Features::of(&Article {
            key: String::new(),
            guid: None,
            title: String::new(),
            link: None,
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
            summary: summary.join(" "),
            content: String::new(),
        })
    }

    #[test]
    fn resemblance_estimates_the_jaccard_of_shingles() {
        // Leads of 60 words, the first 40 shared: 38 of 78 shingles shared.
        let jaccard = 38.0 / 78.0;
        let mut sum = 0.0;
        let trials = 300;
        for trial in 0..trials {
            let a: Vec<u64> = (0..60).map(|i| trial * 1000 + i).collect();
            let mut b = a[..40].to_vec();
            b.extend((40..60).map(|i| trial * 1000 + 500 + i));
            let estimate = lead(&a).resemblance(&lead(&b));
            assert!((estimate - jaccard).abs() < 0.4, "{estimate}");
            sum += estimate;
        }
        let mean = sum / trials as f64;
        assert!((mean - jaccard).abs() < 0.03, "{mean} for {jaccard}");
        // Too short for a shingle: no resemblance, not a perfect one.
        assert_eq!(lead(&[1, 2]).resemblance(&lead(&[1, 2])), 0.0);
        let short: Vec<u64> = (0..12).collect();
        assert_eq!(lead(&short).resemblance(&lead(&short)), 1.0);
    }
}
