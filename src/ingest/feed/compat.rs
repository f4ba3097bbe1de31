//! One test per row of the compatibility table (issue 9): what feed-rs alone
//! got wrong, and what a person reading the feed expects instead.

use super::*;

fn rss(items: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>t</title>{items}</channel></rss>"
    )
}

fn titles(parsed: &Parsed) -> Vec<&str> {
    parsed.articles.iter().map(|a| a.title.as_str()).collect()
}

#[test]
fn unclosed_tag_in_a_title_is_closed_and_costs_nothing() {
    // Entry by entry, the broken item was lost; repaired as a whole (as a
    // browser closes the <b>), it is read too.
    let xml = rss("<item><title>Bad <b>unclosed</title><guid>1</guid></item>\
                   <item><title>Fine</title><guid>2</guid></item>");
    let parsed = parse(xml.as_bytes(), None).unwrap();
    assert_eq!(titles(&parsed), ["Bad unclosed", "Fine"]);
    assert!(
        parsed.warnings[0]
            .starts_with("document repaired as a whole: 2 entries (entry by entry: 1)"),
        "{:?}",
        parsed.warnings
    );
}

#[test]
fn truncated_mid_item_keeps_complete_items() {
    let xml = rss(
        "<item><title>One</title><guid>1</guid></item><item><title>Two</title><guid>2</guid></item>",
    );
    let cut = &xml[..xml.find("Two").unwrap()];
    assert_eq!(titles(&parse(cut.as_bytes(), None).unwrap()), ["One"]);
}

#[test]
fn invalid_utf8_reads_as_windows_1252() {
    let xml =
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title>\
        <item><title>A\xe9roport de Li\xe8ge</title><guid>1</guid></item></channel></rss>";
    let parsed = parse(xml, None).unwrap();
    assert_eq!(titles(&parsed), ["Aéroport de Liège"]);
    assert!(parsed.warnings.iter().any(|w| w.contains("windows-1252")));
}

#[test]
fn html_entities_in_titles_are_decoded() {
    let xml = rss(
        "<item><title>A&eacute;roport&nbsp;de Li&egrave;ge &amp; more</title><guid>1</guid></item>",
    );
    assert_eq!(
        titles(&parse(xml.as_bytes(), None).unwrap()),
        ["Aéroport de Liège & more"]
    );
}

#[test]
fn rss_091_092_093_094_and_unversioned_are_read() {
    for version in ["0.91", "0.92", "0.93", "0.94", "2.01", ""] {
        let attribute = if version.is_empty() {
            String::new()
        } else {
            format!(" version=\"{version}\"")
        };
        let xml = format!(
            "<rss{attribute}><channel><title>t</title><link>http://x.test/</link><description>d</description>\
             <item><title>Story {version}</title><link>http://x.test/1</link><description>Body</description></item></channel></rss>"
        );
        let parsed = parse(xml.as_bytes(), None).unwrap();
        assert_eq!(titles(&parsed), [format!("Story {version}").trim_end()]);
        assert_eq!(parsed.articles[0].link.as_deref(), Some("http://x.test/1"));
    }
}

#[test]
fn cdf_is_read() {
    let cdf = r#"<?xml version="1.0"?>
<CHANNEL HREF="http://news.test/" BASE="http://news.test/">
  <TITLE>News channel</TITLE>
  <ABSTRACT>Latest news</ABSTRACT>
  <ITEM HREF="http://news.test/zaventem.html" LASTMOD="2016-03-23T09:12">
    <TITLE>Explosions at Zaventem &amp; Maelbeek</TITLE>
    <ABSTRACT>Two blasts at the airport.</ABSTRACT>
  </ITEM>
  <ITEM HREF="http://news.test/second.html"><TITLE>Second</TITLE></ITEM>
</CHANNEL>"#;
    let parsed = parse(cdf.as_bytes(), None).unwrap();
    assert_eq!(
        titles(&parsed),
        ["Explosions at Zaventem & Maelbeek", "Second"]
    );
    let first = &parsed.articles[0];
    assert_eq!(
        first.link.as_deref(),
        Some("http://news.test/zaventem.html")
    );
    assert_eq!(first.summary, "Two blasts at the airport.");
    assert_eq!(
        first.published.map(|p| p.to_rfc3339()).as_deref(),
        Some("2016-03-23T09:12:00+00:00")
    );
    assert!(parsed.warnings.iter().any(|w| w.contains("CDF")));
}

