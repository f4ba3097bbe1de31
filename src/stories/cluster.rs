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

use super::features::{Features, term};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::time::Duration;

/// Articles of a story an article is compared with: its first and latest
/// (at most 8: a bit each in [`Clusterer::fits`]).
const MEMBERS: usize = 8;
const _: () = assert!(MEMBERS <= 8);
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
    members: Vec<Member>,
    /// The words indexed for it, to take out of the index when it expires.
    words: Vec<u64>,
}

/// An article of a story, with the norm of its rarity-weighted word vector
/// (its words' rarities looked up when it is stored, not at each
/// comparison).
struct Member {
    features: Features,
    norm: f64,
    /// Stories in the window when the norm was taken: it is taken again
    /// once their number has moved by a [`NORM_DRIFT`]th.
    stories_then: usize,
}

/// See [`Member::stories_then`]. Rarities move with the window (its number
/// of stories, and each word's count with it); a norm a few percent off
/// moves a cosine by as little, while the window turns over in hours.
const NORM_DRIFT: usize = 32;

/// A word in the index.
#[derive(Default)]
struct Postings {
    /// How many stories of the window have it.
    stories: u32,
    /// The latest of them (see [`POSTINGS`]), newest last.
    recent: VecDeque<u64>,
}

/// Buffers kept from one article to the next, so that assigning one
/// allocates nothing but what is stored.
#[derive(Default)]
struct Scratch {
    /// The article's index words.
    words: Vec<u64>,
    /// The rarity of each of the article's terms, in their order.
    idf: Vec<f64>,
    /// Story → words shared with the article.
    shared: FxHashMap<u64, u32>,
    ranked: Vec<(u32, u64)>,
    fits: Vec<(f64, u64)>,
}

/// Stories within a time window, and the index that finds them.
pub struct Clusterer {
    window: chrono::Duration,
    stories: FxHashMap<u64, Story>,
    /// Word or name → the stories whose articles have it.
    index: FxHashMap<u64, Postings>,
    /// Stories by when they were last seen, oldest first (expiry).
    seen: VecDeque<(DateTime<Utc>, u64)>,
    next_id: u64,
    scratch: Scratch,
}

impl Clusterer {
    pub fn new(window: Duration) -> Clusterer {
        Clusterer {
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(2)),
            stories: FxHashMap::default(),
            index: FxHashMap::default(),
            seen: VecDeque::new(),
            next_id: 1,
            scratch: Scratch::default(),
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

    /// Puts the article (published `at`) in a story.
    pub fn assign(&mut self, article: Features, at: DateTime<Utc>) -> Assignment {
        self.expire(at);
        let mut scratch = std::mem::take(&mut self.scratch);
        index_words(&article, &mut scratch.words);
        self.candidates(&mut scratch);
        let rarity = self.rarity();
        scratch.idf.clear();
        scratch
            .idf
            .extend(article.terms().iter().map(|&t| rarity.idf(term(t).0)));
        let norm = norm(&article, &scratch.idf);
        self.fits(&article, norm, &mut scratch);
        let fits = &mut scratch.fits;
        fits.sort_by(|a, b| b.0.total_cmp(&a.0));
        // A roundup, a story of its own: two stories fit about as well and
        // it names something of each alone, or its parts report others.
        let roundup = fits.len() >= 2
            && fits[1].0 >= fits[0].0 * 0.8
            && fits[0].0 < 1.0
            && self.names_apart(&article, fits[0].1, fits[1].1)
            || fits.first().is_some_and(|&(s, id)| {
                s < 1.0 && self.reports_others(&article, &scratch.idf, &scratch.ranked, id)
            });
        let article = article.kept();
        let assignment = match fits.first() {
            Some(&(_, id)) if !roundup => {
                self.join(id, article, at, &scratch.words);
                Assignment {
                    story: id,
                    first: false,
                }
            }
            _ => {
                let id = self.next_id;
                self.next_id += 1;
                self.start(id, article, at, &scratch.words);
                Assignment {
                    story: id,
                    first: true,
                }
            }
        };
        self.scratch = scratch;
        assignment
    }

    /// Puts an article (published `at`) back in story `story`, as
    /// [`Clusterer::assign`] put it there before (rebuilding the window
    /// from the store at start-up, articles in published order). Stories
    /// started afterwards get greater ids.
    pub fn restore(&mut self, article: Features, at: DateTime<Utc>, story: u64) {
        self.expire(at);
        let mut words = std::mem::take(&mut self.scratch.words);
        index_words(&article, &mut words);
        let article = article.kept();
        if self.stories.contains_key(&story) {
            self.join(story, article, at, &words);
        } else {
            self.start(story, article, at, &words);
        }
        self.next_id = self.next_id.max(story.saturating_add(1));
        self.scratch.words = words;
    }

    /// The rarities of the window's words, as the comparisons read them.
    fn rarity(&self) -> Rarity<'_> {
        Rarity {
            index: &self.index,
            stories: self.stories.len(),
        }
    }

