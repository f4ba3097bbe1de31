//! Matcher benchmark: compiled rule sets of 1k to 1M rules over two corpora
//! of news-length articles (a synthetic one, and a news-like one with a
//! realistic vocabulary: see support/newslike.rs), beside a
//! `regex::RegexSet` baseline at 1k rules. Prints each figure next to its
//! target. Run: `cargo bench --bench matcher` (`-- --quick` stops at 100k
//! rules; `-- --corpus news` or `-- --corpus synthetic` runs one corpus;
//! `-- --write DIR [--articles N]` writes the news-like rules and feeds for
//! timing `newswatch test-rule`; `-- --only 1000000` runs one size;
//! `-- --secs 20` matches for longer, for profiling). The machines this runs
//! on are shared: compare figures from one run, or medians of several.
//! Where the machine's speed drifts too much for that, compare two builds by
//! the instructions of the matching phase, which repeat exactly:
//! `valgrind --tool=callgrind --toggle-collect='*RuleSet>::matches'
//! target/release/deps/matcher-* --bench --only 100000 --secs 0` (one pass
//! over the corpus; cache misses, which dominate at 1M rules, are not seen).
//! For wall time, `scripts/bench-side-by-side OLD NEW` runs two builds at
//! once, one per core, and prints the ratio of each pair: steady where the
//! machine's speed is not (fewer instructions did not always mean faster).

use newswatch::model::article::Article;

#[path = "support/newslike.rs"]
mod newslike;
#[path = "support/scripts.rs"]
mod scripts;

// The daemon's allocator (src/main.rs), so the figures are the daemon's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use newswatch::matching::RuleSet;
use newswatch::matching::rules::parse_rule_files;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const COMMON: &[&str] = &[
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "said",
    "on",
    "for",
    "with",
    "police",
    "government",
    "officials",
    "after",
    "was",
    "were",
    "city",
    "people",
    "attack",
    "minister",
    "security",
    "reported",
    "killed",
    "border",
    "forces",
    "group",
    "talks",
    "president",
    "week",
    "market",
    "election",
    "court",
    "protest",
    "village",
    "airport",
    "explosion",
    "army",
    "region",
    "local",
    "news",
    "workers",
    "prices",
    "storm",
    "league",
    "vote",
    "investigation",
    "suspects",
    "agreement",
    "deal",
    "oil",
    "water",
    "hospital",
    "school",
    "rebels",
    "capital",
];

/// A made-up proper name of 2–4 syllables (75 of them), capitalised: the
/// names rules watch. Never an everyday word ("Vote" and "More" can be made
/// of these syllables, and would be names only by accident: "Al-More" in one
/// alias list shared by 500 rules made all 500 unanchorable).
fn name(rng: &mut fastrand::Rng) -> String {
    loop {
        let name = name_from(rng, b"bdfghklmnprstvz");
        let lower = name.to_lowercase();
        if !COMMON.contains(&lower.as_str()) && !newswatch::matching::is_frequent(&lower) {
            return name;
        }
    }
}

/// A name nobody watches: built from other consonants, so it can never
/// collide with a watched name (with only 75 syllables, two-syllable names
/// from one set collide all the time, which made most "unwatched" names in
/// the corpus watched ones).
fn unwatched_name(rng: &mut fastrand::Rng) -> String {
    name_from(rng, b"cjqwxy")
}

fn name_from(rng: &mut fastrand::Rng, consonants: &[u8]) -> String {
    const VOWELS: &[u8] = b"aeiou";
    let n = rng.usize(2..=4);
    let word: String = (0..n)
        .flat_map(|_| {
            [
                consonants[rng.usize(..consonants.len())] as char,
                VOWELS[rng.usize(..VOWELS.len())] as char,
            ]
        })
        .collect();
    let mut chars = word.chars();
    let first = chars.next().unwrap().to_uppercase().collect::<String>();
    first + chars.as_str()
}

/// 200k names: people, groups, places that rules watch.
fn vocabulary(rng: &mut fastrand::Rng) -> Vec<String> {
    (0..200_000)
        .map(|i| match i % 3 {
            0 => format!("{} {}", name(rng), name(rng)),
            1 => format!("Al-{}", name(rng)),
            _ => name(rng),
        })
        .collect()
}

