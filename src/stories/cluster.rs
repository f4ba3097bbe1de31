//! Online story clustering: each new article joins the story it reports
//! (an earlier article of the same event, within the window) or starts one.
//!
//! Candidates come from an index of recent stories by the rarer words and
//! names of their articles. An article joins a candidate when it is a near
//! copy (MinHash resemblance of word shingles), or when the words of their
//! titles and leads agree (cosine, weighted by how rare each word is in the
//! window), they share a name and a word of what happened, and each
//! headline does not name something the other's headline and first
//! sentence never mention (the same group in two countries, two events in
//! one city). A roundup starts its own story: an article that fits two
//! stories about equally well, naming something of each, or whose parts
//! (headline parts, lead sentences) belong to several stories.

use super::features::Features;
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::time::Duration;

/// Articles of a story an article is compared with: its first and latest.
const MEMBERS: usize = 8;
/// Stories an article is compared with at most: those sharing the most
/// names and rarer title words with it.
const CANDIDATES: usize = 16;
/// Resemblance from which two articles are copies of one text.
const COPY: f64 = 0.5;
/// Cosine of title and lead words from which two articles report one event.
const SAME_EVENT: f64 = 0.17;
/// Stories kept per word in the index: the most recent (a story's later
/// articles come soon after its first).
const POSTINGS: usize = 64;
/// Words in more than this share of the window's stories find no candidates
/// (they are everywhere).
const COMMON_SHARE: f64 = 0.02;

/// Where an article went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub story: u64,
    /// It started the story.
    pub first: bool,
}

struct Story {
    last_seen: DateTime<Utc>,
    /// The first article and the latest ones (see [`MEMBERS`]).
    members: Vec<Features>,
    /// The words indexed for it, to take out of the index when it expires.
    words: Vec<u64>,
}

/// Stories within a time window, and the index that finds them.
pub struct Clusterer {
    window: chrono::Duration,
    stories: FxHashMap<u64, Story>,
    /// Word or name → the stories whose articles have it, newest last.
    postings: FxHashMap<u64, VecDeque<u64>>,
    /// Word → how many stories of the window have it.
    df: FxHashMap<u64, u32>,
    /// Stories by when they were last seen, oldest first (expiry).
    seen: VecDeque<(DateTime<Utc>, u64)>,
    next_id: u64,
}

