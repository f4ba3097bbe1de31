//! The compiled matcher: every rule's query in one structure, so the cost per
//! article barely grows with the number of rules. One pass over the article's
//! words looks each up in a dictionary of all rule words (and prefixes); only
//! the queries anchored on a word that occurs are evaluated, plus the few that
//! cannot be anchored (pure negations, regexes, substring rules). Rules with
//! equal queries share one. Matches carry excerpts: passages with the matched
//! words as byte ranges.

use crate::matching::query::FieldSet;
use crate::matching::rules::Rule;
use crate::model::article::Article;
use regex::Regex;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;
use text::{HEAD_BYTES, Tokens};

/// Per-article maps are sized for this many entries at most up front:
/// enough for an article at a million rules, and rules evaluated for every
/// article (`always`) do not make each article zero a big map.
const MAX_PRESIZED: usize = 256;
/// Words of context in one excerpt.
const EXCERPT_WORDS: usize = 30;
/// Words shown before the first matched word of an excerpt.
const LEAD_WORDS: usize = 10;
const MAX_EXCERPTS: usize = 3;

/// A rule's query as parsed: boolean structure over leaves. [`RuleSet`]
/// compiles it further, into steps in one array.
#[derive(Debug, Clone)]
pub enum Node {
    Leaf(Box<Leaf>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Near {
        left: Box<Node>,
        right: Box<Node>,
        distance: u32,
    },
}

/// One searchable term with where to look and how to compare.
#[derive(Debug, Clone)]
pub struct Leaf {
    pub kind: LeafKind,
    pub fields: FieldSet,
    pub case_sensitive: bool,
    pub whole_word: bool,
    /// Set when the rule set is compiled: the dictionary entry that finds
    /// this term, and which of its words that entry is.
    anchor: Option<(u32, usize)>,
    /// How common the term is guessed to be (see [`word_cost`]): excerpts
    /// are centred on the rarest terms, the names rather than "attack".
    rank: u32,
    /// Set when the rule set is compiled: equal leaves of all rules share
    /// one id, so each is looked for once per article.
    id: u32,
}

/// The id of a leaf not (yet) in a compiled rule set.
const NO_ID: u32 = u32::MAX;

impl Leaf {
    pub fn new(kind: LeafKind, fields: FieldSet, case_sensitive: bool, whole_word: bool) -> Leaf {
        Leaf {
            kind,
            fields,
            case_sensitive,
            whole_word,
            anchor: None,
            rank: u32::MAX,
            id: NO_ID,
        }
    }

    /// What makes two leaves find the same hits: equal keys, equal leaves
    /// (anchor and rank follow from the words).
    fn key(&self) -> LeafKey<'_> {
        let (words, exact, prefix, regex) = match &self.kind {
            LeafKind::Words {
                words,
                exact,
                prefix,
            } => (words.as_slice(), exact.as_slice(), *prefix, ""),
            LeafKind::Regex(regex) => (&[][..], &[][..], false, regex.as_str()),
        };
        LeafKey {
            words,
            exact,
            prefix,
            regex,
            fields: self.fields.0,
            case_sensitive: self.case_sensitive,
            whole_word: self.whole_word,
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
struct LeafKey<'a> {
    words: &'a [String],
    exact: &'a [String],
    prefix: bool,
    regex: &'a str,
    fields: u8,
    case_sensitive: bool,
    whole_word: bool,
}

#[derive(Debug, Clone)]
pub enum LeafKind {
    /// Consecutive words; with `prefix`, the last one is a prefix.
    Words {
        words: Vec<String>,
        exact: Vec<String>,
        prefix: bool,
    },
    Regex(Regex),
}

/// The article fields a query can search, in the order excerpts prefer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Title,
    Summary,
    Content,
    Author,
    Category,
    Feed,
    Link,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Summary => "summary",
            Field::Content => "content",
            Field::Author => "author",
            Field::Category => "category",
            Field::Feed => "feed",
            Field::Link => "link",
        }
    }
}

const FIELDS: [Field; 7] = [
    Field::Title,
    Field::Summary,
    Field::Content,
    Field::Author,
    Field::Category,
    Field::Feed,
    Field::Link,
];

/// Fields that excerpts are cut from.
const EXCERPT_FIELDS: usize = 3;

