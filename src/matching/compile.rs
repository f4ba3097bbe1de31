//! Compiling rules into a [`RuleSet`]: equal leaves and queries shared,
//! each query anchored on its rarest words, the gate dictionaries built.

use super::bloom::Bloom;
use super::cost::{FREQUENT_COST, everyday_word_with_prefix, word_cost};
use super::distinct::Wanted;
use super::keys::{filter_slot, length_bit, word_hash};
use super::prefixes::Prefixes;
use super::rules::Rule;
use super::stems::anchor_prefix;
use super::steps::{compile, step_leaves};
use super::tree::{
    Leaf, LeafKey, LeafKind, Node, for_each_leaf, for_each_leaf_mut, searched_fields,
};
use crate::model::field::FieldSet;
use rustc_hash::FxHashMap;
use std::ops::Range;

/// Where one query's parts are in [`RuleSet::program`].
pub(super) struct Query<'p> {
    pub(super) steps: &'p [u32],
    /// The dictionary ids it needs that gate no query: looked for only
    /// when the query is a candidate.
    pub(super) others: &'p [u32],
    pub(super) rules: &'p [u32],
}

/// Each query's steps, other words and rules, built before they are packed.
#[derive(Default)]
pub(super) struct Unpacked {
    pub(super) steps: Vec<u32>,
    /// Per query, its range of `steps`.
    pub(super) queries: Vec<Range<usize>>,
    pub(super) others: Vec<Vec<u32>>,
    pub(super) rules: Vec<Vec<u32>>,
}

/// All rules, compiled together.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub(super) rules: Vec<Rule>,
    /// The distinct leaves of all rules, by leaf id.
    pub(super) leaves: Vec<Leaf>,
    /// Every distinct query, found by its offset: three lengths, then its
    /// steps, its other words and its rules. Rules with equal queries share
    /// one, evaluated once per article.
    pub(super) program: Vec<u32>,
    /// Every word of every rule's leaves → its id.
    pub(super) words: FxHashMap<Box<str>, u32>,
    /// Every prefix → its id (same id space as `words`).
    pub(super) prefixes: FxHashMap<Box<str>, u32>,
    /// Per id, its word or prefix, and whether it is a prefix.
    pub(super) id_words: Vec<(Box<str>, bool)>,
    /// The words that gate a query (some query's anchor set holds them): the
    /// only words looked up in every article. A query's other words are
    /// looked for only when it is a candidate.
    pub(super) gate_words: FxHashMap<Box<str>, u32>,
    /// The gate prefixes.
    pub(super) gate_prefixes: Prefixes,
    /// Per id, the queries (their offsets in `program`) that can only match
    /// if that id occurs.
    pub(super) anchored: Vec<Vec<u32>>,
    /// Queries (offsets) with no anchor, evaluated for every article.
    pub(super) always: Vec<u32>,
    /// Per id, how often its word is guessed to occur (see [`word_cost`]).
    pub(super) costs: Vec<u32>,
    /// The fields any rule searches: the others are never tokenised.
    pub(super) searched: FieldSet,
    /// Queries (offsets) anchored on everyday words, with their anchors' ids: they
    /// are evaluated for nearly every article.
    pub(super) weak: Vec<(u32, Vec<u32>)>,
    /// Per (first byte, last byte) of a gate word (5 bits of each), a bit per
    /// length: most words of an article are rejected without hashing.
    pub(super) word_filter: Vec<u64>,
    /// With many gate words the filter above fills up: a Bloom filter on
    /// the whole word (16 bits per gate word, up to 256 KB) keeps most
    /// misses out of the big hash table and its cache misses.
    pub(super) gate_bloom: Bloom,
    /// Which non-ASCII words of a text are worth indexing: forms without
    /// their particles, Han and Kana bigrams.
    pub(super) wanted: Wanted,
    /// Every rule's name, one after another, and where each ends: a
    /// match's name is read from here, a few MB read in order, rather than
    /// from its rule, a cache miss per match with a big rule set.
    names: String,
    name_ends: Vec<usize>,
}

