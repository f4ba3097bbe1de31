use super::excerpt::{EXCERPT_WORDS, MAX_EXCERPTS};
use super::keys::{key_of_head, prefix_hash, word_hash, word_key};
use super::rules::Rule;
use super::*;
use crate::matching::rules::parse_rule_files;
use crate::model::article::Article;
use crate::model::field::Field;
use proptest::prelude::*;

const ALIASES: &str = r#"
[aliases]
brussels = ["Brussels", "Bruxelles", "Zaventem", "Molenbeek"]
isis = ["ISIS", "ISIL", "Islamic State", "Daesh"]
blast = ["explo*", "blast"]
"#;

/// Compiles rules given as (query, extra TOML lines) with the aliases above.
fn rules_with(specs: &[(&str, &str)]) -> Vec<Rule> {
    let mut text = String::new();
    for (i, (query, extra)) in specs.iter().enumerate() {
        text.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\nquery = '''{query}'''\n{extra}\n"
        ));
    }
    let parsed = parse_rule_files(
        &[
            ("aliases.toml".into(), ALIASES.into()),
            ("t.toml".into(), text),
        ],
        None,
    );
    assert!(
        parsed.errors.is_empty(),
        "{}",
        parsed
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    parsed.rules
}

fn article(title: &str, summary: &str, content: &str) -> Article {
    Article {
        key: "k".into(),
        guid: None,
        title: title.into(),
        link: Some("https://news.example.org/world/brussels-blast".into()),
        published: None,
        authors: vec!["Lea Martens".into()],
        categories: vec!["Europe".into(), "Security".into()],
        summary: summary.into(),
        content: content.into(),
    }
}

const FEED: FeedRef = FeedRef {
    name: "world-wire",
    tags: &[],
};

/// Which of `queries` match `a`; also checks the oracle agrees.
fn matched_with(specs: &[(&str, &str)], a: &Article) -> Vec<usize> {
    let rules = rules_with(specs);
    let set = RuleSet::new(rules.clone());
    let names: Vec<String> = set
        .matches(a, Some(FEED))
        .iter()
        .map(|m| m.rule.name.clone())
        .collect();
    assert_eq!(
        names,
        oracle::matching_rules(&rules, a, Some(FEED)),
        "compiled and oracle disagree"
    );
    names.iter().map(|n| n[1..].parse().unwrap()).collect()
}

fn matched(queries: &[&str], a: &Article) -> Vec<usize> {
    let specs: Vec<(&str, &str)> = queries.iter().map(|q| (*q, "")).collect();
    matched_with(&specs, a)
}

#[test]
fn whole_words_any_case() {
    let a = article("Crisis talks in BRUSSELS", "", "");
    assert_eq!(matched(&["brussels", "ISIS", "crisis", "talk"], &a), [0, 2]);
}

#[test]
fn phrases_hyphens_possessives_diacritics() {
    let a = article(
        "",
        "Al-Shabab's fighters near Kenya’s border; l'aéroport fermé",
        "",
    );
    assert_eq!(
        matched(
            &[
                "\"al shabab\"",
                "\"Shabab fighters\"",
                "Kenya NEAR/2 border",
                "aeroport",
                "\"Islamic State\"",
                "AEROPORT FERME"
            ],
            &a
        ),
        [0, 1, 2, 3, 5]
    );
}

#[test]
fn prefixes() {
    let a = article("Two explosions at the airport", "", "");
    assert_eq!(
        matched(&["explo*", "\"two explo*\"", "expla*", "airports*"], &a),
        [0, 1]
    );
}

#[test]
fn boolean_operators() {
    let a = article(
        "Explosion at Zaventem",
        "",
        "Police said the airport near Brussels was evacuated.",
    );
    assert_eq!(
        matched(
            &[
                "Brussels explosion",
                "Brussels AND -football",
                "Brussels NOT airport",
                "(Paris OR Brussels) explosion",
                "NOT football",
                "Paris OR London",
            ],
            &a
        ),
        [0, 1, 3, 4]
    );
}

#[test]
fn near_distance_either_order_and_groups() {
    let a = article(
        "",
        "",
        "Gunmen attacked a mall in Nairobi on Saturday, and the siege of the Westgate mall lasted days.",
    );
    assert_eq!(
        matched(
            &[
                "attacked NEAR/2 mall",
                "attacked NEAR/1 mall",
                "mall NEAR/3 gunmen",
                "Nairobi NEAR/3 (siege OR hostage)",
                "\"Westgate mall\" NEAR/9 Saturday",
                "Westgate NEAR/0 mall",
                "gunmen NEAR days",
            ],
            &a
        ),
        [0, 1, 2, 4, 5]
    );
}

