//! Wire text in Chinese and in Arabic for the matcher benchmark, generated
//! like the news-like corpus (Zipf-distributed words and names):
//!
//! - Chinese: 3,500 characters by Zipf's law, 40,000 words of 1–4 of them,
//!   sentences of 8–30 words written without spaces; 20,000 names of 2–4
//!   characters from 400 less common ones (as transliterations are).
//! - Arabic: 60,000 words of 3–7 letters (about a third with a letter the
//!   matcher folds: ة or ى at the end, أ or إ first), a quarter written with a
//!   proclitic (و ب ل ف ال وال بال لل) and one in twenty with a pronoun
//!   ending; 20,000 names of 4–8 letters, a third of their mentions with a
//!   proclitic attached.
//! - Articles of 300–1,500 words with 3–8 names; 10,000 rules: 60 % one
//!   name, 20 % three names OR'ed, 10 % name AND word, 10 % name NEAR/5 word.

use crate::newslike::Zipf;
use newswatch::model::article::Article;

#[derive(Clone, Copy, PartialEq)]
pub enum Script {
    Chinese,
    Arabic,
}

pub struct ScriptCorpus {
    script: Script,
    vocab: Vec<String>,
    zipf_words: Zipf,
    names: Vec<String>,
    zipf_names: Zipf,
}

const ARABIC_LETTERS: &str = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي";
const PROCLITICS: [&str; 8] = ["و", "ب", "ل", "ف", "ال", "وال", "بال", "لل"];
const PRONOUNS: [&str; 3] = ["ه", "ها", "هم"];

impl ScriptCorpus {
    pub fn new(script: Script, rng: &mut fastrand::Rng) -> ScriptCorpus {
        let mut seen = std::collections::HashSet::new();
        let (vocab, names) = match script {
            Script::Chinese => {
                let mut chars: Vec<char> = Vec::new();
                while chars.len() < 3_500 {
                    let c = char::from_u32(rng.u32(0x4e00..0x9fa5)).expect("a Han character");
                    if seen.insert(c.to_string()) {
                        chars.push(c);
                    }
                }
                let zipf_chars = Zipf::new(chars.len(), 1.0);
                let mut taken = std::collections::HashSet::new();
                let mut vocab = Vec::new();
                while vocab.len() < 40_000 {
                    let len = match rng.u8(..10) {
                        0 => 1,
                        1..8 => 2,
                        _ => rng.usize(3..=4),
                    };
                    let word: String = (0..len).map(|_| chars[zipf_chars.pick(rng)]).collect();
                    if taken.insert(word.clone()) {
                        vocab.push(word);
                    }
                }
                let mut names = Vec::new();
                while names.len() < 20_000 {
                    let len = rng.usize(2..=4);
                    let name: String = (0..len).map(|_| chars[rng.usize(300..700)]).collect();
                    if taken.insert(name.clone()) {
                        names.push(name);
                    }
                }
                (vocab, names)
            }
            Script::Arabic => {
                let letters: Vec<char> = ARABIC_LETTERS.chars().collect();
                let word = |rng: &mut fastrand::Rng, len: usize| -> String {
                    let mut word: Vec<char> = (0..len)
                        .map(|_| letters[rng.usize(..letters.len())])
                        .collect();
                    // Letters the matcher folds, about as often as in news:
                    // taa marbuta or alef maqsura at the end, hamza on the
                    // first alef.
                    match rng.u8(..100) {
                        0..18 => word[len - 1] = 'ة',
                        18..22 => word[len - 1] = 'ى',
                        _ => {}
                    }
                    match rng.u8(..100) {
                        0..10 => word[0] = 'أ',
                        10..14 => word[0] = 'إ',
                        _ => {}
                    }
                    word.into_iter().collect()
                };
                let mut vocab = Vec::new();
                while vocab.len() < 60_000 {
                    let len = if vocab.len() < 2_000 {
                        rng.usize(2..=4)
                    } else {
                        rng.usize(3..=7)
                    };
                    let w = word(rng, len);
                    if seen.insert(w.clone()) {
                        vocab.push(w);
                    }
                }
                let mut names = Vec::new();
                while names.len() < 20_000 {
                    let len = rng.usize(4..=8);
                    let w = word(rng, len);
                    if seen.insert(w.clone()) {
                        names.push(w);
                    }
                }
                (vocab, names)
            }
        };
        ScriptCorpus {
            script,
            zipf_words: Zipf::new(vocab.len(), 1.0),
            vocab,
            zipf_names: Zipf::new(names.len(), 0.9),
            names,
        }
    }

    fn push_word(&self, rng: &mut fastrand::Rng, word: &str, proclitic_in: u8, out: &mut String) {
        if self.script == Script::Arabic {
            if !out.is_empty() {
                out.push(' ');
            }
            if rng.u8(..100) < proclitic_in {
                out.push_str(PROCLITICS[rng.usize(..PROCLITICS.len())]);
            }
            out.push_str(word);
            if rng.u8(..20) == 0 {
                out.push_str(PRONOUNS[rng.usize(..PRONOUNS.len())]);
            }
        } else {
            out.push_str(word);
        }
    }

    fn sentence(&self, rng: &mut fastrand::Rng, names: &[usize], out: &mut String) -> usize {
        let n = rng.usize(8..=30);
        for _ in 0..n {
            if rng.u8(..100) < 4 && !names.is_empty() {
                let k = rng.usize(..names.len()).min(rng.usize(..names.len()));
                self.push_word(rng, &self.names[names[k]], 33, out);
            } else {
                let word = &self.vocab[self.zipf_words.pick(rng)];
                self.push_word(rng, word, 25, out);
            }
        }
        out.push_str(match (self.script, rng.u8(..3)) {
            (Script::Chinese, 0) => "，",
            (Script::Chinese, _) => "。",
            (Script::Arabic, 0) => "،",
            (Script::Arabic, _) => ".",
        });
        n
    }

    pub fn article(&self, rng: &mut fastrand::Rng, i: usize) -> Article {
        let names: Vec<usize> = (0..rng.usize(3..=8))
            .map(|_| self.zipf_names.pick(rng))
            .collect();
        let words = rng.usize(300..=1_500);
        let mut title = String::new();
        self.sentence(rng, &names[..1], &mut title);
        let (mut content, mut written) = (String::new(), 0);
        while written < words {
            written += self.sentence(rng, &names, &mut content);
        }
        let summary = content.chars().take(120).collect();
        Article {
            key: format!("s{i}"),
            guid: None,
            title,
            link: None,
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
            summary,
            content,
        }
    }

    fn name(&self, rng: &mut fastrand::Rng) -> &str {
        &self.names[rng.usize(..self.names.len())]
    }

    pub fn rules_toml(&self, n: usize, rng: &mut fastrand::Rng) -> String {
        let mut toml = String::new();
        for i in 0..n {
            let word = &self.vocab[rng.usize(200..5_000)];
            let query = match rng.u8(..10) {
                0..6 => self.name(rng).to_string(),
                6..8 => format!(
                    "{} OR {} OR {}",
                    self.name(rng),
                    self.name(rng),
                    self.name(rng)
                ),
                8 => format!("{} AND {word}", self.name(rng)),
                _ => format!("{} NEAR/5 {word}", self.name(rng)),
            };
            toml.push_str(&format!(
                "[[rule]]\nname = \"s{i}\"\nquery = '''{query}'''\n"
            ));
        }
        toml
    }
}
