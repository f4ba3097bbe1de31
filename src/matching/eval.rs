//! Matching one article against a [`RuleSet`]: the gate words pick the
//! candidate queries, only those are evaluated, and each match gets excerpts.

use super::compile::RuleSet;
use super::distinct::Distinct;
use super::document::{Document, FieldText, Hit};
use super::excerpt::{excerpt_hits, excerpts};
use super::keys::{filter_slot, length_bit};
use super::rules::Rule;
use super::steps::{
    AND, LEAF, LEN_MASK, NOT, OR, PHRASE, PHRASE_HEAD, RANK_MASK, WORD, kind, operands_at,
    steps_fields, subtree_len, unpack_eq,
};
use super::text;
use super::tree::{Leaf, LeafKind, leaf_len};
use crate::model::alert::Excerpt;
use crate::model::article::Article;
use crate::model::field::FieldSet;
use regex::Regex;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;

/// Per-article maps are sized for this many entries at most up front:
/// enough for an article at a million rules, and rules evaluated for every
/// article (`always`) do not make each article zero a big map.
pub(super) const MAX_PRESIZED: usize = 256;

/// One rule that matched one article.
#[derive(Debug, Clone)]
pub struct Match<'r> {
    pub rule: &'r Rule,
    set: &'r RuleSet,
    index: u32,
    /// Shared by the rules that matched on the same words.
    pub excerpts: Arc<[Excerpt]>,
}

impl<'r> Match<'r> {
    /// The rule's name, read where the rule set keeps names together (a
    /// big rule set's `Rule`s are a cache miss each), and only when asked.
    pub fn name(&self) -> &'r str {
        self.set.name(self.index as usize)
    }
}

/// The feed an article came from, for `feed:` terms and rule feed scopes.
#[derive(Debug, Clone, Copy)]
pub struct FeedRef<'a> {
    pub name: &'a str,
    pub tags: &'a [String],
}