#[test]
fn base64_atom_content_is_decoded() {
    // "<p>Two blasts at <b>Zaventem</b> airport.</p>" in base64.
    let atom = r#"<?xml version="1.0" encoding="utf-8"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title>
<entry><id>tag:x,2016:1</id><title>Blasts</title><issued>2016-03-23T09:12:00Z</issued>
<content type="text/html" mode="base64">PHA+VHdvIGJsYXN0cyBhdCA8Yj5aYXZlbnRlbTwvYj4g
YWlycG9ydC48L3A+</content></entry></feed>"#;
    let parsed = parse(atom.as_bytes(), None).unwrap();
    assert_eq!(
        parsed.articles[0].content,
        "Two blasts at Zaventem airport."
    );
    assert!(
        parsed.warnings.iter().any(|w| w.contains("base64")),
        "{:?}",
        parsed.warnings
    );
}

#[test]
fn dc_title_stands_in_for_a_missing_title() {
    let xml = rss(
        "<item><dc:title>Titled by Dublin Core</dc:title><guid>1</guid></item>\
                   <item><title>Own title</title><dc:title>ignored</dc:title><guid>2</guid></item>",
    );
    let parsed = parse(xml.as_bytes(), None).unwrap();
    assert_eq!(titles(&parsed), ["Titled by Dublin Core", "Own title"]);
}

#[test]
fn rss_1_dc_title_is_read() {
    let rdf = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://x.test/"><title>t</title><link>http://x.test/</link><description>d</description></channel>
<item rdf:about="http://x.test/1"><link>http://x.test/1</link><dc:title>From dc</dc:title></item></rdf:RDF>"#;
    assert_eq!(titles(&parse(rdf.as_bytes(), None).unwrap()), ["From dc"]);
}

#[test]
fn iso_pub_date_without_zone_is_kept() {
    let xml = rss(
        "<item><title>x</title><guid>1</guid><pubDate>2016-03-23 09:12:00</pubDate></item>\
                   <item><title>y</title><guid>2</guid><pubDate>last Tuesday</pubDate></item>",
    );
    let parsed = parse(xml.as_bytes(), None).unwrap();
    assert_eq!(
        parsed.articles[0]
            .published
            .map(|p| p.to_rfc3339())
            .as_deref(),
        Some("2016-03-23T09:12:00+00:00")
    );
    // An unreadable date leaves the entry undated, and says so.
    assert_eq!(parsed.articles[1].published, None);
    assert!(
        parsed
            .warnings
            .iter()
            .any(|w| w.contains("unrecognised date \"last Tuesday\"")),
        "{:?}",
        parsed.warnings
    );
}

#[test]
fn cdf_dates_out_of_range_are_dropped_not_a_panic() {
    let cdf = r#"<CHANNEL HREF="http://n.test/"><TITLE>t</TITLE>
<ITEM HREF="http://n.test/a" LASTMOD="0000-01-01T00:00+01:00"><TITLE>A</TITLE></ITEM>
<ITEM HREF="http://n.test/b" LASTMOD="9999-12-31T23:00-05:00"><TITLE>B</TITLE></ITEM></CHANNEL>"#;
    let parsed = parse(cdf.as_bytes(), None).unwrap();
    assert_eq!(titles(&parsed), ["A", "B"]);
    assert!(parsed.articles.iter().all(|a| a.published.is_none()));
}

#[test]
fn markup_words_inside_atom_content_are_left_alone() {
    let atom = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>f</id>
<entry><id>e</id><title>About RSS</title><content type="html">&lt;rss&gt; and &lt;item&gt;&lt;dc:title&gt;x&lt;/dc:title&gt;&lt;/item&gt;</content></entry></feed>"#;
    let parsed = parse(atom.as_bytes(), None).unwrap();
    assert_eq!(titles(&parsed), ["About RSS"]);
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
}