    /// Stories sharing a rarer word or a name with the article (its index
    /// words in `scratch.words`): the [`CANDIDATES`] sharing the most, in
    /// `scratch.ranked`.
    fn candidates(&self, scratch: &mut Scratch) {
        let common = (self.stories.len() as f64 * COMMON_SHARE).max(8.0) as u32;
        let shared = &mut scratch.shared;
        shared.clear();
        // The words' entries looked up in one pass, then read (their loads
        // overlap), a few dozen words at a time.
        for words in scratch.words.chunks(32) {
            let mut found: [Option<&Postings>; 32] = [None; 32];
            for (found, word) in found.iter_mut().zip(words) {
                *found = self.index.get(word).filter(|p| p.stories <= common);
            }
            for postings in found.iter().flatten() {
                for &id in &postings.recent {
                    *shared.entry(id).or_default() += 1;
                }
            }
        }
        let ranked = &mut scratch.ranked;
        ranked.clear();
        ranked.extend(shared.iter().map(|(&id, &n)| (n, id)));
        // Most shared words first; the newer story first among equals.
        let order = |a: &(u32, u64), b: &(u32, u64)| b.cmp(a);
        if ranked.len() > CANDIDATES {
            ranked.select_nth_unstable_by(CANDIDATES, order);
            ranked.truncate(CANDIDATES);
        }
        ranked.sort_unstable_by(order);
    }

    /// The candidate stories (`scratch.ranked`) the article fits, each with
    /// how well (see [`Rarity::similarity`]), into `scratch.fits`.
    ///
    /// Each candidate's memory is elsewhere (in a window of a million
    /// articles, seldom in a cache): the stories are looked up and their
    /// articles read for copies and shared names in one pass, whose loads
    /// the processor overlaps; only then are cosines taken.
    fn fits(&mut self, article: &Features, norm: f64, scratch: &mut Scratch) {
        // In stages, each reading every candidate: the stories, then their
        // articles' sketches, then their names.
        let mut stories: [Option<&Story>; CANDIDATES] = [None; CANDIDATES];
        for (story, &(_, id)) in stories.iter_mut().zip(&scratch.ranked) {
            *story = self.stories.get(&id);
        }
        // Per candidate: its fit so far, and which members need a cosine
        // (a bit each: see `MEMBERS`).
        let mut found = [(0.0_f64, 0u8); CANDIDATES];
        for (found, story) in found.iter_mut().zip(&stories) {
            let members = story.map_or(&[][..], |s| &s.members[..]);
            if members
                .iter()
                .any(|m| article.resemblance(&m.features) >= COPY)
            {
                found.0 = 1.0;
            }
        }
        for (found, story) in found.iter_mut().zip(&stories) {
            let members = story.map_or(&[][..], |s| &s.members[..]);
            if found.0 < 1.0 {
                for (i, member) in members.iter().enumerate() {
                    let m = &member.features;
                    if shares_name(article, m) && !conflict(article, m) {
                        found.1 |= 1 << i;
                    }
                }
            }
        }
        scratch.fits.clear();
        let stories = self.stories.len();
        for (&(mut best, maybe), &(_, id)) in found.iter().zip(&scratch.ranked) {
            if best < 1.0 && maybe != 0 {
                let rarity = Rarity {
                    index: &self.index,
                    stories,
                };
                let Some(story) = self.stories.get_mut(&id) else {
                    continue;
                };
                for (i, member) in story.members.iter_mut().enumerate() {
                    if maybe & (1 << i) != 0 {
                        let fit = rarity.same_event(article, &scratch.idf, norm, member);
                        // Checked last: few articles come this far.
                        if fit > 0.0 && same_happening(article, &member.features) {
                            best = best.max(fit);
                        }
                    }
                }
            }
            if best > 0.0 {
                scratch.fits.push((best, id));
            }
        }
    }