impl RuleSet {
    /// Every rule that matches `article`, in rule order, with excerpts.
    /// With `feed`, rules scoped to other feeds are skipped; without it
    /// (`test-rule`), every rule is tried.
    pub fn matches(&self, article: &Article, feed: Option<FeedRef>) -> Vec<Match<'_>> {
        let doc = Document::new(article, feed.map_or("", |f| f.name), self.searched);
        // Sized for a typical article at a million rules: growing them was
        // a reallocation every few words found.
        let mut occurrences: Vec<(u32, u32)> = Vec::with_capacity(32);
        let mut candidates: Vec<u32> = Vec::with_capacity(self.always.len() + 64);
        candidates.extend_from_slice(&self.always);
        // Pass one: the gate words, which decide the candidate queries,
        // looked up once per distinct word.
        let words = Distinct::new(&doc, &self.wanted);
        for index in 0..words.len() as u32 {
            let (word, key) = (words.word(index), words.key(index));
            let mut found = |id: u32| {
                occurrences.push((id, index));
                candidates.extend_from_slice(&self.anchored[id as usize]);
            };
            if self
                .word_filter
                .get(filter_slot(word))
                .is_some_and(|bits| bits & length_bit(word.len()) != 0)
                && self.gate_bloom.may_hold_hash(words.hash(index))
                && let Some(&id) = self.gate_words.get(word)
            {
                found(id);
            }
            self.gate_prefixes.find(word, key, &mut found);
        }
        candidates.sort_unstable();
        candidates.dedup();
        if candidates.is_empty() {
            return Vec::new();
        }
        // Pass two, for candidates only: the other words their queries need.
        self.find_other_words(&candidates, &words, &mut occurrences);
        occurrences.sort_unstable_by_key(|o| o.0);
        let mut index = Indexed {
            leaves: &self.leaves,
            occurrences: &occurrences,
            words: &words,
            // Sized for the leaves of every candidate: growing it was a
            // rehash every few leaves.
            done: FxHashMap::with_capacity_and_hasher(
                (2 * candidates.len()).min(MAX_PRESIZED),
                Default::default(),
            ),
            found: Vec::with_capacity(64),
            sides: Vec::new(),
        };
        // Queries that matched on the same words share their excerpts (with
        // many rules, several often watch the same name): `made` finds the
        // set by the hash of the hits, which are kept in `made_hits` (no
        // vector per query).
        let mut sets: Vec<Arc<[Excerpt]>> = Vec::new();
        let mut made: FxHashMap<u64, (Range<usize>, u32)> = FxHashMap::with_capacity_and_hasher(
            candidates.len().min(MAX_PRESIZED),
            Default::default(),
        );
        let mut made_hits: Vec<Hit> = Vec::new();
        let mut hits = Vec::new();
        let mut by_rank = Vec::new();
        // (rule, its excerpts in `sets`): sorted by rule at the end, small
        // pairs rather than whole matches.
        let mut found: Vec<(u32, u32)> = Vec::with_capacity(candidates.len());
        for q in candidates {
            hits.clear();
            let query = self.query(q);
            if !self.run(query.steps, &doc, &mut index, &mut hits) {
                continue;
            }
            let applies =
                |r: &&u32| feed.is_none_or(|f| self.rules[**r as usize].applies_to(f.name, f.tags));
            let mut rules = query.rules.iter().filter(applies).peekable();
            if rules.peek().is_none() {
                continue;
            }
            excerpt_hits(&mut hits);
            let hash = FxBuildHasher.hash_one(hits.as_slice());
            let cached = made
                .get(&hash)
                .filter(|(same, _)| made_hits[same.clone()] == hits[..]);
            let set = match cached {
                Some(&(_, set)) => set,
                None => {
                    sets.push(excerpts(&doc, &hits, &mut by_rank));
                    let set = sets.len() as u32 - 1;
                    // Two sets of hits with one hash (rare): the first keeps it.
                    made.entry(hash).or_insert_with(|| {
                        let from = made_hits.len();
                        made_hits.extend_from_slice(&hits);
                        (from..made_hits.len(), set)
                    });
                    set
                }
            };
            found.extend(rules.map(|&r| (r, set)));
        }
        found.sort_unstable();
        // Every alert says what it matched on (tests check it on every
        // match they make): only an article with no words quotes nothing.
        debug_assert!(
            sets.iter().all(|set| !set.is_empty())
                || doc.fields.iter().all(|f| f.tokens.is_empty()),
            "a match without an excerpt"
        );
        found
            .into_iter()
            .map(|(r, set)| Match {
                rule: &self.rules[r as usize],
                set: self,
                index: r,
                excerpts: sets[set as usize].clone(),
            })
            .collect()
    }

    /// Evaluates the subtree whose steps start `steps`, pushing the hits of
    /// the terms that made it true. Hits go straight into `hits` and are
    /// taken back (truncated) where a step turns out false: no vector per
    /// step.
    pub(super) fn run(
        &self,
        steps: &[u32],
        doc: &Document,
        index: &mut Indexed,
        hits: &mut Vec<Hit>,
    ) -> bool {
        let head = steps[0];
        // The operands, each as its steps.
        let operands = || {
            let (mut at, end) = (operands_at(head), subtree_len(steps));
            std::iter::from_fn(move || {
                (at < end).then(|| {
                    let operand = &steps[at..at + subtree_len(&steps[at..])];
                    at += operand.len();
                    operand
                })
            })
        };
        match kind(head) {
            LEAF | WORD | PHRASE => {
                let found = index.find(steps, doc);
                hits.extend_from_slice(&index.found[found.clone()]);
                !found.is_empty()
            }
            AND => {
                let before = hits.len();
                if operands().all(|operand| self.run(operand, doc, index, hits)) {
                    true
                } else {
                    hits.truncate(before);
                    false
                }
            }
            OR => {
                // No short circuit: every branch's hits belong in the excerpts.
                let mut any = false;
                for operand in operands() {
                    any |= self.run(operand, doc, index, hits);
                }
                any
            }
            NOT => {
                let before = hits.len();
                let found = self.run(&steps[1..], doc, index, hits);
                hits.truncate(before);
                !found
            }
            _ => {
                let (left, distance) = (steps[1] as usize, steps[2] as usize);
                let split = 3 + left;
                // Both sides' ranges in one buffer kept between NEARs.
                let mut sides = std::mem::take(&mut index.sides);
                sides.clear();
                side(&steps[3..split], doc, index, &mut sides);
                let lefts = sides.len();
                side(&steps[split..subtree_len(steps)], doc, index, &mut sides);
                let (lefts, rights) = sides.split_at(lefts);
                let found = &index.found;
                let mut any = false;
                for a in lefts.iter().flat_map(|r| &found[r.clone()]) {
                    for b in rights.iter().flat_map(|r| &found[r.clone()]) {
                        if a.field == b.field && gap(&a.tokens(), &b.tokens()) <= distance {
                            hits.push(*a);
                            hits.push(*b);
                            any = true;
                        }
                    }
                }
                index.sides = sides;
                any
            }
        }
    }
}

