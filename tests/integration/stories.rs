//! Stories, end to end: feeds on a loopback server, `newswatch once` runs
//! (each a restart: stories come back from the store), mail to a real SMTP
//! server and webhooks to a real HTTP listener.

use crate::support::*;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One item: guid, title, body.
type Entry = (String, String, String);

/// Feeds whose items the test sets, by path.
#[derive(Clone, Default)]
struct Feeds(Arc<Mutex<BTreeMap<String, Vec<Entry>>>>);

impl Feeds {
    fn set(&self, feed: &str, items: &[(&str, &str, &str)]) {
        let items = items
            .iter()
            .map(|(g, t, b)| (g.to_string(), t.to_string(), b.to_string()))
            .collect();
        self.0.lock().unwrap().insert(format!("/{feed}.xml"), items);
    }
}

impl Respond for Feeds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let feeds = self.0.lock().unwrap();
        let items = feeds.get(request.url.path()).cloned().unwrap_or_default();
        let items: Vec<Item> = items
            .iter()
            .map(|(guid, title, body)| Item { guid, title, body })
            .collect();
        ResponseTemplate::new(200).set_body_raw(rss(&items), "application/rss+xml")
    }
}

async fn serve(feeds: &Feeds) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(feeds.clone())
        .mount(&server)
        .await;
    server
}

