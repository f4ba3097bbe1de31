//! HTML to plain text for matching and excerpts: block elements become line
//! breaks, scripts and styles are dropped, entities are decoded (by the
//! html5gum tokenizer) and whitespace is collapsed.

use html5gum::emitters::callback::{CallbackEmitter, CallbackEvent};
use html5gum::{Span, Tokenizer};
use std::convert::Infallible;

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
    // Markup-free text (most titles) needs no tokenizer.
    if !html.contains(['<', '&']) {
        return collapse_whitespace(html);
    }
    fast_to_text(html).unwrap_or_else(|| tokenized_to_text(html))
}

/// The spec-compliant path: html5gum's tokenizer. Any HTML, at ~150 MB/s.
fn tokenized_to_text(html: &str) -> String {
    let mut out = TextBuilder::with_capacity(html.len());
    let mut hidden_depth = 0usize;
    let mut opening_hidden = false;
    let mut opening_raw = false;
    // html5gum's callback emitter lends each name and string instead of
    // allocating tokens; attributes are skipped.
    let mut emitter = CallbackEmitter::new(
        |event: CallbackEvent<'_>, _: Span<()>| -> Option<Infallible> {
            match event {
                CallbackEvent::OpenStartTag { name } => {
                    opening_raw = RAW.contains(&name);
                    if HIDDEN.contains(&name) {
                        opening_hidden = true;
                    } else if BLOCKS.contains(&name) {
                        out.line_break();
                    }
                }
                CallbackEvent::CloseStartTag { self_closing } => {
                    // `<script/>` still starts script text (the tokenizer
                    // switches state on the name); other hidden elements
                    // need a real start tag.
                    if opening_hidden && (!self_closing || opening_raw) {
                        hidden_depth += 1;
                    }
                    opening_hidden = false;
                }
                CallbackEvent::EndTag { name } => {
                    if HIDDEN.contains(&name) {
                        hidden_depth = hidden_depth.saturating_sub(1);
                    } else if BLOCKS.contains(&name) {
                        out.line_break();
                    }
                }
                CallbackEvent::String { value } if hidden_depth == 0 => {
                    out.push(&String::from_utf8_lossy(value));
                }
                _ => {}
            }
            None
        },
    );
    // Puts <script>/<style> bodies in raw-text state so `a<b` inside them is not a tag.
    emitter.naively_switch_states(true);
    for _ in Tokenizer::new_with_emitter(html, emitter) {}
    out.text
}

/// The fast path for the HTML news feeds carry (tags with quoted or plain
/// attributes, comments, scripts and styles, entities with their `;`), at
/// several times the tokenizer's speed. It gives up (`None`) on anything it
/// does not read exactly as the tokenizer would: CDATA, doctypes, processing
/// instructions, RCDATA elements such as `<title>`, an entity without `;`
/// or outside the common ones, NUL bytes, unterminated tags. A property test holds the two
/// paths to the same output.
fn fast_to_text(html: &str) -> Option<String> {
    let bytes = html.as_bytes();
    if memchr::memchr(0, bytes).is_some() {
        return None;
    }
    let mut out = TextBuilder::with_capacity(html.len());
    let mut at = 0;
    while let Some(found) = memchr::memchr2(b'<', b'&', &bytes[at..]) {
        let mark = at + found;
        out.push(&html[at..mark]);
        at = if bytes[mark] == b'&' {
            let (text, next) = entity(html, mark)?;
            out.push(text.as_deref().unwrap_or("&"));
            next
        } else {
            markup(html, mark, &mut out)?
        };
    }
    out.push(&html[at..]);
    Some(out.text)
}

/// Reads the character reference at `at` (an `&`): its text (`None` for a
/// lone `&`) and where the text resumes.
fn entity(html: &str, at: usize) -> Option<(Option<std::borrow::Cow<'static, str>>, usize)> {
    let rest = &html[at + 1..];
    let bytes = rest.as_bytes();
    if let Some(digits) = rest.strip_prefix('#') {
        let (hex, digits) = match digits.strip_prefix(['x', 'X']) {
            Some(d) => (true, d),
            None => (false, digits),
        };
        let len = digits
            .bytes()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if len == 0 || len > 6 || digits.as_bytes().get(len) != Some(&b';') {
            return None;
        }
        let code = u32::from_str_radix(&digits[..len], if hex { 16 } else { 10 }).ok()?;
        // NUL, C1 controls (read as windows-1252), surrogates: the tokenizer's rules.
        if code == 0
            || (0x80..=0x9f).contains(&code)
            || code < 0x20 && code != 0x09 && code != 0x0a && code != 0x0c && code != 0x0d
        {
            return None;
        }
        let c = char::from_u32(code)?;
        let consumed = 1 + usize::from(hex) + len + 1;
        return Some((Some(c.to_string().into()), at + 1 + consumed));
    }
    let len = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if len == 0 {
        // "a & b": a lone ampersand is text.
        return Some((None, at + 1));
    }
    if bytes.get(len) != Some(&b';') {
        // "&copy" without ";" is still an entity to the tokenizer; leave it to it.
        return None;
    }
    let text = common_entity(&rest[..len])?;
    Some((Some(text.into()), at + 1 + len + 1))
}