/// Adds to `ranges` where the occurrences of a NEAR side (a leaf or an OR
/// of leaves, given as its steps) are in `index.found`.
pub(super) fn side(
    steps: &[u32],
    doc: &Document,
    index: &mut Indexed,
    ranges: &mut Vec<Range<usize>>,
) {
    let mut at = 0;
    while at < steps.len() {
        let word = steps[at];
        match kind(word) {
            LEAF | WORD | PHRASE => ranges.push(index.find(&steps[at..], doc)),
            // An OR's operands follow it.
            OR => {
                at += 1;
                continue;
            }
            // The parser allows nothing else on either side of NEAR.
            _ => {}
        }
        at += subtree_len(&steps[at..]);
    }
}

impl RuleSet {
    /// Records which of the article's words are the non-gate words and
    /// prefixes of the candidate queries (the gate words were recorded in
    /// pass one).
    pub(super) fn find_other_words(
        &self,
        candidates: &[u32],
        words: &Distinct,
        occurrences: &mut Vec<(u32, u32)>,
    ) {
        let mut prefixes: Vec<(&str, u32)> = Vec::new();
        let mut seen: Vec<u32> = Vec::new();
        for &q in candidates {
            seen.extend_from_slice(self.query(q).others);
        }
        seen.sort_unstable();
        seen.dedup();
        for id in seen {
            match &self.id_words[id as usize] {
                (word, false) => {
                    if let Some(index) = words.find(word) {
                        occurrences.push((id, index));
                    }
                }
                (prefix, true) => prefixes.push((prefix, id)),
            }
        }
        if prefixes.is_empty() {
            return;
        }
        prefixes.sort_unstable();
        // Sorted prefixes start with the same byte in one run: a word is
        // compared only with the prefixes of its first byte.
        let mut by_first = [(0u32, 0u32); 256];
        for (i, (prefix, _)) in prefixes.iter().enumerate() {
            let slot = &mut by_first[prefix.as_bytes()[0] as usize];
            if slot.1 == 0 {
                slot.0 = i as u32;
            }
            slot.1 = i as u32 + 1;
        }
        // Few words of an article start like any of them: a bit per first
        // two bytes (hashed; every second byte for a one-byte prefix)
        // rejects the rest from the word's key alone, with a branch that is
        // rarely taken. Looking up each word's first letter instead
        // mispredicted a branch per word.
        let mut pairs = [0u64; 64];
        let slot = |b0: u8, b1: u8| (usize::from(b0) << 6 ^ usize::from(b1)) & 4095;
        for (prefix, _) in &prefixes {
            let b = prefix.as_bytes();
            let seconds = match b.get(1) {
                Some(&b1) => b1..=b1,
                None => 0..=u8::MAX,
            };
            for b1 in seconds {
                let s = slot(b[0], b1);
                pairs[s >> 6] |= 1 << (s & 63);
            }
        }
        for index in 0..words.len() as u32 {
            let [b0, b1, ..] = words.key(index).0.to_le_bytes();
            let s = slot(b0, b1);
            if pairs[s >> 6] & (1 << (s & 63)) == 0 {
                continue;
            }
            let word = words.word(index);
            let (from, to) = by_first[usize::from(b0)];
            for &(prefix, id) in &prefixes[from as usize..to as usize] {
                if word.starts_with(prefix) {
                    occurrences.push((id, index));
                }
            }
        }
    }
}