fn feed_config(server: &MockServer, names: &[&str]) -> String {
    names
        .iter()
        .map(|name| {
            format!(
                "[[feed]]\nname = \"{name}\"\nurl = \"{}/{name}.xml\"\nfirst_poll = \"alert\"\n",
                server.uri()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const FIRST: (&str, &str, &str) = (
    "wire-1",
    "Explosion at Zaventem airport kills two",
    "An explosion tore through the departure hall of Zaventem airport near Brussels on \
     Tuesday morning, killing two people and injuring dozens, Belgian police said. The \
     federal prosecutor's office said it was treating the blast as a terrorist attack.",
);
const REWRITE: (&str, &str, &str) = (
    "harbour-7",
    "Brussels airport blast: two dead as Zaventem terminal evacuated",
    "Two people were killed when an explosion ripped through the departure hall at Zaventem \
     airport outside Brussels on Tuesday, police said. Prosecutors are treating the \
     explosion as a terrorist attack; the terminal was evacuated.",
);
const FOLLOW_UP: (&str, &str, &str) = (
    "lakeside-3",
    "Zaventem airport explosion: death toll rises to 11",
    "The death toll from Tuesday's explosion in the departure hall of Zaventem airport near \
     Brussels has risen to 11, Belgian police said, with 81 people injured. The federal \
     prosecutor is treating the blast as a terrorist attack.",
);
/// Same city, same day, also an explosion: another story.
const OTHER_EVENT: (&str, &str, &str) = (
    "lakeside-4",
    "Gas explosion damages apartment block in Anderlecht",
    "A gas explosion damaged an apartment block in the Anderlecht district of Brussels on \
     Tuesday evening; firefighters evacuated 40 residents and nobody was hurt, the fire \
     service said.",
);

fn rules(story: &str) -> String {
    format!(
        "[[rule]]\nname = \"brussels\"\nquery = '(Brussels OR Zaventem) (explosion OR attack)'\n\
         notify = [\"desk\"]\nstory = \"{story}\"\n"
    )
}

fn subjects(smtp: &SmtpSink) -> Vec<String> {
    smtp.messages()
        .iter()
        .map(|m| mail_header(m, "Subject").unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_story_reported_by_three_feeds_alerts_once() {
    let feeds = Feeds::default();
    feeds.set("wire", &[FIRST]);
    feeds.set("harbour", &[REWRITE]);
    feeds.set("lakeside", &[FOLLOW_UP, OTHER_EVENT]);
    let server = serve(&feeds).await;
    let smtp = SmtpSink::start_any();
    let config = config(
        smtp.port,
        &feed_config(&server, &["wire", "harbour", "lakeside"]),
    );
    let env = Env::new(&config, &rules("first"));
    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    // One mail for the airport blast (whichever feed came first), one for
    // the gas explosion: not four.
    let subjects = subjects(&smtp);
    assert_eq!(subjects.len(), 2, "{subjects:?}\n{}", run.stderr);
    assert_eq!(
        subjects.iter().filter(|s| s.contains("Anderlecht")).count(),
        1,
        "{subjects:?}"
    );
    assert_eq!(
        subjects.iter().filter(|s| s.contains("Zaventem")).count(),
        1,
        "{subjects:?}"
    );
    // The later articles are recorded in their story: a restart does not
    // alert them again, nor a wire copy under another feed's key.
    feeds.set("metro", &[("metro-1", FIRST.1, FIRST.2)]);
    let config = config.clone() + "\n" + &feed_config(&server, &["metro"]);
    std::fs::write(env.config_path(), config).unwrap();
    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(smtp.messages().len(), 2, "{:?}", subjects);
}

#[tokio::test]
async fn under_updates_a_later_article_with_news_is_a_threaded_follow_up() {
    let feeds = Feeds::default();
    feeds.set("wire", &[FIRST]);
    let server = serve(&feeds).await;
    let smtp = SmtpSink::start_any();
    let hook = WebhookSink::start("", None);
    let config = config(
        smtp.port,
        &feed_config(&server, &["wire", "harbour", "lakeside"]),
    ) + &format!(
        "\n[destination.hook]\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    let rules = rules("updates").replace("[\"desk\"]", "[\"desk\", \"hook\"]");
    let env = Env::new(&config, &rules);
    assert!(env.once().await.status.success());
    assert_eq!(smtp.messages().len(), 1);

    // Another outlet's version adds nothing: recorded, not sent.
    feeds.set("harbour", &[REWRITE]);
    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(smtp.messages().len(), 1, "{:?}", subjects(&smtp));

    // A death toll: a follow-up in the first alert's thread.
    feeds.set("lakeside", &[FOLLOW_UP]);
    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "{:?}", subjects(&smtp));
    let first_id = mail_header(&mails[0], "Message-ID").unwrap();
    assert_eq!(
        mail_header(&mails[1], "In-Reply-To").as_deref(),
        Some(first_id.as_str())
    );
    assert_eq!(
        mail_header(&mails[1], "References").as_deref(),
        Some(first_id.as_str())
    );
    assert_eq!(
        mail_header(&mails[1], "Subject"),
        mail_header(&mails[0], "Subject"),
        "a follow-up keeps the story's subject"
    );
    let (text, _) = mail_parts(&mails[1]);
    assert!(text.contains("What is new: new figures: 11, 81"), "{text}");
    assert!(text.contains("Also:      wire, harbour"), "{text}");

    // The webhook's story object tells the same.
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    let body = |i: usize| -> serde_json::Value {
        serde_json::from_str(requests[i]["body"].as_str().unwrap()).unwrap()
    };
    let (first, follow_up) = (body(0), body(1));
    let story = &follow_up["data"]["story"];
    assert_eq!(story["id"], first["data"]["story"]["id"]);
    assert_eq!(story["follows"], first["data"]["id"]);
    assert_eq!(story["articles"], 3);
    assert_eq!(
        story["sources"],
        serde_json::json!(["wire", "harbour", "lakeside"])
    );
    assert_eq!(story["adds"], "new figures: 11, 81");
    assert_eq!(story["title"], FIRST.1);
    assert!(first["data"]["story"]["follows"].is_null());
}

#[tokio::test]
async fn an_entry_whose_guid_changes_form_does_not_alert_again() {
    let feeds = Feeds::default();
    feeds.set("wire", &[("http://news.test/a/1", FIRST.1, FIRST.2)]);
    let server = serve(&feeds).await;
    let smtp = SmtpSink::start_any();
    let config = config(smtp.port, &feed_config(&server, &["wire"]));
    // "every": recognised by its text, whatever the stories.
    let env = Env::new(&config, &rules("every"));
    assert!(env.once().await.status.success());
    assert_eq!(smtp.messages().len(), 1);
    // The CMS moved to https: every GUID changed, no text did.
    feeds.set(
        "wire",
        &[
            ("https://news.test/a/1", FIRST.1, FIRST.2),
            ("https://news.test/a/2", OTHER_EVENT.1, OTHER_EVENT.2),
        ],
    );
    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr.contains("Entry changed its id"),
        "{}",
        run.stderr
    );
    // Only the new entry alerts.
    assert_eq!(smtp.messages().len(), 2, "{:?}", subjects(&smtp));
    assert!(subjects(&smtp)[1].contains("Anderlecht"));
}

#[tokio::test]
async fn an_edited_headline_is_a_follow_up_for_updates_only() {
    let feeds = Feeds::default();
    feeds.set("wire", &[FIRST]);
    let server = serve(&feeds).await;
    let smtp = SmtpSink::start_any();
    let config = config(smtp.port, &feed_config(&server, &["wire"]));
    let rules = rules("first") + &rules("updates").replace("\"brussels\"", "\"brussels-updates\"");
    let env = Env::new(&config, &rules);
    assert!(env.once().await.status.success());
    assert_eq!(smtp.messages().len(), 2, "one per rule");
    // The same entry (same GUID), its headline and text edited.
    let edited = FIRST
        .2
        .replace("killing two people", "killing at least 11 people");
    feeds.set(
        "wire",
        &[(
            FIRST.0,
            "At least 11 dead in Zaventem airport explosion",
            &edited,
        )],
    );
    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 3, "{:?}", subjects(&smtp));
    assert_eq!(
        mail_header(&mails[2], "X-Newswatch-Rule").as_deref(),
        Some("brussels-updates")
    );
    let root = mails[..2]
        .iter()
        .find(|m| mail_header(m, "X-Newswatch-Rule").as_deref() == Some("brussels-updates"))
        .and_then(|m| mail_header(m, "Message-ID"));
    assert_eq!(mail_header(&mails[2], "In-Reply-To"), root);
    let (text, _) = mail_parts(&mails[2]);
    assert!(
        text.contains("headline changed: \u{201c}Explosion at Zaventem airport kills two\u{201d}"),
        "{text}"
    );
    // Polled again unchanged: nothing more.
    assert!(env.once().await.status.success());
    assert_eq!(smtp.messages().len(), 3);
}

#[tokio::test]
async fn test_rule_shows_how_a_day_of_feeds_would_be_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, items: &[(&str, &str, &str)]| {
        let items: Vec<Item> = items
            .iter()
            .map(|(guid, title, body)| Item { guid, title, body })
            .collect();
        let path = dir.path().join(name);
        std::fs::write(&path, rss(&items)).unwrap();
        path.display().to_string()
    };
    let wire = write("wire.xml", &[FIRST]);
    let harbour = write("harbour.xml", &[REWRITE]);
    let lakeside = write("lakeside.xml", &[FOLLOW_UP, OTHER_EVENT]);
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args([
        "test-rule",
        "--query",
        "(Brussels OR Zaventem) explosion",
        "--format",
        "json",
    ]);
    cmd.args([&wire, &harbour, &lakeside]);
    let run = run(cmd).await;
    assert!(run.status.success(), "{}", run.stderr);
    let story: BTreeMap<String, String> = run
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["title"].as_str().unwrap().to_string(),
                v["story"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(story.len(), 4, "{}", run.stdout);
    assert_eq!(story[FIRST.1], story[REWRITE.1]);
    assert_eq!(story[FIRST.1], story[FOLLOW_UP.1]);
    assert_ne!(story[FIRST.1], story[OTHER_EVENT.1]);
    assert!(run.stderr.contains("2 stories"), "{}", run.stderr);
}

#[tokio::test]
async fn a_feed_listing_newest_first_starts_the_story_with_its_first_report() {
    let feeds = Feeds::default();
    // Newest first, as feeds list them: the toll report, then the first.
    feeds.set("wire", &[FOLLOW_UP, FIRST]);
    let server = serve(&feeds).await;
    let smtp = SmtpSink::start_any();
    let config = config(smtp.port, &feed_config(&server, &["wire"]));
    let env = Env::new(&config, &rules("updates"));
    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "{:?}", subjects(&smtp));
    let (follow_up, first): (Vec<&String>, Vec<&String>) = mails
        .iter()
        .partition(|m| mail_header(m, "In-Reply-To").is_some());
    assert_eq!((follow_up.len(), first.len()), (1, 1));
    let (text, _) = mail_parts(follow_up[0]);
    assert!(text.contains(FOLLOW_UP.1), "{text}");
    assert!(text.contains("What is new: new figures: 11, 81"), "{text}");
    assert_eq!(
        mail_header(follow_up[0], "In-Reply-To"),
        mail_header(first[0], "Message-ID")
    );
}
