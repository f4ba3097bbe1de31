//! Rule files (`rules.d/*.toml`): the raw form as written, and the compiled
//! [`RuleSet`] the matcher runs.

use crate::diagnostic::{Diagnostic, SourceFile};
use crate::query::{self, Query};
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleFile {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    query: Spanned<String>,
    #[serde(default)]
    notify: Vec<Spanned<String>>,
}

/// A watch rule, validated and with its query parsed.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub query_text: String,
    pub query: Query,
    pub notify: Vec<String>,
}

/// A rule's reference to a destination, kept with its position so the config
/// can report a destination that does not exist.
#[derive(Debug, Clone)]
pub struct NotifyRef {
    pub rule: String,
    pub destination: String,
    pub at: Diagnostic,
}

/// All rules, compiled together for matching.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>) -> Self {
        RuleSet { rules }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}

/// What one rule file yields: its rules, their destination references and
/// every error found (a rule with an error is left out).
#[derive(Debug, Default)]
pub struct ParsedRules {
    pub rules: Vec<Rule>,
    pub notify_refs: Vec<NotifyRef>,
    pub errors: Vec<Diagnostic>,
}

/// Parses the text of one rule file; `path` is only used in error messages.
pub fn parse_rule_file(path: &Path, text: &str) -> ParsedRules {
    let source = SourceFile { path, text };
    let mut out = ParsedRules::default();
    let raw: RawRuleFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(err) => {
            out.errors.push(source.toml_error(&err));
            return out;
        }
    };
    for raw_rule in raw.rule {
        let name = raw_rule.name.get_ref().trim().to_string();
        let mut ok = true;
        if name.is_empty() {
            out.errors
                .push(source.error_in(&raw_rule.name.span(), "rule name is empty"));
            ok = false;
        }
        let query = match query::parse(raw_rule.query.get_ref()) {
            Ok(q) => Some(q),
            Err(err) => {
                let offset = string_body_start(text, &raw_rule.query.span()) + err.offset;
                out.errors
                    .push(source.error_at(offset, format!("in query: {}", err.message)));
                None
            }
        };
        for dest in &raw_rule.notify {
            out.notify_refs.push(NotifyRef {
                rule: name.clone(),
                destination: dest.get_ref().clone(),
                at: source.error_in(&dest.span(), ""),
            });
        }
        if let (Some(query), true) = (query, ok) {
            out.rules.push(Rule {
                name,
                query_text: raw_rule.query.into_inner(),
                query,
                notify: raw_rule
                    .notify
                    .into_iter()
                    .map(Spanned::into_inner)
                    .collect(),
            });
        }
    }
    out
}

/// Byte offset where the value of a TOML string literal starts, past its quotes.
/// (Escapes inside a basic string can shift later columns; positions are then
/// approximate, which is still enough to find the spot.)
fn string_body_start(text: &str, span: &std::ops::Range<usize>) -> usize {
    let literal = &text[span.clone()];
    if literal.starts_with("'''") || literal.starts_with("\"\"\"") {
        let body = span.start + 3;
        // A newline right after the opening delimiter is not part of the value.
        body + usize::from(text[body..].starts_with('\n'))
    } else {
        span.start + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_error_points_into_the_file() {
        let text = "[[rule]]\nname = \"x\"\nquery = 'ISIS OR'\nnotify = [\"desk\"]\n";
        let parsed = parse_rule_file(Path::new("r.toml"), text);
        assert!(parsed.rules.is_empty());
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(
            parsed.errors[0].to_string(),
            "r.toml:3:17: in query: expected a term at end of query"
        );
    }

    #[test]
    fn unknown_key_is_an_error() {
        let text = "[[rule]]\nname = \"x\"\nquery = 'a'\nnotfy = []\n";
        let parsed = parse_rule_file(Path::new("r.toml"), text);
        assert_eq!(parsed.errors.len(), 1);
        assert!(
            parsed.errors[0]
                .to_string()
                .starts_with("r.toml:4:1: unknown field `notfy`")
        );
    }
}
