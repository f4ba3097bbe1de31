//! The plain per-rule interpreter the compiled matcher is checked against:
//! no dictionary, no anchors, no candidate selection; every rule is
//! evaluated by scanning every word of every field.

use super::*;

/// Finds every leaf's hits anew, each time it is asked.
#[derive(Default)]
struct Scan {
    found: Vec<Hit>,
}

impl Positions for Scan {
    fn find(&mut self, leaf: &Leaf, doc: &Document) -> Range<usize> {
        let from = self.found.len();
        match &leaf.kind {
            LeafKind::Words { .. } => scan_words(leaf, doc, &mut self.found),
            LeafKind::Regex(regex) => regex_hits(regex, leaf.fields, doc, &mut self.found),
        }
        ranked(leaf, &mut self.found[from..]);
        from..self.found.len()
    }

    fn found(&self) -> &[Hit] {
        &self.found
    }
}

/// Names of the rules that match, by brute force.
pub fn matching_rules(rules: &[Rule], article: &Article, feed: Option<FeedRef>) -> Vec<String> {
    // The oracle reads every field, whatever the rules search.
    let doc = Document::new(article, feed.map_or("", |f| f.name), FieldSet(0x7f));
    rules
        .iter()
        .filter(|rule| feed.is_none_or(|f| rule.applies_to(f.name, f.tags)))
        .filter(|rule| eval(&rule.node, &doc, &mut Scan::default(), &mut Vec::new()))
        .map(|rule| rule.name.clone())
        .collect()
}