fn term(rng: &mut fastrand::Rng, vocab: &[String]) -> String {
    let v = &vocab[rng.usize(..vocab.len())];
    match rng.u8(..20) {
        0 => {
            let word = v.rsplit([' ', '-']).next().unwrap_or(v);
            // A word stem, as people write them: most of the name. Not one
            // that matches everyday words: "Mini*" finds every "minister",
            // and `check` warns about such rules (with them, most articles
            // alerted dozens of rules through "minister" and "police").
            let stem = &word[..(word.len() - 1).max(4).min(word.len())];
            let lower = stem.to_lowercase();
            if COMMON.iter().any(|c| c.starts_with(&lower))
                || newswatch::matching::everyday_word_with_prefix(&lower).is_some()
            {
                v.clone()
            } else {
                format!("{stem}*")
            }
        }
        1..=3 => format!("\"{v} {}\"", COMMON[rng.usize(..COMMON.len())]),
        _ if v.contains(' ') || v.contains('-') => format!("\"{v}\""),
        _ => v.clone(),
    }
}

/// Rules as TOML: mostly names and phrases, some OR, AND, NOT, NEAR, aliases.
fn rules_toml(n: usize, rng: &mut fastrand::Rng, vocab: &[String]) -> String {
    let mut toml = String::from("[aliases]\n");
    for a in 0..200 {
        let entries: Vec<String> = (0..rng.usize(3..=5))
            .map(|_| format!("{:?}", vocab[rng.usize(..vocab.len())]))
            .collect();
        toml.push_str(&format!("a{a} = [{}]\n", entries.join(", ")));
    }
    for i in 0..n {
        let t = |rng: &mut fastrand::Rng| term(rng, vocab);
        let common = COMMON[rng.usize(..COMMON.len())];
        let query = match rng.u8(..100) {
            0..=49 => t(rng),
            50..=64 => format!("{} OR {} OR {}", t(rng), t(rng), t(rng)),
            65..=74 => format!("{} {common}", t(rng)),
            75..=79 => format!("{} -{common}", t(rng)),
            80..=89 => format!("{} NEAR/5 {common}", t(rng)),
            _ => format!("@a{} {common}", rng.usize(..200)),
        };
        toml.push_str(&format!(
            "[[rule]]\nname = \"r{i}\"\nquery = '''{query}'''\n"
        ));
    }
    toml
}

/// 300 articles of 2–8 KB: common words, names now and then (most of them
/// names nobody watches, one in ten a watched one).
fn corpus(rng: &mut fastrand::Rng, vocab: &[String]) -> Vec<Article> {
    (0..300)
        .map(|i| {
            let target = rng.usize(2048..8192);
            let mut content = String::new();
            while content.len() < target {
                match rng.u8(..40) {
                    0 if rng.u8(..10) == 0 => content.push_str(&vocab[rng.usize(..vocab.len())]),
                    0 => content.push_str(&unwatched_name(rng)),
                    _ => content.push_str(COMMON[rng.usize(..COMMON.len())]),
                }
                content.push_str(if rng.u8(..12) == 0 { ". " } else { " " });
            }
            Article {
                key: format!("guid:{i}"),
                guid: Some(i.to_string()),
                title: format!(
                    "{} {} in {}",
                    unwatched_name(rng),
                    COMMON[rng.usize(..COMMON.len())],
                    unwatched_name(rng)
                ),
                link: Some(format!("https://news.example.org/{i}")),
                published: None,
                authors: vec![format!("{} {}", unwatched_name(rng), unwatched_name(rng))],
                categories: vec!["World".into()],
                summary: content[..200.min(content.len())].to_string(),
                content,
            }
        })
        .collect()
}

/// Rule files (first the aliases, then `per_file` rules in each) made from
/// one generated file.
fn split_files(toml: &str, per_file: usize) -> Vec<(PathBuf, String)> {
    let mut parts = toml.split("[[rule]]\n");
    let mut files = vec![(
        "aliases.toml".into(),
        parts.next().unwrap_or("").to_string(),
    )];
    let rules: Vec<&str> = parts.collect();
    for (i, chunk) in rules.chunks(per_file).enumerate() {
        let text: String = chunk.iter().map(|r| format!("[[rule]]\n{r}")).collect();
        files.push((format!("rules-{i}.toml").into(), text));
    }
    files
}