#[test]
fn field_scopes() {
    let a = article("Blast in Brussels", "Summary words", "Body about Molenbeek");
    assert_eq!(
        matched(
            &[
                "title:brussels",
                "title:molenbeek",
                "content:molenbeek",
                "summary:(words OR nothing)",
                "author:martens",
                "author:\"lea martens\"",
                "category:security",
                "feed:wire",
                "link:blast",
                "title:blast NEAR/2 brussels",
            ],
            &a
        ),
        [0, 2, 3, 4, 5, 6, 7, 8, 9]
    );
}

#[test]
fn regex_escape_hatch() {
    let a = article("Al Shabaab claims raid", "", "");
    assert_eq!(
        matched(
            &[
                "/Al[- ]Shabaa?b/",
                "/^Al Shabab$/",
                "title:/claims\\s+raid/"
            ],
            &a
        ),
        [0, 2]
    );
}

#[test]
fn aliases_expand_to_their_entries() {
    let a = article("Daesh claims explosions at Zaventem", "", "");
    assert_eq!(
        matched(
            &[
                "@isis",
                "@brussels @blast",
                "@brussels NEAR/1 @blast",
                "@brussels NEAR/0 @blast",
                "@isis -@brussels"
            ],
            &a
        ),
        [0, 1, 2]
    );
}

#[test]
fn case_sensitive_rules() {
    let a = article("Isis the goddess, and ISIS the group", "", "");
    let b = article("Temple of Isis restored", "", "");
    let specs = [("ISIS", "case_sensitive = true"), ("isis", "")];
    assert_eq!(matched_with(&specs, &a), [0, 1]);
    assert_eq!(matched_with(&specs, &b), [1]);
}

#[test]
fn substring_rules() {
    let a = article("Counterterrorism unit deployed", "", "");
    let specs = [
        ("terror", "whole_word = false"),
        ("terror", ""),
        ("\"ism unit\"", "whole_word = false"),
    ];
    assert_eq!(matched_with(&specs, &a), [0, 2]);
}

#[test]
fn case_sensitive_substrings_see_through_hyphens_and_accents() {
    let a = article("Al-Shabab fighters near the Aéroport", "", "");
    let specs = [
        ("Al-Shabab", "case_sensitive = true\nwhole_word = false"),
        ("Aéroport", "case_sensitive = true\nwhole_word = false"),
        ("AL-SHABAB", "case_sensitive = true\nwhole_word = false"),
    ];
    assert_eq!(matched_with(&specs, &a), [0, 1]);
}

#[test]
fn content_scope_finds_a_summary_that_doubles_as_content() {
    let a = article("", "Blast in Brussels", "Blast in Brussels");
    assert_eq!(
        matched(&["content:Brussels", "summary:Brussels"], &a),
        [0, 1]
    );
}

#[test]
fn feed_scope_by_name_or_tag() {
    let rules = rules_with(&[
        ("brussels", "feeds = [\"world-*\"]"),
        ("brussels", "feeds = [\"europe\"]"),
        ("brussels", "feeds = [\"other\"]"),
        ("brussels", ""),
    ]);
    let set = RuleSet::new(rules);
    let a = article("Brussels", "", "");
    let tags = vec!["europe".to_string()];
    let names: Vec<String> = set
        .matches(
            &a,
            Some(FeedRef {
                name: "world-wire",
                tags: &tags,
            }),
        )
        .iter()
        .map(|m| m.rule.name.clone())
        .collect();
    assert_eq!(names, ["r0", "r1", "r3"]);
    // test-rule ignores scope.
    assert_eq!(set.matches(&a, None).len(), 4);
}

#[test]
fn negation_only_and_regex_rules_are_evaluated_directly() {
    let rules = rules_with(&[
        ("NOT football", ""),
        ("/x/", ""),
        ("brussels", ""),
        ("brussels OR -x", ""),
    ]);
    assert_eq!(RuleSet::new(rules).unanchored(), 3);
}