// Round 2 (issue 18): causes found with feedparser's own test corpus.

fn atom(entries: &str) -> String {
    format!("<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>t</title>{entries}</feed>")
}

fn only(xml: &str) -> Article {
    let mut parsed = parse(xml.as_bytes(), None).unwrap();
    assert_eq!(parsed.articles.len(), 1, "{xml}");
    parsed.articles.remove(0)
}

#[test]
fn atom_text_constructs_take_any_type() {
    let a = only(&atom(
        "<entry><title type=\"text/plain\">Plain &lt;blink&gt;</title>\
         <summary type=\"application/xhtml+xml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">X <b>y</b></div></summary>\
         <content type=\"application/octet-stream\">RXhhbXBsZSA8Yj5BdG9tPC9iPg==</content></entry>",
    ));
    assert_eq!(a.title, "Plain <blink>");
    assert_eq!(a.summary, "X y");
    assert_eq!(a.content, "Example Atom");
    // Empty constructs are no text, not a rejected feed.
    let a = only(&atom(
        "<entry><title></title><content type=\"text\"/></entry>",
    ));
    assert_eq!(a.title, "");
}

#[test]
fn atom_plain_text_stays_plain_and_naked_markup_is_html() {
    let a = only(&atom(
        "<entry><title type=\"text\">History of the &lt;blink&gt; tag</title>\
         <summary>Example <b>Atom</b></summary></entry>",
    ));
    assert_eq!(a.title, "History of the <blink> tag");
    assert_eq!(a.summary, "Example Atom");
}

#[test]
fn atom_03_renames_keep_attributes() {
    let xml = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\">\
        <tagline xml:lang=\"en\">Sub</tagline><copyright type=\"text/plain\">c</copyright>\
        <entry><title>One</title><issued>2004-01-01T19:48:21Z</issued></entry></feed>";
    let a = only(xml);
    assert_eq!(a.title, "One");
    assert!(a.published.is_some());
}

#[test]
fn rss_full_text_elements_are_content() {
    for body in [
        "<body>Full <b>text</b></body>",
        "<xhtml:body xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">Full <b>text</b></xhtml:body>",
        "<fullitem>&lt;p&gt;Full text&lt;/p&gt;</fullitem>",
    ] {
        let a = only(&rss(&format!("<item><title>t</title>{body}</item>")));
        assert_eq!(a.content, "Full text", "{body}");
    }
}

#[test]
fn unescaped_markup_in_description_is_its_html() {
    let a = only(&rss(
        "<item><title>t</title><description>Lead <p>para <b>one</b></p></description></item>",
    ));
    assert_eq!(a.summary, "Lead\npara one");
}

#[test]
fn dublin_core_and_itunes_fallbacks() {
    let xml = "<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
        xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\">\
        <channel><title>t</title><item><title>x</title><dc:description>Desc</dc:description>\
        <dc:subject>Politics</dc:subject><dcterms:issued>2004-01-01T19:48:21Z</dcterms:issued>\
        <itunes:author>Mark</itunes:author><itunes:category text=\"Technology\">\
        <itunes:category text=\"Gadgets\"/></itunes:category></item></channel></rss>";
    let a = only(xml);
    assert_eq!(a.summary, "Desc");
    assert_eq!(a.categories, ["Politics", "Technology", "Gadgets"]);
    assert_eq!(a.authors, ["Mark"]);
    assert!(a.published.is_some());
}

#[test]
fn people_show_as_name_and_email() {
    let a = only(&rss(
        "<item><title>x</title><author>me@example.com (Example editor)</author></item>",
    ));
    assert_eq!(a.authors, ["Example editor (me@example.com)"]);
    // A non-ASCII character next to the address used to panic in feed-rs.
    let a = only(&rss(
        "<item><title>x</title><author>é(me@example.com)</author></item>",
    ));
    assert_eq!(a.authors, ["é (me@example.com)"]);
}