/// An article's word index: where each leaf occurs, found once per leaf.
pub(super) struct Indexed<'o> {
    /// The rule set's distinct leaves, by id.
    pub(super) leaves: &'o [Leaf],
    /// (dictionary id, index in `words`) of every dictionary word or
    /// prefix looked for in the article, by id.
    pub(super) occurrences: &'o [(u32, u32)],
    pub(super) words: &'o Distinct<'o>,
    /// Per leaf id looked for so far, where its hits are in `found`.
    pub(super) done: FxHashMap<u32, (u32, u32)>,
    pub(super) found: Vec<Hit>,
    /// Room for the ranges of a NEAR's two sides in `found`.
    pub(super) sides: Vec<Range<usize>>,
}

impl<'o> Indexed<'o> {
    /// Where the hits of the leaf whose steps start `steps` are in `found`,
    /// finding them if need be (only then is the leaf itself read).
    pub(super) fn find(&mut self, steps: &[u32], doc: &Document) -> Range<usize> {
        let id = steps[0] & LEN_MASK;
        if let Some(&(from, to)) = self.done.get(&id) {
            return from as usize..to as usize;
        }
        let from = self.found.len();
        let rank = match kind(steps[0]) {
            // A one-word term compared without case is its dictionary
            // entry: an occurrence of the entry is an occurrence of the term.
            WORD => {
                self.anchored(steps[1], 0, doc, steps_fields(steps), |_, start| {
                    Some(start + 1)
                });
                steps[2] & RANK_MASK
            }
            PHRASE => {
                let phrase = &steps[PHRASE_HEAD..subtree_len(steps)];
                let (packed, offset) = phrase.split_at(phrase.len() - 1);
                self.anchored(
                    steps[1],
                    offset[0] as usize,
                    doc,
                    steps_fields(steps),
                    |field, start| {
                        let (mut at, mut rest) = (start, packed);
                        while !rest.is_empty() && at < field.tokens.len() {
                            let (mut same, after) = unpack_eq(field.tokens.word(at), rest);
                            if !same {
                                same = field.tokens.any_form(at, |form| unpack_eq(form, rest).0);
                            }
                            if !same {
                                return None;
                            }
                            (at, rest) = (at + 1, after);
                        }
                        rest.is_empty().then_some(at)
                    },
                );
                steps[2] & RANK_MASK
            }
            _ => {
                let leaf = &self.leaves[id as usize];
                match (&leaf.kind, leaf.anchor) {
                    (LeafKind::Words { .. }, Some((anchor, offset))) => {
                        let len = leaf_len(leaf);
                        self.anchored(anchor, offset, doc, leaf.fields, |field, start| {
                            words_at(leaf, field, start).then_some(start + len)
                        })
                    }
                    (LeafKind::Words { .. }, None) => scan_words(leaf, doc, &mut self.found),
                    (LeafKind::Regex(regex), _) => {
                        regex_hits(regex, leaf.fields, doc, &mut self.found)
                    }
                }
                leaf.rank
            }
        };
        for hit in &mut self.found[from..] {
            hit.rank = rank;
        }
        self.done.insert(id, (from as u32, self.found.len() as u32));
        from..self.found.len()
    }

    /// Adds the hits of a term anchored on dictionary id `anchor`, its word
    /// `offset`: each occurrence in `fields` where `ends(field, start)`
    /// finds the term starting at word `start` and gives where it ends.
    pub(super) fn anchored(
        &mut self,
        anchor: u32,
        offset: usize,
        doc: &Document,
        fields: FieldSet,
        ends: impl Fn(&FieldText, usize) -> Option<usize>,
    ) {
        let from = self.occurrences.partition_point(|o| o.0 < anchor);
        let to = self.occurrences.partition_point(|o| o.0 <= anchor);
        for &(_, index) in &self.occurrences[from..to] {
            for (f, i) in self.words.positions(index) {
                if !doc.in_scope(fields, f) {
                    continue;
                }
                let Some(start) = i.checked_sub(offset) else {
                    continue;
                };
                if let Some(end) = ends(&doc.fields[f], start) {
                    self.found.push(Hit::new(f, start..end));
                }
            }
        }
    }
}

