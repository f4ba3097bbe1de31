//! Watch-rule queries: parsing the search-engine syntax into a [`Query`].
//!
//! Supported now: words, "quoted phrases", implicit AND between terms,
//! `AND`, `OR`, `NOT` / `-term` and parentheses, with NOT > AND > OR.
//! A word that normalises to several words (`Al-Shabab`) is a phrase.

use crate::text;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Consecutive normalised words (one word is a one-word phrase).
    Phrase(Vec<String>),
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
}

/// A query syntax error at a byte offset of the query text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub offset: usize,
    pub message: String,
}

pub fn parse(src: &str) -> Result<Query, QueryError> {
    let tokens = lex(src)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end: src.len(),
    };
    if parser.tokens.is_empty() {
        return Err(parser.error_here("empty query"));
    }
    let query = parser.or_expr()?;
    match parser.peek() {
        None => Ok(query),
        Some((Lexeme::RParen, _)) => Err(parser.error_here("unmatched ')'")),
        Some(_) => Err(parser.error_here("unexpected token")),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Lexeme {
    Word(String),
    Phrase(String),
    And,
    Or,
    Not,
    Minus,
    LParen,
    RParen,
}

fn lex(src: &str) -> Result<Vec<(Lexeme, Range<usize>)>, QueryError> {
    let mut out = Vec::new();
    let mut chars = src.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                let lexeme = if c == '(' {
                    Lexeme::LParen
                } else {
                    Lexeme::RParen
                };
                out.push((lexeme, start..start + 1));
            }
            '-' => {
                chars.next();
                out.push((Lexeme::Minus, start..start + 1));
            }
            '"' => {
                chars.next();
                let body_start = start + 1;
                let mut end = None;
                for (i, c) in chars.by_ref() {
                    if c == '"' {
                        end = Some(i);
                        break;
                    }
                }
                let Some(end) = end else {
                    return Err(QueryError {
                        offset: start,
                        message: "unterminated phrase: missing closing '\"'".into(),
                    });
                };
                out.push((
                    Lexeme::Phrase(src[body_start..end].to_string()),
                    start..end + 1,
                ));
            }
            _ => {
                let mut end = src.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                let word = &src[start..end];
                let lexeme = match word {
                    "AND" => Lexeme::And,
                    "OR" => Lexeme::Or,
                    "NOT" => Lexeme::Not,
                    _ => Lexeme::Word(word.to_string()),
                };
                out.push((lexeme, start..end));
            }
        }
    }
    Ok(out)
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

    fn error_here(&self, message: &str) -> QueryError {
        QueryError {
            offset: self.peek().map_or(self.end, |(_, span)| span.start),
            message: message.to_string(),
        }
    }

    fn or_expr(&mut self) -> Result<Query, QueryError> {
        let mut terms = vec![self.and_expr()?];
        while matches!(self.peek(), Some((Lexeme::Or, _))) {
            self.pos += 1;
            terms.push(self.and_expr()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Query::Or(terms)
        })
    }

    fn and_expr(&mut self) -> Result<Query, QueryError> {
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
            Query::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        if matches!(self.peek(), Some((Lexeme::Not | Lexeme::Minus, _))) {
            self.pos += 1;
            return Ok(Query::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        let Some((lexeme, span)) = self.peek().cloned() else {
            return Err(self.error_here("expected a term at end of query"));
        };
        match lexeme {
            Lexeme::Word(text) | Lexeme::Phrase(text) => {
                let words = text::words(&text);
                if words.is_empty() {
                    return Err(QueryError {
                        offset: span.start,
                        message: "term has no letters or digits".into(),
                    });
                }
                self.pos += 1;
                Ok(Query::Phrase(words))
            }
            Lexeme::LParen => {
                self.pos += 1;
                let inner = self.or_expr()?;
                match self.peek() {
                    Some((Lexeme::RParen, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(QueryError {
                        offset: span.start,
                        message: "unclosed '('".into(),
                    }),
                }
            }
            Lexeme::And | Lexeme::Or => Err(self.error_here("operator needs a term before it")),
            Lexeme::RParen => Err(self.error_here("unexpected ')'")),
            Lexeme::Not | Lexeme::Minus => unreachable!("handled by unary"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase(words: &[&str]) -> Query {
        Query::Phrase(words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn or_of_word_and_phrase() {
        assert_eq!(
            parse(r#"ISIS OR "Islamic State""#).unwrap(),
            Query::Or(vec![phrase(&["isis"]), phrase(&["islamic", "state"])])
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            parse("a b OR c AND NOT d").unwrap(),
            Query::Or(vec![
                Query::And(vec![phrase(&["a"]), phrase(&["b"])]),
                Query::And(vec![phrase(&["c"]), Query::Not(Box::new(phrase(&["d"])))]),
            ])
        );
    }

    #[test]
    fn hyphenated_word_is_a_phrase() {
        assert_eq!(parse("Al-Shabab").unwrap(), phrase(&["al", "shabab"]));
        assert_eq!(
            parse("-spam").unwrap(),
            Query::Not(Box::new(phrase(&["spam"])))
        );
    }

    #[test]
    fn errors_carry_offsets() {
        let cases = [
            ("", 0, "empty query"),
            ("\"open", 0, "unterminated"),
            ("(a OR b", 0, "unclosed '('"),
            ("a OR", 4, "expected a term"),
            ("a )", 2, "unmatched ')'"),
            ("OR a", 0, "operator needs a term"),
            ("a ... b", 2, "no letters"),
        ];
        for (src, offset, message) in cases {
            let err = parse(src).unwrap_err();
            assert_eq!(err.offset, offset, "{src}: {err:?}");
            assert!(err.message.contains(message), "{src}: {err:?}");
        }
    }
}
