//! Config errors, from strings: every error is reported with its
//! file:line:col, all of them in one pass, and nothing is read from disk.

use super::*;

const PATH: &str = "/etc/nw/newswatch.toml";

fn errors(text: &str, files: &Memory) -> Vec<String> {
    match Config::parse_with(Path::new(PATH), text, files) {
        Ok(_) => Vec::new(),
        Err(diagnostics) => diagnostics.0.iter().map(|d| d.to_string()).collect(),
    }
}

const RULES: &str = "[[rule]]\nname = \"brussels\"\nquery = \"Brussels\"\nnotify = [\"desk\"]\n";

#[test]
fn a_valid_config_reads_its_rules_from_the_sources() {
    let files = Memory::default().file("/etc/nw/rules.d/a.toml", RULES);
    let text = r#"
rules = ["rules.d/*.toml"]

[[feed]]
name = "wire"
url = "https://example.org/rss.xml"

[destination.desk]
kind = "maildir"
"#;
    let config = Config::parse_with(Path::new(PATH), text, &files).unwrap();
    assert_eq!(config.feeds[0].name, "wire");
    assert_eq!(config.rules.rules()[0].name, "brussels");
    assert_eq!(config.rule_files, [PathBuf::from("/etc/nw/rules.d/a.toml")]);
    assert_eq!(config.state_dir, PathBuf::from("/etc/nw/state"));
}

#[test]
fn unknown_key_is_located() {
    let got = errors("[defaults]\nintervall = \"5m\"\n", &Memory::default());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with(&format!("{PATH}:2:1: ")), "{got:?}");
    assert!(got[0].contains("intervall"), "{got:?}");
}

#[test]
fn every_error_is_reported_in_one_pass() {
    let text = r#"
[defaults]
interval = "15 parsecs"

[[feed]]
name = "wire"
url = "gopher://example.org/"

[[feed]]
name = "wire"
url = "https://example.org/"
first_poll = "loud"
"#;
    let got = errors(text, &Memory::default());
    let expect = [
        (":3:12: ", "invalid duration \"15 parsecs\""),
        (":7:7: ", "unsupported URL scheme \"gopher\""),
        (":10:8: ", "duplicate feed name \"wire\""),
        (
            ":12:14: ",
            "first_poll must be \"quiet\" or \"alert\", not \"loud\"",
        ),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for (error, (at, message)) in got.iter().zip(expect) {
        assert!(error.starts_with(&format!("{PATH}{at}")), "{error}");
        assert!(error.contains(message), "{error}");
    }
}

#[test]
fn a_secret_from_an_unset_variable_is_an_error_at_its_key() {
    let text = r#"
[destination.hook]
kind = "webhook"
url = "https://example.org/hook"
secret_env = "NW_TEST_SECRET"
"#;
    let got = errors(text, &Memory::default());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with(&format!("{PATH}:5:14: ")), "{got:?}");
    assert!(got[0].contains("environment variable NW_TEST_SECRET is not set"));

    let files = Memory::default().var(
        "NW_TEST_SECRET",
        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    );
    assert_eq!(errors(text, &files), Vec::<String>::new());
}

#[test]
fn a_password_in_the_smtp_url_is_refused() {
    let text = r#"
[destination.desk]
kind = "email"
smtp = "smtp://user:hunter2@mail.example.org"
from = "newswatch@example.org"
to = ["desk@example.org"]
"#;
    let got = errors(text, &Memory::default());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains(":4:8: a password may not be written in the config"));
    assert!(!got[0].contains("hunter2 "), "{got:?}");
}

#[test]
fn rule_globs_that_match_nothing_and_unknown_destinations_are_errors() {
    let got = errors("rules = [\"rulez.d/*.toml\"]\n", &Memory::default());
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains(":1:10: /etc/nw/rulez.d/*.toml matches no files"));

    let files = Memory::default().file("/etc/nw/rules.d/a.toml", RULES);
    let got = errors("rules = [\"rules.d/*.toml\"]\n", &files);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("/etc/nw/rules.d/a.toml:4:"), "{got:?}");
    assert!(got[0].contains("notifies unknown destination \"desk\""));
}

