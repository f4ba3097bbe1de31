//! A corpus that reads like a newswire, for the matcher benchmark and for
//! timing `test-rule`: generated, so nothing is shipped, but shaped like news
//! where it matters to a matcher.
//!
//! - Vocabulary: 60,000 words drawn by Zipf's law (the word of rank r with
//!   weight 1/r), the first 250 real English news words, the rest made of
//!   syllables (3–12 letters). An article of 800 words then has about 400
//!   distinct words, most of them rare, as in real news.
//! - Names: 80,000 people, groups and places, mentioned by popularity (Zipf
//!   again); rules watch half of them. 1.4 % of names are also everyday
//!   words ("Nice", "Chad", "Reading"; ranked 500–20,000): written
//!   capitalised in the rule, they still match the lower-case word in every
//!   article that uses it.
//! - Articles: 330–1,300 words (one in twenty of 3,000–8,000), sentences of
//!   8–30 words, each article about 3–8 names mentioned a few times; a title
//!   with a name; the first sentences as summary; an author; 1–3 sections.
//! - Rules, as a newsroom writes them: 55 % one name, 20 % three names OR'ed,
//!   10 % name AND (prefix* OR word), 7 % rare NEAR/5 common, 5 % name -word,
//!   3 % @alias AND prefix*.

use newswatch::model::article::Article;

/// Real words, most frequent first: the head of news vocabulary.
const REAL: &[&str] = &[
    "the",
    "of",
    "to",
    "and",
    "a",
    "in",
    "that",
    "is",
    "for",
    "on",
    "it",
    "with",
    "was",
    "as",
    "said",
    "he",
    "by",
    "at",
    "be",
    "his",
    "from",
    "has",
    "have",
    "are",
    "an",
    "not",
    "this",
    "but",
    "had",
    "they",
    "were",
    "who",
    "will",
    "their",
    "been",
    "which",
    "its",
    "after",
    "one",
    "year",
    "also",
    "more",
    "would",
    "new",
    "two",
    "she",
    "or",
    "about",
    "than",
    "her",
    "people",
    "up",
    "all",
    "last",
    "government",
    "out",
    "there",
    "first",
    "police",
    "when",
    "over",
    "can",
    "into",
    "some",
    "could",
    "minister",
    "president",
    "other",
    "three",
    "told",
    "state",
    "we",
    "time",
    "years",
    "no",
    "i",
    "week",
    "what",
    "security",
    "country",
    "officials",
    "city",
    "against",
    "between",
    "since",
    "because",
    "while",
    "before",
    "many",
    "most",
    "our",
    "during",
    "may",
    "under",
    "million",
    "against",
    "group",
    "military",
    "forces",
    "attack",
    "killed",
    "court",
    "election",
    "party",
    "national",
    "minister",
    "public",
    "local",
    "region",
    "border",
    "report",
    "reported",
    "officials",
    "capital",
    "south",
    "north",
    "east",
    "west",
    "market",
    "prices",
    "oil",
    "bank",
    "company",
    "workers",
    "deal",
    "talks",
    "agreement",
    "vote",
    "law",
    "health",
    "hospital",
    "school",
    "children",
    "women",
    "men",
    "family",
    "army",
    "troops",
    "rebels",
    "protest",
    "protesters",
    "village",
    "town",
    "area",
    "airport",
    "explosion",
    "fire",
    "storm",
    "flood",
    "water",
    "power",
    "foreign",
    "international",
    "united",
    "world",
    "news",
    "statement",
    "spokesman",
    "according",
    "news",
    "leader",
    "leaders",
    "support",
    "plan",
    "months",
    "days",
    "day",
    "since",
    "month",
    "former",
    "home",
    "made",
    "make",
    "take",
    "took",
    "says",
    "say",
    "still",
    "where",
    "being",
    "them",
    "him",
    "those",
    "these",
    "any",
    "only",
    "such",
    "then",
    "even",
    "well",
    "back",
    "down",
    "off",
    "because",
    "through",
    "both",
    "each",
    "same",
    "next",
    "early",
    "late",
    "high",
    "major",
    "second",
    "percent",
    "billion",
    "number",
    "part",
    "case",
    "end",
    "way",
    "work",
    "life",
    "house",
    "office",
    "control",
    "war",
    "peace",
    "economy",
    "economic",
    "political",
    "power",
    "crisis",
    "aid",
    "food",
    "fuel",
    "energy",
    "climate",
    "migrants",
    "refugees",
    "camp",
    "investigation",
    "suspects",
    "arrested",
    "charges",
    "trial",
    "judge",
    "prison",
    "sentence",
    "league",
    "match",
    "season",
    "coach",
    "team",
    "players",
    "goal",
    "win",
    "won",
    "lost",
];

/// Sections for categories.
const SECTIONS: &[&str] = &[
    "World",
    "Europe",
    "Africa",
    "Middle East",
    "Asia",
    "Americas",
    "Politics",
    "Business",
    "Markets",
    "Security",
    "Conflict",
    "Justice",
    "Health",
    "Climate",
    "Sport",
    "Technology",
];

