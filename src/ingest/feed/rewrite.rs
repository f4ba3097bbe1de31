//! Documents feed-rs cannot read, rewritten into ones it can, before parsing:
//! Atom 0.3 and RSS 0.90 (renamed to the Atom 1.0 and RSS 1.0 they resemble),
//! CDF (converted to RSS 2.0), base64-encoded Atom content (decoded), and
//! `dc:title` standing in for an item's missing `<title>`. Each rewrite adds
//! a note to `warnings`.

use super::find_tag;
use crate::model::boundary::floor_char_boundary;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use quick_xml::escape::escape;
use quick_xml::events::Event;
use std::borrow::Cow;

const ATOM_03: &str = "http://purl.org/atom/ns#";
const RSS_090: &str = "http://my.netscape.com/rdf/simple/0.9/";

/// UTF-8 feed bytes, rewritten where needed.
pub(super) fn rewrite<'a>(bytes: &'a [u8], warnings: &mut Vec<String>) -> Cow<'a, [u8]> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Cow::Borrowed(bytes);
    };
    let root = root_name(text).unwrap_or_default().to_ascii_lowercase();
    let mut text = Cow::Borrowed(text);
    if root == "channel"
        && let Some(rss) = cdf_to_rss(&text)
    {
        warnings.push("CDF (Channel Definition Format) read as RSS 2.0".into());
        text = Cow::Owned(rss);
    }
    if let Some(upgraded) = upgrade_legacy(&text, warnings) {
        text = Cow::Owned(upgraded);
    }
    // Only where the root says RSS: `<rss` or `<item` inside an Atom
    // entry's escaped content is text, not markup.
    if root == "rss"
        && let Some(versioned) = rss_version(&text, warnings)
    {
        text = Cow::Owned(versioned);
    }
    if let Some(expanded) = internal_entities(&text, warnings) {
        text = Cow::Owned(expanded);
    }
    // `&#X41;`: XML wants a lowercase x; browsers and feedparser take both.
    if has(&text, "&#X") {
        text = Cow::Owned(text.replace("&#X", "&#x"));
    }
    if let Some(decoded) = decode_base64_elements(&text, warnings) {
        text = Cow::Owned(decoded);
    }
    if matches!(root.as_str(), "rss" | "rdf:rdf" | "channel")
        && let Some(titled) = dc_titles(&text, warnings)
    {
        text = Cow::Owned(titled);
    }
    match text {
        Cow::Borrowed(_) => Cow::Borrowed(bytes),
        Cow::Owned(text) => Cow::Owned(text.into_bytes()),
    }
}

/// Whether `text` holds `needle` (memchr's SIMD search: these scans run over
/// every document, and str's two-way search showed in the ingest profile).
fn has(text: &str, needle: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some()
}

/// Entities declared in the document's own DOCTYPE (`<!ENTITY id "tag:x,">`)
/// expanded in its body, as an XML reader with DTD support does; quick-xml has
/// none. One level deep, and the document may at most double in size (a
/// "billion laughs" cannot grow it further).
fn internal_entities(text: &str, warnings: &mut Vec<String>) -> Option<String> {
    // A DOCTYPE is in the prolog, before the root element.
    let prolog = &text[..floor_char_boundary(text, 16 * 1024)];
    let doctype = memchr::memmem::find(prolog.as_bytes(), b"<!DOCTYPE")?;
    // `<!DOCTYPE rss PUBLIC "…">` (RSS 0.91) has no internal subset to read.
    let first_close = doctype + text[doctype..].find('>')?;
    if !text[doctype..first_close].contains('[') {
        return None;
    }
    let subset_end = doctype + text[doctype..].find("]>")? + 2;
    let subset = &text[doctype..subset_end];
    let mut entities = Vec::new();
    let mut rest = subset;
    while let Some(at) = rest.find("<!ENTITY") {
        rest = rest[at + "<!ENTITY".len()..].trim_start();
        let name_len = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        let after = after.trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue; // a parameter or external entity: not expanded
        };
        let Some(len) = after[1..].find(quote) else {
            break;
        };
        if !name.is_empty() && !name.starts_with('%') {
            entities.push((format!("&{name};"), after[1..1 + len].to_string()));
        }
        rest = &after[1 + len..];
    }
    if entities.is_empty() {
        return None;
    }
    let mut body = text[subset_end..].to_string();
    for (reference, value) in &entities {
        let expanded = body.replace(reference, value);
        if expanded.len() > 2 * text.len() {
            warnings.push(
                "DOCTYPE entities not expanded: they would more than double the document".into(),
            );
            return None;
        }
        body = expanded;
    }
    warnings.push(format!("{} DOCTYPE entities expanded", entities.len()));
    Some(format!("{}{body}", &text[..subset_end]))
}

