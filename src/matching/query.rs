//! Watch-rule queries: the search-engine syntax parsed into an [`Expr`].
//!
//! words, "phrases", prefix*, AND / OR / NOT / -term, parentheses (implicit
//! AND between terms), `a NEAR/n b`, field scope (`title:`), `/regex/` and
//! `@alias`. Precedence, tightest first: field scope, NEAR, NOT, AND, OR.
//! Aliases are resolved later, against the aliases of all rule files.

use crate::matching::text;
use crate::model::field::{Field, FieldSet};
use regex::Regex;
use std::ops::Range;

/// Largest compiled size of one `/regex/`, so a rule cannot eat the memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const NEAR_SIDES: &str = "NEAR sides must be words, phrases, prefixes, aliases or (a OR b) groups";
const MAX_NESTING: usize = 256;
/// `NEAR` without a distance.
pub(crate) const DEFAULT_NEAR: u32 = 10;

/// A parsed query. Spans are byte ranges of the query text.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// One word, a phrase, or a prefix (`prefix` means the last word is one).
    Words {
        words: Vec<String>,
        /// The words as written (NFKC, diacritics removed, case kept), for
        /// case-sensitive rules.
        exact: Vec<String>,
        prefix: bool,
    },
    Regex {
        regex: Regex,
    },
    Alias {
        name: String,
        span: Range<usize>,
    },
    Field {
        fields: FieldSet,
        inner: Box<Expr>,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// Both sides within `distance` words of each other, either order.
    Near {
        left: Box<Expr>,
        right: Box<Expr>,
        distance: u32,
    },
}

/// A query syntax error at a byte range of the query text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub(crate) struct QueryError {
    pub span: Range<usize>,
    pub message: String,
}

fn error<T>(span: Range<usize>, message: impl Into<String>) -> Result<T, QueryError> {
    Err(QueryError {
        span,
        message: message.into(),
    })
}

pub fn parse(src: &str) -> Result<Expr, QueryError> {
    let tokens = lex(src)?;
    // Parsing, compiling and matching recurse once per nesting level: bound
    // the nesting so a hostile query cannot overflow the stack.
    let nesting = tokens
        .iter()
        .filter(|(l, _)| {
            matches!(
                l,
                Lexeme::LParen | Lexeme::Not | Lexeme::Minus | Lexeme::Field(_)
            )
        })
        .count();
    if nesting > MAX_NESTING {
        return error(
            0..src.len(),
            format!(
                "query is too complex: more than {MAX_NESTING} parentheses, NOTs and field scopes"
            ),
        );
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: src.len(),
    };
    if parser.tokens.is_empty() {
        return error(0..src.len(), "empty query");
    }
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(expr),
        Some((Lexeme::RParen, span)) => error(span.clone(), "unmatched ')'"),
        Some((_, span)) => error(span.clone(), "unexpected token"),
    }
}

/// Parses one entry of an alias list: a word, phrase or prefix, written
/// without quotes ("Islamic State", "Molenbeek", "explo*").
pub(crate) fn parse_alias_entry(entry: &str) -> Result<Expr, QueryError> {
    words_expr(entry.trim(), 0..entry.len())
}

#[derive(Debug, Clone, PartialEq)]
enum Lexeme {
    Word(String),
    Phrase(String),
    Regex(String),
    Alias(String),
    Field(FieldSet),
    And,
    Or,
    Not,
    Minus,
    Near(u32),
    LParen,
    RParen,
}

