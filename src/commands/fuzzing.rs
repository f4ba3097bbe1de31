//! Entry points for the fuzz targets in fuzz/ (built with the `fuzzing`
//! feature only): each takes arbitrary input through one of newswatch's
//! parsers and must return, whatever the input, without panicking.

use crate::config::{Config, Memory};
use crate::ingest::feed::{self, ParseError};
use crate::matching::rules::parse_rule_files;
use crate::matching::{FeedRef, RuleSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Feed bytes → parse → normalise → match against a fixed rule set of
/// every kind of query (phrases, prefixes, NEAR, NOT, fields, scripts).
pub fn feed_to_matches(bytes: &[u8], charset: Option<&str>) {
    static RULES: LazyLock<RuleSet> = LazyLock::new(|| {
        let text = r#"
[[rule]]
name = "phrase"
query = '"Al-Shabab" OR "al Shabaab" OR Brussels'
[[rule]]
name = "near"
query = 'attack NEAR/5 (airport OR station) -football'
[[rule]]
name = "prefix"
query = 'explo* AND title:(Brussel* OR Bruxelles)'
[[rule]]
name = "scripts"
query = '北京 OR 東京都 OR الشباب OR กรุงเทพ OR 서울'
[[rule]]
name = "stem"
query = 'Брюссель'
stem = "ru"
"#;
        let parsed = parse_rule_files(&[(PathBuf::from("fuzz.toml"), text.to_string())], None);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        RuleSet::new(parsed.rules)
    });
    let parsed = match feed::parse(bytes, charset) {
        Ok(parsed) => parsed,
        Err(ParseError::Panicked(message)) => panic!("the parser panicked: {message}"),
        Err(_) => return,
    };
    let tags = vec!["world".to_string()];
    for article in parsed.articles.iter().chain(&parsed.partial) {
        let feed = FeedRef {
            name: "fuzz",
            tags: &tags,
        };
        for m in RULES.matches(article, Some(feed)) {
            // Excerpts are rendered from the article's text: reading them
            // checks their bounds.
            for excerpt in m.excerpts.iter() {
                let _ = excerpt.text.len();
            }
        }
    }
}

/// A query as a rule's `query` is written: parsed, then compiled and run
/// against a short article when it is valid.
pub fn query(text: &str) {
    let Ok(toml_text) = toml::to_string(&toml::toml! { query = text }) else {
        return;
    };
    let rule = format!("[[rule]]\nname = \"q\"\n{toml_text}");
    let parsed = parse_rule_files(&[(PathBuf::from("q.toml"), rule)], None);
    if parsed.errors.is_empty() {
        let rules = RuleSet::new(parsed.rules);
        let article = crate::model::article::Article {
            key: "guid:q".into(),
            guid: None,
            title: "Explosion at Brussels airport".into(),
            link: None,
            published: None,
            authors: vec!["Wire desk".into()],
            categories: vec!["world".into()],
            summary: "Police said an explosion hit the departure hall at Zaventem.".into(),
            content: "Police said an explosion hit the departure hall at Zaventem. 北京 الشباب"
                .into(),
        };
        let _ = rules.matches(&article, None);
    }
}

/// A config file and one rule file, read together as the daemon reads
/// them (errors are values; nothing is read from disk).
pub fn config(config_text: &str, rules_text: &str) {
    let sources = Memory::default().file("/fuzz/rules.d/r.toml", rules_text);
    let _ = Config::parse_with(Path::new("/fuzz/newswatch.toml"), config_text, &sources);
}

/// An OPML file, as `opml = [...]` and `feeds import` read it.
pub fn opml(text: &str) {
    let _ = crate::config::opml::read_opml(text);
}