impl RuleSet {
    pub fn new(mut rules: Vec<Rule>) -> Self {
        let mut set = RuleSet::default();
        let in_phrases = words_in_phrases(&rules);
        for rule in &mut rules {
            set.searched = FieldSet(set.searched.0 | searched_fields(&rule.node).0);
            for_each_leaf_mut(&mut rule.node, &mut |leaf| {
                set.assign_anchor(leaf, &in_phrases)
            });
        }
        set.leaves = number_leaves(&mut rules);
        let unpacked = set.add_queries(&rules);
        set.pack(unpacked);
        let gates = |id: &u32| !set.anchored[*id as usize].is_empty();
        // The interning maps are done with; the gate words move out of them.
        let gate_words: FxHashMap<Box<str>, u32> = std::mem::take(&mut set.words)
            .into_iter()
            .filter(|(_, id)| gates(id))
            .collect();
        let gate_prefixes: Vec<(Box<str>, u32)> = std::mem::take(&mut set.prefixes)
            .into_iter()
            .filter(|(_, id)| gates(id))
            .collect();
        set.word_filter = vec![0; 1024];
        for word in gate_words.keys() {
            set.word_filter[filter_slot(word)] |= length_bit(word.len());
        }
        set.gate_bloom = Bloom::for_words(gate_words.len());
        for word in gate_words.keys() {
            set.gate_bloom.insert(word);
        }
        set.wanted = Wanted::new(set.id_words.iter().map(|(w, p)| (&**w, *p)));
        set.gate_prefixes = Prefixes::new(gate_prefixes);
        set.gate_words = gate_words;
        // The trees are compiled into `program` and `leaves`: only the rules'
        // other settings are needed from here on. (An empty OR matches
        // nothing, should anything evaluate it.)
        for rule in &mut rules {
            rule.node = Node::Or(Vec::new());
        }
        for rule in &rules {
            set.names.push_str(&rule.name);
            set.name_ends.push(set.names.len());
        }
        set.rules = rules;
        set
    }

    /// The name of rule `r`.
    pub(super) fn name(&self, r: usize) -> &str {
        let start = r.checked_sub(1).map_or(0, |p| self.name_ends[p]);
        &self.names[start..self.name_ends[r]]
    }

    /// Compiles each distinct query once and anchors it (`anchored`,
    /// `always` and `weak` hold query numbers until [`RuleSet::pack`]).
    pub(super) fn add_queries(&mut self, rules: &[Rule]) -> Unpacked {
        let mut unpacked = Unpacked::default();
        let mut distinct: FxHashMap<Box<[u32]>, u32> = FxHashMap::default();
        let mut steps = Vec::new();
        for (r, rule) in rules.iter().enumerate() {
            steps.clear();
            compile(&rule.node, &mut steps);
            if let Some(&q) = distinct.get(steps.as_slice()) {
                unpacked.rules[q as usize].push(r as u32);
                continue;
            }
            let q = unpacked.queries.len() as u32;
            let from = unpacked.steps.len();
            unpacked.steps.extend_from_slice(&steps);
            unpacked.queries.push(from..unpacked.steps.len());
            unpacked.rules.push(vec![r as u32]);
            match rule_anchors(&rule.node, &self.costs) {
                Some((ids, cost)) => {
                    if cost >= FREQUENT_COST {
                        self.weak.push((q, ids.clone()));
                    }
                    for id in ids {
                        self.anchored[id as usize].push(q);
                    }
                }
                None => self.always.push(q),
            }
            distinct.insert(steps.as_slice().into(), q);
        }
        for list in &mut self.anchored {
            list.dedup();
        }
        // A query's other words: those of its leaves that gate no query.
        for range in &unpacked.queries {
            let mut ids: Vec<u32> = step_leaves(&unpacked.steps[range.clone()])
                .filter_map(|leaf| self.leaves[leaf as usize].anchor)
                .map(|(id, _)| id)
                .filter(|&id| self.anchored[id as usize].is_empty())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            unpacked.others.push(ids);
        }
        unpacked
    }

    /// Lays the queries out in `program` and turns query numbers into
    /// offsets there.
    pub(super) fn pack(&mut self, unpacked: Unpacked) {
        let mut offsets = Vec::with_capacity(unpacked.queries.len());
        for (q, range) in unpacked.queries.iter().enumerate() {
            offsets.push(self.program.len() as u32);
            let (others, rules) = (&unpacked.others[q], &unpacked.rules[q]);
            self.program
                .extend([range.len(), others.len(), rules.len()].map(|n| n as u32));
            self.program
                .extend_from_slice(&unpacked.steps[range.clone()]);
            self.program.extend_from_slice(others);
            self.program.extend_from_slice(rules);
        }
        let offset = |q: &mut u32| *q = offsets[*q as usize];
        self.anchored.iter_mut().flatten().for_each(offset);
        self.always.iter_mut().for_each(offset);
        self.weak.iter_mut().for_each(|(q, _)| offset(q));
    }

