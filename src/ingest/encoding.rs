//! Character encoding of feed bytes: BOM > HTTP `charset` > XML declaration >
//! UTF-8, decoded the way browsers do (encoding_rs). A document that claims
//! UTF-8 but is not valid UTF-8 is read as windows-1252, the usual truth of
//! such feeds. Never rejects a feed: at worst a character becomes U+FFFD.

use super::ebcdic;
use encoding_rs::{Encoding, REPLACEMENT, UTF_8, WINDOWS_1252};
use std::borrow::Cow;

/// Feed bytes as UTF-8, with any XML declaration saying so, ready for the
/// parser. Valid UTF-8 without a BOM or foreign declaration is not copied.
pub(crate) fn to_utf8<'a>(
    bytes: &'a [u8],
    http_charset: Option<&str>,
    warnings: &mut Vec<String>,
) -> Cow<'a, [u8]> {
    let text = decode(bytes, http_charset, warnings);
    let text = match (needs_cleaning(text.as_bytes()), text) {
        (false, Cow::Borrowed(text)) => return Cow::Borrowed(text.as_bytes()),
        (true, text) => Cow::Owned(clean(&text, warnings)),
        (false, text) => text,
    };
    // Said once, last: dropping NULs can join an `encoding` label that was
    // split ("encodi\0ng").
    Cow::Owned(declare_utf8(&text).into_bytes())
}

/// The document as text: borrowed when it is already UTF-8 and says so (or
/// nothing), else transcoded.
fn decode<'a>(
    bytes: &'a [u8],
    http_charset: Option<&str>,
    warnings: &mut Vec<String>,
) -> Cow<'a, str> {
    if let Some((wide, bom)) = sniff_wide(bytes) {
        warnings.push(format!("decoded from {}", wide.name()));
        return Cow::Owned(wide.decode(&bytes[bom..]));
    }
    if ebcdic::looks_like_ebcdic(bytes) {
        // The declaration is ASCII-range text, readable in any of the pages.
        let head = ebcdic::decode(&bytes[..bytes.len().min(256)], None);
        let label = xml_declared_encoding(head.as_bytes()).map(str::to_string);
        warnings.push(format!(
            "decoded from EBCDIC ({})",
            label.as_deref().unwrap_or("code page 037")
        ));
        return Cow::Owned(ebcdic::decode(bytes, label.as_deref()));
    }
    let declared = xml_declared_encoding(bytes);
    // A declaration we could read as ASCII means an 8-bit document, whatever
    // it says (a "UTF-16" declaration without a BOM is wrong by definition).
    let from_declaration = declared
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .map(Encoding::output_encoding);
    // A BOM is the surest sign (browsers let it win too), then the server's
    // word, then the document's. Labels that decode to nothing are ignored.
    let usable = |e: &&'static Encoding| *e != REPLACEMENT;
    let encoding = Encoding::for_bom(bytes)
        .map(|(e, _)| e)
        .or_else(|| {
            http_charset
                .and_then(|label| Encoding::for_label(label.trim().as_bytes()))
                .filter(usable)
        })
        .or(from_declaration.filter(usable))
        .unwrap_or(UTF_8);
    let bom_len = Encoding::for_bom(bytes).map_or(0, |(_, len)| len);
    let body = &bytes[bom_len..];
    if encoding == UTF_8 && bom_len == 0 {
        let declared_utf8 =
            declared.is_none_or(|d| Encoding::for_label(d.as_bytes()) == Some(UTF_8));
        if let (true, Ok(text)) = (declared_utf8, std::str::from_utf8(body)) {
            return Cow::Borrowed(text);
        }
    }
    let (text, had_errors) = encoding.decode_without_bom_handling(body);
    let text = if had_errors && encoding == UTF_8 {
        warnings.push("not valid UTF-8 as declared; read as windows-1252".into());
        WINDOWS_1252.decode_without_bom_handling(body).0
    } else {
        if had_errors {
            warnings.push(format!(
                "bytes invalid in {} replaced by U+FFFD",
                encoding.name()
            ));
        }
        if encoding != UTF_8 {
            warnings.push(format!("decoded from {}", encoding.name()));
        }
        text
    };
    // Owned, so the declaration is rewritten to UTF-8 even when the text
    // was pure ASCII (which encoding_rs lends back unchanged).
    Cow::Owned(text.into_owned())
}

