//! Feed lists from OPML: `opml = [...]` in the config, `feeds import` and
//! `feeds export`, on lists written the way different feed readers write them.

use crate::support::*;

/// Folders as nested outlines (Feedly, Inoreader, NetNewsWire, Miniflux),
/// a `category` attribute and lower-case `xmlurl` (other exporters), a
/// link that is no feed, and a feed the config lists already.
const OPML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Reader export</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="Wire" title="Wire" xmlUrl="https://wire.example/rss" htmlUrl="https://wire.example/"/>
      <outline text="Europe" title="Europe">
        <outline type="rss" text="EU desk" xmlUrl="https://eu.example/atom.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="Tech &amp; Security" xmlurl="https://tech.example/feed" category="/Tech,/Security"/>
    <outline type="link" text="A home page" url="https://home.example/"/>
    <outline type="rss" text="Hand-written" xmlUrl="https://hand.example/rss"/>
  </body>
</opml>
"#;

const CONFIG: &str = r#"state_dir = "state"
rules = ["rules.d/*.toml"]
opml = ["feeds.opml"]

[[feed]]
name = "Hand-written"
url = "https://hand.example/rss"
interval = "5m"
"#;

const RULES: &str = "[[rule]]\nname = \"r\"\nquery = 'x'\nfeeds = [\"Europe\"]\n";

#[tokio::test]
async fn an_opml_file_in_the_config_adds_its_feeds_with_their_folders_as_tags() {
    let env = Env::new(CONFIG, RULES);
    std::fs::write(env.dir.path().join("feeds.opml"), OPML).unwrap();
    let run = run(env.command(&["check"])).await;
    assert!(run.status.success(), "{}", run.stderr);
    // Three from the OPML file (the repeat of the [[feed]] is left out, and
    // the link is no feed); the rule's feeds pattern finds the folder tag.
    assert!(run.stdout.contains("OK: 4 feeds"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("feeds.opml:13:5: https://hand.example/rss is listed already"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("matches no feed"), "{}", run.stderr);

    // Exported, then imported again: the same feeds with the same tags.
    let export = run_ok(env.command(&["feeds", "export"])).await;
    std::fs::write(env.dir.path().join("export.opml"), &export).unwrap();
    let path = env.dir.path().join("export.opml");
    let import = run_ok(env.command(&["feeds", "import", path.to_str().unwrap()])).await;
    let table: toml::Table = import.parse().expect("import prints TOML");
    let feeds: Vec<(String, String, Vec<String>)> = table["feed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap().to_string();
            let tags = f
                .get("tags")
                .and_then(|t| t.as_array())
                .map_or(Vec::new(), |t| {
                    t.iter().map(|t| t.as_str().unwrap().to_string()).collect()
                });
            (text("name"), text("url"), tags)
        })
        .collect();
    let expected = [
        ("Wire", "https://wire.example/rss", vec!["World"]),
        (
            "EU desk",
            "https://eu.example/atom.xml",
            vec!["World", "Europe"],
        ),
        (
            "Tech & Security",
            "https://tech.example/feed",
            vec!["Tech", "Security"],
        ),
        ("Hand-written", "https://hand.example/rss", vec![]),
    ];
    for (name, url, tags) in expected {
        let tags: Vec<String> = tags.into_iter().map(String::from).collect();
        assert!(
            feeds.contains(&(name.to_string(), url.to_string(), tags)),
            "{name} in {feeds:?}"
        );
    }
    assert_eq!(feeds.len(), 4, "{feeds:?}");
}

#[tokio::test]
async fn a_broken_opml_file_is_an_error_with_its_position() {
    let env = Env::new(CONFIG, RULES);
    let broken = "<opml version=\"2.0\"><body>\n<outline text=\"x\">\n</body></opml>\n";
    std::fs::write(env.dir.path().join("feeds.opml"), broken).unwrap();
    let run = run(env.command(&["check"])).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("feeds.opml:3:") && run.stderr.contains("not well-formed XML"),
        "{}",
        run.stderr
    );
}

/// Runs a command that must succeed; its stdout.
async fn run_ok(cmd: tokio::process::Command) -> String {
    let run = run(cmd).await;
    assert!(run.status.success(), "{}", run.stderr);
    run.stdout
}