/// Weights 1/rank, cumulated: `pick` draws a rank by Zipf's law.
pub struct Zipf(Vec<f64>);

impl Zipf {
    pub fn new(n: usize, exponent: f64) -> Zipf {
        let mut total = 0.0;
        Zipf(
            (1..=n)
                .map(|r| {
                    total += 1.0 / (r as f64).powf(exponent);
                    total
                })
                .collect(),
        )
    }

    pub fn pick(&self, rng: &mut fastrand::Rng) -> usize {
        let x = rng.f64() * self.0[self.0.len() - 1];
        self.0.partition_point(|&c| c < x).min(self.0.len() - 1)
    }
}

fn syllable_word(rng: &mut fastrand::Rng, syllables: usize) -> String {
    const ONSETS: &[&str] = &[
        "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z", "br",
        "cr", "dr", "st", "tr", "sh", "ch", "gr", "pl", "th",
    ];
    const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ou", "ea", "io"];
    const CODAS: &[&str] = &["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck"];
    (0..syllables)
        .map(|_| {
            format!(
                "{}{}{}",
                ONSETS[rng.usize(..ONSETS.len())],
                VOWELS[rng.usize(..VOWELS.len())],
                CODAS[rng.usize(..CODAS.len())]
            )
        })
        .collect()
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub struct NewsLike {
    pub vocab: Vec<String>,
    zipf_words: Zipf,
    /// Names as written ("Amina Doe", "Al-Koram", "Tresh").
    pub names: Vec<String>,
    zipf_names: Zipf,
    /// Indexes into `names` of the ones rules watch.
    pub watched: Vec<usize>,
}

impl NewsLike {
    pub fn new(rng: &mut fastrand::Rng) -> NewsLike {
        let mut seen: std::collections::HashSet<String> =
            REAL.iter().map(|w| w.to_string()).collect();
        let mut vocab: Vec<String> = Vec::with_capacity(60_000);
        for w in REAL {
            if !vocab.iter().any(|v| v == w) {
                vocab.push(w.to_string());
            }
        }
        while vocab.len() < 60_000 {
            // Frequent words are short, rare ones long.
            let syllables = match vocab.len() {
                0..2_000 => rng.usize(1..=2),
                2_000..20_000 => rng.usize(2..=3),
                _ => rng.usize(2..=4),
            };
            let word = syllable_word(rng, syllables);
            if (3..=12).contains(&word.len()) && seen.insert(word.clone()) {
                vocab.push(word);
            }
        }
        let first_names: Vec<String> = (0..600)
            .map(|_| capitalised(&syllable_word(rng, 2)))
            .collect();
        let mut names = Vec::with_capacity(80_000);
        let mut taken = std::collections::HashSet::new();
        while names.len() < 80_000 {
            let syllables = rng.usize(2..=3);
            let surname = capitalised(&syllable_word(rng, syllables));
            let name = match rng.u16(..1000) {
                // A name that is also an everyday word ("Nice", "Chad",
                // "Reading"): one in 70, ranked 500–20,000.
                0..14 => capitalised(&vocab[rng.usize(500..20_000)]),
                14..500 => format!("{} {surname}", first_names[rng.usize(..first_names.len())]),
                500..650 => format!("Al-{surname}"),
                650..720 => format!("{surname} {} Front", capitalised(&syllable_word(rng, 2))),
                _ => surname,
            };
            if taken.insert(name.to_lowercase()) {
                names.push(name);
            }
        }
        let mut watched: Vec<usize> = (0..names.len()).collect();
        rng.shuffle(&mut watched);
        watched.truncate(names.len() / 2);
        NewsLike {
            zipf_words: Zipf::new(vocab.len(), 1.0),
            vocab,
            zipf_names: Zipf::new(names.len(), 0.9),
            names,
            watched,
        }
    }

    fn word(&self, rng: &mut fastrand::Rng) -> &str {
        &self.vocab[self.zipf_words.pick(rng)]
    }

    /// A sentence of 8–30 words, now and then one of `names`.
    fn sentence(&self, rng: &mut fastrand::Rng, names: &[usize], out: &mut String) -> usize {
        let n = rng.usize(8..=30);
        for i in 0..n {
            if i > 0 {
                out.push_str(if rng.u8(..16) == 0 { ", " } else { " " });
            }
            let r = rng.u8(..100);
            if r < 4 && !names.is_empty() {
                // Earlier names of the article come up more.
                let k = rng.usize(..names.len()).min(rng.usize(..names.len()));
                out.push_str(&self.names[names[k]]);
            } else if r < 5 {
                out.push_str(&rng.u32(1..3000).to_string());
            } else if i == 0 {
                out.push_str(&capitalised(self.word(rng)));
            } else {
                out.push_str(self.word(rng));
            }
        }
        out.push_str(". ");
        n
    }

    pub fn article(&self, rng: &mut fastrand::Rng, i: usize) -> Article {
        let names: Vec<usize> = (0..rng.usize(3..=8))
            .map(|_| self.zipf_names.pick(rng))
            .collect();
        let words = if rng.u8(..20) == 0 {
            rng.usize(3_000..=8_000)
        } else {
            rng.usize(330..=1_300)
        };
        let mut content = String::new();
        let mut summary = String::new();
        let mut written = 0;
        while written < words {
            written += self.sentence(rng, &names, &mut content);
            if summary.is_empty() && written > 30 {
                summary = content.trim_end().to_string();
            }
        }
        let mut title = capitalised(self.word(rng));
        for _ in 0..rng.usize(4..=9) {
            title.push(' ');
            title.push_str(self.word(rng));
        }
        title.push_str(" in ");
        title.push_str(&self.names[names[0]]);
        let author = format!(
            "{} {}",
            capitalised(&syllable_word(rng, 2)),
            capitalised(&syllable_word(rng, 2))
        );
        Article {
            key: format!("guid:news-{i}"),
            guid: Some(format!("news-{i}")),
            title,
            link: Some(format!("https://wire.example.org/{i}")),
            published: None,
            authors: vec![author],
            categories: (0..rng.usize(1..=3))
                .map(|_| SECTIONS[rng.usize(..SECTIONS.len())].to_string())
                .collect(),
            summary,
            content: content.trim_end().to_string(),
        }
    }

    fn watched_name(&self, rng: &mut fastrand::Rng) -> String {
        let name = &self.names[self.watched[rng.usize(..self.watched.len())]];
        match name.contains([' ', '-']) {
            true => format!("\"{name}\""),
            false => name.clone(),
        }
    }

    /// A prefix of a mid-frequency word ("negot*"), never of an everyday
    /// one: `check` warns about those.
    fn prefix(&self, rng: &mut fastrand::Rng) -> String {
        loop {
            let word = &self.vocab[rng.usize(1_000..20_000)];
            if word.len() >= 6 {
                let stem = &word[..word.len() - 2];
                if !REAL.iter().any(|r| r.starts_with(stem))
                    && newswatch::matching::everyday_word_with_prefix(stem).is_none()
                {
                    return format!("{stem}*");
                }
            }
        }
    }

    /// `n` rules as TOML (with 200 aliases of 3–5 watched names first);
    /// `notify` names each rule's destination when given.
    pub fn rules_toml(&self, n: usize, rng: &mut fastrand::Rng, notify: Option<&str>) -> String {
        let mut toml = String::from("[aliases]\n");
        for a in 0..200 {
            let entries: Vec<String> = (0..rng.usize(3..=5))
                .map(|_| {
                    format!(
                        "{:?}",
                        self.names[self.watched[rng.usize(..self.watched.len())]]
                    )
                })
                .collect();
            toml.push_str(&format!("a{a} = [{}]\n", entries.join(", ")));
        }
        let notify = notify.map_or(String::new(), |d| format!("notify = [\"{d}\"]\n"));
        for i in 0..n {
            let query = match rng.u8(..100) {
                0..55 => self.watched_name(rng),
                55..75 => format!(
                    "{} OR {} OR {}",
                    self.watched_name(rng),
                    self.watched_name(rng),
                    self.watched_name(rng)
                ),
                75..85 => format!(
                    "{} AND ({} OR {})",
                    self.watched_name(rng),
                    self.prefix(rng),
                    self.vocab[rng.usize(300..5_000)]
                ),
                85..92 => format!(
                    "{} NEAR/5 {}",
                    self.watched_name(rng),
                    REAL[rng.usize(50..REAL.len())]
                ),
                92..97 => format!(
                    "{} -{}",
                    self.watched_name(rng),
                    self.vocab[rng.usize(100..3_000)]
                ),
                _ => format!("@a{} AND {}", rng.usize(..200), self.prefix(rng)),
            };
            toml.push_str(&format!(
                "[[rule]]\nname = \"n{i}\"\nquery = '''{query}'''\n{notify}"
            ));
        }
        toml
    }
}

/// Articles as an RSS 2.0 document.
pub fn rss(articles: &[Article]) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>Wire</title><link>https://wire.example.org/</link><description>Generated news</description>\n",
    );
    for a in articles {
        xml.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title><link>{}</link><dc:creator>{}</dc:creator>",
            escape(a.guid.as_deref().unwrap_or_default()),
            escape(&a.title),
            escape(a.link.as_deref().unwrap_or_default()),
            escape(&a.authors.join(", ")),
        ));
        for c in &a.categories {
            xml.push_str(&format!("<category>{}</category>", escape(c)));
        }
        xml.push_str(&format!(
            "<description>{}</description><content:encoded>{}</content:encoded></item>\n",
            escape(&a.summary),
            escape(&a.content)
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}