/// A passage of one field with the matched words marked as byte ranges of `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excerpt {
    pub field: Field,
    pub text: String,
    pub spans: Vec<(usize, usize)>,
}

/// One rule that matched one article.
#[derive(Debug, Clone)]
pub struct Match<'r> {
    pub rule: &'r Rule,
    /// Shared by the rules that matched on the same words.
    pub excerpts: Arc<[Excerpt]>,
}

/// The feed an article came from, for `feed:` terms and rule feed scopes.
#[derive(Debug, Clone, Copy)]
pub struct FeedRef<'a> {
    pub name: &'a str,
    pub tags: &'a [String],
}

/// A compiled query is a run of u32 words, in pre-order. An operator word
/// holds its kind in the top bits and the length in words of its whole
/// subtree below them; its operands follow it (for NEAR, after two more
/// words: the left side's length and the distance). A leaf word is the
/// leaf's id. The words of a query, its other words and its rules sit side
/// by side in one array: evaluating it touches a cache line or two, not a
/// tree of boxes.
const KIND_SHIFT: u32 = 29;
const LEN_MASK: u32 = (1 << KIND_SHIFT) - 1;
const LEAF: u32 = 0;
const AND: u32 = 1;
const OR: u32 = 2;
const NOT: u32 = 3;
const NEAR: u32 = 4;
/// A one-word leaf compared without case (most leaves: a name, a place),
/// with what finding it takes inline: the leaf id, then its dictionary id,
/// then its fields (top 8 bits) and rank. Evaluating it reads no `Leaf`.
const WORD: u32 = 5;
const WORD_LEN: usize = 3;
const RANK_MASK: u32 = (1 << 24) - 1;
/// A phrase compared without case (`"Al Shabab"`), inline likewise: the
/// leaf id, its anchor word's dictionary id, its fields and rank as for
/// WORD, then the number of words its phrase part takes, which are each
/// word's length in bytes and its bytes, four to a word. Checking the words
/// around an anchor reads no `Leaf` and no heap string.
const PHRASE: u32 = 6;
/// PHRASE's words before its phrase part.
const PHRASE_HEAD: usize = 4;

fn kind(word: u32) -> u32 {
    word >> KIND_SHIFT
}

/// Words in the subtree that starts `steps`.
fn subtree_len(steps: &[u32]) -> usize {
    match kind(steps[0]) {
        LEAF => 1,
        WORD => WORD_LEN,
        PHRASE => PHRASE_HEAD + steps[3] as usize,
        _ => (steps[0] & LEN_MASK) as usize,
    }
}

fn is_leaf(word: u32) -> bool {
    matches!(kind(word), LEAF | WORD | PHRASE)
}

/// Appends a word's length and bytes, four to a u32.
fn pack_word(word: &str, out: &mut Vec<u32>) {
    out.push(word.len() as u32);
    for chunk in word.as_bytes().chunks(4) {
        let mut four = [0u8; 4];
        four[..chunk.len()].copy_from_slice(chunk);
        out.push(u32::from_le_bytes(four));
    }
}

/// Whether `word` is the word packed at the start of `packed`; returns the
/// rest of `packed` after it.
fn unpack_eq<'p>(word: &str, packed: &'p [u32]) -> (bool, &'p [u32]) {
    let len = packed[0] as usize;
    let (bytes, rest) = packed[1..].split_at(len.div_ceil(4));
    let same = word.len() == len
        && word.as_bytes().chunks(4).zip(bytes).all(|(chunk, &held)| {
            let mut four = [0u8; 4];
            four[..chunk.len()].copy_from_slice(chunk);
            u32::from_le_bytes(four) == held
        });
    (same, rest)
}

/// Words before an operator's operands.
fn operands_at(word: u32) -> usize {
    if kind(word) == NEAR { 3 } else { 1 }
}

/// The leaf ids in a query's steps.
fn step_leaves(steps: &[u32]) -> impl Iterator<Item = u32> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < steps.len() {
            let word = steps[at];
            if is_leaf(word) {
                at += subtree_len(&steps[at..]);
                return Some(word & LEN_MASK);
            }
            at += operands_at(word);
        }
        None
    })
}