#[test]
fn opml_feeds_take_the_defaults_and_names_not_yet_taken() {
    let opml = r#"<opml version="2.0"><body>
<outline text="wire" xmlUrl="https://example.org/other.xml"/>
<outline text="wire" xmlUrl="https://example.org/third.xml"/>
<outline text="elsewhere" xmlUrl="ftp://example.org/feed"/>
</body></opml>"#;
    let files = Memory::default()
        .file("/etc/nw/rules.d/a.toml", RULES)
        .file("/etc/nw/lists/feeds.opml", opml);
    let text = r#"
rules = ["rules.d/*.toml"]
opml = ["lists/feeds.opml"]

[defaults]
interval = "7m"

[[feed]]
name = "wire"
url = "https://example.org/rss.xml"

[destination.desk]
kind = "maildir"
"#;
    let config = Config::parse_with(Path::new(PATH), text, &files).unwrap();
    let names = |config: &Config| -> Vec<(String, String, u64)> {
        let mut feeds: Vec<_> = (config.feeds.iter())
            .map(|f| (f.url.to_string(), f.name.clone(), f.interval.as_secs()))
            .collect();
        feeds.sort();
        feeds
    };
    let feeds = names(&config);
    // The [[feed]] keeps its name; the outlines that share it get their
    // URL's hash, so reordering them cannot swap their names (and state).
    assert_eq!(
        feeds[1],
        ("https://example.org/rss.xml".into(), "wire".into(), 420)
    );
    for (url, name, interval) in [&feeds[0], &feeds[2]] {
        assert!(
            name.starts_with("wire (") && name.len() == "wire (123456)".len(),
            "{url} {name}"
        );
        assert_eq!(*interval, 420);
    }
    let swapped = opml
        .replace("other.xml", "TMP")
        .replace("third.xml", "other.xml")
        .replace("TMP", "third.xml");
    let files_swapped = Memory::default()
        .file("/etc/nw/rules.d/a.toml", RULES)
        .file("/etc/nw/lists/feeds.opml", &swapped);
    let reordered = Config::parse_with(Path::new(PATH), text, &files_swapped).unwrap();
    assert_eq!(names(&reordered), feeds);
    let warnings: Vec<String> = config.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings[0]
            .starts_with("/etc/nw/lists/feeds.opml:4:1: left out: unsupported URL scheme \"ftp\""),
        "{warnings:?}"
    );
    // A missing file is an error at the config's `opml` entry.
    let missing = errors(&text.replace("lists/feeds.opml", "gone.opml"), &files);
    assert!(
        missing[0]
            .starts_with("/etc/nw/newswatch.toml:3:9: cannot read OPML file /etc/nw/gone.opml"),
        "{missing:?}"
    );
}

#[test]
fn health_notifies_known_destinations_only() {
    let files = Memory::default().file("/etc/nw/rules.d/a.toml", RULES);
    let text = r#"rules = ["rules.d/*.toml"]

[destination.desk]
kind = "maildir"

[health]
notify = ["desk", "pager"]
failing_after = "2h"
"#;
    let got = errors(text, &files);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with(
            "/etc/nw/newswatch.toml:7:19: [health] notifies unknown destination \"pager\""
        ),
        "{got:?}"
    );
    let config =
        Config::parse_with(Path::new(PATH), &text.replace(", \"pager\"", ""), &files).unwrap();
    assert_eq!(config.health.notify, ["desk"]);
    assert_eq!(config.health.failing_after, Duration::from_secs(7200));
    // In a daily digest, like a rule's alerts.
    let daily = text.replace(", \"pager\"", "") + "digest = \"daily 08:00\"\n";
    let config = Config::parse_with(Path::new(PATH), &daily, &files).unwrap();
    let digests = config.digests();
    for kind in ["feed failing", "feed recovered", "feed quiet"] {
        assert!(
            matches!(digests.get(kind), Some(DigestSchedule::Daily(_))),
            "{kind}"
        );
    }
    let hourly = text.replace(", \"pager\"", "") + "every = \"6h\"\n";
    let config = Config::parse_with(Path::new(PATH), &hourly, &files).unwrap();
    assert!(matches!(
        config.digests().get("feed quiet"),
        Some(DigestSchedule::Every(d)) if d.as_secs() == 6 * 3600
    ));
    let both = hourly.clone() + "digest = \"daily 08:00\"\n";
    let got = errors(&both, &files);
    assert!(got[0].contains("either `digest` or `every`"), "{got:?}");
    let broken = text.replace(", \"pager\"", "") + "digest = \"weekly\"\n";
    let got = errors(&broken, &files);
    assert!(
        got[0].starts_with("/etc/nw/newswatch.toml:9:10: digest schedule \"weekly\""),
        "{got:?}"
    );
}

