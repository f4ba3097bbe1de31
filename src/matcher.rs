//! Matches articles against the compiled rule set and cuts the excerpts
//! that show why each rule matched.

use crate::article::Article;
use crate::query::Query;
use crate::rules::{Rule, RuleSet};
use crate::text::{self, Token};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;

/// Words of context in one excerpt.
const EXCERPT_WORDS: usize = 30;
/// Words shown before the first matched word of an excerpt.
const LEAD_WORDS: usize = 10;
const MAX_EXCERPTS: usize = 3;

/// The article fields a query searches, in the order excerpts prefer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Title,
    Summary,
    Content,
}

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
    pub excerpts: Vec<Excerpt>,
}

/// One field's text, tokenised once and indexed by word.
struct FieldText<'a> {
    field: Field,
    text: &'a str,
    tokens: Vec<Token>,
    positions: HashMap<String, Vec<usize>>,
}

impl<'a> FieldText<'a> {
    fn new(field: Field, text: &'a str) -> Self {
        let tokens = text::tokenize(text);
        let mut positions: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, t) in tokens.iter().enumerate() {
            positions.entry(t.norm.clone()).or_default().push(i);
        }
        FieldText {
            field,
            text,
            tokens,
            positions,
        }
    }
}

/// Where a query term was found: a field index and a range of token indices.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hit {
    field: usize,
    tokens: Range<usize>,
}

impl RuleSet {
    /// Every rule that matches `article`, in rule order, with excerpts.
    pub fn matches(&self, article: &Article) -> Vec<Match<'_>> {
        let mut fields = vec![
            FieldText::new(Field::Title, &article.title),
            FieldText::new(Field::Summary, &article.summary),
        ];
        // Feeds often repeat the summary as the content: search it once.
        if article.content != article.summary {
            fields.push(FieldText::new(Field::Content, &article.content));
        }
        self.rules()
            .iter()
            .filter_map(|rule| {
                let mut hits = Vec::new();
                eval(&rule.query, &fields, &mut hits).then(|| Match {
                    rule,
                    excerpts: excerpts(&fields, hits),
                })
            })
            .collect()
    }
}

/// Evaluates `query`, pushing the hits of the terms that made it true.
fn eval(query: &Query, fields: &[FieldText], hits: &mut Vec<Hit>) -> bool {
    match query {
        Query::Phrase(words) => {
            let before = hits.len();
            for (f, field) in fields.iter().enumerate() {
                find_phrase(field, words, |tokens| hits.push(Hit { field: f, tokens }));
            }
            hits.len() > before
        }
        Query::And(parts) => {
            let mut found = Vec::new();
            if parts.iter().all(|p| eval(p, fields, &mut found)) {
                hits.extend(found);
                true
            } else {
                false
            }
        }
        Query::Or(parts) => {
            // No short circuit: every branch's hits belong in the excerpts.
            let mut any = false;
            for part in parts {
                any |= eval(part, fields, hits);
            }
            any
        }
        Query::Not(inner) => !eval(inner, fields, &mut Vec::new()),
    }
}

fn find_phrase(field: &FieldText, words: &[String], mut found: impl FnMut(Range<usize>)) {
    let Some(starts) = field.positions.get(&words[0]) else {
        return;
    };
    for &start in starts {
        let end = start + words.len();
        let matches = field
            .tokens
            .get(start..end)
            .is_some_and(|ts| ts.iter().zip(words).all(|(t, w)| &t.norm == w));
        if matches {
            found(start..end);
        }
    }
}

/// Cuts up to three excerpts around the hits, title first.
fn excerpts(fields: &[FieldText], mut hits: Vec<Hit>) -> Vec<Excerpt> {
    hits.sort_by_key(|h| (h.field, h.tokens.start, h.tokens.end));
    hits.dedup();
    let mut out: Vec<Excerpt> = Vec::new();
    let mut covered: Vec<(usize, Range<usize>)> = Vec::new();
    for hit in &hits {
        if out.len() == MAX_EXCERPTS {
            break;
        }
        let inside = |(f, w): &(usize, Range<usize>)| {
            *f == hit.field && w.start <= hit.tokens.start && hit.tokens.end <= w.end
        };
        if covered.iter().any(inside) {
            continue;
        }
        let field = &fields[hit.field];
        let start = hit.tokens.start.saturating_sub(LEAD_WORDS);
        let end = (start + EXCERPT_WORDS)
            .max(hit.tokens.end)
            .min(field.tokens.len());
        let window = start..end;
        let in_window: Vec<&Hit> = hits
            .iter()
            .filter(|h| {
                h.field == hit.field && window.start <= h.tokens.start && h.tokens.end <= window.end
            })
            .collect();
        out.push(cut(field, window.clone(), &in_window));
        covered.push((hit.field, window));
    }
    out
}