    /// The query at offset `q` of the program.
    pub(super) fn query(&self, q: u32) -> Query<'_> {
        let at = q as usize;
        let [steps, others, rules] = [0, 1, 2].map(|i| self.program[at + i] as usize);
        let steps_at = at + 3;
        let others_at = steps_at + steps;
        let rules_at = others_at + others;
        Query {
            steps: &self.program[steps_at..others_at],
            others: &self.program[others_at..rules_at],
            rules: &self.program[rules_at..rules_at + rules],
        }
    }

    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of rules evaluated for every article (no anchor word).
    #[cfg(test)]
    pub(crate) fn unanchored(&self) -> usize {
        self.always.iter().map(|&q| self.query(q).rules.len()).sum()
    }

    /// Rules that are evaluated for every or nearly every article, each with
    /// why: `check` reports them, as they cost the most with many rules.
    pub(crate) fn costly_rules(&self) -> Vec<(&str, String)> {
        let mut costly: Vec<(u32, String)> = Vec::new();
        for &q in &self.always {
            for &r in self.query(q).rules {
                let why =
                    "has no word that must occur (only negations, regexes or substring terms)";
                costly.push((r, why.to_string()));
            }
        }
        for (q, ids) in &self.weak {
            // The dear ones: in `Zaventem OR mini*`, only `mini*` (but an OR
            // of many merely common words is dear as a whole).
            let dear = |id: &&u32| self.costs[**id as usize] >= FREQUENT_COST;
            let all = !ids.iter().any(|id| dear(&id));
            let mut words: Vec<String> = ids
                .iter()
                .filter(|id| all || dear(id))
                .map(|&id| match &self.id_words[id as usize] {
                    (prefix, true) => match everyday_word_with_prefix(prefix) {
                        Some(word) => format!("{prefix}*, which matches \"{word}\""),
                        None => format!("{prefix}*"),
                    },
                    (word, false) => word.to_string(),
                })
                .collect();
            words.sort_unstable();
            words.dedup();
            // A generated OR of millions of words is named by its first few.
            const NAMED: usize = 10;
            let more = words.len().saturating_sub(NAMED);
            words.truncate(NAMED);
            if more > 0 {
                words.push(format!("and {more} more"));
            }
            for &r in self.query(*q).rules {
                let why = format!("is anchored on everyday words ({})", words.join(", "));
                costly.push((r, why));
            }
        }
        costly.sort_by_key(|(r, _)| *r);
        costly
            .into_iter()
            .map(|(r, why)| (self.rules[r as usize].name.as_str(), why))
            .collect()
    }

    /// The id of a dictionary word (or, with `prefix`, a prefix), added with
    /// its cost if new.
    pub(super) fn intern(&mut self, prefix: bool, key: &str, cost: u32) -> u32 {
        let map = if prefix {
            &mut self.prefixes
        } else {
            &mut self.words
        };
        if let Some(&id) = map.get(key) {
            return id;
        }
        let id = self.anchored.len() as u32;
        map.insert(key.into(), id);
        self.id_words.push((key.into(), prefix));
        self.anchored.push(Vec::new());
        self.costs.push(cost);
        id
    }

    /// Anchors a leaf on its rarest word: the word whose occurrence makes
    /// the fewest queries candidates, with the fewest positions to check.
    pub(super) fn assign_anchor(&mut self, leaf: &mut Leaf, in_phrases: &FxHashMap<u64, u32>) {
        let LeafKind::Words {
            words,
            exact,
            prefix,
        } = &leaf.kind
        else {
            return;
        };
        if !leaf.whole_word {
            return;
        }
        if let Some(language) = leaf.stem {
            // Found by a prefix of its rarest stem, then checked.
            let index = (0..words.len())
                .min_by_key(|&i| {
                    (
                        word_cost(&words[i], exact.get(i)),
                        std::cmp::Reverse(words[i].len()),
                    )
                })
                .expect("a words leaf has a word");
            let cost = word_cost(&words[index], exact.get(index)) + 1;
            let stem = &words[index];
            let key = if language.applies_to(stem) {
                anchor_prefix(stem)
            } else {
                stem.as_str()
            };
            let id = self.intern(language.applies_to(stem), key, cost);
            leaf.anchor = Some((id, index));
            leaf.rank = cost;
            return;
        }
        if words.len() == 1 && *prefix {
            // `mini*` finds every "minister": as dear as the word.
            let cost = if everyday_word_with_prefix(&words[0]).is_some() {
                FREQUENT_COST
            } else {
                word_cost(&words[0], exact.first()) + 1
            };
            let id = self.intern(true, &words[0], cost);
            leaf.anchor = Some((id, 0));
            leaf.rank = cost;
            return;
        }
        let whole = if *prefix {
            words.len() - 1
        } else {
            words.len()
        };
        // How often a word occurs is guessed from its form (`word_cost`)
        // and from the rules themselves: a word found in many watched names
        // ("Amina" of "Amina Doe", "Amina Kol", ...) is a first name or a
        // title, common in text too, and anchoring on it would make every
        // one of those rules a candidate wherever any of them is mentioned.
        let expected = |i: usize| {
            let shared = in_phrases
                .get(&word_hash(words[i].as_bytes()))
                .copied()
                .unwrap_or(1);
            (
                word_cost(&words[i], exact.get(i)).saturating_mul(shared),
                std::cmp::Reverse(words[i].len()),
            )
        };
        let index = (0..whole)
            .min_by_key(|&i| expected(i))
            .expect("a words leaf has a word");
        let cost = word_cost(&words[index], exact.get(index));
        let id = self.intern(false, &words[index], cost);
        leaf.anchor = Some((id, index));
        leaf.rank = cost;
    }
}