/// Appends `node`'s words to `program` (its leaves must have their ids).
fn compile(node: &Node, program: &mut Vec<u32>) {
    let at = program.len();
    let kind = match node {
        Node::Leaf(leaf) => {
            let fields = u32::from(leaf.fields.0) << 24 | leaf.rank.min(RANK_MASK);
            return match (&leaf.kind, leaf.anchor) {
                (_, Some((id, _))) if leaf_len(leaf) == 1 && !leaf.case_sensitive => {
                    program.extend([WORD << KIND_SHIFT | leaf.id, id, fields])
                }
                (
                    LeafKind::Words {
                        words,
                        prefix: false,
                        ..
                    },
                    Some((id, offset)),
                ) if !leaf.case_sensitive => {
                    program.extend([PHRASE << KIND_SHIFT | leaf.id, id, fields, 0]);
                    let from = program.len();
                    for word in words {
                        pack_word(word, program);
                    }
                    program[at + 3] = (program.len() - from) as u32;
                    // The anchor's place in the phrase, after the words.
                    program.push(offset as u32);
                    program[at + 3] += 1;
                }
                _ => program.push(leaf.id),
            };
        }
        Node::And(parts) | Node::Or(parts) => {
            program.push(0);
            parts.iter().for_each(|p| compile(p, program));
            if matches!(node, Node::And(_)) {
                AND
            } else {
                OR
            }
        }
        Node::Not(inner) => {
            program.push(0);
            compile(inner, program);
            NOT
        }
        Node::Near {
            left,
            right,
            distance,
        } => {
            program.extend([0, 0, *distance]);
            compile(left, program);
            program[at + 1] = (program.len() - at - 3) as u32;
            compile(right, program);
            NEAR
        }
    };
    program[at] = kind << KIND_SHIFT | (program.len() - at) as u32;
}

/// Where one query's parts are in [`RuleSet::program`].
struct Query<'p> {
    steps: &'p [u32],
    /// The dictionary ids it needs that gate no query: looked for only
    /// when the query is a candidate.
    others: &'p [u32],
    rules: &'p [u32],
}

/// Each query's steps, other words and rules, built before they are packed.
#[derive(Default)]
struct Unpacked {
    steps: Vec<u32>,
    /// Per query, its range of `steps`.
    queries: Vec<Range<usize>>,
    others: Vec<Vec<u32>>,
    rules: Vec<Vec<u32>>,
}

/// All rules, compiled together.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// The distinct leaves of all rules, by leaf id.
    leaves: Vec<Leaf>,
    /// Every distinct query, found by its offset: three lengths, then its
    /// steps, its other words and its rules. Rules with equal queries share
    /// one, evaluated once per article.
    program: Vec<u32>,
    /// Every word of every rule's leaves → its id.
    words: FxHashMap<Box<str>, u32>,
    /// Every prefix → its id (same id space as `words`).
    prefixes: FxHashMap<Box<str>, u32>,
    /// Per id, its word or prefix, and whether it is a prefix.
    id_words: Vec<(Box<str>, bool)>,
    /// The words that gate a query (some query's anchor set holds them): the
    /// only words looked up in every article. A query's other words are
    /// looked for only when it is a candidate.
    gate_words: FxHashMap<Box<str>, u32>,
    /// The gate prefixes.
    gate_prefixes: Prefixes,
    /// Per id, the queries (their offsets in `program`) that can only match
    /// if that id occurs.
    anchored: Vec<Vec<u32>>,
    /// Queries (offsets) with no anchor, evaluated for every article.
    always: Vec<u32>,
    /// Per id, how often its word is guessed to occur (see [`word_cost`]).
    costs: Vec<u32>,
    /// The fields any rule searches: the others are never tokenised.
    searched: FieldSet,
    /// Queries (offsets) anchored on everyday words, with their anchors' ids: they
    /// are evaluated for nearly every article.
    weak: Vec<(u32, Vec<u32>)>,
    /// Per (first byte, last byte) of a gate word (5 bits of each), a bit per
    /// length: most words of an article are rejected without hashing.
    word_filter: Vec<u64>,
    /// With many gate words the filter above fills up: a Bloom filter on
    /// the whole word (16 bits per gate word, up to 256 KB) keeps most
    /// misses out of the big hash table and its cache misses.
    gate_bloom: Bloom,
}