/// The named entities news HTML uses most; any other name goes to the
/// tokenizer (a test checks each against html5gum's WHATWG table).
fn common_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "rsquo" => "\u{2019}",
        "lsquo" => "\u{2018}",
        "rdquo" => "\u{201d}",
        "ldquo" => "\u{201c}",
        "sbquo" => "\u{201a}",
        "bdquo" => "\u{201e}",
        "laquo" => "\u{ab}",
        "raquo" => "\u{bb}",
        "mdash" => "\u{2014}",
        "ndash" => "\u{2013}",
        "hellip" => "\u{2026}",
        "bull" => "\u{2022}",
        "middot" => "\u{b7}",
        "copy" => "\u{a9}",
        "reg" => "\u{ae}",
        "trade" => "\u{2122}",
        "deg" => "\u{b0}",
        "euro" => "\u{20ac}",
        "pound" => "\u{a3}",
        "eacute" => "\u{e9}",
        "Eacute" => "\u{c9}",
        "egrave" => "\u{e8}",
        "ecirc" => "\u{ea}",
        "euml" => "\u{eb}",
        "aacute" => "\u{e1}",
        "agrave" => "\u{e0}",
        "acirc" => "\u{e2}",
        "auml" => "\u{e4}",
        "aring" => "\u{e5}",
        "iacute" => "\u{ed}",
        "iuml" => "\u{ef}",
        "oacute" => "\u{f3}",
        "ocirc" => "\u{f4}",
        "ouml" => "\u{f6}",
        "uacute" => "\u{fa}",
        "ucirc" => "\u{fb}",
        "uuml" => "\u{fc}",
        "ccedil" => "\u{e7}",
        "ntilde" => "\u{f1}",
        "szlig" => "\u{df}",
        _ => return None,
    })
}

/// Reads the markup at `at` (a `<`) into `out`; returns where text resumes.
fn markup(html: &str, at: usize, out: &mut TextBuilder) -> Option<usize> {
    let bytes = html.as_bytes();
    match bytes.get(at + 1) {
        Some(b'!') => {
            let rest = &html[at..];
            if !rest.starts_with("<!--") || rest.starts_with("<!-->") || rest.starts_with("<!--->")
            {
                return None;
            }
            let end = memchr::memmem::find(&bytes[at + 4..], b"-->")?;
            // "--!>" also ends a comment; leave such comments to the tokenizer.
            if memchr::memmem::find(&bytes[at + 4..at + 4 + end], b"--!").is_some() {
                return None;
            }
            Some(at + 4 + end + 3)
        }
        Some(b'/') => {
            let name_len = tag_name_len(&bytes[at + 2..]);
            if name_len == 0 || !bytes[at + 2].is_ascii_alphabetic() {
                return None;
            }
            let name = &bytes[at + 2..at + 2 + name_len];
            let end = tag_end(bytes, at + 2 + name_len)?;
            if in_list(HIDDEN, name) {
                return None;
            }
            if in_list(BLOCKS, name) {
                out.line_break();
            }
            Some(end)
        }
        Some(c) if c.is_ascii_alphabetic() => {
            let name_len = tag_name_len(&bytes[at + 1..]);
            let name = &bytes[at + 1..at + 1 + name_len];
            let end = tag_end(bytes, at + 1 + name_len)?;
            if in_list(SPECIAL, name) {
                return None;
            }
            if in_list(RAW, name) {
                // Skip the element's text up to its end tag (self-closing or not).
                let close = find_end_tag(bytes, end, name)?;
                // In a script, "<!--" starts escaped states in which
                // "</script>" may not end it: the tokenizer's business.
                if name.eq_ignore_ascii_case(b"script")
                    && memchr::memmem::find(&bytes[end..close], b"<!--").is_some()
                {
                    return None;
                }
                return Some(close);
            }
            if in_list(BLOCKS, name) {
                out.line_break();
            }
            Some(end)
        }
        // "3 < 4": a `<` that starts no tag is text.
        Some(c) if c.is_ascii_whitespace() || c.is_ascii_digit() || *c == b'=' => {
            out.push("<");
            Some(at + 1)
        }
        _ => None,
    }
}