impl Clusterer {
    pub fn new(window: Duration) -> Clusterer {
        Clusterer {
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(2)),
            stories: FxHashMap::default(),
            postings: FxHashMap::default(),
            df: FxHashMap::default(),
            seen: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Stories in the window.
    pub fn len(&self) -> usize {
        self.stories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.stories.is_empty()
    }

    /// The id the next new story gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Puts an article back in the story `story` it was placed in before
    /// (a restart): it joins the story, or starts it with that id.
    pub fn restore(&mut self, article: Features, at: DateTime<Utc>, story: u64) {
        self.expire(at);
        if self.stories.contains_key(&story) {
            self.join(story, article, at);
        } else {
            self.start_as(story, article, at);
        }
        self.next_id = self.next_id.max(story + 1);
    }

    /// Puts the article (published `at`) in a story.
    pub fn assign(&mut self, article: Features, at: DateTime<Utc>) -> Assignment {
        self.expire(at);
        let mut fits: Vec<(f64, u64)> = Vec::new();
        let candidates = self.candidates(&article);
        for &id in &candidates {
            let Some(story) = self.stories.get(&id) else {
                continue;
            };
            let best = story
                .members
                .iter()
                .map(|m| self.similarity(&article, m))
                .fold(0.0, f64::max);
            if best > 0.0 {
                fits.push((best, id));
            }
        }
        fits.sort_by(|a, b| b.0.total_cmp(&a.0));
        // Two stories fit about as well: a roundup of both, a story of its own.
        let roundup = fits.len() >= 2
            && fits[1].0 >= fits[0].0 * 0.8
            && fits[0].0 < 1.0
            && self.names_apart(&article, fits[0].1, fits[1].1)
            || fits
                .first()
                .is_some_and(|&(s, id)| s < 1.0 && self.reports_others(&article, &candidates, id));
        match fits.first() {
            Some(&(_, id)) if !roundup => {
                self.join(id, article, at);
                Assignment {
                    story: id,
                    first: false,
                }
            }
            _ => {
                let id = self.start(article, at);
                Assignment {
                    story: id,
                    first: true,
                }
            }
        }
    }

    /// Whether the article names something of each of two stories that
    /// the other never names: it reports both (a roundup), rather than one
    /// event the window holds as two stories.
    fn names_apart(&self, article: &Features, a: u64, b: u64) -> bool {
        let names = |id: u64, w: &u64| {
            self.stories
                .get(&id)
                .is_some_and(|s| s.members.iter().any(|m| m.names.binary_search(w).is_ok()))
        };
        let only = |x: u64, y: u64| article.names.iter().any(|w| names(x, w) && !names(y, w));
        only(a, b) && only(b, a)
    }

    /// Whether the parts of the article (its headline's parts, its lead's
    /// sentences) report other stories as much as `best`: a roundup. Each
    /// part belongs to the story whose articles have at least half of its
    /// words (weighted by rarity) and a name or headline word of it, if one does; a
    /// roundup's parts belong to two stories or more, and `best` has less
    /// than two thirds of them.
    fn reports_others(&self, article: &Features, candidates: &[u64], best: u64) -> bool {
        let names = |id: u64, w: &u64| {
            self.stories
                .get(&id)
                .is_some_and(|s| s.members.iter().any(|m| m.names.binary_search(w).is_ok()))
        };
        let covers = |id: u64, unit: &[u64]| {
            let Some(story) = self.stories.get(&id) else {
                return false;
            };
            let total: f64 = unit.iter().map(|&w| self.idf(w)).sum();
            let covered: f64 = unit
                .iter()
                .filter(|&&w| {
                    story
                        .members
                        .iter()
                        .any(|m| m.terms.binary_search_by_key(&w, |t| t.0).is_ok())
                })
                .map(|&w| self.idf(w))
                .sum();
            covered >= total * 0.5
        };
        let listing = article.title_units >= 3;
        let mut owners: FxHashMap<u64, usize> = FxHashMap::default();
        let mut headline_owners: FxHashMap<u64, usize> = FxHashMap::default();
        for (i, unit) in article.units.iter().enumerate() {
            let in_headline = i < article.title_units;
            // A part names what another story names and `best` never does,
            // and (but in a headline that lists) says what its articles
            // say: it is that story's. Else it is `best`'s if it says what
            // `best`'s articles say.
            let own_names: Vec<&u64> = unit
                .iter()
                .filter(|w| article.names.binary_search(w).is_ok() && !names(best, w))
                .collect();
            let owner = candidates
                .iter()
                .copied()
                .find(|&id| {
                    id != best
                        && own_names.iter().any(|w| names(id, w))
                        && (listing && in_headline || covers(id, unit))
                })
                .or_else(|| covers(best, unit).then_some(best));
            if let Some(id) = owner {
                *owners.entry(id).or_default() += 1;
                if in_headline {
                    *headline_owners.entry(id).or_default() += 1;
                }
            }
        }
        // A headline that lists parts of two stories or more ("Peru counts
        // its dead, a night of rescues in Zambia, and …"), or a text whose
        // parts are less than two thirds `best`'s.
        let owned: usize = owners.values().sum();
        let of_best = owners.get(&best).copied().unwrap_or(0);
        listing && headline_owners.len() >= 2 || owners.len() >= 2 && of_best * 3 < owned * 2
    }

    /// Stories sharing a rarer word or a name with the article: the
    /// [`CANDIDATES`] sharing the most.
    fn candidates(&self, article: &Features) -> Vec<u64> {
        let common = (self.stories.len() as f64 * COMMON_SHARE).max(8.0) as u32;
        let mut shared: FxHashMap<u64, u32> = FxHashMap::default();
        for word in index_words(article) {
            if self.df.get(&word).copied().unwrap_or(0) > common {
                continue;
            }
            if let Some(stories) = self.postings.get(&word) {
                for &id in stories {
                    *shared.entry(id).or_default() += 1;
                }
            }
        }
        let mut ranked: Vec<(u32, u64)> = shared.into_iter().map(|(id, n)| (n, id)).collect();
        // Most shared words first; the newer story first among equals.
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        ranked.truncate(CANDIDATES);
        ranked.into_iter().map(|(_, id)| id).collect()
    }

    /// What the decision between two articles rests on (for tuning):
    /// resemblance, a shared name, a conflict of titles, the cosine, the
    /// key-word overlap.
    #[cfg(test)]
    pub(crate) fn explain(&self, a: &Features, b: &Features) -> (f64, bool, bool, f64, f64) {
        let shared_name = a.names.iter().any(|n| b.names.binary_search(n).is_ok());
        (
            a.resemblance(b),
            shared_name,
            conflict(a, b),
            self.cosine(a, b),
            self.key_overlap(a, b),
        )
    }

    /// How much of the lighter article's key words (names and title
    /// words, weighted by rarity) the other has too (measured beside the
    /// cosine while tuning; the cosine separated the corpus better).
    #[cfg(test)]
    fn key_overlap(&self, a: &Features, b: &Features) -> f64 {
        let n = self.stories.len().max(1) as f64;
        let idf = |w: &u64| (1.0 + n / (1.0 + self.df.get(w).copied().unwrap_or(0) as f64)).ln();
        let keys = |f: &Features| -> Vec<u64> {
            let mut k: Vec<u64> = f.names.iter().chain(&f.title).copied().collect();
            k.sort_unstable();
            k.dedup();
            k
        };
        let (ka, kb) = (keys(a), keys(b));
        let weight = |k: &[u64]| k.iter().map(&idf).sum::<f64>();
        let shared: f64 = ka
            .iter()
            .filter(|w| kb.binary_search(w).is_ok())
            .map(&idf)
            .sum();
        let lighter = weight(&ka).min(weight(&kb));
        if lighter == 0.0 {
            0.0
        } else {
            shared / lighter
        }
    }

    /// How surely two articles report one event: 1 for copies, else the
    /// weighted cosine of their words, 0 when they cannot be one event.
    fn similarity(&self, a: &Features, b: &Features) -> f64 {
        if a.resemblance(b) >= COPY {
            return 1.0;
        }
        let shared_name = a.names.iter().any(|n| b.names.binary_search(n).is_ok());
        if !shared_name || conflict(a, b) || !same_happening(a, b) {
            return 0.0;
        }
        let cosine = self.cosine(a, b);
        if cosine >= SAME_EVENT { cosine } else { 0.0 }
    }

    /// The cosine of two articles' word vectors: a title word counts twice,
    /// each weighted by how rare it is among the window's stories (a merge
    /// of the two sorted term lists; rarity looked up for shared words and
    /// once per article for its norm).
    fn cosine(&self, a: &Features, b: &Features) -> f64 {
        let (na, nb) = (self.norm(a), self.norm(b));
        if na == 0.0 || nb == 0.0 {
            return 0.0;
        }
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        while i < a.terms.len() && j < b.terms.len() {
            let ((ta, ca), (tb, cb)) = (a.terms[i], b.terms[j]);
            match ta.cmp(&tb) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let idf = self.idf(ta);
                    dot += f64::from(ca) * f64::from(cb) * idf * idf;
                    i += 1;
                    j += 1;
                }
            }
        }
        dot / (na * nb)
    }

    fn idf(&self, word: u64) -> f64 {
        let n = self.stories.len().max(1) as f64;
        (1.0 + n / (1.0 + self.df.get(&word).copied().unwrap_or(0) as f64)).ln()
    }

    fn norm(&self, f: &Features) -> f64 {
        f.terms
            .iter()
            .map(|&(t, c)| (f64::from(c) * self.idf(t)).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    fn start(&mut self, article: Features, at: DateTime<Utc>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.start_as(id, article, at);
        id
    }

    fn start_as(&mut self, id: u64, article: Features, at: DateTime<Utc>) {
        let words = index_words(&article);
        for w in &words {
            *self.df.entry(*w).or_default() += 1;
            let stories = self.postings.entry(*w).or_default();
            stories.push_back(id);
            if stories.len() > POSTINGS {
                stories.pop_front();
            }
        }
        self.stories.insert(
            id,
            Story {
                last_seen: at,
                members: vec![article],
                words,
            },
        );
        self.seen.push_back((at, id));
    }

    fn join(&mut self, id: u64, article: Features, at: DateTime<Utc>) {
        let Some(story) = self.stories.get_mut(&id) else {
            return;
        };
        for w in index_words(&article) {
            if !story.words.contains(&w) {
                story.words.push(w);
                *self.df.entry(w).or_default() += 1;
                let stories = self.postings.entry(w).or_default();
                stories.push_back(id);
                if stories.len() > POSTINGS {
                    stories.pop_front();
                }
            }
        }
        // The first article and the latest few (a follow-up may take up
        // what any of them said).
        if story.members.len() == MEMBERS {
            story.members.remove(1);
        }
        story.members.push(article);
        story.last_seen = story.last_seen.max(at);
        self.seen.push_back((story.last_seen, id));
    }

    /// Forgets stories not seen within the window before `now`.
    fn expire(&mut self, now: DateTime<Utc>) {
        while let Some(&(seen, id)) = self.seen.front() {
            if seen + self.window >= now {
                break;
            }
            self.seen.pop_front();
            let Some(story) = self.stories.get(&id) else {
                continue;
            };
            // Seen again since: a later entry in the queue stands for it.
            if story.last_seen > seen {
                continue;
            }
            let Some(story) = self.stories.remove(&id) else {
                continue;
            };
            for w in story.words {
                if let Some(df) = self.df.get_mut(&w) {
                    *df -= 1;
                    if *df == 0 {
                        self.df.remove(&w);
                    }
                }
                if let Some(stories) = self.postings.get_mut(&w) {
                    stories.retain(|s| *s != id);
                    if stories.is_empty() {
                        self.postings.remove(&w);
                    }
                }
            }
        }
    }
}

/// Each headline names something the other article's headline and first
/// sentence (where a report says what happened where) do not: two events
/// (an attack in Mogadishu, another in Mandera), even when one mentions
/// the other's place further down.
fn conflict(a: &Features, b: &Features) -> bool {
    let unknown_to = |x: &Features, y: &Features| {
        x.title_names
            .iter()
            .any(|n| y.title.binary_search(n).is_err() && y.first.binary_search(n).is_err())
    };
    unknown_to(a, b) && unknown_to(b, a)
}

/// Whether the two say the same thing happened, not only who it was about:
/// a word other than a name that the headline or first sentence of one
/// shares with the other's (a chief executive's results and the same
/// chief's new board seat share only names).
fn same_happening(a: &Features, b: &Features) -> bool {
    let said = |f: &Features, w: &u64| {
        f.names.binary_search(w).is_err()
            && (f.title.binary_search(w).is_ok() || f.first.binary_search(w).is_ok())
    };
    a.title
        .iter()
        .chain(&a.first)
        .any(|w| said(a, w) && said(b, w))
}

/// What finds a story: the names and title words of its articles.
fn index_words(article: &Features) -> Vec<u64> {
    let mut words: Vec<u64> = article
        .names
        .iter()
        .chain(&article.title)
        .copied()
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}