/// `<old …>`, `<old/>` and `</old>` renamed to `new`, attributes kept
/// (`<tagline xml:lang="en">` too, not only the bare tag).
fn rename_element(text: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag = &rest[at + 1..];
        let (slash, name) = match tag.strip_prefix('/') {
            Some(name) => ("/", name),
            None => ("", tag),
        };
        let ends = name
            .strip_prefix(old)
            .and_then(|after| after.chars().next())
            .is_some_and(|c| c == '>' || c == '/' || c.is_whitespace());
        if ends {
            out.push('<');
            out.push_str(slash);
            out.push_str(new);
            rest = &name[old.len()..];
        } else {
            out.push('<');
            rest = tag;
        }
    }
    out.push_str(rest);
    out
}

fn upgrade_legacy(text: &str, warnings: &mut Vec<String>) -> Option<String> {
    let head = &text[..floor_char_boundary(text, 1024)];
    if head.contains(ATOM_03) {
        warnings.push("Atom 0.3 read as Atom 1.0".into());
        let mut text = text.replacen(ATOM_03, "http://www.w3.org/2005/Atom", 1);
        for (old, new) in [
            ("issued", "published"),
            ("modified", "updated"),
            ("tagline", "subtitle"),
            ("copyright", "rights"),
            // 0.3's created has no 1.0 twin; published carries the same meaning.
            ("created", "published"),
        ] {
            text = rename_element(&text, old, new);
        }
        return Some(text);
    }
    if head.contains(RSS_090) {
        warnings.push("RSS 0.90 read as RSS 1.0".into());
        return Some(text.replacen(RSS_090, "http://purl.org/rss/1.0/", 1));
    }
    None
}

/// RSS versions feed-rs does not dispatch on (0.93, 0.94, "2.01", none at
/// all) are read as RSS 2.0, which they resemble.
fn rss_version(text: &str, warnings: &mut Vec<String>) -> Option<String> {
    let start = find_tag(text, "<rss")?;
    let end = start + text[start..].find('>')?;
    let tag = &text[start..end];
    let version = tag.find("version=").and_then(|at| {
        let value = &tag[at + "version=".len()..];
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        value[1..].find(quote).map(|len| (at, &value[1..1 + len]))
    });
    match version {
        Some((_, "2.0" | "0.91" | "0.92")) => None,
        Some((at, other)) => {
            warnings.push(format!("RSS version {other:?} read as RSS 2.0"));
            let value_start = start + at + "version=".len() + 1;
            let value_end = value_start + other.len();
            Some(format!("{}2.0{}", &text[..value_start], &text[value_end..]))
        }
        None => {
            warnings.push("RSS without a version read as RSS 2.0".into());
            Some(format!(
                "{} version=\"2.0\"{}",
                &text[..start + 4],
                &text[start + 4..]
            ))
        }
    }
}

/// Atom elements with `mode="base64"` (Atom 0.3) hold base64 of their text:
/// decoded, and escaped into the element as the 1.0 form would carry it.
fn decode_base64_elements(text: &str, warnings: &mut Vec<String>) -> Option<String> {
    if !has(text, "mode=\"base64\"") && !has(text, "mode='base64'") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut decoded = 0;
    while let Some(at) = rest
        .find("mode=\"base64\"")
        .or_else(|| rest.find("mode='base64'"))
    {
        // The start tag around the attribute, and the element's end tag.
        let (Some(open), Some(close_start)) = (rest[..at].rfind('<'), rest[at..].find('>')) else {
            break;
        };
        let name_end = rest[open + 1..]
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .map_or(rest.len(), |i| open + 1 + i);
        let name = &rest[open + 1..name_end];
        let body_start = at + close_start + 1;
        let end_tag = format!("</{name}>");
        let Some(body_len) = rest[body_start..].find(&end_tag) else {
            break;
        };
        let body = rest[body_start..body_start + body_len].trim();
        let body = body
            .strip_prefix("<![CDATA[")
            .and_then(|b| b.strip_suffix("]]>"))
            .unwrap_or(body);
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = BASE64.decode(compact.as_bytes()).ok();
        out.push_str(&rest[..open]);
        match bytes.and_then(|b| String::from_utf8(b).ok()) {
            Some(plain) => {
                // The start tag without its mode; the text escaped as XML.
                out.push_str(&rest[open..at]);
                out.push_str(&rest[at + "mode=\"base64\"".len()..body_start]);
                out.push_str(&escape(&plain));
                decoded += 1;
            }
            None => out.push_str(&rest[open..body_start + body_len]),
        }
        out.push_str(&end_tag);
        rest = &rest[body_start + body_len + end_tag.len()..];
    }
    out.push_str(rest);
    if decoded > 0 {
        warnings.push(format!("{decoded} base64-encoded element(s) decoded"));
    }
    Some(out)
}

