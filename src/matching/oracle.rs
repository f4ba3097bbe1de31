//! The plain per-rule interpreter the compiled matcher is checked against:
//! no dictionary, no anchors, no candidate selection, no shared queries;
//! every rule's tree is evaluated by scanning every word of every field.

use super::document::{Document, Hit};
use super::eval::{FeedRef, gap, regex_hits, scan_words};
use super::rules::Rule;
use super::tree::{Leaf, LeafKind, Node};
use crate::model::article::Article;
use crate::model::field::FieldSet;

/// Names of the rules that match, by brute force.
pub fn matching_rules(rules: &[Rule], article: &Article, feed: Option<FeedRef>) -> Vec<String> {
    // The oracle reads every field, whatever the rules search.
    let doc = Document::new(article, feed.map_or("", |f| f.name), FieldSet(0x7f));
    rules
        .iter()
        .filter(|rule| feed.is_none_or(|f| rule.applies_to(f.name, f.tags)))
        .filter(|rule| holds(&rule.node, &doc))
        .map(|rule| rule.name.clone())
        .collect()
}

fn holds(node: &Node, doc: &Document) -> bool {
    match node {
        Node::Leaf(leaf) => !hits(leaf, doc).is_empty(),
        Node::And(parts) => parts.iter().all(|p| holds(p, doc)),
        Node::Or(parts) => parts.iter().any(|p| holds(p, doc)),
        Node::Not(inner) => !holds(inner, doc),
        Node::Near {
            left,
            right,
            distance,
        } => {
            let (lefts, rights) = (side(left, doc), side(right, doc));
            lefts.iter().any(|a| {
                rights.iter().any(|b| {
                    a.field == b.field && gap(&a.tokens(), &b.tokens()) <= *distance as usize
                })
            })
        }
    }
}

fn hits(leaf: &Leaf, doc: &Document) -> Vec<Hit> {
    let mut found = Vec::new();
    match &leaf.kind {
        LeafKind::Words { .. } => scan_words(leaf, doc, &mut found),
        LeafKind::Regex(regex) => regex_hits(regex, leaf.fields, doc, &mut found),
    }
    found
}

/// Occurrences of a NEAR side: a leaf or an OR of leaves.
fn side(node: &Node, doc: &Document) -> Vec<Hit> {
    match node {
        Node::Leaf(leaf) => hits(leaf, doc),
        Node::Or(parts) => parts.iter().flat_map(|p| side(p, doc)).collect(),
        _ => Vec::new(),
    }
}
