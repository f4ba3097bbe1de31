//! The story stage: places each new article in a story (see `cluster`),
//! keeps what each story has said so far (its first headline, its sources,
//! its figures) and tells what a later article or an edit adds to it.

use super::cluster::Clusterer;
use super::features::Features;
use super::revision::{figures, lead};
use crate::matching::text::words;
use crate::model::article::{Article, hex};
use crate::model::story::{AlertStory, Placements, StoryArticle, StoryMode};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Figures a story remembers at most (a text gives at most 32).
const MAX_FIGURES: usize = 256;

/// The stories of the window, shared by every feed's polls.
pub struct Stories {
    window: chrono::Duration,
    state: Mutex<State>,
}

struct State {
    clusterer: Clusterer,
    /// By the clusterer's id.
    stories: FxHashMap<u64, Story>,
    /// The clusterer's id of each story, by its own.
    ids: FxHashMap<String, u64>,
    /// Stories by when they last had an article, oldest first (expiry).
    seen: VecDeque<(DateTime<Utc>, u64)>,
    /// Each article placed (by a hash of feed and key): its story and what
    /// it added. An article placed again (its poll's commit failed and the
    /// poll is retried) gets the same answer, not "nothing new".
    placed: FxHashMap<u64, (u64, Option<String>)>,
    /// Where the next read of other instances' placements starts (see
    /// [`Stories::synced`]).
    synced: i64,
}

struct Story {
    id: String,
    title: String,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    articles: u32,
    sources: Vec<String>,
    figures: Vec<String>,
    /// Its articles' keys in [`State::placed`].
    keys: Vec<u64>,
}

/// Where a new article went, and what the store keeps of it.
#[derive(Debug, Clone)]
pub struct Placed {
    /// Its story as it stands with this article (mode: the default; each
    /// rule sets its own).
    pub story: AlertStory,
    pub record: StoryArticle,
}

/// A story's id: from its first article, so the same everywhere and after
/// restarts.
fn story_id(feed: &str, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(feed.as_bytes());
    hasher.update([0]);
    hasher.update(key.as_bytes());
    format!("s{}", hex(&hasher.finalize()[..8]))
}

/// An article's key in [`State::placed`].
fn article_hash(feed: &str, key: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    std::hash::Hash::hash(&(feed, key), &mut hasher);
    std::hash::Hasher::finish(&hasher)
}

/// The figures of a headline and the first sentence of its lead: where a
/// report puts its news (a toll, a count); later sentences bring ages,
/// distances and dates that differ between outlets' versions of one fact.
fn figures_of(title: &str, lead: &str) -> Vec<String> {
    let mut all = figures(title);
    let end = lead
        .char_indices()
        .find(|&(i, c)| {
            matches!(c, '.' | '!' | '?')
                && lead[i + 1..].starts_with(char::is_whitespace)
                && !lead[..i].ends_with(|c: char| c.is_ascii_digit())
        })
        .map_or(lead.len(), |(i, _)| i);
    for f in figures(&lead[..end]) {
        if !all.contains(&f) {
            all.push(f);
        }
    }
    all
}

