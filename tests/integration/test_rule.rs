//! `newswatch test-rule`: rules over feeds, nothing sent, nothing stored.

use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;

fn example(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

async fn newswatch(args: &[&str]) -> Run {
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(args);
    run(cmd).await
}

#[tokio::test]
async fn json_matches_carry_the_inspect_id_and_spans() {
    let feed = example("config/feeds/world-wire.xml");
    let found = newswatch(&[
        "test-rule",
        "--query",
        "Zaventem NEAR/3 explosions",
        "--format",
        "json",
        &feed,
    ])
    .await;
    assert!(found.status.success(), "{}", found.stderr);
    let lines: Vec<Value> = found
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{}", found.stdout);
    let m = &lines[0];
    assert_eq!(m["rule"], "query");
    assert_eq!(
        m["title"],
        "Two explosions reported at Zaventem airport departure hall"
    );
    assert_eq!(
        m["excerpts"][0],
        json!({"field": "title", "text": "Two explosions reported at Zaventem airport departure hall", "spans": [[4, 14], [27, 35]]})
    );
    let inspected = newswatch(&["inspect", &feed]).await;
    let first: Value = serde_json::from_str(inspected.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(m["entry_id"], first["id"]);
}

#[tokio::test]
async fn rule_files_and_one_rule_by_name() {
    let feed = example("config/feeds/world-wire.xml");
    let rules = example("config/rules.d/security.toml");
    let all = newswatch(&["test-rule", "--rules", &rules, &feed]).await;
    assert!(all.status.success(), "{}", all.stderr);
    assert!(
        all.stdout.contains("brussels-incident: Two explosions"),
        "{}",
        all.stdout
    );
    assert!(
        all.stdout.contains("[title] [Islamic State] claims"),
        "{}",
        all.stdout
    );
    let one = newswatch(&[
        "test-rule",
        "--rules",
        &rules,
        "--rule",
        "islamic-state",
        &feed,
    ])
    .await;
    assert!(!one.stdout.contains("brussels-incident"), "{}", one.stdout);
    assert!(
        one.stderr.contains("1 match(es) in 4 entries, 1 rule(s)"),
        "{}",
        one.stderr
    );
}

#[tokio::test]
async fn a_broken_query_is_rejected_with_its_position() {
    let feed = example("config/feeds/world-wire.xml");
    let bad = newswatch(&["test-rule", "--query", "Brussels NEAR/x blast", &feed]).await;
    assert!(!bad.status.success());
    assert!(
        bad.stderr.contains("--query: 10: NEAR/n needs a distance"),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn a_query_starting_with_a_dash_is_a_value_not_an_option() {
    let feed = example("config/feeds/world-wire.xml");
    let spaced = newswatch(&[
        "test-rule",
        "--query",
        "-football Brussels",
        "--format",
        "json",
        &feed,
    ])
    .await;
    assert!(spaced.status.success(), "{}", spaced.stderr);
    let joined = newswatch(&[
        "test-rule",
        "--query=-football Brussels",
        "--format",
        "json",
        &feed,
    ])
    .await;
    assert!(joined.status.success(), "{}", joined.stderr);
    assert!(spaced.stdout.contains("Zaventem"), "{}", spaced.stdout);
    assert_eq!(spaced.stdout, joined.stdout);
    let excluded = newswatch(&["test-rule", "--query", "-Zaventem Brussels", &feed]).await;
    assert!(excluded.status.success(), "{}", excluded.stderr);
    assert!(!excluded.stdout.contains("Zaventem"), "{}", excluded.stdout);
}

#[tokio::test]
async fn a_match_on_a_category_or_author_quotes_it() {
    let feed = example("config/feeds/world-wire.xml");
    let found = newswatch(&[
        "test-rule",
        "--query",
        "category:\"middle east\" OR author:martens",
        "--format",
        "json",
        &feed,
    ])
    .await;
    assert!(found.status.success(), "{}", found.stderr);
    let mut excerpts: Vec<Value> = found
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["excerpts"].clone())
        .collect();
    // In published order: the category's entry came first.
    excerpts.sort_by_key(|e| e[0]["field"].as_str().map(String::from));
    assert_eq!(
        excerpts,
        [
            json!([{"field": "author", "text": "Lea Martens", "spans": [[4, 11]]}]),
            json!([{"field": "category", "text": "Middle East", "spans": [[0, 11]]}]),
        ]
    );
    let human = newswatch(&["test-rule", "--query", "author:martens", &feed]).await;
    assert!(
        human.stdout.contains("  [author] Lea [Martens]\n"),
        "{}",
        human.stdout
    );
}

#[tokio::test]
async fn names_are_found_in_every_script_and_near_misses_are_not() {
    let feed = example("tests/fixtures/world-scripts.xml");
    let rules = example("tests/fixtures/rules-scripts.toml");
    let found = newswatch(&["test-rule", "--rules", &rules, "--format", "json", &feed]).await;
    assert!(found.status.success(), "{}", found.stderr);
    let marked: Vec<(String, Vec<String>)> = found
        .stdout
        .lines()
        .map(|l| {
            let m: Value = serde_json::from_str(l).unwrap();
            let title = m["title"].as_str().unwrap().to_string();
            let words = m["excerpts"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| {
                    let text = e["text"].as_str().unwrap().to_string();
                    e["spans"].as_array().unwrap().iter().map(move |s| {
                        text[s[0].as_u64().unwrap() as usize..s[1].as_u64().unwrap() as usize]
                            .to_string()
                    })
                })
                .collect();
            (title, words)
        })
        .collect();
    let titles: Vec<&str> = marked.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        titles,
        [
            "布鲁塞尔机场发生两起爆炸",
            "ブリュッセル空港で爆発",
            "ระเบิดที่สนามบินบรัสเซลส์",
            "브뤼셀에서 폭발",
            "وقع انفجاران ببروكسل",
            "Взрывы в аэропорту Брюсселя",
        ],
        "{}",
        found.stdout
    );
    // The title's marks are the name and the blast, as written there.
    assert!(
        marked[0].1.starts_with(&["布鲁塞尔".into(), "爆炸".into()]),
        "{marked:?}"
    );
    assert!(
        marked[3]
            .1
            .starts_with(&["브뤼셀에서".into(), "폭발".into()]),
        "{marked:?}"
    );
    assert!(
        marked[4]
            .1
            .starts_with(&["انفجاران".into(), "ببروكسل".into()]),
        "{marked:?}"
    );
    assert!(
        marked[5]
            .1
            .starts_with(&["Взрывы".into(), "Брюсселя".into()]),
        "{marked:?}"
    );
}

#[tokio::test]
async fn explain_shows_how_each_term_is_looked_for() {
    let rules = example("tests/fixtures/rules-scripts.toml");
    let shown = newswatch(&["test-rule", "--rules", &rules, "--explain"]).await;
    assert!(shown.status.success(), "{}", shown.stderr);
    for line in [
        "rule brussels-blast: @brussels AND @blast -كرة -مباراة",
        "布鲁塞尔 → \"布鲁 鲁塞 塞尔\" (characters in overlapping pairs, in this order)",
        "Брюссель → брюссел (stems in ru: any word with the same stem)",
        "بروكسل → بروكسل (also with particles attached in the text)",
    ] {
        assert!(shown.stdout.contains(line), "{line}\n{}", shown.stdout);
    }
}

#[tokio::test]
async fn a_query_can_be_stemmed_and_an_unknown_language_is_refused() {
    let feed = example("tests/fixtures/world-scripts.xml");
    let exact = newswatch(&["test-rule", "--query", "Брюссель", &feed]).await;
    assert!(exact.status.success(), "{}", exact.stderr);
    assert!(exact.stdout.is_empty(), "{}", exact.stdout);
    let stemmed = newswatch(&["test-rule", "--query", "Брюссель", "--stem", "ru", &feed]).await;
    assert!(
        stemmed
            .stdout
            .contains("[title] Взрывы в аэропорту [Брюсселя]"),
        "{}",
        stemmed.stdout
    );
    assert!(!stemmed.stdout.contains("капуста"), "{}", stemmed.stdout);
    let unknown = newswatch(&["test-rule", "--query", "x", "--stem", "xx", &feed]).await;
    assert!(!unknown.status.success());
    assert!(
        unknown.stderr.contains("--stem: unknown language \"xx\""),
        "{}",
        unknown.stderr
    );
}

#[tokio::test]
async fn the_configs_own_rules_match_and_explain() {
    let config = example("config/newswatch.toml");
    let feed = example("config/feeds/world-wire.xml");
    let found = newswatch(&["-c", &config, "test-rule", &feed]).await;
    assert!(found.status.success(), "{}", found.stderr);
    assert!(
        found.stdout.contains("brussels-incident: Two explosions"),
        "{}",
        found.stdout
    );
    let shown = newswatch(&["-c", &config, "test-rule", "--explain"]).await;
    assert!(
        shown.stdout.contains("Zaventem → zaventem"),
        "{}",
        shown.stdout
    );
}