#[test]
fn websub_needs_an_address_and_a_public_url() {
    let files = Memory::default().file("/etc/nw/rules.d/a.toml", RULES);
    let text = r#"rules = ["rules.d/*.toml"]

[destination.desk]
kind = "maildir"

[websub]
listen = "127.0.0.1:8095"
public_url = "https://news.example.org/websub/"
"#;
    let config = Config::parse_with(Path::new(PATH), text, &files).unwrap();
    let websub = config.websub.unwrap();
    assert_eq!(websub.listen.to_string(), "127.0.0.1:8095");
    assert_eq!(websub.lease, Duration::from_secs(10 * 24 * 3600));
    assert!(
        Config::parse_with(Path::new(PATH), "", &files)
            .unwrap()
            .websub
            .is_none()
    );
    let broken = text.replace("127.0.0.1:8095", "localhost").replace(
        "https://news.example.org/websub/",
        "ftp://news.example.org/",
    ) + "lease = \"forever\"\n";
    let got = errors(&broken, &files);
    let expect = [
        (":7:10: ", "[websub] listen must be an address and port"),
        (
            ":8:14: ",
            "[websub] public_url must be an http or https URL",
        ),
        (":9:9: ", "invalid duration \"forever\""),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for (error, (at, message)) in got.iter().zip(expect) {
        assert!(error.starts_with(&format!("{PATH}{at}")), "{error}");
        assert!(error.contains(message), "{error}");
    }
    let missing = errors(&text.replace("public_url", "#"), &files);
    assert!(missing[0].contains("public_url"), "{missing:?}");
}

#[test]
fn a_postgres_store_takes_its_password_from_a_file_never_the_url() {
    let files = Memory::default()
        .file("/etc/nw/rules.d/a.toml", RULES)
        .file("/etc/nw/pg-password", "s3cret\n");
    let text = r#"
store = "postgres://newswatch@db.internal:5432/news"
store_password_file = "pg-password"
store_lease = "30s"
rules = ["rules.d/*.toml"]

[destination.desk]
kind = "maildir"
"#;
    let config = Config::parse_with(Path::new(PATH), text, &files).unwrap();
    let crate::store::Location::Postgres(target) = &config.store else {
        panic!("{:?}", config.store);
    };
    assert_eq!(target.url, "postgres://newswatch@db.internal:5432/news");
    assert_eq!(target.password.as_deref(), Some("s3cret"));
    assert!(!format!("{target:?}").contains("s3cret"));
    assert_eq!(config.store_lease, Duration::from_secs(30));
    // The default: SQLite in the state directory.
    let plain = "rules = [\"rules.d/*.toml\"]\n[destination.desk]\nkind = \"maildir\"\n";
    let config = Config::parse_with(Path::new(PATH), plain, &files).unwrap();
    assert_eq!(
        config.store,
        crate::store::Location::Sqlite {
            state_dir: PathBuf::from("/etc/nw/state")
        }
    );
}

#[test]
fn store_mistakes_are_located() {
    let cases = [
        (
            "store = \"postgres://u:pw@db/news\"\n",
            "1:9",
            "a password may not be written in the config",
        ),
        (
            "store = \"mysql://db/news\"\n",
            "1:9",
            "\"sqlite\" or a URL",
        ),
        (
            "store_password_env = \"PGPASS\"\n",
            "1:22",
            "needs `store = \"postgres://",
        ),
        (
            "store_lease = \"1s\"\n",
            "1:15",
            "between 2 seconds and 1 hour",
        ),
    ];
    for (text, at, message) in cases {
        let got = errors(text, &Memory::default());
        assert_eq!(got.len(), 1, "{text}: {got:?}");
        // A password written in the URL is not quoted back.
        assert!(!got[0].contains("pw@"), "{got:?}");
        assert!(got[0].starts_with(&format!("{PATH}:{at}: ")), "{got:?}");
        assert!(got[0].contains(message), "{got:?}");
    }
}