    /// Whether story `id` names `word` (by its hash) in one of its articles.
    fn names(&self, id: u64, word: u64) -> bool {
        self.stories.get(&id).is_some_and(|s| {
            s.members
                .iter()
                .any(|m| m.features.names().binary_search(&word).is_ok())
        })
    }

    /// Whether the article names something of each of two stories that
    /// the other never names: it reports both (a roundup), rather than one
    /// event the window holds as two stories.
    fn names_apart(&self, article: &Features, a: u64, b: u64) -> bool {
        let only = |x: u64, y: u64| {
            article
                .names()
                .iter()
                .any(|&w| self.names(x, w) && !self.names(y, w))
        };
        only(a, b) && only(b, a)
    }

    /// Whether the parts of the article (its headline's parts, its lead's
    /// sentences) report other stories (`candidates`) as much as `best`: a
    /// roundup. A part is another story's when it names what that story
    /// alone names and (but in a headline that lists) has at least half of
    /// its words (weighted by rarity) in that story's articles; else
    /// `best`'s if it has half of its words in `best`'s. A roundup's
    /// headline lists parts of two stories or more ("Peru counts its dead,
    /// a night of rescues in Zambia, and …"), or less than two thirds of
    /// its parts are `best`'s.
    fn reports_others(
        &self,
        article: &Features,
        idf: &[f64],
        candidates: &[(u32, u64)],
        best: u64,
    ) -> bool {
        // The names that could make a part another story's: those `best`
        // never names and another candidate does (most articles have none).
        let foreign: Vec<u64> = article
            .names()
            .iter()
            .copied()
            .filter(|&w| {
                !self.names(best, w)
                    && candidates
                        .iter()
                        .any(|&(_, id)| id != best && self.names(id, w))
            })
            .collect();
        if foreign.is_empty() {
            return false;
        }
        // A part's words are the article's terms: their rarities are known.
        let terms = article.terms();
        let rarity_of = |w: u64| match terms.binary_search_by_key(&w, |&t| term(t).0) {
            Ok(i) => idf[i],
            Err(_) => self.rarity().idf(w),
        };
        let covers = |id: u64, unit: &[u64]| {
            let Some(story) = self.stories.get(&id) else {
                return false;
            };
            let (mut total, mut covered) = (0.0, 0.0);
            for &w in unit {
                let idf = rarity_of(w);
                total += idf;
                if story.members.iter().any(|m| m.features.weight(w) > 0) {
                    covered += idf;
                }
            }
            covered >= total * 0.5
        };
        let listing = article.title_units() >= 3;
        let mut owners: FxHashMap<u64, usize> = FxHashMap::default();
        let mut headline_owners: FxHashMap<u64, usize> = FxHashMap::default();
        for (i, unit) in article.units().enumerate() {
            let in_headline = i < article.title_units();
            let own_names: Vec<u64> = unit
                .iter()
                .copied()
                .filter(|w| foreign.binary_search(w).is_ok())
                .collect();
            let owner = candidates
                .iter()
                .map(|&(_, id)| id)
                .find(|&id| {
                    id != best
                        && own_names.iter().any(|&w| self.names(id, w))
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
        let owned: usize = owners.values().sum();
        let of_best = owners.get(&best).copied().unwrap_or(0);
        listing && headline_owners.len() >= 2 || owners.len() >= 2 && of_best * 3 < owned * 2
    }

    /// What the decision between two articles rests on (for tuning):
    /// resemblance, a shared name, a conflict of titles, the cosine, the
    /// key-word overlap.
    #[cfg(test)]
    pub(crate) fn explain(&self, a: &Features, b: &Features) -> (f64, bool, bool, f64, f64) {
        let shared_name = shares_name(a, b);
        let rarity = self.rarity();
        let idf: Vec<f64> = a.terms().iter().map(|&t| rarity.idf(term(t).0)).collect();
        let idf_b: Vec<f64> = b.terms().iter().map(|&t| rarity.idf(term(t).0)).collect();
        (
            a.resemblance(b),
            shared_name,
            conflict(a, b),
            cosine(a, &idf, norm(a, &idf), b, norm(b, &idf_b)),
            self.key_overlap(a, b),
        )
    }

    /// How much of the lighter article's key words (names and title
    /// words, weighted by rarity) the other has too (measured beside the
    /// cosine while tuning; the cosine separated the corpus better).
    #[cfg(test)]
    fn key_overlap(&self, a: &Features, b: &Features) -> f64 {
        let rarity = self.rarity();
        let keys = |f: &Features| -> Vec<u64> {
            let mut k: Vec<u64> = f.names().iter().copied().chain(f.title()).collect();
            k.sort_unstable();
            k.dedup();
            k
        };
        let (ka, kb) = (keys(a), keys(b));
        let weight = |k: &[u64]| k.iter().map(|&w| rarity.idf(w)).sum::<f64>();
        let shared: f64 = ka
            .iter()
            .filter(|w| kb.binary_search(w).is_ok())
            .map(|&w| rarity.idf(w))
            .sum();
        let lighter = weight(&ka).min(weight(&kb));
        if lighter == 0.0 {
            0.0
        } else {
            shared / lighter
        }
    }

    /// A story `id` with the article as its first.
    fn start(&mut self, id: u64, article: Features, at: DateTime<Utc>, words: &[u64]) {
        for &w in words {
            index(&mut self.index, w, id);
        }
        // Its norm with the rarities the next article will see.
        let rarity = Rarity {
            index: &self.index,
            stories: self.stories.len() + 1,
        };
        let member = rarity.member(article);
        self.stories.insert(
            id,
            Story {
                last_seen: at,
                members: vec![member],
                words: words.to_vec(),
            },
        );
        self.seen.push_back((at, id));
    }

    fn join(&mut self, id: u64, article: Features, at: DateTime<Utc>, words: &[u64]) {
        let stories = self.stories.len();
        let Some(story) = self.stories.get_mut(&id) else {
            return;
        };
        for &w in words {
            if !story.words.contains(&w) {
                story.words.push(w);
                index(&mut self.index, w, id);
            }
        }
        // The first article and the latest few (a follow-up may take up
        // what any of them said).
        if story.members.len() == MEMBERS {
            story.members.remove(1);
        }
        let rarity = Rarity {
            index: &self.index,
            stories,
        };
        story.members.push(rarity.member(article));
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
                let Some(postings) = self.index.get_mut(&w) else {
                    continue;
                };
                postings.stories -= 1;
                postings.recent.retain(|s| *s != id);
                if postings.stories == 0 {
                    self.index.remove(&w);
                }
            }
        }
        // What a busier window needed is given back (a table shrunk to
        // twice its entries when it holds a quarter of its room: each
        // shrink is paid for by the many expiries before it).
        if self.stories.capacity() > 4 * self.stories.len() + 64 {
            self.stories.shrink_to(2 * self.stories.len());
        }
        if self.index.capacity() > 4 * self.index.len() + 64 {
            self.index.shrink_to(2 * self.index.len());
        }
        if self.seen.capacity() > 4 * self.seen.len() + 64 {
            self.seen.shrink_to(2 * self.seen.len());
        }
    }
}

/// Counts story `id` as having word `w`, and puts it last in the word's
/// postings.
fn index(index: &mut FxHashMap<u64, Postings>, w: u64, id: u64) {
    let postings = index.entry(w).or_default();
    postings.stories += 1;
    if postings.recent.len() == POSTINGS {
        postings.recent.pop_front();
    }
    postings.recent.push_back(id);
}

/// How rare each word is among the window's stories.
struct Rarity<'a> {
    index: &'a FxHashMap<u64, Postings>,
    stories: usize,
}