#[test]
fn media_title_and_description_outside_media_content() {
    let xml = "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\"><channel><title>t</title>\
        <item><media:title>bar</media:title><media:group><media:description>In group</media:description>\
        </media:group></item></channel></rss>";
    let a = only(xml);
    assert_eq!(a.title, "bar");
    assert_eq!(a.summary, "In group");
}

#[test]
fn rss_1_item_without_link_is_kept() {
    let xml = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns=\"http://purl.org/rss/1.0/\">\
        <channel rdf:about=\"http://x.test/\"><title>t</title></channel>\
        <item rdf:about=\"http://x.test/1\"><title>No link</title></item></rdf:RDF>";
    let a = only(xml);
    assert_eq!(a.title, "No link");
    assert_eq!(a.guid.as_deref(), Some("http://x.test/1"));
}

#[test]
fn rss_in_a_default_namespace_without_channel_and_items_in_atom() {
    let a = only(
        "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"><channel><title>t</title>\
         <item><title>Namespaced</title></item></channel></rss>",
    );
    assert_eq!(a.title, "Namespaced");
    let a = only("<rss version=\"2.0\"><item><title>No channel</title></item></rss>");
    assert_eq!(a.title, "No channel");
    let a = only(&atom("<item><title>Item in Atom</title></item>"));
    assert_eq!(a.title, "Item in Atom");
}

#[test]
fn category_term_not_label() {
    let a = only(&atom(
        "<entry><title>x</title><category term=\"atom10\" label=\"Atom 1.0 tests\"/></entry>",
    ));
    assert_eq!(a.categories, ["atom10"]);
}

#[test]
fn uppercase_hex_references_and_c1_controls() {
    let a = only(&rss("<item><title>&#X41;don\u{92}t</title></item>"));
    assert_eq!(a.title, "Adon’t");
    // The same as an XML character reference, which XML reads as U+0092.
    let a = only(&rss("<item><description>don&#146;t</description></item>"));
    assert_eq!(a.summary, "don’t");
}

#[test]
fn utf16_and_utf32_without_bom_and_ebcdic() {
    let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\"><channel><title>t</title>\
        <item><title>Liège</title></item></channel></rss>";
    let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let utf32: Vec<u8> = doc
        .chars()
        .flat_map(|c| u32::from(c).to_be_bytes())
        .collect();
    for bytes in [le, be, utf32] {
        assert_eq!(parse(&bytes, None).unwrap().articles[0].title, "Liège");
    }
    let ebcdic = crate::ingest::ebcdic::encode(
        "<?xml version='1.0' encoding='cp037'?><rss version='2.0'><channel><title>t</title>\
         <item><title>Øre</title></item></channel></rss>",
        None,
    );
    assert_eq!(parse(&ebcdic, None).unwrap().articles[0].title, "Øre");
    // Greek EBCDIC (875): Latin letters sit elsewhere, so 037 could not read it.
    let greek = crate::ingest::ebcdic::encode(
        "<?xml version='1.0' encoding='cp875'?><rss version='2.0'><channel><title>t</title>\
         <item><title>Αθήνα</title></item></channel></rss>",
        Some("cp875"),
    );
    assert_eq!(parse(&greek, None).unwrap().articles[0].title, "Αθήνα");
}

#[test]
fn utf16_with_declaration_and_no_bom_does_not_panic() {
    // feedparser's encoding/utf-16be-autodetect.xml: quick-xml panicked on it
    // ("set_encoding() called after prefix buffer was drained"), exit 101.
    let doc = "<?xml version=\"1.0\" encoding=\"utf-16be\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
        <title>t</title><entry><title>Entry</title></entry></feed>";
    let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
    assert_eq!(parse(&be, None).unwrap().articles[0].title, "Entry");
    // The same bytes given to quick-xml as if already UTF-8 still must not
    // panic the caller: NULs are dropped before parsing.
    let mut nul_led = vec![0u8, b'<', 0, b'?'];
    nul_led.extend_from_slice(&be[4..]);
    let _ = parse(&nul_led, Some("utf-8"));
}