fn lex(src: &str) -> Result<Vec<(Lexeme, Range<usize>)>, QueryError> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = src[i..].chars().next() {
        let start = i;
        match c {
            c if c.is_whitespace() => i += c.len_utf8(),
            '(' | ')' => {
                i += 1;
                out.push((
                    if c == '(' {
                        Lexeme::LParen
                    } else {
                        Lexeme::RParen
                    },
                    start..i,
                ));
            }
            '"' => {
                let Some(len) = src[i + 1..].find('"') else {
                    return error(
                        start..src.len(),
                        "unterminated phrase: missing closing '\"'",
                    );
                };
                i += len + 2;
                out.push((Lexeme::Phrase(src[start + 1..i - 1].to_string()), start..i));
            }
            '/' => {
                let body = start + 1;
                let mut end = None;
                let mut escaped = false;
                for (j, c) in src[body..].char_indices() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '/' if !escaped => {
                            end = Some(body + j);
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                let Some(end) = end else {
                    return error(start..src.len(), "unterminated regex: missing closing '/'");
                };
                i = end + 1;
                out.push((Lexeme::Regex(src[body..end].replace("\\/", "/")), start..i));
            }
            '@' => {
                let name_len = src[i + 1..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(src.len() - i - 1);
                if name_len == 0 {
                    return error(start..start + 1, "'@' must be followed by an alias name");
                }
                i += 1 + name_len;
                out.push((Lexeme::Alias(src[start + 1..i].to_string()), start..i));
            }
            '-' => {
                i += 1;
                match src[i..].chars().next() {
                    Some(next) if !next.is_whitespace() && next != ')' => {
                        out.push((Lexeme::Minus, start..i))
                    }
                    _ => return error(start..i, "'-' must stand directly before a term"),
                }
            }
            _ => {
                let len = src[i..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '"'))
                    .unwrap_or(src.len() - i);
                let word = &src[i..i + len];
                if let Some((name, rest)) = word.split_once(':')
                    && name.len() >= 2
                    && name.chars().all(|c| c.is_ascii_alphabetic())
                    && !rest.starts_with("//")
                {
                    let Some(fields) = FieldSet::named(name) else {
                        let known: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                        return error(
                            start..start + name.len() + 1,
                            format!("unknown field '{name}:' (fields: {})", known.join(", ")),
                        );
                    };
                    // The scoped term follows the colon; lex it on the next turn.
                    i += name.len() + 1;
                    out.push((Lexeme::Field(fields), start..i));
                    if rest.is_empty() && !matches!(src[i..].chars().next(), Some('(' | '"')) {
                        return error(start..i, format!("'{name}:' must be followed by a term"));
                    }
                    continue;
                }
                i += len;
                let lexeme = match word {
                    "AND" => Lexeme::And,
                    "OR" => Lexeme::Or,
                    "NOT" => Lexeme::Not,
                    "NEAR" => Lexeme::Near(DEFAULT_NEAR),
                    _ => match word.strip_prefix("NEAR/") {
                        Some(n) => match n.parse::<u32>() {
                            Ok(n) if n <= 1000 => Lexeme::Near(n),
                            _ => return error(start..i, "NEAR/n needs a distance from 0 to 1000"),
                        },
                        None => Lexeme::Word(word.to_string()),
                    },
                };
                out.push((lexeme, start..i));
            }
        }
    }
    Ok(out)
}

/// A word, phrase or prefix term from its text.
fn words_expr(text: &str, span: Range<usize>) -> Result<Expr, QueryError> {
    let prefix = text.ends_with('*');
    let body = text.trim_end_matches('*');
    if body.contains('*') {
        return error(span, "'*' is only allowed at the end of a word");
    }
    let words = text::words(body);
    if words.is_empty() {
        return error(span, "term has no letters or digits");
    }
    if prefix && body.ends_with(|c: char| !c.is_alphanumeric()) {
        return error(span, "'*' must directly follow a word");
    }
    if prefix && words.last().is_some_and(|w| w.chars().count() < 2) {
        return error(span, "a prefix needs at least 2 letters before '*'");
    }
    Ok(Expr::Words {
        exact: text::original_words(body),
        words,
        prefix,
    })
}

struct Parser {
    tokens: Vec<(Lexeme, Range<usize>)>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&(Lexeme, Range<usize>)> {
        self.tokens.get(self.pos)
    }

    fn here(&self) -> Range<usize> {
        self.peek()
            .map_or(self.end..self.end, |(_, span)| span.clone())
    }