/// Whether the leaf's words occur at token `start` of `field`.
pub(super) fn words_at(leaf: &Leaf, field: &FieldText, start: usize) -> bool {
    let LeafKind::Words {
        words,
        exact,
        prefix,
    } = &leaf.kind
    else {
        return false;
    };
    if start + words.len() > field.tokens.len() {
        return false;
    }
    if let Some(language) = leaf.stem {
        return words.iter().enumerate().all(|(j, w)| {
            let is = |token: &str| language.stem(token) == w.as_str();
            is(field.tokens.word(start + j)) || field.tokens.any_form(start + j, is)
        });
    }
    words.iter().enumerate().all(|(j, w)| {
        let last_prefix = *prefix && j + 1 == words.len();
        let is = |token: &str| {
            if last_prefix {
                token.starts_with(w.as_str())
            } else {
                token == w
            }
        };
        // A word's other form (without particles) is in a script with no
        // case: case-sensitive rules take it as it is.
        if !is(field.tokens.word(start + j)) {
            return field.tokens.any_form(start + j, is);
        }
        !leaf.case_sensitive || {
            let original = text::exact_form(&field.text[field.tokens.tokens[start + j].span()]);
            if last_prefix {
                original.starts_with(&exact[j])
            } else {
                original == exact[j]
            }
        }
    })
}

/// Every occurrence of a words leaf, by scanning: used for substring rules
/// (`whole_word = false`) and by the test oracle.
pub(super) fn scan_words(leaf: &Leaf, doc: &Document, hits: &mut Vec<Hit>) {
    let LeafKind::Words { words, exact, .. } = &leaf.kind else {
        return;
    };
    for (f, field) in doc.fields.iter().enumerate() {
        if !doc.in_scope(leaf.fields, f) {
            continue;
        }
        if leaf.whole_word {
            for start in 0..field.tokens.len() {
                if words_at(leaf, field, start) {
                    hits.push(Hit::new(f, start..start + words.len()));
                }
            }
        } else {
            // Substrings may span words: search the words joined by spaces.
            let needle = words.join(" ");
            let (joined, ranges) = field.tokens.joined();
            for (at, _) in joined.match_indices(needle.as_str()) {
                let first = ranges.partition_point(|r| r.end <= at);
                let last = ranges.partition_point(|r| r.start < at + needle.len());
                let last = last.max(first + 1).min(field.tokens.len());
                // Case-sensitive: the covered words, as written, must hold the
                // words as written in the query.
                if leaf.case_sensitive {
                    let written: Vec<String> = field.tokens.tokens[first..last]
                        .iter()
                        .map(|t| text::exact_form(&field.text[t.span()]))
                        .collect();
                    if !written.join(" ").contains(&exact.join(" ")) {
                        continue;
                    }
                }
                hits.push(Hit::new(f, first..last));
            }
        }
    }
}

pub(super) fn regex_hits(regex: &Regex, fields: FieldSet, doc: &Document, hits: &mut Vec<Hit>) {
    for (f, field) in doc.fields.iter().enumerate() {
        if doc.in_scope(fields, f) {
            for m in regex.find_iter(&field.text) {
                hits.push(Hit::new(f, tokens_covering(field, m.range())));
            }
        }
    }
}

/// The tokens overlapping a byte range of the field's original text.
pub(super) fn tokens_covering(field: &FieldText, range: Range<usize>) -> Range<usize> {
    let tokens = &field.tokens.tokens;
    let first = tokens.partition_point(|t| t.span().end <= range.start);
    let last = tokens.partition_point(|t| t.span().start < range.end);
    first..last.max(first)
}

/// Words strictly between two ranges of the same field (0 when adjacent or overlapping).
pub(super) fn gap(a: &Range<usize>, b: &Range<usize>) -> usize {
    if b.start >= a.end {
        b.start - a.end
    } else {
        a.start.saturating_sub(b.end)
    }
}