/// The value after `name` on the command line, if given and valid.
fn option<T: std::str::FromStr>(name: &str) -> Option<T> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.nth(1)?.parse().ok()
}

/// Parses and compiles rule files: the set, the parse time and the whole time.
fn time_compile(files: &[(PathBuf, String)]) -> (RuleSet, Duration, Duration) {
    let start = Instant::now();
    let parsed = parse_rule_files(files, None);
    assert!(parsed.errors.is_empty(), "{}", parsed.errors[0]);
    let parse = start.elapsed();
    let set = RuleSet::new(parsed.rules);
    (set, parse, start.elapsed())
}

fn article_bytes(a: &Article) -> usize {
    a.title.len() + a.summary.len() + a.content.len()
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

struct Timing {
    mb_per_s: f64,
    p50: Duration,
    p99: Duration,
    matches_per_article: f64,
}

/// Times `run` on every article, repeating the corpus for at least `min`.
fn time_corpus(
    articles: &[Article],
    min: Duration,
    mut run: impl FnMut(&Article) -> usize,
) -> Timing {
    let mut per_article = Vec::new();
    let (mut bytes, mut matches, mut total) = (0usize, 0usize, Duration::ZERO);
    while total < min || per_article.len() < articles.len() {
        for a in articles {
            let start = Instant::now();
            matches += run(a);
            let took = start.elapsed();
            per_article.push(took);
            total += took;
            bytes += article_bytes(a);
        }
    }
    per_article.sort();
    let pct = |p: f64| per_article[((per_article.len() - 1) as f64 * p) as usize];
    Timing {
        mb_per_s: bytes as f64 / total.as_secs_f64() / 1e6,
        p50: pct(0.5),
        p99: pct(0.99),
        matches_per_article: matches as f64 / per_article.len() as f64,
    }
}

/// Makes `n` rules as TOML.
type MakeRules<'a> = Box<dyn Fn(usize, &mut fastrand::Rng) -> String + 'a>;

/// One corpus and how its rules are made.
struct Corpus<'a> {
    name: &'static str,
    articles: Vec<Article>,
    /// Draws the rules of each size, one after the other.
    rng: fastrand::Rng,
    rules: MakeRules<'a>,
    /// Rule-set sizes with their targets, when not the usual ones.
    sizes: Option<&'static [(usize, f64)]>,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let mut rng = fastrand::Rng::with_seed(7);
    if let Some(dir) = option::<PathBuf>("--write") {
        write_news(&dir, option("--articles").unwrap_or(20_000));
        return;
    }
    let vocab = vocabulary(&mut rng);
    let news = newslike::NewsLike::new(&mut fastrand::Rng::with_seed(11));
    let mut news_rng = fastrand::Rng::with_seed(12);
    let only_corpus: Option<String> = option("--corpus");
    let wanted = |name: &str| only_corpus.as_deref().is_none_or(|c| name.starts_with(c));
    // The script corpora are made only when run.
    let chinese = wanted("chinese").then(|| {
        scripts::ScriptCorpus::new(scripts::Script::Chinese, &mut fastrand::Rng::with_seed(14))
    });
    let arabic = wanted("arabic").then(|| {
        scripts::ScriptCorpus::new(scripts::Script::Arabic, &mut fastrand::Rng::with_seed(14))
    });
    let mut corpora = vec![
        Corpus {
            name: "synthetic (common words and made-up names)",
            articles: corpus(&mut rng, &vocab),
            rng: rng.clone(),
            rules: Box::new(|n, rng| rules_toml(n, rng, &vocab)),
            sizes: None,
        },
        Corpus {
            name: "news-like (Zipf vocabulary of 60k words, 80k names; benches/support/newslike.rs)",
            articles: (0..300).map(|i| news.article(&mut news_rng, i)).collect(),
            rng: fastrand::Rng::with_seed(13),
            rules: Box::new(|n, rng| news.rules_toml(n, rng, None)),
            sizes: None,
        },
    ];
    let scripts = [
        (
            "chinese (Zipf characters and words, no spaces; benches/support/scripts.rs)",
            &chinese,
            15,
        ),
        (
            "arabic (Zipf words with attached particles; benches/support/scripts.rs)",
            &arabic,
            16,
        ),
    ];
    for (name, script, seed) in scripts {
        if let Some(script) = script {
            corpora.push(Corpus {
                name,
                // Each corpus from its own seed: the same whichever run.
                articles: {
                    let mut rng = fastrand::Rng::with_seed(seed + 100);
                    (0..300).map(|i| script.article(&mut rng, i)).collect()
                },
                rng: fastrand::Rng::with_seed(seed),
                rules: Box::new(move |n, rng| script.rules_toml(n, rng)),
                sizes: Some(&[(10_000, 100.0)]),
            });
        }
    }
    let mut summary = Vec::new();
    for corpus in &mut corpora {
        if only_corpus
            .as_deref()
            .is_some_and(|c| !corpus.name.starts_with(c))
        {
            continue;
        }
        summary.push((corpus.name, table(corpus, quick)));
    }
    if summary.len() >= 2 && summary[1].0.starts_with("news") {
        println!("\nside by side, MB/s per core (target):");
        for (i, (n, target, _)) in summary[0].1.iter().enumerate() {
            let news = summary[1].1.get(i).map_or(0.0, |t| t.2);
            println!(
                "| {n} rules | synthetic {:.0} | news-like {news:.0} | (≥ {target:.0}) |",
                summary[0].1[i].2
            );
        }
    }
    if only_corpus.is_none() {
        baseline(&mut rng, &vocab, &corpora[0].articles);
    }
}

