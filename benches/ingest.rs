//! Ingest benchmark: feed bytes to normalised articles (parse, HTML to text,
//! keys), on RSS and Atom feeds of news-length items (2-8 KB of HTML each),
//! beside feed-rs alone on the same bytes. Prints each figure next to its
//! target. Run: `cargo bench --bench ingest`.

use std::time::{Duration, Instant};

const SENTENCES: &[&str] = &[
    "Police in Brussels closed the area around the station after two explosions were reported shortly before nine.",
    "Officials said the authorities had <a href=\"https://news.test/live\">opened an investigation</a> into the incident.",
    "The government of Kenya confirmed that Al-Shabab fighters attacked a checkpoint near the border on Tuesday.",
    "&ldquo;We are working with our partners,&rdquo; a spokesperson told reporters &mdash; without giving details.",
    "Flights at Zaventem airport were diverted to Li&egrave;ge and Charleroi while investigators searched the terminal.",
    "<em>Analysts</em> warned that the <strong>security situation</strong> could deteriorate further in the coming weeks.",
    "Residents described hearing a loud blast, followed by sirens &amp; helicopters over the city centre.",
    "The minister is expected to address parliament on Thursday, according to a statement released overnight.",
];

fn article_html(seed: usize, target_bytes: usize) -> String {
    let mut html = String::from("<div class=\"story\">");
    let mut i = seed;
    while html.len() < target_bytes {
        html.push_str("<p>");
        for _ in 0..3 {
            html.push_str(SENTENCES[i % SENTENCES.len()]);
            html.push(' ');
            i = i.wrapping_mul(31).wrapping_add(7);
        }
        html.push_str("</p>\n");
        if i % 5 == 0 {
            html.push_str("<figure><img src=\"https://cdn.test/p.jpg\" alt=\"Scene\"><figcaption>The scene on Tuesday.</figcaption></figure>\n");
        }
        if i % 11 == 0 {
            html.push_str("<script>window.analytics && analytics.track('story');</script>\n");
        }
    }
    html.push_str("</div>");
    html
}

fn rss(feed: usize, items: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\
         <title>Wire</title><link>https://news.test/</link><description>News</description>\n",
    );
    for n in 0..items {
        let size = 2048 + (feed * 7919 + n * 104_729) % 6144;
        xml.push_str(&format!(
            "<item><title>Story {feed}-{n}: explosions reported in Brussels</title>\
             <link>https://news.test/{feed}/{n}</link><guid isPermaLink=\"false\">wire-{feed}-{n}</guid>\
             <pubDate>Tue, 24 Mar 2026 10:{:02}:00 +0000</pubDate><dc:creator>Lea Martens</dc:creator>\
             <category>World</category><description><![CDATA[{}]]></description>\
             <content:encoded><![CDATA[{}]]></content:encoded></item>\n",
            n % 60,
            &article_html(n, 300),
            article_html(feed * 1000 + n, size)
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}

fn atom(feed: usize, items: usize) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Desk</title><id>urn:desk</id><updated>2026-03-24T10:00:00Z</updated>\n",
    );
    for n in 0..items {
        let size = 2048 + (feed * 104_729 + n * 7919) % 6144;
        let body = article_html(feed * 977 + n, size)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        xml.push_str(&format!(
            "<entry><id>urn:desk:{feed}:{n}</id><title>Story {feed}-{n}</title>\
             <link href=\"https://desk.test/{feed}/{n}\"/><updated>2026-03-24T10:00:00Z</updated>\
             <author><name>Omar Haddad</name></author><content type=\"html\">{body}</content></entry>\n"
        ));
    }
    xml.push_str("</feed>\n");
    xml
}

fn throughput(feeds: &[Vec<u8>], rounds: usize, mut f: impl FnMut(&[u8]) -> usize) -> (f64, usize) {
    let bytes: usize = feeds.iter().map(Vec::len).sum();
    let mut times = Vec::new();
    let mut count = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        count = feeds.iter().map(|feed| f(feed.as_slice())).sum();
        times.push(start.elapsed());
    }
    times.sort();
    let median: Duration = times[times.len() / 2];
    (bytes as f64 / median.as_secs_f64() / 1e6, count)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let feeds: Vec<Vec<u8>> = (0..if quick { 6 } else { 24 })
        .map(|i| if i % 2 == 0 { rss(i, 50) } else { atom(i, 50) }.into_bytes())
        .collect();
    let total: usize = feeds.iter().map(Vec::len).sum();
    let rounds = if quick { 3 } else { 7 };
    println!(
        "{} feeds, {} items, {:.1} MB (RSS 2.0 with content:encoded, Atom with escaped HTML), median of {rounds}",
        feeds.len(),
        feeds.len() * 50,
        total as f64 / 1e6
    );
    let (parse_only, n) = throughput(&feeds, rounds, |bytes| {
        feed_rs::parser::parse(bytes).map_or(0, |f| f.entries.len())
    });
    println!("  feed-rs alone:                  {parse_only:>7.1} MB/s   ({n} entries)");
    let (ingest, n) = throughput(&feeds, rounds, |bytes| {
        newswatch::ingest::feed::parse(bytes, None).map_or(0, |p| p.articles.len())
    });
    println!(
        "  ingest (bytes -> articles):     {ingest:>7.1} MB/s   ({n} articles)   target >= 150 MB/s per core: {}",
        if ingest >= 150.0 { "met" } else { "NOT met" }
    );
    let html: Vec<String> = (0..200).map(|n| article_html(n, 2048 + n * 30)).collect();
    let html_bytes: usize = html.iter().map(String::len).sum();
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let chars: usize = html
            .iter()
            .map(|h| newswatch::ingest::html::to_text(h).len())
            .sum();
        std::hint::black_box(chars);
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "  HTML to text alone:             {:>7.1} MB/s",
        html_bytes as f64 / times[times.len() / 2].as_secs_f64() / 1e6
    );
}