/// Elements whose content the tokenizer reads as raw text; we skip them.
const RAW: &[&[u8]] = &[b"script", b"style"];
/// Elements the fast path leaves to the tokenizer (other text states, or
/// hidden content that is not raw text).
const SPECIAL: &[&[u8]] = &[
    b"title",
    b"textarea",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
    b"noscript",
    b"plaintext",
    b"template",
    b"head",
    b"svg",
    b"math",
];

fn in_list(list: &[&[u8]], name: &[u8]) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn tag_name_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b':')
        .count()
}

/// The offset after the `>` closing a tag whose name ends at `from`, with
/// attribute values in quotes skipped; `None` where the tokenizer might read
/// the tag differently.
fn tag_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    match bytes.get(i) {
        Some(b'>') => return Some(i + 1),
        Some(b) if b.is_ascii_whitespace() || *b == b'/' => {}
        _ => return None,
    }
    // Quotes open a value only right after `name=` (whitespace allowed
    // around the `=`); anywhere else the tokenizer reads them differently.
    let (mut named, mut after_equals) = (false, false);
    while let Some(&b) = bytes.get(i) {
        match b {
            b'>' => return Some(i + 1),
            b'"' | b'\'' if after_equals => {
                let close = memchr::memchr(b, &bytes[i + 1..])?;
                i += close + 2;
                (named, after_equals) = (false, false);
                continue;
            }
            b'=' if named && !after_equals => after_equals = true,
            b'=' | b'<' | b'"' | b'\'' | b'`' => return None,
            b'/' => (named, after_equals) = (false, false),
            b if b.is_ascii_whitespace() => {}
            // An unquoted value, or a name.
            _ => {
                named = !after_equals;
                after_equals = false;
            }
        }
        i += 1;
    }
    None
}