/// Writes the news-like corpus for timing the CLI: `rules.toml` (100k
/// rules), `rule.toml` (its first rule alone) and `feeds/` (RSS files of 200
/// articles each).
fn write_news(dir: &std::path::Path, articles: usize) {
    let news = newslike::NewsLike::new(&mut fastrand::Rng::with_seed(11));
    let mut rng = fastrand::Rng::with_seed(12);
    std::fs::create_dir_all(dir.join("feeds")).expect("create the output folder");
    let rules = news.rules_toml(100_000, &mut rng, None);
    let first_rule_end = rules[rules.find("[[rule]]").unwrap_or(0)..]
        .find("\n[[rule]]")
        .map_or(rules.len(), |i| i + rules.find("[[rule]]").unwrap_or(0) + 1);
    std::fs::write(dir.join("rules.toml"), &rules).expect("write rules.toml");
    std::fs::write(dir.join("rule.toml"), &rules[..first_rule_end]).expect("write rule.toml");
    let mut bytes = 0;
    for file in 0..articles.div_ceil(200) {
        let batch: Vec<Article> = (file * 200..((file + 1) * 200).min(articles))
            .map(|i| news.article(&mut rng, i))
            .collect();
        bytes += batch.iter().map(article_bytes).sum::<usize>();
        let path = dir.join(format!("feeds/news-{file:03}.xml"));
        std::fs::write(&path, newslike::rss(&batch)).expect("write a feed");
    }
    println!(
        "{}: 100000 rules, {articles} articles ({:.1} MB of text)",
        dir.display(),
        bytes as f64 / 1e6
    );
}

