//! HTML to plain text for matching and excerpts: block elements become line
//! breaks, scripts and styles are dropped, entities are decoded (by the
//! html5gum tokenizer) and whitespace is collapsed.

use html5gum::{DefaultEmitter, Token, Tokenizer};

/// Elements whose start or end begins a new line of text.
const BLOCKS: &[&[u8]] = &[
    b"address",
    b"article",
    b"aside",
    b"blockquote",
    b"br",
    b"dd",
    b"div",
    b"dl",
    b"dt",
    b"figcaption",
    b"figure",
    b"footer",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"header",
    b"hr",
    b"li",
    b"main",
    b"nav",
    b"ol",
    b"p",
    b"pre",
    b"section",
    b"table",
    b"td",
    b"th",
    b"tr",
    b"ul",
];

/// Elements whose text is never shown to a reader.
const HIDDEN: &[&[u8]] = &[b"script", b"style", b"template", b"noscript", b"head"];

/// Converts an HTML fragment or document to plain text.
pub fn to_text(html: &str) -> String {
    let mut emitter = DefaultEmitter::default();
    // Puts <script>/<style> bodies in raw-text state so `a<b` inside them is not a tag.
    emitter.naively_switch_states(true);
    let mut out = TextBuilder::default();
    let mut hidden_depth = 0usize;
    for token in Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name: &[u8] = &tag.name;
                if HIDDEN.contains(&name) && !tag.self_closing {
                    hidden_depth += 1;
                } else if BLOCKS.contains(&name) {
                    out.line_break();
                }
            }
            Token::EndTag(tag) => {
                let name: &[u8] = &tag.name;
                if HIDDEN.contains(&name) {
                    hidden_depth = hidden_depth.saturating_sub(1);
                } else if BLOCKS.contains(&name) {
                    out.line_break();
                }
            }
            Token::String(s) if hidden_depth == 0 => out.push(&String::from_utf8_lossy(&s)),
            _ => {}
        }
    }
    out.text
}

/// Collapses runs of whitespace to one space; trims both ends.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = TextBuilder::default();
    out.push(text);
    out.text
}

/// Accumulates text, collapsing whitespace and line breaks as it goes.
#[derive(Default)]
struct TextBuilder {
    text: String,
    pending_space: bool,
    pending_break: bool,
}

impl TextBuilder {
    fn push(&mut self, s: &str) {
        for c in s.chars() {
            if c.is_whitespace() || c.is_control() {
                self.pending_space = true;
                continue;
            }
            if !self.text.is_empty() {
                if self.pending_break {
                    self.text.push('\n');
                } else if self.pending_space {
                    self.text.push(' ');
                }
            }
            self.pending_space = false;
            self.pending_break = false;
            self.text.push(c);
        }
    }

    fn line_break(&mut self) {
        self.pending_break = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_lines_and_entities_decode() {
        let html = "<p>Two blasts at <b>Zaventem</b>&nbsp;airport.</p><p>Caf&eacute; closed &amp; empty</p>";
        assert_eq!(
            to_text(html),
            "Two blasts at Zaventem airport.\nCafé closed & empty"
        );
    }

    #[test]
    fn scripts_and_styles_are_dropped() {
        let html = "before<script>if (a<b) { alert('x') }</script><style>p{}</style> after";
        assert_eq!(to_text(html), "before after");
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(collapse_whitespace("  a \n\t b  "), "a b");
    }

    #[test]
    fn broken_markup_still_yields_text() {
        assert_eq!(to_text("<div><b>unclosed <i>tags"), "unclosed tags");
    }
}
