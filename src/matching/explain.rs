//! `test-rule --explain`: how each term of a rule's query was analysed,
//! the words (or pairs of characters, or stems) it is looked for as, so a
//! user can see why a word in some script matches or not.

use super::clitics;
use super::rules::Rule;
use super::text::is_unspaced;
use super::tree::{Leaf, LeafKind, for_each_leaf};
use crate::model::field::{Field, FieldSet};

/// One line per term of `rule`'s query (before it is compiled).
pub fn explain(rule: &Rule) -> Vec<String> {
    let mut lines = Vec::new();
    for_each_leaf(&rule.node, &mut |leaf| lines.push(term(leaf)));
    lines
}

fn term(leaf: &Leaf) -> String {
    let (words, exact, prefix) = match &leaf.kind {
        LeafKind::Words {
            words,
            exact,
            prefix,
        } => (words, exact, *prefix),
        LeafKind::Regex(regex) => {
            return format!(
                "/{}/ → regular expression{}",
                regex.as_str(),
                scope(leaf.fields)
            );
        }
    };
    let mut notes = Vec::new();
    if words.iter().any(|w| w.chars().any(is_unspaced)) {
        notes.push("characters in overlapping pairs, in this order".to_string());
    }
    if let Some(language) = leaf.stem {
        notes.push(format!(
            "stems in {}: any word with the same stem",
            language.code()
        ));
    }
    if words.iter().any(|w| clitics::may_carry(w.as_bytes())) {
        notes.push("also with particles attached in the text".into());
    }
    if prefix {
        notes.push("last word: any word starting so".into());
    }
    if !leaf.whole_word {
        notes.push("also inside longer words".into());
    }
    if leaf.case_sensitive {
        notes.push(format!("case as written: {}", exact.join(" ")));
    }
    let shown = match words.len() {
        1 => words[0].clone(),
        _ => format!("\"{}\"", words.join(" ")),
    };
    let notes = match notes.is_empty() {
        true => String::new(),
        false => format!(" ({})", notes.join("; ")),
    };
    let star = if prefix { "*" } else { "" };
    format!(
        "{}{star} → {shown}{notes}{}",
        written(exact),
        scope(leaf.fields)
    )
}

/// The term as written, from its words: pairs of characters that overlap
/// (布鲁 鲁塞 塞尔) are one run again (布鲁塞尔).
fn written(exact: &[String]) -> String {
    let mut out = String::new();
    let mut last: Option<&str> = None;
    for word in exact {
        let overlaps = last.is_some_and(|last| {
            last.chars().all(is_unspaced)
                && word.chars().all(is_unspaced)
                && last.chars().next_back() == word.chars().next()
        });
        match (overlaps, last) {
            (true, _) => out.extend(word.chars().skip(1)),
            (false, Some(_)) => {
                out.push(' ');
                out.push_str(word);
            }
            (false, None) => out.push_str(word),
        }
        last = Some(word);
    }
    out
}

/// " in title, author" for a term scoped to other fields than the text.
fn scope(fields: FieldSet) -> String {
    if fields == FieldSet::TEXT {
        return String::new();
    }
    let names: Vec<&str> = Field::ALL
        .into_iter()
        .filter(|f| fields.contains(f.set()))
        .map(Field::name)
        .collect();
    format!(" in {}", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::rules::parse_rule_files;

    fn explained(query: &str, settings: &str) -> Vec<String> {
        let toml = format!("[[rule]]\nname = \"r\"\nquery = '{query}'\n{settings}\n");
        let parsed = parse_rule_files(&[("t.toml".into(), toml)], None);
        explain(&parsed.rules[0])
    }

    #[test]
    fn each_term_says_what_it_is_looked_for_as() {
        assert_eq!(
            explained("布鲁塞尔 OR بروكسل OR title:Brussels OR explo*", ""),
            [
                "布鲁塞尔 → \"布鲁 鲁塞 塞尔\" (characters in overlapping pairs, in this order)",
                "بروكسل → بروكسل (also with particles attached in the text)",
                "Brussels → brussels in title",
                "explo* → explo (last word: any word starting so)",
            ]
        );
        assert_eq!(
            explained("Брюссель", "stem = \"ru\""),
            ["Брюссель → брюссел (stems in ru: any word with the same stem)"]
        );
        assert_eq!(
            explained("京", ""),
            ["京 → 京 (characters in overlapping pairs, in this order; also inside longer words)"]
        );
        // Letter forms are shown folded.
        assert_eq!(
            explained("أحمد", ""),
            ["احمد → احمد (also with particles attached in the text)"]
        );
    }
}