impl Stories {
    pub fn new(window: Duration) -> Stories {
        Stories {
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::days(2)),
            state: Mutex::new(State {
                clusterer: Clusterer::new(window),
                stories: FxHashMap::default(),
                ids: FxHashMap::default(),
                seen: VecDeque::new(),
                placed: FxHashMap::default(),
                synced: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic mid-placement leaves at worst one article half-recorded.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stories in the window.
    pub fn len(&self) -> usize {
        self.state().stories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The window's length.
    pub fn window(&self) -> chrono::Duration {
        self.window
    }

    /// Where the store's next read of what other instances placed starts
    /// (see `Store::story_articles`).
    pub fn synced(&self) -> i64 {
        self.state().synced
    }

    /// Places what the store read (see [`Stories::restore`]) and notes where
    /// its next read starts.
    pub fn restore_read(&self, read: &Placements) {
        self.restore(&read.articles);
        self.state().synced = read.next;
    }

    /// Places the articles the store kept (oldest first) in their stories
    /// again, as at start-up, or as other instances placed them; an
    /// article placed here already is left as it is.
    pub fn restore(&self, articles: &[StoryArticle]) {
        let mut state = self.state();
        for a in articles {
            let key = article_hash(&a.feed, &a.key);
            if state.placed.contains_key(&key) {
                continue;
            }
            let article = Article {
                key: a.key.clone(),
                guid: None,
                title: a.title.clone(),
                link: None,
                published: None,
                authors: Vec::new(),
                categories: Vec::new(),
                summary: a.lead.clone(),
                content: String::new(),
            };
            let features = Features::of(&article);
            let internal = match state.ids.get(&a.story) {
                Some(&id) => id,
                None => {
                    let id = state.clusterer.next_id();
                    state.ids.insert(a.story.clone(), id);
                    id
                }
            };
            state.clusterer.restore(features, a.at, internal);
            state.expire(a.at, self.window);
            let story = state.stories.entry(internal).or_insert_with(|| {
                Story::new(a.story.clone(), a.story_title.clone(), a.first_seen, a.at)
            });
            story.add(&a.feed, figures_of(&a.title, &a.lead), a.at);
            story.keys.push(key);
            state.placed.insert(key, (internal, None));
            state.seen.push_back((a.at, internal));
        }
    }

    /// Puts a new article of `feed`, come `at`, in a story (a new one, or
    /// the one it reports), and says what it adds to it.
    pub fn place(&self, feed: &str, article: &Article, at: DateTime<Utc>) -> Placed {
        let lead = lead(article.text()).to_string();
        let found = figures_of(&article.title, &lead);
        let mut state = self.state();
        state.expire(at, self.window);
        let key = article_hash(feed, &article.key);
        if let Some((internal, adds)) = state.placed.get(&key).cloned()
            && let Some(story) = state.stories.get(&internal)
        {
            return story.placed(adds, feed, article, at, lead);
        }
        let assignment = state.clusterer.assign(Features::of(article), at);
        let adds = match state.stories.get(&assignment.story) {
            Some(story) if !assignment.first => story.new_figures(&found),
            _ => {
                // A story of its own (or one this side forgot: started again).
                let id = story_id(feed, &article.key);
                state.ids.insert(id.clone(), assignment.story);
                let story = Story::new(id, article.title.clone(), at, at);
                state.stories.insert(assignment.story, story);
                None
            }
        };
        state.seen.push_back((at, assignment.story));
        state.placed.insert(key, (assignment.story, adds.clone()));
        let story = state
            .stories
            .get_mut(&assignment.story)
            .expect("the story was just found or made");
        story.add(feed, found, at);
        story.keys.push(key);
        story.placed(adds, feed, article, at, lead)
    }

    /// An article of story `story` edited under its key (its headline was
    /// `before`): its story, with what the edit adds (a new headline, new
    /// figures) if anything, and what the store keeps of it now; `None` if
    /// the story has left the window.
    pub fn edited(
        &self,
        story: &str,
        before: &str,
        feed: &str,
        article: &Article,
        at: DateTime<Utc>,
    ) -> Option<Placed> {
        let lead = lead(article.text()).to_string();
        let found = figures_of(&article.title, &lead);
        let mut state = self.state();
        state.expire(at, self.window);
        let internal = *state.ids.get(story)?;
        let story = state.stories.get_mut(&internal)?;
        let adds = match words(before) != words(&article.title) {
            true => Some(format!(
                "headline changed: \u{201c}{before}\u{201d} \u{2192} \u{201c}{}\u{201d}",
                article.title
            )),
            false => story.new_figures(&found),
        };
        story.learn(found);
        Some(story.placed(adds, feed, article, at, lead))
    }
}

impl Story {
    /// A story begun `first_seen` with the headline `title`, its latest
    /// article come `last_seen`; its articles are then added.
    fn new(
        id: String,
        title: String,
        first_seen: DateTime<Utc>,
        last_seen: DateTime<Utc>,
    ) -> Story {
        Story {
            id,
            title,
            first_seen,
            last_seen,
            articles: 0,
            sources: Vec::new(),
            figures: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn add(&mut self, feed: &str, figures: Vec<String>, at: DateTime<Utc>) {
        self.articles += 1;
        self.last_seen = self.last_seen.max(at);
        if !self.sources.iter().any(|s| s == feed) {
            self.sources.push(feed.to_string());
        }
        self.learn(figures);
    }

    fn learn(&mut self, figures: Vec<String>) {
        for f in figures {
            // Bounded: a story's figures are compared with each article's.
            if self.figures.len() < MAX_FIGURES && !self.figures.contains(&f) {
                self.figures.push(f);
            }
        }
    }

    /// "new figures: 11, 81": those of `found` the story has not given.
    fn new_figures(&self, found: &[String]) -> Option<String> {
        let new: Vec<&str> = found
            .iter()
            .filter(|f| !self.figures.contains(f))
            .map(String::as_str)
            .collect();
        (!new.is_empty()).then(|| format!("new figures: {}", new.join(", ")))
    }

    /// An article of `feed` as placed in this story, adding `adds`.
    fn placed(
        &self,
        adds: Option<String>,
        feed: &str,
        article: &Article,
        at: DateTime<Utc>,
        lead: String,
    ) -> Placed {
        Placed {
            story: self.view(adds),
            record: StoryArticle {
                feed: feed.to_string(),
                key: article.key.clone(),
                story: self.id.clone(),
                at,
                title: article.title.clone(),
                lead,
                story_title: self.title.clone(),
                first_seen: self.first_seen,
            },
        }
    }

    fn view(&self, adds: Option<String>) -> AlertStory {
        AlertStory {
            id: self.id.clone(),
            title: self.title.clone(),
            first_seen: self.first_seen,
            articles: self.articles,
            sources: self.sources.clone(),
            adds,
            mode: StoryMode::default(),
            follows: None,
        }
    }
}

impl State {
    /// Forgets stories with no article within the window before `now`.
    fn expire(&mut self, now: DateTime<Utc>, window: chrono::Duration) {
        while let Some(&(seen, id)) = self.seen.front() {
            if seen + window >= now {
                break;
            }
            self.seen.pop_front();
            if self.stories.get(&id).is_some_and(|s| s.last_seen <= seen)
                && let Some(story) = self.stories.remove(&id)
            {
                self.ids.remove(&story.id);
                for key in story.keys {
                    self.placed.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(key: &str, title: &str, summary: &str) -> Article {
        Article {
            key: key.into(),
            guid: None,
            title: title.into(),
            link: None,
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
            summary: summary.into(),
            content: String::new(),
        }
    }

    const FIRST: (&str, &str) = (
        "Explosion at Zaventem airport kills two",
        "An explosion tore through the departure hall of Zaventem airport near Brussels \
         on Tuesday morning, killing two people and injuring dozens, Belgian police said.",
    );
    const TOLL: (&str, &str) = (
        "Zaventem airport explosion: death toll rises to 11",
        "The death toll from Tuesday's explosion in the departure hall of Zaventem airport \
         near Brussels has risen to 11, Belgian police said, with 81 people injured.",
    );

    #[test]
    fn an_article_placed_again_gets_the_same_answer() {
        let stories = Stories::new(Duration::from_secs(48 * 3600));
        let at = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
        stories.place("wire", &article("w1", FIRST.0, FIRST.1), at);
        let toll = article("l1", TOLL.0, TOLL.1);
        let placed = stories.place("lake", &toll, at);
        // Its poll's commit failed; the retried poll places it again.
        let again = stories.place("lake", &toll, at);
        assert_eq!(placed.story.adds.as_deref(), Some("new figures: 11, 81"));
        assert_eq!(again.story, placed.story);
        assert_eq!(again.record, placed.record);
    }

    #[test]
    fn a_restored_story_keeps_its_first_headline() {
        let stories = Stories::new(Duration::from_secs(48 * 3600));
        let at = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
        // Its first article left the window; a later one is what is kept.
        stories.restore(&[StoryArticle {
            feed: "lake".into(),
            key: "l1".into(),
            story: "s0123456789abcdef".into(),
            at,
            title: TOLL.0.into(),
            lead: TOLL.1.into(),
            story_title: FIRST.0.into(),
            first_seen: at - chrono::Duration::hours(60),
        }]);
        let copy = stories.place("metro", &article("m1", TOLL.0, TOLL.1), at);
        assert_eq!(copy.story.id, "s0123456789abcdef");
        assert_eq!(copy.story.title, FIRST.0);
        assert_eq!(copy.story.first_seen, at - chrono::Duration::hours(60));
        assert_eq!(copy.record.story_title, FIRST.0);
    }
}