impl Rarity<'_> {
    fn idf(&self, word: u64) -> f64 {
        let n = self.stories.max(1) as f64;
        let df = self.index.get(&word).map_or(0, |p| p.stories);
        (1.0 + n / (1.0 + f64::from(df))).ln()
    }

    fn member(&self, features: Features) -> Member {
        Member {
            norm: self.norm(&features),
            stories_then: self.stories,
            features,
        }
    }

    fn norm(&self, f: &Features) -> f64 {
        f.terms()
            .iter()
            .map(|&t| {
                let (t, c) = term(t);
                (f64::from(c) * self.idf(t)).powi(2)
            })
            .sum::<f64>()
            .sqrt()
    }

    /// How surely the article (with the rarities of its terms and its
    /// norm) reports the event of a story's member, when it is no copy of
    /// it but shares a name with it, their titles in no conflict: the weighted cosine of their words, 0 under
    /// [`SAME_EVENT`].
    fn same_event(&self, a: &Features, idf: &[f64], norm: f64, b: &mut Member) -> f64 {
        if b.stories_then.abs_diff(self.stories) * NORM_DRIFT > b.stories_then {
            b.norm = self.norm(&b.features);
            b.stories_then = self.stories;
        }
        // At most 1 (a copy's fit) though the norm may lag the rarities.
        let cosine = cosine(a, idf, norm, &b.features, b.norm).min(1.0);
        if cosine >= SAME_EVENT { cosine } else { 0.0 }
    }
}