#[test]
fn damage_in_the_channel_head_costs_no_entry() {
    let items = "<item><title>One</title><guid>1</guid></item><item><title>Two</title><guid>2</guid></item>";
    for head in [
        "<title>AT&T news</title>",
        "<title>Bold <b>unclosed</title>",
        "<title>t</title><descripton>misspelt</description>",
    ] {
        let xml = format!(
            "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
             <channel>{head}{items}</channel></rss>"
        );
        let parsed = parse(xml.as_bytes(), None).unwrap();
        assert_eq!(titles(&parsed), ["One", "Two"], "{head}");
    }
    let atom = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>A & B</title>\
        <entry><id>e1</id><title>Kept</title></entry></feed>";
    assert_eq!(titles(&parse(atom.as_bytes(), None).unwrap()), ["Kept"]);
}

#[test]
fn doctype_entities_expand_once_and_never_blow_up() {
    let xml = "<!DOCTYPE rss [\n<!ENTITY id \"tag:example.com,\">\n]>\
        <rss version=\"2.0\"><channel><title>t</title><item><guid>&id;2006:/blog/</guid></item></channel></rss>";
    assert_eq!(
        only(xml).guid.as_deref(),
        Some("tag:example.com,2006:/blog/")
    );
    let laughs = format!(
        "<!DOCTYPE rss [<!ENTITY a \"{}\">]><rss version=\"2.0\"><channel><title>t</title>\
         <item><title>{}</title></item></channel></rss>",
        "ha".repeat(1000),
        "&a;".repeat(1000)
    );
    let parsed = parse(laughs.as_bytes(), None);
    assert!(parsed.is_err() || parsed.unwrap().articles[0].title.len() < 8 * 1024);
}

#[test]
fn relative_atom_ids_are_shown_resolved_but_keyed_as_written() {
    let xml = atom("<entry><id>/relative/link</id><title>x</title></entry>");
    let base = Url::parse("http://example.com/feed.xml").unwrap();
    let a = parse_from(xml.as_bytes(), None, Some(&base))
        .unwrap()
        .articles
        .remove(0);
    assert_eq!(a.guid.as_deref(), Some("http://example.com/relative/link"));
    assert_eq!(a.key, "guid:/relative/link");
}

#[test]
fn an_entry_cut_short_is_apart_and_never_among_the_articles() {
    let cut = "<rss version=\"2.0\"><channel><title>t</title>\
        <item><title>Whole</title><guid>1</guid></item><item><title>Half a sto";
    let parsed = parse(cut.as_bytes(), None).unwrap();
    assert_eq!(titles(&parsed), ["Whole"]);
    assert_eq!(parsed.partial.len(), 1);
    assert_eq!(parsed.partial[0].title, "Half a sto");
    // Nothing complete at all: still a reading, with no articles to match.
    let only_cut = "<rss version=\"2.0\"><channel><title>t</title><item><title><![CD";
    let parsed = parse(only_cut.as_bytes(), None).unwrap();
    assert!(parsed.articles.is_empty());
    assert_eq!(parsed.partial.len(), 1);
    assert!(parsed.malformed.is_some());
}

#[test]
fn xml_declarations_found_by_fuzzing_do_not_panic() {
    // Found by scripts/fuzz (then fuzz-parse): a UTF-16 declaration pasted into an Atom
    // entry made quick-xml panic ("set_encoding() called after prefix buffer
    // was drained"); the boundary caught it, but the feed was lost.
    let found = include_bytes!("../../../tests/fixtures/fuzz-late-declaration.xml");
    let parsed = parse(found, None).unwrap();
    assert_eq!(parsed.articles.len(), 1);
    let pasted = rss(
        "<item><title>x</title><description>a <?xml version=\"1.0\" encoding=\"utf-16\"?> b</description></item>\
                      <?xml-stylesheet href=\"s.css\"?>",
    );
    assert_eq!(only(&pasted).summary, "a b");
}