/// The text of tokens `window` of `field`, with "…" where it was cut.
fn cut(field: &FieldText, window: Range<usize>, hits: &[&Hit]) -> Excerpt {
    let tokens = &field.tokens;
    let from = if window.start == 0 {
        0
    } else {
        tokens[window.start].span.start
    };
    let to = if window.end == tokens.len() {
        field.text.len()
    } else {
        tokens[window.end - 1].span.end
    };
    let lead = if from > 0 { "…" } else { "" };
    let mut text = format!("{lead}{}", field.text[from..to].trim_end());
    let spans = hits
        .iter()
        .map(|h| {
            let start = tokens[h.tokens.start].span.start - from + lead.len();
            let end = tokens[h.tokens.end - 1].span.end - from + lead.len();
            (start, end)
        })
        .collect();
    if to < field.text.len() {
        text.push('…');
    }
    Excerpt {
        field: field.field,
        text,
        spans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::parse_rule_file;

    fn rules(queries: &[&str]) -> RuleSet {
        let text: String = queries
            .iter()
            .enumerate()
            .map(|(i, q)| format!("[[rule]]\nname = \"r{i}\"\nquery = '{q}'\n"))
            .collect();
        let parsed = parse_rule_file(std::path::Path::new("t.toml"), &text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        RuleSet::new(parsed.rules)
    }

    fn article(title: &str, summary: &str, content: &str) -> Article {
        Article {
            key: "k".into(),
            guid: None,
            title: title.into(),
            link: None,
            published: None,
            authors: vec![],
            categories: vec![],
            summary: summary.into(),
            content: content.into(),
        }
    }

    fn matched(queries: &[&str], a: &Article) -> Vec<String> {
        rules(queries)
            .matches(a)
            .iter()
            .map(|m| m.rule.query_text.clone())
            .collect()
    }

    #[test]
    fn whole_words_only_and_any_case() {
        let a = article("Crisis talks in BRUSSELS", "", "");
        assert_eq!(
            matched(&["brussels", "ISIS", "crisis"], &a),
            ["brussels", "crisis"]
        );
    }

    #[test]
    fn phrases_need_consecutive_words_and_see_through_hyphens() {
        let a = article("", "Al-Shabab's fighters and the state of Islamic art", "");
        assert_eq!(
            matched(&["\"Islamic State\"", "\"al shabab\"", "Al-Shabab"], &a),
            ["\"al shabab\"", "Al-Shabab"]
        );
    }

    #[test]
    fn and_or_not_across_fields() {
        let a = article(
            "Explosion at Zaventem",
            "",
            "Police said the airport near Brussels was evacuated.",
        );
        assert_eq!(
            matched(
                &[
                    "Brussels explosion",
                    "Brussels -football",
                    "Brussels NOT airport",
                    "(Paris OR Brussels) explosion"
                ],
                &a
            ),
            [
                "Brussels explosion",
                "Brussels -football",
                "(Paris OR Brussels) explosion"
            ]
        );
    }

    #[test]
    fn excerpts_mark_spans_title_first() {
        let content = "One two three four five six seven eight nine ten eleven twelve. \
                       Two explosions hit Zaventem airport this morning, officials said.";
        let a = article("Zaventem closed", "", content);
        let set = rules(&["Zaventem OR explosions"]);
        let found = set.matches(&a);
        let excerpts = &found[0].excerpts;
        assert_eq!(excerpts.len(), 2);
        assert_eq!(excerpts[0].field, Field::Title);
        assert_eq!(excerpts[0].text, "Zaventem closed");
        assert_eq!(excerpts[0].spans, [(0, 8)]);
        let body = &excerpts[1];
        assert_eq!(body.field, Field::Content);
        assert!(body.text.starts_with("…four five"), "{}", body.text);
        let marked: Vec<&str> = body.spans.iter().map(|&(s, e)| &body.text[s..e]).collect();
        assert_eq!(marked, ["explosions", "Zaventem"]);
    }

    #[test]
    fn at_most_three_excerpts_of_bounded_length() {
        let filler = "word ".repeat(50);
        let content =
            format!("Brussels {filler} Brussels {filler} Brussels {filler} Brussels {filler}");
        let a = article("", "", &content);
        let set = rules(&["Brussels"]);
        let found = set.matches(&a);
        assert_eq!(found[0].excerpts.len(), MAX_EXCERPTS);
        for e in &found[0].excerpts {
            assert!(
                e.text.split_whitespace().count() <= EXCERPT_WORDS + 1,
                "{}",
                e.text
            );
        }
    }
}