/// The norm of an article's word vector, its terms' rarities given.
fn norm(f: &Features, idf: &[f64]) -> f64 {
    f.terms()
        .iter()
        .zip(idf)
        .map(|(&t, idf)| (f64::from(term(t).1) * idf).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The cosine of two articles' word vectors: a title word counts twice,
/// each weighted by how rare it is among the window's stories (a merge of
/// the two sorted term lists; the rarities of `a`'s terms and both norms
/// given).
fn cosine(a: &Features, idf: &[f64], na: f64, b: &Features, nb: f64) -> f64 {
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    let (ta, tb) = (a.terms(), b.terms());
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < ta.len() && j < tb.len() {
        let ((ta, ca), (tb, cb)) = (term(ta[i]), term(tb[j]));
        match ta.cmp(&tb) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += f64::from(ca) * f64::from(cb) * idf[i] * idf[i];
                i += 1;
                j += 1;
            }
        }
    }
    dot / (na * nb)
}

/// Each headline names something the other article's headline and first
/// sentence (where a report says what happened where) do not: two events
/// (an attack in Mogadishu, another in Mandera), even when one mentions
/// the other's place further down.
fn conflict(a: &Features, b: &Features) -> bool {
    let unknown_to = |x: &Features, y: &Features| x.title_names().iter().any(|&n| !y.leads_with(n));
    unknown_to(a, b) && unknown_to(b, a)
}

