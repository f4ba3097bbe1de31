//! The plain per-rule interpreter the compiled matcher is checked against:
//! no dictionary, no anchors, no candidate selection; every rule is
//! evaluated by scanning every word of every field.

use super::*;

struct Scan;

impl Positions for Scan {
    fn words(&self, leaf: &Leaf, doc: &Document, out: &mut Vec<Hit>) {
        scan_words(leaf, doc, out)
    }
}

/// Names of the rules that match, by brute force.
pub fn matching_rules(rules: &[Rule], article: &Article, feed: Option<FeedRef>) -> Vec<String> {
    // The oracle reads every field, whatever the rules search.
    let doc = Document::new(article, feed.map_or("", |f| f.name), FieldSet(0x7f));
    rules
        .iter()
        .filter(|rule| feed.is_none_or(|f| rule.applies_to(f.name, f.tags)))
        .filter(|rule| eval(&rule.node, &doc, &Scan, &mut Vec::new()))
        .map(|rule| rule.name.clone())
        .collect()
}