    fn or_expr(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.and_expr()?];
        while matches!(self.peek(), Some((Lexeme::Or, _))) {
            self.pos += 1;
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut terms = vec![self.unary()?];
        loop {
            match self.peek() {
                Some((Lexeme::And, _)) => {
                    self.pos += 1;
                    terms.push(self.unary()?);
                }
                Some((Lexeme::Or | Lexeme::RParen, _)) | None => break,
                Some(_) => terms.push(self.unary()?),
            }
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        if matches!(self.peek(), Some((Lexeme::Not | Lexeme::Minus, _))) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.near()
    }

    /// `a NEAR/n b NEAR/m c` means `a NEAR/n b` and `b NEAR/m c`.
    fn near(&mut self) -> Result<Expr, QueryError> {
        let (mut left, mut left_span) = self.spanned_scoped()?;
        let mut pairs = Vec::new();
        while let Some((Lexeme::Near(distance), _)) = self.peek().cloned() {
            self.pos += 1;
            if let Some((Lexeme::Not | Lexeme::Minus, span)) = self.peek() {
                return error(span.clone(), NEAR_SIDES);
            }
            let (right, right_span) = self.spanned_scoped()?;
            check_near_operand(&left, &left_span)?;
            check_near_operand(&right, &right_span)?;
            pairs.push(Expr::Near {
                left: Box::new(left),
                right: Box::new(right.clone()),
                distance,
            });
            left = right;
            left_span = right_span;
        }
        Ok(match pairs.len() {
            0 => left,
            1 => pairs.remove(0),
            _ => Expr::And(pairs),
        })
    }

    /// A scoped term and the span of query text it was parsed from.
    fn spanned_scoped(&mut self) -> Result<(Expr, Range<usize>), QueryError> {
        let start = self.here().start;
        let expr = self.scoped()?;
        let end = self.tokens[self.pos - 1].1.end;
        Ok((expr, start..end))
    }

    fn scoped(&mut self) -> Result<Expr, QueryError> {
        if let Some((Lexeme::Field(fields), _)) = self.peek().cloned() {
            self.pos += 1;
            let inner = self.scoped()?;
            return Ok(Expr::Field {
                fields,
                inner: Box::new(inner),
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let Some((lexeme, span)) = self.peek().cloned() else {
            return error(self.end..self.end, "expected a term at end of query");
        };
        self.pos += 1;
        match lexeme {
            Lexeme::Word(text) | Lexeme::Phrase(text) => words_expr(&text, span),
            Lexeme::Regex(pattern) => match regex::RegexBuilder::new(&pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(regex) => Ok(Expr::Regex { regex }),
                Err(e) => error(span, format!("invalid regex: {}", one_line(&e.to_string()))),
            },
            Lexeme::Alias(name) => Ok(Expr::Alias { name, span }),
            Lexeme::LParen => {
                let inner = self.or_expr()?;
                match self.peek() {
                    Some((Lexeme::RParen, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => error(span, "unclosed '('"),
                }
            }
            Lexeme::And | Lexeme::Or => error(span, "operator needs a term before it"),
            Lexeme::Near(_) => error(span, "NEAR needs a term on each side"),
            Lexeme::RParen => error(span, "unexpected ')'"),
            Lexeme::Not | Lexeme::Minus => error(
                span,
                "NOT cannot follow a field scope: write NOT title:word",
            ),
            Lexeme::Field(_) => unreachable!("consumed by scoped"),
        }
    }
}

/// NEAR compares positions, so its sides must be terms that have them.
fn check_near_operand(expr: &Expr, span: &Range<usize>) -> Result<(), QueryError> {
    let ok = match expr {
        Expr::Words { .. } | Expr::Alias { .. } => true,
        Expr::Field { inner, .. } => return check_near_operand(inner, span),
        Expr::Or(parts) => parts.iter().all(|p| check_near_operand(p, span).is_ok()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        error(span.clone(), NEAR_SIDES)
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact rendering of the tree, for readable assertions.
    fn show(e: &Expr) -> String {
        match e {
            Expr::Words { words, prefix, .. } => {
                format!("{}{}", words.join("_"), if *prefix { "*" } else { "" })
            }
            Expr::Regex { regex, .. } => format!("/{}/", regex.as_str()),
            Expr::Alias { name, .. } => format!("@{name}"),
            Expr::Field { fields, inner } => format!("f{}:{}", fields.0, show(inner)),
            Expr::And(p) => format!("AND({})", p.iter().map(show).collect::<Vec<_>>().join(" ")),
            Expr::Or(p) => format!("OR({})", p.iter().map(show).collect::<Vec<_>>().join(" ")),
            Expr::Not(i) => format!("NOT({})", show(i)),
            Expr::Near {
                left,
                right,
                distance,
            } => format!("NEAR{distance}({} {})", show(left), show(right)),
        }
    }

    fn parsed(src: &str) -> String {
        show(&parse(src).unwrap_or_else(|e| panic!("{src}: {e:?}")))
    }

    #[test]
    fn every_construct() {
        let cases = [
            ("ISIS", "isis"),
            (r#""Islamic State""#, "islamic_state"),
            ("explo*", "explo*"),
            (r#""islamic stat*""#, "islamic_stat*"),
            ("a b", "AND(a b)"),
            ("a AND b", "AND(a b)"),
            ("a OR b", "OR(a b)"),
            ("NOT a", "NOT(a)"),
            ("a -b", "AND(a NOT(b))"),
            ("(a OR b) c", "AND(OR(a b) c)"),
            ("a NEAR/5 b", "NEAR5(a b)"),
            ("a NEAR b", "NEAR10(a b)"),
            ("(a OR b) NEAR/3 \"c d\"", "NEAR3(OR(a b) c_d)"),
            ("a NEAR/2 b NEAR/4 c", "AND(NEAR2(a b) NEAR4(b c))"),
            ("title:a", "f1:a"),
            ("title:(a OR b)", "f1:OR(a b)"),
            ("author:\"Lea Martens\"", "f8:lea_martens"),
            (
                "category:x feed:y link:z summary:s content:c",
                "AND(f16:x f32:y f64:z f2:s f4:c)",
            ),
            ("/Al[- ]Shabaa?b/", "/Al[- ]Shabaa?b/"),
            ("/a\\/b/", "/a/b/"),
            ("@brussels blast", "AND(@brussels blast)"),
            ("Al-Shabab's", "al_shabab"),
            ("10:30", "10_30"),
            ("link:https://x.test/a", "f64:https_x_test_a"),
        ];
        for (src, want) in cases {
            assert_eq!(parsed(src), want, "{src}");
        }
    }

    #[test]
    fn precedence_near_not_and_or() {
        assert_eq!(parsed("a b OR c AND NOT d"), "OR(AND(a b) AND(c NOT(d)))");
        assert_eq!(parsed("NOT a NEAR b"), "NOT(NEAR10(a b))");
        assert_eq!(parsed("x a NEAR b"), "AND(x NEAR10(a b))");
        assert_eq!(parsed("title:a NEAR b"), "NEAR10(f1:a b)");
    }

    #[test]
    fn malformed_queries_say_what_and_where() {
        let cases: &[(&str, Range<usize>, &str)] = &[
            ("", 0..0, "empty query"),
            ("\"open", 0..5, "unterminated phrase"),
            ("(a OR b", 0..1, "unclosed '('"),
            ("a OR", 4..4, "expected a term at end of query"),
            ("a )", 2..3, "unmatched ')'"),
            ("OR a", 0..2, "operator needs a term before it"),
            ("a ... b", 2..5, "term has no letters or digits"),
            ("/abc", 0..4, "unterminated regex"),
            ("/[a-/", 0..5, "invalid regex"),
            ("x /[z-a]/", 2..9, "invalid regex"),
            ("@ x", 0..1, "'@' must be followed by an alias name"),
            ("a NEAR/x b", 2..8, "NEAR/n needs a distance"),
            ("(a b) NEAR c", 0..5, "NEAR sides must be"),
            ("a NEAR -b", 7..8, "NEAR sides must be"),
            ("NEAR a", 0..4, "NEAR needs a term on each side"),
            ("titel:brussels", 0..6, "unknown field 'titel:'"),
            (
                "title: brussels",
                0..6,
                "'title:' must be followed by a term",
            ),
            ("ex*plo", 0..6, "'*' is only allowed at the end of a word"),
            ("a*", 0..2, "a prefix needs at least 2 letters"),
            ("a - b", 2..3, "'-' must stand directly before a term"),
            ("title:-x", 6..7, "NOT cannot follow a field scope"),
        ];
        for (src, span, message) in cases {
            let err = parse(src).expect_err(src);
            assert!(err.message.contains(message), "{src}: {err:?}");
            assert_eq!(&err.span, span, "{src}: {err:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse(&deep).unwrap_err().message.contains("too complex"));
        assert!(
            parse(&"NOT ".repeat(100_000))
                .unwrap_err()
                .message
                .contains("too complex")
        );
    }

    #[test]
    fn regex_size_is_limited() {
        let err = parse("/(a{1000}){1000}/").unwrap_err();
        assert!(err.message.contains("invalid regex"), "{err:?}");
    }
}