/// Whether the two say the same thing happened, not only who it was about:
/// a word other than a name that the headline or first sentence of one
/// shares with the other's (a chief executive's results and the same
/// chief's new board seat share only names).
fn same_happening(a: &Features, b: &Features) -> bool {
    let said = |f: &Features, w: u64| f.names().binary_search(&w).is_err() && f.leads_with(w);
    a.lead_words().any(|w| said(a, w) && said(b, w))
}

/// The two articles have a name in common.
fn shares_name(a: &Features, b: &Features) -> bool {
    let names = b.names();
    a.names().iter().any(|n| names.binary_search(n).is_ok())
}

/// What finds a story: the names and title words of its articles (into
/// `words`, sorted).
fn index_words(article: &Features, words: &mut Vec<u64>) {
    words.clear();
    words.extend(article.names().iter().copied().chain(article.title()));
    words.sort_unstable();
    words.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::article::Article;

    fn features(title: &str, summary: &str) -> Features {
        Features::of(&Article {
            key: title.to_string(),
            guid: None,
            title: title.to_string(),
            link: None,
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
            summary: summary.to_string(),
            content: String::new(),
        })
    }

    #[test]
    fn restored_stories_take_their_articles_and_new_ones_get_greater_ids() {
        let mut clusterer = Clusterer::new(Duration::from_secs(48 * 3600));
        let at = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
        let minutes = chrono::Duration::minutes;
        let blast = features(
            "Explosion at Zaventem airport kills two",
            "An explosion in the departure hall of Zaventem airport near Brussels \
             killed two people on Tuesday morning, prosecutors said.",
        );
        let strike = features(
            "Ghent tram drivers walk out over new rosters",
            "Tram drivers in Ghent stopped work on Monday in a dispute with De Lijn \
             over rosters, leaving commuters stranded.",
        );
        clusterer.restore(blast.clone(), at, 40);
        clusterer.restore(strike, at + minutes(1), 7);
        let follow_up = features(
            "Zaventem airport blast: death toll rises",
            "The death toll of the explosion at Zaventem airport rose on Tuesday \
             evening, prosecutors in Brussels said.",
        );
        clusterer.restore(follow_up, at + minutes(2), 40);
        assert_eq!(clusterer.len(), 2);

        let copy = clusterer.assign(blast, at + minutes(10));
        assert_eq!(
            copy,
            Assignment {
                story: 40,
                first: false
            }
        );
        let flood = features(
            "Meuse floods close the Liège riverside road",
            "Rising water of the Meuse closed the riverside road through Liège \
             on Wednesday, the city said.",
        );
        let new = clusterer.assign(flood, at + minutes(20));
        assert!(new.first && new.story > 40, "{new:?}");
        assert_eq!(clusterer.len(), 3);
    }

    #[test]
    fn stories_expire_after_the_window_and_the_index_shrinks() {
        let mut clusterer = Clusterer::new(Duration::from_secs(3600));
        let at = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
        for i in 0..2000 {
            let title = format!("Event{i} happens in Town{i}");
            let lead = format!("The Event{i} took place in Town{i} on day{i}.");
            clusterer.assign(features(&title, &lead), at + chrono::Duration::seconds(i));
        }
        assert_eq!(clusterer.len(), 2000);
        let (stories, words) = (clusterer.stories.capacity(), clusterer.index.capacity());
        let later = at + chrono::Duration::hours(3);
        clusterer.assign(
            features("Quiet day in Ghent", "Nothing happened in Ghent."),
            later,
        );
        assert_eq!(clusterer.len(), 1);
        assert!(clusterer.index.len() < 10, "{}", clusterer.index.len());
        assert!(clusterer.stories.capacity() < stories / 4);
        assert!(clusterer.index.capacity() < words / 4);
        assert!(clusterer.seen.len() == 1);
    }
}