/// Times each rule-set size over one corpus; returns (rules, target, MB/s).
fn table(corpus: &mut Corpus, quick: bool) -> Vec<(usize, f64, f64)> {
    let articles = &corpus.articles.clone();
    let corpus_mb = articles.iter().map(article_bytes).sum::<usize>() as f64 / 1e6;
    let words: usize = articles
        .iter()
        .map(|a| newswatch::matching::text::tokenize(&a.content).len())
        .sum();
    println!(
        "\ncorpus {}: {} articles, {corpus_mb:.1} MB, {} words per article; one thread",
        corpus.name,
        articles.len(),
        words / articles.len().max(1)
    );
    let tokenize = time_corpus(articles, Duration::from_secs(1), |a| {
        [&a.title, &a.summary, &a.content]
            .iter()
            .map(|t| newswatch::matching::text::tokenize(t).len())
            .sum()
    });
    println!("tokenising alone: {:.0} MB/s", tokenize.mb_per_s);
    println!();
    println!(
        "| rules | MB/s per core (target) | p50 / article | p99 / article (target) | compile (target) | memory (target) | matches / article |"
    );
    println!("|---|---|---|---|---|---|---|");
    // `-- --only 100000`: one size; `-- --secs 20`: each size timed longer
    // (both for profiling).
    let only: Option<usize> = option("--only");
    let secs: u64 = option("--secs").unwrap_or(2);
    let sizes: &[(usize, f64)] = if let Some(sizes) = corpus.sizes {
        sizes
    } else if quick {
        &[(0, 0.0), (1_000, 300.0), (10_000, 250.0), (100_000, 200.0)]
    } else {
        &[
            (1_000, 300.0),
            (10_000, 250.0),
            (100_000, 200.0),
            (1_000_000, 150.0),
        ]
    };
    let mut one_file = None;
    let mut figures = Vec::new();
    for &(n, target) in sizes {
        let toml = (corpus.rules)(n, &mut corpus.rng);
        if only.is_some_and(|o| o != n) {
            continue;
        }
        // A million rules are kept in many files (rules.d/*.toml), which
        // are parsed on all cores; one file alone is timed after the table.
        let files = if n == 1_000_000 {
            split_files(&toml, 50_000)
        } else {
            vec![("bench.toml".into(), toml.clone())]
        };
        let before = rss_bytes();
        let (set, parse, compile) = time_compile(&files);
        let t = time_corpus(articles, Duration::from_secs(secs), |a| {
            set.matches(a, None).len()
        });
        // Measured once matching has run a while: by then the allocator has
        // handed back what compiling freed, as in a daemon that has loaded
        // its rules.
        let memory = rss_bytes().saturating_sub(before);
        let p99_target = if n == 100_000 { " (≤ 1 ms)" } else { "" };
        let (compile_target, memory_target) = if n == 1_000_000 {
            (" (≤ 15 s)", " (≤ 2 GB)")
        } else {
            ("", "")
        };
        println!(
            "| {n} | {:.0} (≥ {target:.0}) | {:.1} µs | {:.1} µs{p99_target} | {:.2} s{compile_target}: parse {:.2} + build {:.2} | {:.0} MB{memory_target} | {:.1} |",
            t.mb_per_s,
            t.p50.as_secs_f64() * 1e6,
            t.p99.as_secs_f64() * 1e6,
            compile.as_secs_f64(),
            parse.as_secs_f64(),
            (compile - parse).as_secs_f64(),
            memory as f64 / 1e6,
            t.matches_per_article,
        );
        figures.push((n, target, t.mb_per_s));
        if n == 1_000_000 {
            one_file = Some((files.len(), toml));
        }
    }
    if let Some((count, toml)) = one_file {
        let (_, parse, compile) = time_compile(&[("bench.toml".into(), toml)]);
        println!(
            "\n1000000 rules: {count} files of 50000 (the table) or one file: {:.2} s (parse {:.2} + build {:.2})",
            compile.as_secs_f64(),
            parse.as_secs_f64(),
            (compile - parse).as_secs_f64()
        );
    }
    figures
}

/// Baseline: the regex approach of other tools, one RegexSet of 1k rules
/// (each rule's words as a case-insensitive whole-word alternation).
fn baseline(rng: &mut fastrand::Rng, vocab: &[String], articles: &[Article]) {
    let patterns: Vec<String> = (0..1_000)
        .map(|_| {
            let alts: Vec<String> = (0..rng.usize(1..=3))
                .map(|_| regex::escape(&vocab[rng.usize(..vocab.len())]))
                .collect();
            format!(r"(?i)\b(?:{})\b", alts.join("|"))
        })
        .collect();
    let regex_set = regex::RegexSet::new(&patterns).expect("baseline regexes compile");
    let t = time_corpus(articles, Duration::from_secs(2), |a| {
        regex_set.matches(&a.title).len()
            + regex_set.matches(&a.summary).len()
            + regex_set.matches(&a.content).len()
    });
    println!();
    println!(
        "baseline regex::RegexSet, 1000 rules: {:.1} MB/s, p50 {:.1} µs, p99 {:.1} µs per article",
        t.mb_per_s,
        t.p50.as_secs_f64() * 1e6,
        t.p99.as_secs_f64() * 1e6
    );
}
