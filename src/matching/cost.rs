//! How common a word is guessed to be: the everyday news words a rule is
//! never anchored on when it has a rarer one, and the cost of any word.

/// Words so frequent in news that anchoring a rule on them would evaluate it
/// for nearly every article.
pub(super) const FREQUENT: &[&str] = &[
    // Name particles: "Al-Shabab", "Abu Sayyaf", "van der Berg".
    "abu",
    "al",
    "bin",
    "da",
    "de",
    "del",
    "der",
    "di",
    "du",
    "el",
    "ibn",
    "la",
    "le",
    "van",
    "von",
    // Everyday news words.
    "a",
    "about",
    "after",
    "against",
    "all",
    "also",
    "an",
    "and",
    "are",
    "as",
    "at",
    "attack",
    "be",
    "been",
    "but",
    "by",
    "city",
    "country",
    "court",
    "day",
    "for",
    "forces",
    "from",
    "government",
    "group",
    "had",
    "has",
    "have",
    "he",
    "her",
    "his",
    "in",
    "is",
    "it",
    "its",
    "killed",
    "last",
    "local",
    "minister",
    "more",
    "new",
    "not",
    "of",
    "officials",
    "on",
    "one",
    "or",
    "over",
    "people",
    "police",
    "president",
    "region",
    "reported",
    "said",
    "security",
    "she",
    "that",
    "the",
    "their",
    "they",
    "this",
    "to",
    "two",
    "up",
    "was",
    "week",
    "were",
    "which",
    "who",
    "will",
    "with",
    "year",
    "years",
];

/// Whether a normalised word is one of the everyday words a rule is never
/// anchored on when it has a rarer one.
pub fn is_frequent(word: &str) -> bool {
    FREQUENT.contains(&word)
}

/// The everyday words of [`is_frequent`], for a faster lookup of one's own.
pub fn everyday_words() -> &'static [&'static str] {
    FREQUENT
}

/// An everyday word that a normalised prefix matches, if any.
pub fn everyday_word_with_prefix(prefix: &str) -> Option<&'static str> {
    FREQUENT.iter().copied().find(|w| w.starts_with(prefix))
}

/// The cost of an everyday word (see [`word_cost`]).
pub(super) const FREQUENT_COST: u32 = 1000;

/// A guess at how often a word occurs, without corpus statistics: very common
/// words are dear, words written capitalised in the query (names, places,
/// groups) are cheap, and longer words are cheaper than short ones.
pub(super) fn word_cost(word: &str, exact: Option<&String>) -> u32 {
    if is_frequent(word) {
        return FREQUENT_COST;
    }
    let capitalised = exact
        .and_then(|e| e.chars().next())
        .is_some_and(char::is_uppercase);
    let short = word.chars().count() < 5;
    match (capitalised, short) {
        (true, false) => 2,
        (true, true) => 4,
        (false, false) => 30,
        (false, true) => 60,
    }
}