impl RuleSet {
    pub fn new(mut rules: Vec<Rule>) -> Self {
        let mut set = RuleSet::default();
        for rule in &mut rules {
            set.searched = FieldSet(set.searched.0 | searched_fields(&rule.node).0);
            set.assign_anchors(&mut rule.node);
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
        set.gate_prefixes = Prefixes::new(gate_prefixes);
        set.gate_words = gate_words;
        // The trees are compiled into `program` and `leaves`: only the rules'
        // other settings are needed from here on. (An empty OR matches
        // nothing, should anything evaluate it.)
        for rule in &mut rules {
            rule.node = Node::Or(Vec::new());
        }
        set.rules = rules;
        set
    }

    /// Compiles each distinct query once and anchors it (`anchored`,
    /// `always` and `weak` hold query numbers until [`RuleSet::pack`]).
    fn add_queries(&mut self, rules: &[Rule]) -> Unpacked {
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
    fn pack(&mut self, unpacked: Unpacked) {
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
    fn query(&self, q: u32) -> Query<'_> {
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

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Number of rules evaluated for every article (no anchor word).
    pub fn unanchored(&self) -> usize {
        self.always.iter().map(|&q| self.query(q).rules.len()).sum()
    }

    /// Rules that are evaluated for every or nearly every article, each with
    /// why: `check` reports them, as they cost the most with many rules.
    pub fn costly_rules(&self) -> Vec<(&str, String)> {
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
    fn intern(&mut self, prefix: bool, key: &str, cost: u32) -> u32 {
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

    fn assign_anchors(&mut self, node: &mut Node) {
        match node {
            Node::Leaf(leaf) => {
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
                // The rarest word: fewest rules to evaluate, fewest positions
                // to check.
                let whole = if *prefix {
                    words.len() - 1
                } else {
                    words.len()
                };
                let index = (0..whole)
                    .min_by_key(|&i| {
                        (
                            word_cost(&words[i], exact.get(i)),
                            std::cmp::Reverse(words[i].len()),
                        )
                    })
                    .expect("a words leaf has a word");
                let cost = word_cost(&words[index], exact.get(index));
                let id = self.intern(false, &words[index], cost);
                leaf.anchor = Some((id, index));
                leaf.rank = cost;
            }
            Node::And(parts) | Node::Or(parts) => {
                parts.iter_mut().for_each(|p| self.assign_anchors(p))
            }
            Node::Not(inner) => self.assign_anchors(inner),
            Node::Near { left, right, .. } => {
                self.assign_anchors(left);
                self.assign_anchors(right);
            }
        }
    }

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
        let words = Distinct::new(&doc);
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
                && self.gate_bloom.may_hold_hash(key_hash(key, word.len()))
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
        found
            .into_iter()
            .map(|(r, set)| Match {
                rule: &self.rules[r as usize],
                excerpts: sets[set as usize].clone(),
            })
            .collect()
    }

    /// Evaluates the subtree whose steps start `steps`, pushing the hits of
    /// the terms that made it true. Hits go straight into `hits` and are
    /// taken back (truncated) where a step turns out false: no vector per
    /// step.
    fn run(&self, steps: &[u32], doc: &Document, index: &mut Indexed, hits: &mut Vec<Hit>) -> bool {
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
fn side(steps: &[u32], doc: &Document, index: &mut Indexed, ranges: &mut Vec<Range<usize>>) {
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
    fn find_other_words(
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
        for index in 0..words.len() as u32 {
            let word = words.word(index);
            let (from, to) = by_first[word.as_bytes()[0] as usize];
            for &(prefix, id) in &prefixes[from as usize..to as usize] {
                if word.starts_with(prefix) {
                    occurrences.push((id, index));
                }
            }
        }
    }
}

/// Calls `f` on every leaf of `node`.
fn for_each_leaf<'n>(node: &'n Node, f: &mut impl FnMut(&'n Leaf)) {
    match node {
        Node::Leaf(leaf) => f(leaf),
        Node::And(parts) | Node::Or(parts) => parts.iter().for_each(|p| for_each_leaf(p, f)),
        Node::Not(inner) => for_each_leaf(inner, f),
        Node::Near { left, right, .. } => {
            for_each_leaf(left, f);
            for_each_leaf(right, f);
        }
    }
}

/// Calls `f` on every leaf of `node`, mutably.
fn for_each_leaf_mut(node: &mut Node, f: &mut impl FnMut(&mut Leaf)) {
    match node {
        Node::Leaf(leaf) => f(leaf),
        Node::And(parts) | Node::Or(parts) => {
            parts.iter_mut().for_each(|p| for_each_leaf_mut(p, f))
        }
        Node::Not(inner) => for_each_leaf_mut(inner, f),
        Node::Near { left, right, .. } => {
            for_each_leaf_mut(left, f);
            for_each_leaf_mut(right, f);
        }
    }
}

/// Gives equal leaves of all rules one id, so that each is looked for once
/// per article however many rules share it; returns one of each, by id.
fn number_leaves(rules: &mut [Rule]) -> Vec<Leaf> {
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

/// The fields a rule's terms look at.
fn searched_fields(node: &Node) -> FieldSet {
    let mut fields = FieldSet::default();
    for_each_leaf(node, &mut |leaf| {
        fields = FieldSet(fields.0 | leaf.fields.0)
    });
    fields
}

/// A word's slot in [`RuleSet::word_filter`]: 5 bits of its first and of its
/// last byte (for lower-case letters, the letter itself).
fn filter_slot(word: &str) -> usize {
    let bytes = word.as_bytes();
    let (first, last) = (bytes[0] as usize & 31, bytes[bytes.len() - 1] as usize & 31);
    first << 5 | last
}

/// A hash of a word from all its bytes up to 16 (its [`word_key`]) and
/// its length. A hash of a few bytes let too many article words through
/// at a million rules: each a probe of a big table.
fn word_hash(b: &[u8]) -> u64 {
    key_hash(word_key(b), b.len())
}

/// A word's first [`KEY_BYTES`] bytes (zeros after a shorter word) as two
/// u64s: with the length, it tells words of up to [`KEY_BYTES`] bytes apart.
/// (Longer words of one length that differ only later share a hash, and
/// are told apart by their text.)
fn word_key(b: &[u8]) -> (u64, u64) {
    let mut head = [0u8; HEAD_BYTES];
    let n = b.len().min(HEAD_BYTES);
    head[..n].copy_from_slice(&b[..n]);
    key_of_head(head, b.len())
}

/// [`word_key`] of a word of `len` bytes from the [`HEAD_BYTES`] bytes at
/// its start ([`text::Tokens::word_and_head`]; past a shorter word's end,
/// whatever follows it, masked off here with no branch on the length).
fn key_of_head(head: [u8; HEAD_BYTES], len: usize) -> (u64, u64) {
    cut_key(u128::from_le_bytes(head), len)
}

/// The [`word_key`] of the first `len` bytes of `bytes` (little-endian).
fn cut_key(bytes: u128, len: usize) -> (u64, u64) {
    let key = bytes & low_bytes(len);
    (key as u64, (key >> 64) as u64)
}

/// The bits of the first `len` bytes (all of them from [`KEY_BYTES`] on)
/// of a little-endian u128.
fn low_bytes(len: usize) -> u128 {
    let dropped = 8 * (KEY_BYTES - len.min(KEY_BYTES)) as u32;
    // All 128 bits dropped for an empty word (a prefix's empty head).
    u128::MAX.checked_shr(dropped).unwrap_or(0)
}

/// The [`word_hash`] of the first `len` bytes of a word whose
/// [`word_key`] is `key`, with no copy of its bytes. (The key holds the
/// first [`KEY_BYTES`] of a longer prefix too, as its own key would.)
fn prefix_hash(key: (u64, u64), len: usize) -> u64 {
    key_hash(cut_key(key_bytes(key), len), len)
}

/// A [`word_key`] as the bytes it holds, little-endian.
fn key_bytes((low, high): (u64, u64)) -> u128 {
    u128::from(low) | u128::from(high) << 64
}

/// Bytes of a word that its [`word_key`] holds in full.
const KEY_BYTES: usize = HEAD_BYTES;

/// [`word_hash`] from the key.
fn key_hash((x, y): (u64, u64), len: usize) -> u64 {
    // A folded multiply: every input bit reaches the high output bits.
    let product =
        u128::from(x ^ 0x243F_6A88_85A3_08D3) * u128::from(y ^ len as u64 ^ 0x1319_8A2E_0370_7344);
    (product as u64) ^ (product >> 64) as u64
}

/// A word length's bit in [`RuleSet::word_filter`] (lengths of 63 and more share one).
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// Ids of which at least one must occur for the rule to match, with their
/// summed cost; `None` when no such set exists (the rule is evaluated for
/// every article).
fn rule_anchors(node: &Node, costs: &[u32]) -> Option<(Vec<u32>, u32)> {
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

/// Words so frequent in news that anchoring a rule on them would evaluate it
/// for nearly every article.
const FREQUENT: &[&str] = &[
    // Name particles: "Al-Shabab", "Abu Sayyaf", "van der Berg".
    "abu",
    "al",
    "bin",
    "da",
    "de",
    "del",
    "der",
    "di",
    "du",
    "el",
    "ibn",
    "la",
    "le",
    "van",
    "von",
    // Everyday news words.
    "a",
    "about",
    "after",
    "against",
    "all",
    "also",
    "an",
    "and",
    "are",
    "as",
    "at",
    "attack",
    "be",
    "been",
    "but",
    "by",
    "city",
    "country",
    "court",
    "day",
    "for",
    "forces",
    "from",
    "government",
    "group",
    "had",
    "has",
    "have",
    "he",
    "her",
    "his",
    "in",
    "is",
    "it",
    "its",
    "killed",
    "last",
    "local",
    "minister",
    "more",
    "new",
    "not",
    "of",
    "officials",
    "on",
    "one",
    "or",
    "over",
    "people",
    "police",
    "president",
    "region",
    "reported",
    "said",
    "security",
    "she",
    "that",
    "the",
    "their",
    "they",
    "this",
    "to",
    "two",
    "up",
    "was",
    "week",
    "were",
    "which",
    "who",
    "will",
    "with",
    "year",
    "years",
];

/// Whether a normalised word is one of the everyday words a rule is never
/// anchored on when it has a rarer one.
pub fn is_frequent(word: &str) -> bool {
    FREQUENT.contains(&word)
}

/// An everyday word that a normalised prefix matches, if any.
pub fn everyday_word_with_prefix(prefix: &str) -> Option<&'static str> {
    FREQUENT.iter().copied().find(|w| w.starts_with(prefix))
}

/// The cost of an everyday word (see [`word_cost`]).
const FREQUENT_COST: u32 = 1000;

/// A guess at how often a word occurs, without corpus statistics: very common
/// words are dear, words written capitalised in the query (names, places,
/// groups) are cheap, and longer words are cheaper than short ones.
fn word_cost(word: &str, exact: Option<&String>) -> u32 {
    if is_frequent(word) {
        return FREQUENT_COST;
    }
    let capitalised = exact
        .and_then(|e| e.chars().next())
        .is_some_and(char::is_uppercase);
    let short = word.chars().count() < 5;
    match (capitalised, short) {
        (true, false) => 2,
        (true, true) => 4,
        (false, false) => 30,
        (false, true) => 60,
    }
}

/// An article's fields, each tokenised once.
pub struct Document<'a> {
    fields: [FieldText<'a>; 7],
    /// The content repeated the summary and was left out; the summary stands in.
    content_is_summary: bool,
}

struct FieldText<'a> {
    text: Cow<'a, str>,
    tokens: Tokens,
}

impl<'a> FieldText<'a> {
    fn new(text: Cow<'a, str>) -> Self {
        let tokens = text::tokenize(&text);
        FieldText { text, tokens }
    }
}

impl<'a> Document<'a> {
    /// Tokenises the fields in `searched` (a field no rule looks at stays
    /// empty); `content:` also needs the summary, which may stand in for it.
    pub fn new(article: &'a Article, feed: &'a str, searched: FieldSet) -> Self {
        // Feeds often repeat the summary as the content: search it once.
        let content_is_summary = article.content == article.summary;
        let content = if content_is_summary {
            ""
        } else {
            &article.content
        };
        let wanted = |f: FieldSet| {
            searched.contains(f) || (f == FieldSet::SUMMARY && searched.contains(FieldSet::CONTENT))
        };
        let field = |f: FieldSet, text: &dyn Fn() -> Cow<'a, str>| {
            if wanted(f) {
                FieldText::new(text())
            } else {
                FieldText::new(Cow::Borrowed(""))
            }
        };
        Document {
            fields: [
                field(FieldSet::TITLE, &|| Cow::Borrowed(&article.title)),
                field(FieldSet::SUMMARY, &|| Cow::Borrowed(&article.summary)),
                field(FieldSet::CONTENT, &|| Cow::Borrowed(content)),
                field(FieldSet::AUTHOR, &|| Cow::Owned(article.authors.join("\n"))),
                field(FieldSet::CATEGORY, &|| {
                    Cow::Owned(article.categories.join("\n"))
                }),
                field(FieldSet::FEED, &|| Cow::Borrowed(feed)),
                field(FieldSet::LINK, &|| {
                    Cow::Borrowed(article.link.as_deref().unwrap_or(""))
                }),
            ],
            content_is_summary,
        }
    }

    /// Whether field `f` is searched by terms scoped to `fields` (`content:`
    /// also searches the summary when the content merely repeated it).
    fn in_scope(&self, fields: FieldSet, f: usize) -> bool {
        fields.contains(FieldSet(1 << f))
            || (self.content_is_summary && f == 1 && fields.contains(FieldSet::CONTENT))
    }
}

/// Where a term was found: a field index and a range of token indices.
/// Sixteen bytes: matching copies, sorts and compares many of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Hit {
    field: u32,
    start: u32,
    end: u32,
    /// The term's [`Leaf::rank`].
    rank: u32,
}

impl Hit {
    fn new(field: usize, tokens: Range<usize>) -> Hit {
        Hit {
            field: field as u32,
            start: tokens.start as u32,
            end: tokens.end as u32,
            rank: 0,
        }
    }

    fn field(&self) -> usize {
        self.field as usize
    }

    fn tokens(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// An article's word index: where each leaf occurs, found once per leaf.
struct Indexed<'o> {
    /// The rule set's distinct leaves, by id.
    leaves: &'o [Leaf],
    /// (dictionary id, index in `words`) of every dictionary word or
    /// prefix looked for in the article, by id.
    occurrences: &'o [(u32, u32)],
    words: &'o Distinct<'o>,
    /// Per leaf id looked for so far, where its hits are in `found`.
    done: FxHashMap<u32, (u32, u32)>,
    found: Vec<Hit>,
    /// Room for the ranges of a NEAR's two sides in `found`.
    sides: Vec<Range<usize>>,
}

impl<'o> Indexed<'o> {
    /// Where the hits of the leaf whose steps start `steps` are in `found`,
    /// finding them if need be (only then is the leaf itself read).
    fn find(&mut self, steps: &[u32], doc: &Document) -> Range<usize> {
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
                            let (same, after) = unpack_eq(field.tokens.word(at), rest);
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
    fn anchored(
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

/// The fields of a WORD or PHRASE step.
fn steps_fields(steps: &[u32]) -> FieldSet {
    FieldSet((steps[2] >> 24) as u8)
}

fn leaf_len(leaf: &Leaf) -> usize {
    match &leaf.kind {
        LeafKind::Words { words, .. } => words.len(),
        LeafKind::Regex(_) => 0,
    }
}

/// Whether the leaf's words occur at token `start` of `field`.
fn words_at(leaf: &Leaf, field: &FieldText, start: usize) -> bool {
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
    words.iter().enumerate().all(|(j, w)| {
        let last_prefix = *prefix && j + 1 == words.len();
        let token = field.tokens.word(start + j);
        let folded_ok = if last_prefix {
            token.starts_with(w.as_str())
        } else {
            token == w
        };
        folded_ok
            && (!leaf.case_sensitive || {
                let original = text::exact_form(&field.text[field.tokens.tokens[start + j].span()]);
                if last_prefix {
                    original.starts_with(&exact[j])
                } else {
                    original == exact[j]
                }
            })
    })
}

/// Every occurrence of a words leaf, by scanning: used for substring rules
/// (`whole_word = false`) and by the test oracle.
fn scan_words(leaf: &Leaf, doc: &Document, hits: &mut Vec<Hit>) {
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

fn regex_hits(regex: &Regex, fields: FieldSet, doc: &Document, hits: &mut Vec<Hit>) {
    for (f, field) in doc.fields.iter().enumerate() {
        if doc.in_scope(fields, f) {
            for m in regex.find_iter(&field.text) {
                hits.push(Hit::new(f, tokens_covering(field, m.range())));
            }
        }
    }
}

/// The tokens overlapping a byte range of the field's original text.
fn tokens_covering(field: &FieldText, range: Range<usize>) -> Range<usize> {
    let tokens = &field.tokens.tokens;
    let first = tokens.partition_point(|t| t.span().end <= range.start);
    let last = tokens.partition_point(|t| t.span().start < range.end);
    first..last.max(first)
}

/// Words strictly between two ranges of the same field (0 when adjacent or overlapping).
fn gap(a: &Range<usize>, b: &Range<usize>) -> usize {
    if b.start >= a.end {
        b.start - a.end
    } else {
        a.start.saturating_sub(b.end)
    }
}

/// Keeps the hits that excerpts show, in order (title first), once each.
fn excerpt_hits(hits: &mut Vec<Hit>) {
    hits.retain(|h| h.field() < EXCERPT_FIELDS && h.start < h.end);
    // The whole hit as the key: equal hits end up side by side.
    hits.sort_unstable_by_key(|h| (h.field, h.start, h.end, h.rank));
    hits.dedup();
}

/// Cuts up to three excerpts around `hits` (from [`excerpt_hits`]);
/// `by_rank` is room to sort them in, kept between calls.
fn excerpts(doc: &Document, hits: &[Hit], by_rank: &mut Vec<Hit>) -> Arc<[Excerpt]> {
    let mut out: [Option<Excerpt>; MAX_EXCERPTS] = Default::default();
    let mut windows: [(usize, usize, usize); MAX_EXCERPTS] = Default::default();
    let mut made = 0;
    // Windows go around the rarest terms first ("Zaventem", not every
    // "attack" of a long article); every hit inside a window is marked.
    by_rank.clear();
    by_rank.extend_from_slice(hits);
    by_rank.sort_unstable_by_key(|h| (h.field, h.rank, h.start, h.end));
    let inside = |(f, start, end): (usize, usize, usize), h: &Hit| {
        h.field() == f && start <= h.start as usize && h.end as usize <= end
    };
    for hit in by_rank.iter() {
        if made == MAX_EXCERPTS {
            break;
        }
        if windows[..made].iter().any(|&w| inside(w, hit)) {
            continue;
        }
        let field = &doc.fields[hit.field()];
        let start = hit.tokens().start.saturating_sub(LEAD_WORDS);
        let end = (start + EXCERPT_WORDS)
            .max(hit.tokens().end)
            .min(field.tokens.len());
        let window = (hit.field(), start, end);
        let in_window = hits.iter().filter(|h| inside(window, h));
        out[made] = Some(cut(FIELDS[hit.field()], field, start..end, in_window));
        windows[made] = window;
        made += 1;
    }
    // Title first, then the most telling passage: the order they were cut in.
    out.into_iter().flatten().collect()
}

/// The text of tokens `window` of `field`, with "…" where it was cut.
fn cut<'h>(
    name: Field,
    field: &FieldText,
    window: Range<usize>,
    hits: impl Iterator<Item = &'h Hit>,
) -> Excerpt {
    let tokens = &field.tokens.tokens;
    let from = if window.start == 0 {
        0
    } else {
        tokens[window.start].span().start
    };
    let to = if window.end == tokens.len() {
        field.text.len()
    } else {
        tokens[window.end - 1].span().end
    };
    let lead = if from > 0 { "…" } else { "" };
    let body = field.text[from..to].trim_end();
    let mut text = String::with_capacity(lead.len() + body.len() + "…".len());
    text.push_str(lead);
    text.push_str(body);
    let mut spans: Vec<(usize, usize)> = hits
        .map(|h| {
            let start = tokens[h.tokens().start].span().start - from + lead.len();
            let end = tokens[h.tokens().end - 1].span().end - from + lead.len();
            (start, end.min(text.len()))
        })
        .collect();
    // Overlapping hits (a phrase and one of its words) become one span.
    spans.sort_unstable();
    spans.dedup_by(|next, kept| {
        let overlaps = next.0 <= kept.1;
        if overlaps {
            kept.1 = kept.1.max(next.1);
        }
        overlaps
    });
    if to < field.text.len() {
        text.push('…');
    }
    Excerpt {
        field: name,
        text,
        spans,
    }
}

mod bloom;
mod distinct;
mod prefixes;
pub mod query;
pub mod rules;
pub mod text;
use bloom::Bloom;
use distinct::Distinct;
use prefixes::Prefixes;

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;