#[tokio::test]
async fn feeds_lists_each_feed_with_its_health_after_a_poll() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let sink = SmtpSink::start_any();
    let server = MockServer::start().await;
    let good = rss(&[
        Item {
            guid: "a",
            title: "Markets steady",
            body: "Nothing to see.",
        },
        Item {
            guid: "b",
            title: "Weather",
            body: "Rain.",
        },
    ]);
    // Fresh for half an hour, says the server: polled then, not every second.
    Mock::given(method("GET"))
        .and(path("/good.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Cache-Control", "public, max-age=1800")
                .set_body_raw(good, "application/rss+xml"),
        )
        .mount(&server)
        .await;
    let feeds = format!(
        "[[feed]]\nname = \"good\"\nurl = \"{uri}/good.xml\"\n\n\
         [[feed]]\nname = \"gone\"\nurl = \"{uri}/missing.xml\"\n\n\
         [[feed]]\nname = \"later\"\nurl = \"{uri}/later.xml\"\n",
        uri = server.uri()
    );
    let env = Env::new(&config(sink.port, &feeds), RULES);
    // Before any poll: nothing is known yet.
    let before = run_ok(env.command(&["feeds", "--format", "json"])).await;
    assert_eq!(
        before.matches("\"state\":\"not polled yet\"").count(),
        3,
        "{before}"
    );

    // One poll of the first two (the third is left out of this config copy).
    let polled = config(sink.port, &feeds).replace(
        &format!(
            "[[feed]]\nname = \"later\"\nurl = \"{}/later.xml\"\n",
            server.uri()
        ),
        "",
    );
    std::fs::write(env.config_path(), polled).unwrap();
    env.once().await;
    std::fs::write(env.config_path(), config(sink.port, &feeds)).unwrap();

    let listed = run_ok(env.command(&["feeds", "--format", "json"])).await;
    let feeds: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    let by_name = |name: &str| {
        feeds
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {listed}"))
    };
    let good = by_name("good");
    assert_eq!(good["state"], "ok", "{good}");
    assert_eq!(good["entries_seen"], 2, "{good}");
    assert!(
        good["last_success"].is_string() && good["last_new_entry"].is_string(),
        "{good}"
    );
    let next: chrono::DateTime<chrono::Utc> = good["next_poll"].as_str().unwrap().parse().unwrap();
    let wait = next - chrono::Utc::now();
    assert!(wait > chrono::Duration::minutes(25), "next poll in {wait}");
    let gone = by_name("gone");
    assert_eq!(gone["state"], "never succeeded", "{gone}");
    assert_eq!(gone["consecutive_failures"], 1, "{gone}");
    assert!(gone["failing_since"].is_string(), "{gone}");
    assert!(
        gone["last_error"].as_str().unwrap().contains("404"),
        "{gone}"
    );
    assert_eq!(by_name("later")["state"], "not polled yet");

    // The same for a person: one line per feed, the state and the error.
    let human = run_ok(env.command(&["feeds"])).await;
    let line = human
        .lines()
        .find(|l| l.starts_with("gone "))
        .expect("gone");
    assert!(
        line.contains("never succeeded") && line.contains("404"),
        "{human}"
    );
}

#[tokio::test]
async fn a_failing_feed_gets_one_notice_and_one_when_it_works_again() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let sink = SmtpSink::start_any();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/flaky.xml"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let feeds = format!(
        "[[feed]]\nname = \"flaky\"\nurl = \"{}/flaky.xml\"\n\n\
         [health]\nnotify = [\"desk\"]\nfailing_after = \"1s\"\n",
        server.uri()
    );
    // Retried every second, so that it fails for longer than `failing_after`.
    let text = config(sink.port, &feeds).replace(
        "interval = \"1s\"",
        "interval = \"1s\"\nmax_backoff = \"1s\"",
    );
    let env = Env::new(&text, RULES);
    let daemon = env.start_daemon();
    let subject = |kind: &str| format!("Subject: [newswatch] {kind}: Feed \"flaky\"");
    let failing = subject("feed failing");
    wait_for("the feed failing notice", || {
        sink.messages()
            .iter()
            .any(|m| m.contains(&failing))
            .then_some(())
    })
    .await;
    let notice = sink
        .messages()
        .into_iter()
        .find(|m| m.contains(&failing))
        .unwrap();
    assert!(mail_body(&notice).contains("503"), "{notice}");

    // The feed works again: one "recovered" notice, and still one "failing".
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/flaky.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            rss(&[Item {
                guid: "x",
                title: "Back",
                body: "Back online.",
            }]),
            "application/rss+xml",
        ))
        .mount(&server)
        .await;
    let recovered = subject("feed recovered");
    wait_for("the feed recovered notice", || {
        sink.messages()
            .iter()
            .any(|m| m.contains(&recovered))
            .then_some(())
    })
    .await;
    daemon.stop().await;
    let messages = sink.messages();
    assert_eq!(messages.iter().filter(|m| m.contains(&failing)).count(), 1);
    assert_eq!(
        messages.iter().filter(|m| m.contains(&recovered)).count(),
        1
    );
}
