//! Word tokenising shared by the matcher and query parser, so that text and
//! queries are normalised the same way: words are runs of letters and digits,
//! compared lower-cased; everything else (spaces, hyphens, punctuation) splits.

use std::ops::Range;

/// One word of a text: its normalised form and where it sits in the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub norm: String,
    pub span: Range<usize>,
}

/// Splits `text` into normalised words with their byte ranges in `text`.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                tokens.push(token(text, s..i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push(token(text, s..text.len()));
    }
    tokens
}

fn token(text: &str, span: Range<usize>) -> Token {
    Token {
        norm: text[span.clone()].to_lowercase(),
        span,
    }
}

/// Normalised words of a query term, e.g. `Al-Shabab` → `["al", "shabab"]`.
pub fn words(text: &str) -> Vec<String> {
    tokenize(text).into_iter().map(|t| t.norm).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_punctuation_and_lowercases() {
        assert_eq!(
            words("Al-Shabab's attack, in BRUSSELS."),
            ["al", "shabab", "s", "attack", "in", "brussels"]
        );
    }

    #[test]
    fn spans_point_into_original_text() {
        let text = "Zaventem: blast";
        let tokens = tokenize(text);
        assert_eq!(&text[tokens[0].span.clone()], "Zaventem");
        assert_eq!(&text[tokens[1].span.clone()], "blast");
    }

    #[test]
    fn handles_multibyte_letters() {
        assert_eq!(words("Aéroport de Liège"), ["aéroport", "de", "liège"]);
    }
}
