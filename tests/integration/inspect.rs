//! `newswatch inspect`: what the daemon sees in RSS 2.0, RSS 1.0, Atom and
//! JSON Feed, from a file, a URL or standard input.

use crate::support::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

async fn inspect(source: &str) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["inspect", source]);
    run(cmd).await
}

async fn inspect_ok(source: &str) -> Vec<Value> {
    let run = inspect(source).await;
    assert!(run.status.success(), "{}", run.stderr);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const KEYS: [&str; 9] = [
    "id",
    "guid",
    "title",
    "link",
    "published",
    "authors",
    "categories",
    "summary",
    "text",
];

fn assert_keys(entries: &[Value]) {
    for entry in entries {
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = KEYS.to_vec();
        expected.sort();
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn rss2() {
    let entries = inspect_ok(fixture("rss2.xml").to_str().unwrap()).await;
    assert_keys(&entries);
    assert_eq!(
        entries,
        [
            json!({
                "id": "guid:gazette-77", "guid": "gazette-77",
                "title": "Ferry strike ends after three days",
                "link": "https://gazette.example.net/ferry-strike",
                "published": "2026-03-25T13:30:00+00:00",
                "authors": ["Nora Lind"], "categories": ["Transport", "Labour"],
                "summary": "Crews voted to accept the offer.",
                "text": "Crews voted to accept the offer & services resume on Thursday.\nQueues are expected."
            }),
            json!({
                "id": "link:https://gazette.example.net/lighthouse", "guid": null,
                "title": "Lighthouse reopens to visitors",
                "link": "https://gazette.example.net/lighthouse",
                "published": null, "authors": [], "categories": [],
                "summary": "The restored tower is open again at weekends.",
                "text": "The restored tower is open again at weekends."
            }),
        ]
    );
}

#[tokio::test]
async fn rss1() {
    let entries = inspect_ok(fixture("rss1.rdf").to_str().unwrap()).await;
    assert_keys(&entries);
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!(e["title"], "Old bridge closed for repairs");
    assert_eq!(e["link"], "https://valley.example.net/bridge");
    assert_eq!(e["id"], "link:https://valley.example.net/bridge");
    assert_eq!(e["published"], "2026-03-20T09:00:00+00:00");
    assert_eq!(e["authors"], json!(["Tomas Berg"]));
    assert_eq!(e["categories"], json!(["Roads"]));
    assert_eq!(e["text"], "Engineers found cracks in two of the arches.");
}

#[tokio::test]
async fn atom() {
    let entries = inspect_ok(fixture("atom.xml").to_str().unwrap()).await;
    assert_keys(&entries);
    assert_eq!(entries.len(), 2);
    let e = &entries[0];
    assert_eq!(e["id"], "guid:urn:test:desert:501");
    assert_eq!(e["title"], "Convoy attacked near oasis town");
    // The alternate link, not the enclosure.
    assert_eq!(e["link"], "https://desert.example.net/convoy");
    assert_eq!(e["published"], "2026-03-21T11:45:00+00:00");
    assert_eq!(e["authors"], json!(["Samir Khoury", "Ines Ortega"]));
    assert_eq!(e["categories"], json!(["security"]));
    assert_eq!(e["summary"], "Gunmen fired on a supply convoy.");
    assert_eq!(
        e["text"],
        "Gunmen fired on a supply convoy at dusk.\nTwo drivers were hurt."
    );
    // No <published>: the update time stands in.
    assert_eq!(entries[1]["published"], "2026-03-20T08:00:00+00:00");
    assert_eq!(entries[1]["summary"], "");
    assert_eq!(entries[1]["text"], "Growers began picking this week.");
}

#[tokio::test]
async fn json_feed() {
    let entries = inspect_ok(fixture("feed.json").to_str().unwrap()).await;
    assert_keys(&entries);
    assert_eq!(entries.len(), 2);
    let e = &entries[0];
    assert_eq!(e["id"], "guid:island-9");
    assert_eq!(e["link"], "https://island.example.net/storm");
    assert_eq!(e["authors"], json!(["Hana Ito"]));
    assert_eq!(e["categories"], json!(["weather", "utilities"]));
    assert_eq!(e["summary"], "Power lines were brought down overnight.");
    assert_eq!(
        e["text"],
        "Crews are working to restore power.\nSchools are closed."
    );
    assert_eq!(entries[1]["text"], "Work finished a week early.");
}

#[tokio::test]
async fn from_url_and_stdin_match_the_file() {
    let xml = std::fs::read(fixture("atom.xml")).unwrap();
    let server = MockServer::start().await;
    Mock::given(path("/feed"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(xml.clone(), "application/atom+xml"))
        .mount(&server)
        .await;
    let from_file = inspect_ok(fixture("atom.xml").to_str().unwrap()).await;
    let from_url = inspect_ok(&format!("{}/feed", server.uri())).await;
    assert_eq!(from_url, from_file);

    let mut child = tokio::process::Command::new(BIN)
        .args(["inspect", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&xml).await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    let from_stdin: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(from_stdin, from_file);
}

#[tokio::test]
async fn not_a_feed_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("index.html");
    std::fs::write(
        &page,
        "<!doctype html><html><body><h1>Welcome</h1></body></html>",
    )
    .unwrap();
    let run = inspect(page.to_str().unwrap()).await;
    assert!(!run.status.success());
    assert!(
        run.stderr
            .contains("not a feed: the document is an HTML page"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());

    let missing = inspect("/nonexistent/feed.xml").await;
    assert!(!missing.status.success());
    assert!(
        missing.stderr.contains("cannot read /nonexistent/feed.xml"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<String> = (0..3000)
        .map(|i| format!("<item><title>Story {i}</title><guid>g{i}</guid><description>Some text for story {i}.</description></item>"))
        .collect();
    let feed = dir.path().join("big.xml");
    std::fs::write(
        &feed,
        format!(
            "<rss version=\"2.0\"><channel><title>t</title>{}</channel></rss>",
            items.concat()
        ),
    )
    .unwrap();
    let script = format!(
        "set -o pipefail; '{BIN}' inspect '{}' | head -n 1",
        feed.display()
    );
    let mut cmd = tokio::process::Command::new("bash");
    cmd.args(["-c", &script]);
    let run = run(cmd).await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 1);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[tokio::test]
async fn http_charset_and_mislabelled_utf8_are_read() {
    let server = MockServer::start().await;
    // No XML declaration: the HTTP charset decides (windows-1251 Cyrillic,
    // which the windows-1252 fallback would misread).
    let latin1 = b"<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid><title>\xcc\xee\xf1\xea\xe2\xe0</title></item></channel></rss>".to_vec();
    Mock::given(path("/latin1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(latin1, "application/rss+xml; charset=windows-1251"),
        )
        .mount(&server)
        .await;
    // Declared UTF-8 but written in windows-1252: read, not rejected.
    let mislabelled = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>t</title><item><guid>2</guid><title>A\xe9roport</title></item></channel></rss>".to_vec();
    Mock::given(path("/mislabelled"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(mislabelled, "application/rss+xml"))
        .mount(&server)
        .await;
    let latin1 = inspect_ok(&format!("{}/latin1", server.uri())).await;
    assert_eq!(latin1[0]["title"], "Москва");
    let mislabelled = inspect_ok(&format!("{}/mislabelled", server.uri())).await;
    assert_eq!(mislabelled[0]["title"], "Aéroport");
}

#[tokio::test]
async fn atom_0_3_and_rss_0_90() {
    let atom = inspect_ok(fixture("atom03.xml").to_str().unwrap()).await;
    assert_keys(&atom);
    assert_eq!(
        atom,
        [json!({
            "id": "guid:tag:old.example.net,2026:1", "guid": "tag:old.example.net,2026:1",
            "title": "Harbour reopens", "link": "https://old.example.net/harbour",
            "published": "2026-03-20T09:00:00+00:00", "authors": [], "categories": [],
            "summary": "The harbour reopened after repairs.", "text": "Ships returned on Friday."
        })]
    );
    let rss = inspect_ok(fixture("rss090.rdf").to_str().unwrap()).await;
    assert_eq!(rss.len(), 1);
    assert_eq!(rss[0]["title"], "Bridge opens");
    assert_eq!(rss[0]["link"], "https://ninety.example.net/bridge");
}

#[tokio::test]
async fn verbose_prints_what_was_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("repaired.xml");
    std::fs::write(
        &feed,
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"0.94\"><channel><title>t</title>\
          <item><title>Caf\xe9 <b>open</title><guid>1</guid></item>\
          <item><title>Fine</title><guid>2</guid><pubDate>last Tuesday</pubDate></item>\
          </channel></rss>",
    )
    .unwrap();
    let source = feed.to_str().unwrap();

    let quiet = inspect(source).await;
    assert!(quiet.status.success(), "{}", quiet.stderr);
    assert!(
        !quiet.stderr.contains("unrecognised date"),
        "{}",
        quiet.stderr
    );

    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["inspect", "--verbose", source]);
    let verbose = run(cmd).await;
    assert!(verbose.status.success(), "{}", verbose.stderr);
    assert_eq!(
        verbose.stdout, quiet.stdout,
        "--verbose changes only stderr"
    );
    for expected in [
        "not valid UTF-8 as declared; read as windows-1252",
        "RSS version \"0.94\" read as RSS 2.0",
        // The unclosed <b> is closed, as a browser would: both entries are read.
        "document repaired as a whole: 2 entries (entry by entry: 1)",
        "unrecognised date \"last Tuesday\"; the entry is kept undated",
        "malformed feed",
    ] {
        assert!(
            verbose.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            verbose.stderr
        );
    }
    let entries: Vec<Value> = verbose
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["title"], "Café open");
    assert_eq!(entries[1]["title"], "Fine");
}

#[tokio::test]
async fn several_sources_each_line_names_its_source_and_a_bad_one_does_not_stop_the_rest() {
    let (atom, rss1) = (fixture("atom.xml"), fixture("rss1.rdf"));
    let (atom, rss1) = (atom.to_str().unwrap(), rss1.to_str().unwrap());
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["inspect", atom, "/nonexistent/feed.xml", rss1]);
    let out = run(cmd).await;
    assert!(!out.status.success(), "a missing source fails the run");
    assert!(
        out.stderr.contains("/nonexistent/feed.xml"),
        "{}",
        out.stderr
    );
    let sources: Vec<String> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["source"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(sources.iter().any(|s| s == atom), "{sources:?}");
    assert_eq!(sources.last().map(String::as_str), Some(rss1));
}

#[tokio::test]
async fn a_local_file_over_the_http_size_cap_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.xml");
    let body = "Brussels ".repeat(11 * 1024 * 1024 / 9 + 1);
    std::fs::write(
        &big,
        format!(
            "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid>\
             <title>Long</title><description>{body}</description></item></channel></rss>"
        ),
    )
    .unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() > 10 * 1024 * 1024);
    let entries = inspect_ok(big.to_str().unwrap()).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["title"], "Long");
}

#[tokio::test]
async fn content_location_is_the_base_of_relative_links() {
    let server = MockServer::start().await;
    Mock::given(path("/feeds/world.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Location", "https://mirror.example.net/news/")
                .set_body_raw(
                    "<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid>\
                     <title>x</title><link>story/1</link></item></channel></rss>",
                    "application/rss+xml",
                ),
        )
        .mount(&server)
        .await;
    let entries = inspect_ok(&format!("{}/feeds/world.xml", server.uri())).await;
    assert_eq!(
        entries[0]["link"],
        "https://mirror.example.net/news/story/1"
    );
}