/// The offset after `</name ...>` from `from` on (ASCII case-insensitive).
fn find_end_tag(bytes: &[u8], from: usize, name: &[u8]) -> Option<usize> {
    let mut i = from;
    while let Some(found) = memchr::memmem::find(&bytes[i..], b"</") {
        let start = i + found + 2;
        let candidate = bytes.get(start..start + name.len())?;
        let next = bytes.get(start + name.len());
        if candidate.eq_ignore_ascii_case(name)
            && matches!(next, Some(b) if b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        {
            return tag_end(bytes, start + name.len());
        }
        i = start;
    }
    None
}

/// Collapses runs of whitespace to one space; trims both ends.
pub(crate) fn collapse_whitespace(text: &str) -> String {
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
    fn with_capacity(bytes: usize) -> TextBuilder {
        TextBuilder {
            text: String::with_capacity(bytes),
            ..TextBuilder::default()
        }
    }

    fn push(&mut self, s: &str) {
        let mut rest = s;
        while !rest.is_empty() {
            // Copy each run of visible characters in one go.
            let run = rest
                .find(|c: char| c.is_whitespace() || c.is_control())
                .unwrap_or(rest.len());
            if run > 0 {
                if !self.text.is_empty() {
                    if self.pending_break {
                        self.text.push('\n');
                    } else if self.pending_space {
                        self.text.push(' ');
                    }
                }
                self.pending_space = false;
                self.pending_break = false;
                self.text.push_str(&rest[..run]);
                rest = &rest[run..];
            }
            let blank = rest
                .find(|c: char| !(c.is_whitespace() || c.is_control()))
                .unwrap_or(rest.len());
            if blank > 0 {
                self.pending_space = true;
                rest = &rest[blank..];
            }
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
    fn fast_path_reads_what_the_tokenizer_reads() {
        let html = "<div class=\"story\" data-x='a>b'><p>Two <a href=\"/x?a=1&amp;b=2\">blasts</a> &amp; a &lt;fire&gt; at Li&egrave;ge&#39;s &#x2014; airport.</p>\
                    <!-- ad --><script>if (a<b) {}</script><STYLE>p{}</STYLE><br/>3 < 4 and AT & T<img src=x alt=\"y\"></div>";
        let fast = fast_to_text(html).expect("the fast path reads this");
        assert_eq!(fast, tokenized_to_text(html));
        assert_eq!(
            fast,
            "Two blasts & a <fire> at Liège's — airport.\n3 < 4 and AT & T"
        );
        for odd in [
            "&copy 2026",
            "<![CDATA[x]]>",
            "<title>a</title>",
            "<!DOCTYPE html>",
            "a\0b",
            "<a href=\"x>",
            "<a =\"x>\">Hi",
            "<!-- a --!> b -->c",
            "</1 a=\">\">x",
            "<a b=c=\">\">",
            "&Scaron;",
            "<script><!--<script></script>&amp;",
        ] {
            assert_eq!(fast_to_text(odd), None, "{odd}");
            // The tokenizer still reads it.
            let _ = to_text(odd);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Whatever the fast path accepts, it reads exactly as html5gum does.
        #[test]
        fn fast_path_agrees_with_the_tokenizer(parts in proptest::collection::vec(0usize..FRAGMENTS.len(), 0..24)) {
            let html: String = parts.iter().map(|&i| FRAGMENTS[i]).collect();
            if let Some(fast) = fast_to_text(&html) {
                proptest::prop_assert_eq!(fast, tokenized_to_text(&html), "{}", html);
            }
        }
    }

    #[test]
    fn common_entities_are_the_whatwg_ones() {
        for name in [
            "amp", "lt", "gt", "quot", "apos", "nbsp", "rsquo", "lsquo", "rdquo", "ldquo", "sbquo",
            "bdquo", "laquo", "raquo", "mdash", "ndash", "hellip", "bull", "middot", "copy", "reg",
            "trade", "deg", "euro", "pound", "eacute", "Eacute", "egrave", "ecirc", "euml",
            "aacute", "agrave", "acirc", "auml", "aring", "iacute", "iuml", "oacute", "ocirc",
            "ouml", "uacute", "ucirc", "uuml", "ccedil", "ntilde", "szlig",
        ] {
            let html = format!("x&{name};y");
            assert_eq!(
                fast_to_text(&html),
                Some(tokenized_to_text(&html)),
                "&{name};"
            );
        }
    }

    #[test]
    fn self_closing_script_hides_what_follows_in_both_paths() {
        let html = "a<script/>hidden</script> b";
        assert_eq!(tokenized_to_text(html), "a b");
        assert_eq!(fast_to_text(html).as_deref(), Some("a b"));
    }

    /// The property above is only as good as the share of inputs the fast
    /// path takes: most generated documents must reach it.
    #[test]
    fn fast_path_takes_most_generated_html() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut taken = 0;
        for _ in 0..1000 {
            let html: String = (0..rng.usize(0..12))
                .map(|_| COMMON[rng.usize(..COMMON.len())])
                .collect();
            if let Some(fast) = fast_to_text(&html) {
                assert_eq!(fast, tokenized_to_text(&html), "{html}");
                taken += 1;
            }
        }
        assert!(taken > 600, "fast path took {taken} of 1000");
    }

    /// Fragments of ordinary feed HTML.
    const COMMON: &[&str] = &[
        "text ",
        "Zaventem",
        " ",
        "\n",
        "<p>",
        "</p>",
        "<div class=\"a b\">",
        "</div>",
        "<b>",
        "</b>",
        "<br>",
        "<a href='x'>",
        "</a>",
        "&amp;",
        "&eacute;",
        "&#233;",
        "<!-- c -->",
        "<script>x<y</script>",
        "<li>",
        "</li>",
        "<em>",
        "</em>",
        "3 < 4",
    ];

    const FRAGMENTS: &[&str] = &[
        "text ",
        "Zaventem",
        " ",
        "\n",
        "<p>",
        "</p>",
        "<div class=\"a b\">",
        "</div>",
        "<b>",
        "</b>",
        "<br>",
        "<br/>",
        "<a href='x'>",
        "</a>",
        "<img src=x alt=\"a > b\">",
        "&amp;",
        "&lt;",
        "&eacute;",
        "&#233;",
        "&#x27;",
        "&#0;",
        "&#150;",
        "&nosuch;",
        "&copy",
        "& ",
        "<",
        "< ",
        ">",
        "<!-- c -->",
        "<!--",
        "-->",
        "<script>",
        "</script>",
        "x<y",
        "<style>p{}</style>",
        "<li>",
        "</li>",
        "<h2>",
        "<td>",
        "<SPAN>",
        "</Span>",
        "\"",
        "'",
        "=",
        "<input disabled>",
        "<x-y>",
        "</>",
        "<?php ?>",
        "<!DOCTYPE html>",
        "<title>t</title>",
        "é",
        "\t",
        "\r\n",
        "<a b=\"c\"d>",
        "<a b=c'd>",
        "</p foo=\">\">",
        "<a =\"x>\">",
        "<!-- a --!>",
        "</1>",
        "<a b=c=\"d\">",
        "<script/>",
        "&rsquo;",
        "&Scaron;",
        "<a / b='>'>",
        "<!--<script>",
    ];

    #[test]
    fn broken_markup_still_yields_text() {
        assert_eq!(to_text("<div><b>unclosed <i>tags"), "unclosed tags");
    }
}