/// RSS items (2.0 and 1.0) titled only by `<dc:title>`: it becomes their
/// `<title>`, which feed-rs reads.
fn dc_titles(text: &str, warnings: &mut Vec<String>) -> Option<String> {
    if !has(text, "<dc:title") || find_tag(text, "<item").is_none() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut used = 0;
    while let Some(start) = find_tag(rest, "<item") {
        out.push_str(&rest[..start]);
        let item = &rest[start..];
        let len = item
            .find("</item>")
            .map_or(item.len(), |i| i + "</item>".len());
        let (item, after) = item.split_at(len);
        if find_tag(item, "<title").is_none() && find_tag(item, "<dc:title").is_some() {
            out.push_str(&item.replacen("<dc:title", "<title", 1).replacen(
                "</dc:title>",
                "</title>",
                1,
            ));
            used += 1;
        } else {
            out.push_str(item);
        }
        rest = after;
    }
    out.push_str(rest);
    if used == 0 {
        return None;
    }
    warnings.push(format!("dc:title used as the title of {used} item(s)"));
    Some(out)
}

/// The name of the document's root element, as written.
fn root_name(text: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => return Some(e.name().as_ref().to_string()),
            Event::Eof => return None,
            _ => {}
        }
    }
}

/// A CDF document (`<CHANNEL HREF=…><ITEM HREF=… LASTMOD=…>`) as RSS 2.0.
fn cdf_to_rss(text: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = false;
    #[derive(Default)]
    struct Part {
        title: String,
        link: String,
        abstract_: String,
        lastmod: String,
    }
    let attr = |e: &quick_xml::events::BytesStart, key: &str| {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref().eq_ignore_ascii_case(key))
            .and_then(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .unwrap_or_default()
    };
    let mut channel = Part::default();
    let mut items: Vec<Part> = Vec::new();
    let mut in_item = false;
    let mut field: Option<&'static str> = None;
    let mut depth = 0usize;
    loop {
        let event = reader.read_event().ok()?;
        match &event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name().as_ref().to_ascii_lowercase();
                let empty = matches!(event, Event::Empty(_));
                match name.as_str() {
                    "channel" if depth == 0 => {
                        channel.link = attr(e, "href");
                        channel.lastmod = attr(e, "lastmod");
                    }
                    "item" => {
                        in_item = !empty;
                        items.push(Part {
                            link: attr(e, "href"),
                            lastmod: attr(e, "lastmod"),
                            ..Part::default()
                        });
                    }
                    "title" if !empty => field = Some("title"),
                    "abstract" if !empty => field = Some("abstract"),
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                match e.name().as_ref().to_ascii_lowercase().as_str() {
                    "item" => in_item = false,
                    "title" | "abstract" => field = None,
                    _ => {}
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                let Some(field) = field else { continue };
                let text: Cow<str> = match &event {
                    Event::Text(t) => t.html_content(),
                    Event::CData(t) => t.html_content(),
                    Event::GeneralRef(r) => match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string().into(),
                        _ => quick_xml::escape::resolve_predefined_entity(r.as_ref())
                            .unwrap_or_default()
                            .into(),
                    },
                    _ => continue,
                };
                let part = if in_item {
                    items.last_mut()?
                } else {
                    &mut channel
                };
                if field == "title" {
                    part.title.push_str(&text);
                } else {
                    part.abstract_.push_str(&text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut rss =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>");
    rss.push_str(&format!(
        "<title>{}</title><link>{}</link><description>{}</description>\n",
        escape(channel.title.trim()),
        escape(&channel.link),
        escape(channel.abstract_.trim())
    ));
    for item in &items {
        rss.push_str("<item>");
        if !item.title.trim().is_empty() {
            rss.push_str(&format!("<title>{}</title>", escape(item.title.trim())));
        }
        if !item.link.is_empty() {
            rss.push_str(&format!("<link>{}</link>", escape(&item.link)));
        }
        if !item.abstract_.trim().is_empty() {
            rss.push_str(&format!(
                "<description>{}</description>",
                escape(item.abstract_.trim())
            ));
        }
        if let Some(date) = crate::ingest::dates::parse(&item.lastmod) {
            rss.push_str(&format!("<pubDate>{}</pubDate>", date.to_rfc3339()));
        }
        rss.push_str("</item>\n");
    }
    rss.push_str("</channel></rss>\n");
    Some(rss)
}