#[test]
fn excerpts_mark_spans_title_first() {
    let content = "One two three four five six seven eight nine ten eleven twelve. \
                   Two explosions hit Zaventem airport this morning, officials said.";
    let a = article("Zaventem closed", "", content);
    let set = RuleSet::new(rules_with(&[("Zaventem OR explosions", "")]));
    let found = set.matches(&a, None);
    let excerpts = &found[0].excerpts;
    assert_eq!(excerpts.len(), 2);
    assert_eq!(excerpts[0].field, Field::Title);
    assert_eq!(excerpts[0].text, "Zaventem closed");
    assert_eq!(excerpts[0].spans, [(0, 8)]);
    let body = &excerpts[1];
    assert_eq!(body.field, Field::Content);
    // The window is centred on the rarer term, the name.
    assert!(body.text.starts_with("…six seven"), "{}", body.text);
    let marked: Vec<&str> = body.spans.iter().map(|&(s, e)| &body.text[s..e]).collect();
    assert_eq!(marked, ["explosions", "Zaventem"]);
}

#[test]
fn a_match_in_metadata_quotes_the_entry_that_matched() {
    let mut a = article("Zaventem closed", "", "");
    a.authors = vec!["Amina Doe".into(), "Lea Martens".into()];
    let set = RuleSet::new(rules_with(&[
        ("category:security", ""),
        ("author:martens", ""),
        ("Zaventem AND category:europe", ""),
        ("link:blast feed:wire", ""),
        ("-football", ""),
    ]));
    let found = set.matches(&a, Some(FEED));
    let shown: Vec<Vec<(Field, String)>> = found
        .iter()
        .map(|m| {
            m.excerpts
                .iter()
                .map(|e| (e.field, crate::delivery::email::marked(e, "[", "]")))
                .collect()
        })
        .collect();
    let title = (Field::Title, "[Zaventem] closed".to_string());
    assert_eq!(
        shown,
        [
            vec![(Field::Category, "[Security]".to_string())],
            vec![(Field::Author, "Lea [Martens]".to_string())],
            vec![title, (Field::Category, "[Europe]".to_string())],
            vec![
                (Field::Feed, "world-[wire]".to_string()),
                (
                    Field::Link,
                    "https://news.example.org/world/brussels-[blast]".to_string()
                ),
            ],
            vec![(Field::Title, "Zaventem closed".to_string())],
        ]
    );
}

#[test]
fn phrase_spans_cover_the_phrase_and_near_marks_both_sides() {
    let a = article("Kenya's Westgate mall attacked", "", "");
    let set = RuleSet::new(rules_with(&[("Kenya NEAR/3 mall", "")]));
    let found = set.matches(&a, None);
    let e = &found[0].excerpts[0];
    let marked: Vec<&str> = e.spans.iter().map(|&(s, x)| &e.text[s..x]).collect();
    assert_eq!(marked, ["Kenya", "mall"]);
}

#[test]
fn at_most_three_excerpts_of_bounded_length() {
    let filler = "word ".repeat(50);
    let content =
        format!("Brussels {filler} Brussels {filler} Brussels {filler} Brussels {filler}");
    let a = article("", "", &content);
    let set = RuleSet::new(rules_with(&[("Brussels", "")]));
    let found = set.matches(&a, None);
    assert_eq!(found[0].excerpts.len(), MAX_EXCERPTS);
    for e in found[0].excerpts.iter() {
        assert!(
            e.text.split_whitespace().count() <= EXCERPT_WORDS + 1,
            "{}",
            e.text
        );
    }
}

// --- compiled matcher vs oracle on random rules and articles ---

const VOCAB: &[&str] = &[
    "日本",
    "東京都",
    "Brussels",
    "Zaventem",
    "ISIS",
    "Isis",
    "blast",
    "explosion",
    "explosions",
    "al",
    "Shabab",
    "Al-Shabab's",
    "aéroport",
    "aeroport",
    "Kenya's",
    "mall",
    "the",
    "attack",
    "state",
    "Islamic",
];
const QUERY_WORDS: &[&str] = &[
    "brussels",
    "zaventem",
    "isis",
    "blast",
    "explo*",
    "\"al shabab\"",
    "aeroport",
    "kenya",
    "mall",
    "the",
    "attack*",
    "\"islamic state\"",
    "@brussels",
    "@isis",
    "@blast",
    "title:blast",
    "content:(mall OR attack)",
    "/[Ee]xplosions?/",
    "ma*",
    "日本*",
    "東京",
];

