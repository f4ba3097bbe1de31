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
fn unclosed_tag_in_a_title_costs_only_that_item() {
    let xml = rss("<item><title>Bad <b>unclosed</title><guid>1</guid></item>\
                   <item><title>Fine</title><guid>2</guid></item>");
    let parsed = parse(xml.as_bytes(), None).unwrap();
    assert_eq!(titles(&parsed), ["Fine"]);
    assert!(
        parsed.warnings[0].starts_with("entry 1 (byte "),
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
