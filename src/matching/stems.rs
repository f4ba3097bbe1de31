//! Stemmed matching, asked for per rule (`stem = "ru"`): a word of the
//! query finds the words of the text with the same Snowball stem in that
//! language, so `Брюссель` finds Брюсселя, Брюсселе, Брюсселем. Only words
//! in the language's script are stemmed (a Russian rule's `Brussels` stays
//! whole). Off unless asked: whole words stay exact.

use rust_stemmers::{Algorithm, Stemmer};
use std::borrow::Cow;

/// The languages Snowball stems, by ISO 639-1 code, with their script.
const LANGUAGES: [(&str, Algorithm, Script); 18] = [
    ("ar", Algorithm::Arabic, Script::Arabic),
    ("da", Algorithm::Danish, Script::Latin),
    ("de", Algorithm::German, Script::Latin),
    ("el", Algorithm::Greek, Script::Greek),
    ("en", Algorithm::English, Script::Latin),
    ("es", Algorithm::Spanish, Script::Latin),
    ("fi", Algorithm::Finnish, Script::Latin),
    ("fr", Algorithm::French, Script::Latin),
    ("hu", Algorithm::Hungarian, Script::Latin),
    ("it", Algorithm::Italian, Script::Latin),
    ("nl", Algorithm::Dutch, Script::Latin),
    ("no", Algorithm::Norwegian, Script::Latin),
    ("pt", Algorithm::Portuguese, Script::Latin),
    ("ro", Algorithm::Romanian, Script::Latin),
    ("ru", Algorithm::Russian, Script::Cyrillic),
    ("sv", Algorithm::Swedish, Script::Latin),
    ("ta", Algorithm::Tamil, Script::Tamil),
    ("tr", Algorithm::Turkish, Script::Latin),
];

#[derive(Clone, Copy)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
    Arabic,
    Tamil,
}

impl Script {
    fn has(self, c: char) -> bool {
        match self {
            Script::Latin => c.is_ascii_alphabetic() || ('\u{c0}'..='\u{24f}').contains(&c),
            Script::Cyrillic => ('\u{400}'..='\u{52f}').contains(&c),
            Script::Greek => ('\u{370}'..='\u{3ff}').contains(&c),
            Script::Arabic => ('\u{600}'..='\u{6ff}').contains(&c),
            Script::Tamil => ('\u{b80}'..='\u{bff}').contains(&c),
        }
    }
}

/// A stemming language: an index into the table above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(u8);

impl Language {
    /// The language with ISO 639-1 code `code`, if Snowball stems it.
    pub fn from_code(code: &str) -> Option<Language> {
        LANGUAGES
            .iter()
            .position(|(c, ..)| *c == code)
            .map(|i| Language(i as u8))
    }

    /// The language with code `code`, or an error naming the codes there are.
    pub fn parse(code: &str) -> Result<Language, String> {
        Language::from_code(code.trim()).ok_or_else(|| {
            let codes = LANGUAGES.map(|(c, ..)| c).join(", ");
            format!("unknown language {code:?}: one of {codes}")
        })
    }

    pub fn code(self) -> &'static str {
        LANGUAGES[self.0 as usize].0
    }

    /// Whether the normalised `word` is in this language's script (the
    /// only words stemmed).
    pub fn applies_to(self, word: &str) -> bool {
        let script = LANGUAGES[self.0 as usize].2;
        word.chars().next().is_some_and(|c| script.has(c))
    }

    /// The stem of the normalised `word`, or the word if it is in another
    /// script.
    pub fn stem(self, word: &str) -> Cow<'_, str> {
        if !self.applies_to(word) {
            return Cow::Borrowed(word);
        }
        match Stemmer::create(LANGUAGES[self.0 as usize].1).stem(word) {
            Cow::Borrowed(stem) => Cow::Owned(stem.to_string()),
            Cow::Owned(stem) => Cow::Owned(stem),
        }
    }
}

/// The prefix a stemmed word is looked up by: its stem less one letter
/// (two letters at least), since a stem is not always a prefix of every
/// word it stands for (English "fly" and "flies" stem to "fli").
pub(super) fn anchor_prefix(stem: &str) -> &str {
    let chars = stem.chars().count();
    if chars <= 2 {
        return stem;
    }
    let cut = stem
        .char_indices()
        .nth(chars - 1)
        .map_or(stem.len(), |(i, _)| i);
    &stem[..cut]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_cases_share_a_stem_and_other_scripts_are_left_alone() {
        let ru = Language::from_code("ru").unwrap();
        let stems: Vec<_> = ["брюссель", "брюсселя", "брюсселе", "брюсселем"]
            .iter()
            .map(|w| ru.stem(w).into_owned())
            .collect();
        assert!(stems.iter().all(|s| s == &stems[0]), "{stems:?}");
        assert_eq!(ru.stem("brussels"), "brussels");
        assert!(Language::from_code("xx").is_none());
        assert_eq!(anchor_prefix("брюссел"), "брюссе");
        assert_eq!(anchor_prefix("fl"), "fl");
    }
}