fn query_strategy() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(QUERY_WORDS).prop_map(str::to_string);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            inner.clone().prop_map(|a| format!("(NOT {a})")),
            (
                prop::sample::select(QUERY_WORDS),
                prop::sample::select(QUERY_WORDS),
                0u32..4
            )
                .prop_filter("NEAR takes terms", |(a, b, _)| !a.starts_with('/')
                    && !b.starts_with('/'))
                .prop_map(|(a, b, n)| format!("({a} NEAR/{n} {b})")),
        ]
    })
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop::sample::select(VOCAB),
            prop::sample::select(&[" ", ", ", "-", ". ", " ’"][..]),
        ),
        0..25,
    )
    .prop_map(|words| {
        words
            .into_iter()
            .map(|(w, sep)| format!("{w}{sep}"))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn compiled_matcher_agrees_with_the_oracle(
        queries in prop::collection::vec((query_strategy(), any::<bool>(), any::<bool>()), 1..20),
        title in text_strategy(),
        summary in text_strategy(),
        content in text_strategy(),
    ) {
        let specs: Vec<(String, &str)> = queries
            .iter()
            .map(|(q, cs, ww)| {
                let extra = match (cs, ww) {
                    (true, _) => "case_sensitive = true",
                    (false, false) => "whole_word = false",
                    _ => "",
                };
                (q.clone(), extra)
            })
            .collect();
        let specs: Vec<(&str, &str)> = specs.iter().map(|(q, e)| (q.as_str(), *e)).collect();
        let rules = rules_with(&specs);
        let set = RuleSet::new(rules.clone());
        let a = article(&title, &summary, &content);
        let found = set.matches(&a, Some(FEED));
        // Every match says what it matched on (or, for one on what is
        // absent, what the article is): never an alert without a quote.
        let has_text = [&title, &summary, &content].iter().any(|t| t.chars().any(char::is_alphanumeric));
        for m in &found {
            prop_assert!(!m.excerpts.is_empty() || !has_text, "{} has no excerpt", m.rule.query_text);
        }
        let compiled: Vec<String> = found.iter().map(|m| m.rule.name.clone()).collect();
        prop_assert_eq!(compiled, oracle::matching_rules(&rules, &a, Some(FEED)));
    }

    #[test]
    fn tokenizer_and_excerpts_never_panic(text in "\\PC{0,200}", query in prop::sample::select(QUERY_WORDS)) {
        let a = article(&text, &text, "");
        let set = RuleSet::new(rules_with(&[(query, "")]));
        for m in set.matches(&a, None) {
            for e in m.excerpts.iter() {
                for &(s, x) in &e.spans {
                    prop_assert!(e.text.get(s..x).is_some());
                }
            }
        }
    }
}

/// Which words a rule set looks up in every article.
fn gate_words(set: &RuleSet) -> Vec<&str> {
    let mut words: Vec<&str> = set.gate_words.keys().map(|w| &**w).collect();
    words.sort_unstable();
    words
}

#[test]
fn rules_are_anchored_on_names_not_everyday_words() {
    let set = RuleSet::new(rules_with(&[
        ("@brussels the", ""),
        ("@isis NEAR/5 attack", ""),
        ("Zaventem -the", ""),
        ("\"Islamic State\" news", ""),
    ]));
    let gates = gate_words(&set);
    for everyday in ["the", "attack", "news", "state"] {
        assert!(!gates.contains(&everyday), "{everyday} gates: {gates:?}");
    }
    assert!(
        gates.contains(&"zaventem") && gates.contains(&"daesh"),
        "{gates:?}"
    );
}

#[test]
fn rules_without_a_good_anchor_are_reported() {
    let set = RuleSet::new(rules_with(&[
        ("Zaventem explosion", ""),
        ("the AND of", ""),
        ("-Zaventem", ""),
        ("Zaventem OR mini*", ""),
        ("mini* Zaventem", ""),
    ]));
    let costly = set.costly_rules();
    assert_eq!(costly.len(), 3, "{costly:?}");
    // One prefix that matches an everyday word makes an OR dear; beside a
    // name in an AND it does not.
    assert!(
        costly.iter().any(|(r, why)| *r == "r3"
            && why.contains("everyday words (mini*, which matches \"minister\")")),
        "{costly:?}"
    );
    assert!(
        costly.iter().any(|(r, why)| *r == "r1"
            && (why.contains("everyday words (of)") || why.contains("everyday words (the)"))),
        "{costly:?}"
    );
    assert!(
        costly
            .iter()
            .any(|(r, why)| *r == "r2" && why.contains("no word that must occur")),
        "{costly:?}"
    );
}

#[test]
fn excerpts_centre_on_the_name_not_the_everyday_word() {
    let filler = "word ".repeat(40);
    let content = format!(
        "The attack began early. {filler} The attack on Zaventem airport was over by noon. {filler} Attack, attack."
    );
    let a = article("", "", &content);
    let set = RuleSet::new(rules_with(&[("Zaventem AND attack", "")]));
    let found = set.matches(&a, None);
    let first = &found[0].excerpts[0];
    let marked: Vec<&str> = first
        .spans
        .iter()
        .map(|&(s, e)| &first.text[s..e])
        .collect();
    assert!(marked.contains(&"Zaventem"), "{first:?}");
}

#[test]
fn words_that_begin_with_long_letters_beside_short_prefixes() {
    // The shortest prefix is two bytes; "日本" begins with a three-byte
    // letter, so its head for prefix lookup is empty.
    let a = article("日本 und Zaventem", "", "");
    assert_eq!(matched(&["un*", "日本*", "Zaventem"], &a), [0, 1, 2]);
}

#[test]
fn an_or_of_many_common_words_is_reported_with_its_words() {
    let words: Vec<String> = (0..20).map(|i| format!("w{i}x")).collect();
    let set = RuleSet::new(rules_with(&[
        ("-Zaventem", ""),
        (&words.join(" OR "), ""),
        ("the AND of", ""),
    ]));
    let costly = set.costly_rules();
    let names: Vec<&str> = costly.iter().map(|(r, _)| *r).collect();
    assert_eq!(names, ["r0", "r1", "r2"], "{costly:?}");
    assert!(costly[1].1.contains("(w0x, w10x"), "{costly:?}");
    // Twenty words: ten are named.
    assert!(costly[1].1.ends_with(", and 10 more)"), "{costly:?}");
}

#[test]
fn phrases_at_the_edges_of_a_field() {
    // "shabab" anchors `"al shabab"`, one word in: at a field's first word
    // there is no room for "al"; a phrase cut off by the field's end is no
    // match either.
    let edge = article("Shabab leaders meet", "", "Talks at Zaventem airport");
    assert_eq!(
        matched(&["\"al shabab\"", "\"Zaventem airport hall\""], &edge),
        Vec::<usize>::new()
    );
    let inside = article(
        "Attack claimed by Al-Shabab",
        "",
        "Talks at Zaventem airport hall",
    );
    assert_eq!(
        matched(&["\"al shabab\"", "\"Zaventem airport hall\""], &inside),
        [0, 1]
    );
}

#[test]
fn a_word_read_with_what_follows_it_has_the_key_of_the_word_alone() {
    // Words of every length up to past 16 bytes, multi-byte ones included,
    // each followed by more text (or the end of the buffer).
    let text = "a bc déf ghij klmnopq rstuvwxyzab cdefghijklmnopqr stuvwxyzabcdefghij 東京都 z";
    let tokens = text::tokenize(text);
    // 東京都 is two words: the bigrams 東京 and 京都.
    assert_eq!(tokens.len(), 11);
    for i in 0..tokens.len() {
        let (bytes, head) = tokens.word_and_head(i);
        assert_eq!(bytes, tokens.word(i).as_bytes());
        assert_eq!(
            key_of_head(head, bytes.len()),
            word_key(bytes),
            "{}",
            tokens.word(i)
        );
        // Its prefixes, the empty one included, hash from its key alone.
        for len in 0..=bytes.len() {
            assert_eq!(
                prefix_hash(word_key(bytes), len),
                word_hash(&bytes[..len]),
                "{} cut at {len}",
                tokens.word(i)
            );
        }
    }
    // Every length, from its bytes alone as from a head read past its end.
    let bytes: Vec<u8> = (1..=40u8).map(|b| b.wrapping_mul(37)).collect();
    for len in 0..=bytes.len() {
        let mut head = [0xffu8; 16];
        let n = len.min(16);
        head[..n].copy_from_slice(&bytes[..n]);
        assert_eq!(word_key(&bytes[..len]), key_of_head(head, len), "{len}");
    }
    // Only the first 16 bytes are held: longer words differ in their text.
    assert_ne!(word_key(b"abcdefghij"), word_key(b"abcdefghik"));
    assert_eq!(
        word_key(b"abcdefghijklmnopq"),
        word_key(b"abcdefghijklmnopz")
    );
}
