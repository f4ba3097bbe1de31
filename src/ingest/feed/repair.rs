//! The last resort for a malformed document, after per-entry recovery: the
//! document is re-written as well-formed XML the way a browser repairs HTML.
//! quick-xml reads it leniently (end tags need not match, a bare `&` is
//! text); end tags close what they match and anything opened inside it, stray
//! end tags go, bare `&` and unknown entities become text, and whatever is
//! still open at the end is closed. An `<item>` or `<entry>` still open at the
//! end was cut short: it is kept apart (see [`Repaired::with_cut_short`]),
//! since half a story must not be matched and marked seen.

use quick_xml::Reader;
use quick_xml::events::Event;

/// A document repaired: without the entry cut short at its end, and with it
/// (closed), if there was one.
pub(super) struct Repaired {
    pub whole: String,
    pub with_cut_short: Option<String>,
}

/// `text` as well-formed XML, or `None` if nothing could be read.
pub(super) fn repair(text: &str) -> Option<Repaired> {
    let mut reader = Reader::from_str(text);
    let config = reader.config_mut();
    config.check_end_names = false;
    config.allow_unmatched_ends = true;
    config.allow_dangling_amp = true;
    config.check_comments = false;
    let mut out = String::with_capacity(text.len() + 64);
    // Open elements: their names and where their start tags begin in `out`.
    let mut open: Vec<(String, usize)> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag)) => {
                let name = tag.name().as_ref().to_string();
                open.push((name, out.len()));
                out.push('<');
                out.push_str(&tag);
                out.push('>');
            }
            Ok(Event::Empty(tag)) => {
                out.push('<');
                out.push_str(&tag);
                out.push_str("/>");
            }
            Ok(Event::End(tag)) => {
                let name = tag.name().as_ref().to_string();
                if let Some(at) = open.iter().rposition(|(open, _)| *open == name) {
                    close(&mut out, &mut open, at);
                }
            }
            // References arrive on their own, so an `&` left in text is bare.
            Ok(Event::Text(text)) => out.push_str(&text.replace('&', "&amp;")),
            Ok(Event::GeneralRef(reference)) => {
                let name: &str = &reference;
                let known = matches!(name, "lt" | "gt" | "amp" | "quot" | "apos")
                    || reference.resolve_char_ref().ok().flatten().is_some();
                // An HTML entity (`&nbsp;`) stays text, for the HTML reader.
                out.push_str(if known { "&" } else { "&amp;" });
                out.push_str(name);
                out.push(';');
            }
            Ok(Event::CData(cdata)) => {
                out.push_str("<![CDATA[");
                out.push_str(&cdata);
                out.push_str("]]>");
            }
            Ok(Event::Decl(decl)) => {
                out.push_str("<?");
                out.push_str(&decl);
                out.push_str("?>");
            }
            Ok(Event::Comment(_) | Event::PI(_) | Event::DocType(_)) => {}
            // The end, or damage quick-xml cannot read past (a tag or
            // comment never closed): what came before is the document.
            Ok(Event::Eof) | Err(_) => break,
        }
    }
    let cut_short = open.iter().rposition(|(name, _)| {
        let local = name.rsplit(':').next().unwrap_or(name);
        local == "item" || local == "entry"
    });
    let with_cut_short = cut_short.map(|_| {
        let mut all = out.clone();
        close(&mut all, &mut open.clone(), 0);
        all
    });
    if let Some(at) = cut_short {
        out.truncate(open[at].1);
        open.truncate(at);
    }
    if open.is_empty() && out.trim().is_empty() {
        return None;
    }
    close(&mut out, &mut open, 0);
    Some(Repaired {
        whole: out,
        with_cut_short,
    })
}

/// Writes end tags for `open[at..]`, innermost first.
fn close(out: &mut String, open: &mut Vec<(String, usize)>, at: usize) {
    while open.len() > at {
        if let Some((name, _)) = open.pop() {
            out.push_str("</");
            out.push_str(&name);
            out.push('>');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_stray_and_unclosed_tags_are_balanced() {
        assert_eq!(
            repair("<rss><channel><title>A <b>bold</title><x>1</y></channel>")
                .unwrap()
                .whole,
            "<rss><channel><title>A <b>bold</b></title><x>1</x></channel></rss>"
        );
    }

    #[test]
    fn bare_ampersands_and_html_entities_become_text() {
        assert_eq!(
            repair("<t>AT&T &nbsp; &amp; &#65;</t>").unwrap().whole,
            "<t>AT&amp;T &amp;nbsp; &amp; &#65;</t>"
        );
    }

    #[test]
    fn an_entry_cut_short_is_kept_apart() {
        let repaired =
            repair("<feed><entry><id>1</id></entry><entry><id>2</id><title>Hal").unwrap();
        assert_eq!(repaired.whole, "<feed><entry><id>1</id></entry></feed>");
        assert_eq!(
            repaired.with_cut_short.unwrap(),
            "<feed><entry><id>1</id></entry><entry><id>2</id><title>Hal</title></entry></feed>"
        );
    }
}