/// UTF-16 and UTF-32, with or without a BOM, told by where the zero bytes of
/// the first character fall (XML 1.0 appendix F; feedparser does the same).
/// encoding_rs reads UTF-16 only after a BOM and has no UTF-32.
#[derive(Clone, Copy)]
enum Wide {
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

impl Wide {
    fn name(self) -> &'static str {
        match self {
            Wide::Utf16Le => "UTF-16LE",
            Wide::Utf16Be => "UTF-16BE",
            Wide::Utf32Le => "UTF-32LE",
            Wide::Utf32Be => "UTF-32BE",
        }
    }

    fn decode(self, body: &[u8]) -> String {
        match self {
            Wide::Utf16Le => encoding_rs::UTF_16LE
                .decode_without_bom_handling(body)
                .0
                .into_owned(),
            Wide::Utf16Be => encoding_rs::UTF_16BE
                .decode_without_bom_handling(body)
                .0
                .into_owned(),
            Wide::Utf32Le | Wide::Utf32Be => body
                .chunks(4)
                .map(|c| {
                    let mut unit = [0u8; 4];
                    unit[..c.len()].copy_from_slice(c);
                    let code = match self {
                        Wide::Utf32Le => u32::from_le_bytes(unit),
                        _ => u32::from_be_bytes(unit),
                    };
                    char::from_u32(code).unwrap_or('\u{fffd}')
                })
                .collect(),
        }
    }
}

/// The wide encoding of a document and the length of its BOM, if it is one.
fn sniff_wide(bytes: &[u8]) -> Option<(Wide, usize)> {
    let head: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some(match head {
        [0, 0, 0xfe, 0xff] => (Wide::Utf32Be, 4),
        [0xff, 0xfe, 0, 0] => (Wide::Utf32Le, 4),
        [0, 0, 0, a] if a != 0 => (Wide::Utf32Be, 0),
        [a, 0, 0, 0] if a != 0 => (Wide::Utf32Le, 0),
        // A BOM-less first character: "<" or whitespace, then another.
        [0, a, 0, _] if a != 0 && a < 0x80 => (Wide::Utf16Be, 0),
        [a, 0, _, 0] if a != 0 && a < 0x80 => (Wide::Utf16Le, 0),
        _ => return None,
    })
}

/// Whether decoded text holds NULs or C1 controls (see [`clean`]).
fn needs_cleaning(bytes: &[u8]) -> bool {
    memchr::memchr(0, bytes).is_some()
        || memchr::memchr_iter(0xc2, bytes)
            .any(|i| bytes.get(i + 1).is_some_and(|b| (0x80..=0x9f).contains(b)))
}

/// Drops NULs (never legal in XML; they also make quick-xml guess UTF-16 and
/// panic) and reads C1 controls U+0080–U+009F as the windows-1252 characters
/// they nearly always are (a "’" double-encoded as U+0092), as browsers and
/// feedparser do.
fn clean(text: &str, warnings: &mut Vec<String>) -> String {
    if text.contains('\0') {
        warnings.push("NUL characters removed".into());
    }
    text.chars()
        .filter(|c| *c != '\0')
        .map(c1_as_windows_1252)
        .collect()
}

/// A C1 control character (U+0080–U+009F) as the windows-1252 character its
/// code stands for; any other character as it is.
fn c1_as_windows_1252(c: char) -> char {
    match u8::try_from(u32::from(c)) {
        Ok(byte @ 0x80..=0x9f) => WINDOWS_1252
            .decode_without_bom_handling(&[byte])
            .0
            .chars()
            .next()
            .unwrap_or(c),
        _ => c,
    }
}

