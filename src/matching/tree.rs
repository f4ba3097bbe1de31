//! A rule's query as a tree: boolean structure over leaves (the terms),
//! as the rules module builds it and before it is compiled into steps.

use super::stems::Language;
use crate::model::field::FieldSet;
use regex::Regex;

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
    /// With a language, `words` are stems: a text word matches when its stem
    /// in that language is the word (see [`stems`](super::stems)).
    pub stem: Option<Language>,
    /// Set when the rule set is compiled: the dictionary entry that finds
    /// this term, and which of its words that entry is.
    pub(super) anchor: Option<(u32, usize)>,
    /// How common the term is guessed to be (see [`word_cost`]): excerpts
    /// are centred on the rarest terms, the names rather than "attack".
    pub(super) rank: u32,
    /// Set when the rule set is compiled: equal leaves of all rules share
    /// one id, so each is looked for once per article.
    pub(super) id: u32,
}

/// The id of a leaf not (yet) in a compiled rule set.
pub(super) const NO_ID: u32 = u32::MAX;

impl Leaf {
    pub fn new(kind: LeafKind, fields: FieldSet, case_sensitive: bool, whole_word: bool) -> Leaf {
        Leaf {
            kind,
            fields,
            case_sensitive,
            whole_word,
            stem: None,
            anchor: None,
            rank: u32::MAX,
            id: NO_ID,
        }
    }

    /// What makes two leaves find the same hits: equal keys, equal leaves
    /// (anchor and rank follow from the words).
    pub(super) fn key(&self) -> LeafKey<'_> {
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
            stem: self.stem,
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
pub(super) struct LeafKey<'a> {
    pub(super) words: &'a [String],
    pub(super) exact: &'a [String],
    pub(super) prefix: bool,
    pub(super) regex: &'a str,
    pub(super) fields: u8,
    pub(super) case_sensitive: bool,
    pub(super) whole_word: bool,
    pub(super) stem: Option<Language>,
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

/// Calls `f` on every leaf of `node`.
pub(super) fn for_each_leaf<'n>(node: &'n Node, f: &mut impl FnMut(&'n Leaf)) {
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
pub(super) fn for_each_leaf_mut(node: &mut Node, f: &mut impl FnMut(&mut Leaf)) {
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

/// The fields a rule's terms look at.
pub(super) fn searched_fields(node: &Node) -> FieldSet {
    let mut fields = FieldSet::default();
    for_each_leaf(node, &mut |leaf| {
        fields = FieldSet(fields.0 | leaf.fields.0)
    });
    fields
}

pub(super) fn leaf_len(leaf: &Leaf) -> usize {
    match &leaf.kind {
        LeafKind::Words { words, .. } => words.len(),
        LeafKind::Regex(_) => 0,
    }
}