/// For each word of a phrase (a term of several words), by its
/// [`word_hash`], how many phrase terms of all rules hold it. (Two words
/// with one hash, such as long words alike in their first 16 bytes, only
/// blur the guess.)
fn words_in_phrases(rules: &[Rule]) -> FxHashMap<u64, u32> {
    let mut counts: FxHashMap<u64, u32> = FxHashMap::default();
    for rule in rules {
        for_each_leaf(&rule.node, &mut |leaf| {
            if let LeafKind::Words { words, .. } = &leaf.kind
                && words.len() > 1
            {
                for word in words {
                    *counts.entry(word_hash(word.as_bytes())).or_default() += 1;
                }
            }
        });
    }
    counts
}

/// Gives equal leaves of all rules one id, so that each is looked for once
/// per article however many rules share it; returns one of each, by id.
pub(super) fn number_leaves(rules: &mut [Rule]) -> Vec<Leaf> {
    let mut ids = Vec::new();
    let mut distinct = Vec::new();
    let mut seen: FxHashMap<LeafKey, u32> = FxHashMap::default();
    for rule in rules.iter() {
        for_each_leaf(&rule.node, &mut |leaf| {
            let next = seen.len() as u32;
            let id = *seen.entry(leaf.key()).or_insert_with(|| {
                distinct.push(leaf.clone());
                next
            });
            let first: &Leaf = &distinct[id as usize];
            debug_assert!(first.anchor == leaf.anchor && first.rank == leaf.rank);
            ids.push(id);
        });
    }
    drop(seen);
    // The same walk again, so the ids come in the same order.
    let mut ids = ids.into_iter();
    for rule in rules {
        for_each_leaf_mut(&mut rule.node, &mut |leaf| {
            leaf.id = ids.next().expect("one id per leaf");
        });
    }
    for (id, leaf) in distinct.iter_mut().enumerate() {
        leaf.id = id as u32;
    }
    distinct
}

/// Ids of which at least one must occur for the rule to match, with their
/// summed cost; `None` when no such set exists (the rule is evaluated for
/// every article).
pub(super) fn rule_anchors(node: &Node, costs: &[u32]) -> Option<(Vec<u32>, u32)> {
    match node {
        Node::Leaf(leaf) => leaf.anchor.map(|(id, _)| (vec![id], costs[id as usize])),
        Node::Or(parts) => {
            let (mut all, mut cost) = (Vec::new(), 0u32);
            for part in parts {
                let (ids, c) = rule_anchors(part, costs)?;
                all.extend(ids);
                cost = cost.saturating_add(c);
            }
            Some((all, cost))
        }
        // Any positive part that must hold will do; the rarest is cheapest.
        Node::And(parts) => parts
            .iter()
            .filter_map(|p| rule_anchors(p, costs))
            .min_by_key(|(_, c)| *c),
        Node::Near { left, right, .. } => [rule_anchors(left, costs), rule_anchors(right, costs)]
            .into_iter()
            .flatten()
            .min_by_key(|(_, c)| *c),
        Node::Not(_) => None,
    }
}