/// Text with C1 controls read as windows-1252, as an HTML reader reads
/// `&#146;` (an XML character reference gives U+0092 itself).
pub(crate) fn demoronize(text: &str) -> Cow<'_, str> {
    if needs_cleaning(text.as_bytes()) {
        Cow::Owned(text.chars().map(c1_as_windows_1252).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// The `encoding="…"` of an XML declaration at the start of the document.
fn xml_declared_encoding(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(&bytes[declared_label(bytes)?]).ok()
}

/// Where the `encoding` value of the document's XML declaration lies. The
/// declaration starts near the top but may be long: one quick-xml cannot read
/// as UTF-8 must be found whatever its length, or quick-xml panics switching
/// encodings mid-stream (found by fuzzing). Read as bytes: a declaration may
/// hold bytes that are not UTF-8.
fn declared_label(bytes: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = memchr::memmem::find(&bytes[..bytes.len().min(256)], b"<?xml")?;
    let limit = bytes.len().min(start + 64 * 1024);
    let end = start + memchr::memmem::find(&bytes[start..limit], b"?>")?;
    let decl = &bytes[..end];
    let mut at = start + memchr::memmem::find(&decl[start..], b"encoding")? + "encoding".len();
    let skip_space = |at: &mut usize| {
        while decl.get(*at).is_some_and(u8::is_ascii_whitespace) {
            *at += 1;
        }
    };
    skip_space(&mut at);
    (decl.get(at) == Some(&b'=')).then_some(())?;
    at += 1;
    skip_space(&mut at);
    let quote = *decl.get(at).filter(|q| **q == b'"' || **q == b'\'')?;
    let value = at + 1;
    let len = decl[value..].iter().position(|&b| b == quote)?;
    Some(value..value + len)
}

/// Rewrites the XML declaration's encoding to UTF-8 (the text now is).
fn declare_utf8(text: &str) -> String {
    match declared_label(text.as_bytes()) {
        // The range lies between ASCII quotes: both ends are char boundaries.
        Some(label) => format!("{}UTF-8{}", &text[..label.start], &text[label.end..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8(bytes: &[u8], charset: Option<&str>) -> String {
        String::from_utf8(to_utf8(bytes, charset, &mut Vec::new()).into_owned()).unwrap()
    }

    #[test]
    fn valid_utf8_is_passed_through() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>Liège</rss>".as_bytes();
        assert!(matches!(
            to_utf8(doc, None, &mut Vec::new()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn declared_latin1_is_transcoded_and_redeclared() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss>Li\xe8ge</rss>";
        assert_eq!(
            utf8(doc, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>Liège</rss>"
        );
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252() {
        let doc = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>Li\xe8ge \x93quoted\x94</rss>";
        assert_eq!(
            utf8(doc, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>Liège “quoted”</rss>"
        );
    }

    #[test]
    fn http_charset_wins_over_the_declaration() {
        let doc = b"<?xml version='1.0' encoding='utf-8'?><rss>Li\xe8ge</rss>";
        assert_eq!(
            utf8(doc, Some("windows-1252")),
            "<?xml version='1.0' encoding='UTF-8'?><rss>Liège</rss>"
        );
    }

    #[test]
    fn bom_beats_a_wrong_http_charset_and_unusable_labels_are_ignored() {
        assert_eq!(utf8(b"\xff\xfe<\x00r\x00>\x00", Some("utf-8")), "<r>");
        assert_eq!(
            utf8(
                b"<?xml version='1.0' encoding='ISO-2022-KR'?><r>x</r>",
                None
            ),
            "<?xml version='1.0' encoding='UTF-8'?><r>x</r>"
        );
    }

    #[test]
    fn bom_decides_without_a_declaration() {
        let doc = b"\xff\xfe<\x00r\x00s\x00s\x00>\x00";
        assert_eq!(utf8(doc, None), "<rss>");
        assert_eq!(
            utf8(b"\xef\xbb\xbf<rss>\xc3\xa9</rss>", None),
            "<rss>é</rss>"
        );
    }
}
