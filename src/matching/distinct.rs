//! An article's distinct words, each with its positions: the dictionaries
//! are consulted once per distinct word (articles repeat their common
//! words many times), and a word a candidate query needs is one probe of a
//! small table instead of another pass over every token.

use super::bloom::Bloom;
use super::clitics::{self, Form};
use super::document::Document;
use super::keys::{KEY_BYTES, key_hash, key_of_head, word_hash, word_key};
use super::text::Tokens;

/// The end of a chain of positions.
const NONE: u32 = u32::MAX;

pub(super) struct Distinct<'d> {
    /// Open addressing: a word's index in `words` plus one (0: free).
    table: Vec<u32>,
    words: Vec<Word<'d>>,
    /// Per position, the next position of the same word ([`NONE`] at the end).
    next: Vec<u32>,
    /// The position of each field's first token; the last is the total.
    starts: [u32; 8],
    /// (form, word): the words of the text that stand for another word
    /// without their particles (see `clitics`), sorted. A form is a word
    /// of its own here, found wherever those words are.
    sources: Vec<(u32, u32)>,
    /// The forms spelled otherwise than as a part of their word.
    spelled: String,
}

struct Word<'d> {
    /// Its [`word_key`]: compared instead of the text, up to [`KEY_BYTES`].
    key: (u64, u64),
    /// Its [`key_hash`]: the gate filters take it.
    hash: u64,
    text: Text<'d>,
    /// The first and last position (a position numbers a token across all
    /// fields); [`NONE`] for a form the text never writes alone.
    first: u32,
    last: u32,
}

/// Where a word's text is: in the document, or (a form spelled otherwise)
/// in [`Distinct::spelled`].
#[derive(Clone, Copy)]
enum Text<'d> {
    Doc(&'d str),
    Spelled(u32, u32),
}

impl<'d> Distinct<'d> {
    /// Indexes the words of `doc` (see `index_field`): the dictionaries
    /// are consulted afterwards, once per distinct word, so that the loop
    /// over every token stays small (with the lookups inlined into it, it
    /// ran out of registers).
    // Kept out of `matches`: inlined there, where the compiler chose to,
    // it was 4-7% slower (same machine, one build beside the other).
    #[inline(never)]
    pub(super) fn new(doc: &'d Document, wanted: &Wanted) -> Self {
        let mut starts = [0u32; 8];
        for (f, field) in doc.fields.iter().enumerate() {
            starts[f + 1] = starts[f] + field.tokens.len() as u32;
        }
        let total = starts[7] as usize;
        let mut words = Distinct {
            // At most half full even if every word differs: probes that
            // collide cost more than zeroing a bigger table (a table sized
            // for the hundred-odd distinct words of a typical article and
            // grown as needed was 16% slower at 1k rules).
            table: vec![0; (total * 2).next_power_of_two().max(16)],
            // Room for every token: words that carry particles add their
            // forms, and a vector grown was a copy of it.
            words: Vec::with_capacity(total),
            next: vec![NONE; total],
            starts,
            sources: Vec::new(),
            spelled: String::new(),
        };
        for (f, field) in doc.fields.iter().enumerate() {
            index_field(
                &field.tokens,
                starts[f],
                wanted,
                &mut words.table,
                &mut words.next,
                &mut words.words,
            );
        }
        words.add_forms(wanted);
        words
    }

    /// A new word at `slot` of the table, first seen at `position`.
    fn add(&mut self, slot: usize, key: (u64, u64), hash: u64, text: Text<'d>, position: u32) {
        let index = self.words.len() as u32;
        self.table[slot] = index + 1;
        self.words.push(Word {
            key,
            hash,
            text,
            first: position,
            last: position,
        });
    }

    /// Adds the forms of the words that carry particles, once per distinct
    /// word (an article repeats its words), that some rule may look for:
    /// each is found where its words are.
    fn add_forms(&mut self, wanted: &Wanted) {
        if wanted.is_empty() {
            return;
        }
        let real = self.words.len();
        for index in 0..real {
            let Text::Doc(word) = self.words[index].text else {
                continue;
            };
            clitics::forms(word, &mut |form| {
                let bytes = match &form {
                    Form::Part(range) => &word.as_bytes()[range.clone()],
                    Form::Spelled(spelled) => spelled.as_bytes(),
                };
                let key = word_key(bytes);
                let hash = key_hash(key, bytes.len());
                if !wanted.may_want(bytes, hash) {
                    return;
                }
                if self.sources.is_empty() {
                    self.sources.reserve(real);
                }
                let form = match self.probe(key, hash, bytes) {
                    Ok(form) => form,
                    Err(slot) => {
                        // Spelled forms are kept only once they are indexed.
                        let text = match form {
                            Form::Part(range) => Text::Doc(&word[range]),
                            Form::Spelled(spelled) => {
                                let from = self.spelled.len() as u32;
                                self.spelled.push_str(spelled);
                                Text::Spelled(from, self.spelled.len() as u32)
                            }
                        };
                        self.add(slot, key, hash, text, NONE);
                        let form = self.words.len() as u32 - 1;
                        // At most half full, as for the words of the text.
                        if self.words.len() * 2 > self.table.len() {
                            self.grow();
                        }
                        form
                    }
                };
                self.sources.push((form, index as u32));
            });
        }
        self.sources.sort_unstable();
        self.sources.dedup();
    }

    /// Doubles the table.
    #[cold]
    fn grow(&mut self) {
        let size = self.table.len() * 2;
        self.table = vec![0; size];
        let mask = size - 1;
        for (index, word) in self.words.iter().enumerate() {
            let mut slot = word.hash as usize & mask;
            while self.table[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.table[slot] = index as u32 + 1;
        }
    }

    pub(super) fn len(&self) -> usize {
        self.words.len()
    }

    /// The word with index `index`.
    pub(super) fn word(&self, index: u32) -> &str {
        self.text(&self.words[index as usize])
    }

    fn text<'a>(&'a self, word: &Word<'a>) -> &'a str {
        match word.text {
            Text::Doc(text) => text,
            Text::Spelled(from, to) => &self.spelled[from as usize..to as usize],
        }
    }

    /// The [`key_hash`] of the word with index `index`.
    pub(super) fn hash(&self, index: u32) -> u64 {
        self.words[index as usize].hash
    }

    /// The [`word_key`] of the word with index `index`.
    pub(super) fn key(&self, index: u32) -> (u64, u64) {
        self.words[index as usize].key
    }

    /// The index of `word`, if the article has it.
    pub(super) fn find(&self, word: &str) -> Option<u32> {
        let key = word_key(word.as_bytes());
        self.probe(key, key_hash(key, word.len()), word.as_bytes())
            .ok()
    }

    /// The index of `word` (its key and hash given), or the free slot of
    /// `table` where it would go.
    #[inline(always)]
    fn probe(&self, key: (u64, u64), hash: u64, word: &[u8]) -> Result<u32, usize> {
        let mask = self.table.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let held = self.table[slot];
            if held == 0 {
                return Err(slot);
            }
            let seen = &self.words[held as usize - 1];
            if seen.key == key
                && self.text(seen).len() == word.len()
                && (word.len() <= KEY_BYTES || self.text(seen).as_bytes() == word)
            {
                return Ok(held - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Where the word with index `index` occurs: (field, token), in order
    /// for a word the text writes, then where the words it is a form of
    /// are.
    pub(super) fn positions(&self, index: u32) -> impl Iterator<Item = (usize, usize)> + '_ {
        let from = self.sources.partition_point(|s| s.0 < index);
        let to = from + self.sources[from..].partition_point(|s| s.0 == index);
        let words = std::iter::once(index).chain(self.sources[from..to].iter().map(|s| s.1));
        words.flat_map(move |word| {
            let mut at = self.words[word as usize].first;
            std::iter::from_fn(move || {
                (at != NONE).then(|| {
                    let here = at;
                    at = self.next[here as usize];
                    locate(&self.starts, here)
                })
            })
        })
    }
}

/// Indexes the tokens of one field, the first of them at `first` (a
/// position). This loop runs for every token. Its own function, with the
/// tables as separate arguments: the compiler then knows that a write to
/// one leaves the others where they are, and keeps their addresses in
/// registers (inlined in `Distinct::new`, it read them back from the stack
/// for every token).
#[inline(never)]
fn index_field<'d>(
    tokens: &'d Tokens,
    first: u32,
    wanted: &Wanted,
    table: &mut [u32],
    next: &mut [u32],
    words: &mut Vec<Word<'d>>,
) {
    let mask = table.len() - 1;
    for i in 0..tokens.len() {
        // Bytes, not `str`: no check for char boundaries per token.
        let (bytes, head) = tokens.word_and_head(i);
        let key = key_of_head(head, bytes.len());
        let hash = key_hash(key, bytes.len());
        // Han and Kana bigrams (three-byte characters from U+3000 to
        // U+9FFF): most tokens of a Chinese or Japanese text, nearly all
        // distinct, and few of them any rule's; each costs a probe of the
        // filter, not a word in the table.
        if matches!(head[0], 0xe3..=0xe9)
            && !wanted.may_want(bytes, hash)
            && !clitics::may_carry(bytes)
        {
            continue;
        }
        let position = first + i as u32;
        // As `Distinct::probe`, where every word so far is the text's own
        // (forms are added after).
        let mut slot = hash as usize & mask;
        loop {
            let held = table[slot];
            if held == 0 {
                table[slot] = words.len() as u32 + 1;
                words.push(Word {
                    key,
                    hash,
                    text: Text::Doc(tokens.word(i)),
                    first: position,
                    last: position,
                });
                break;
            }
            let seen = &mut words[held as usize - 1];
            if seen.key == key
                && matches!(seen.text, Text::Doc(text) if text.len() == bytes.len()
                    && (bytes.len() <= KEY_BYTES || text.as_bytes() == bytes))
            {
                next[seen.last as usize] = position;
                seen.last = position;
                break;
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// The field and token of a position.
fn locate(starts: &[u32; 8], position: u32) -> (usize, usize) {
    // The last field starting at or before it: fields before it that are
    // empty start at the same position.
    let f = starts.partition_point(|&s| s <= position) - 1;
    (f, (position - starts[f]) as usize)
}

/// The non-ASCII words and prefixes of a rule set, which a form of a word
/// without its particles or a bigram of Han or Kana may be (or start
/// with): most are no word any rule looks for, and are not indexed.
#[derive(Debug, Clone, Default)]
pub(super) struct Wanted {
    words: Bloom,
    /// A bit per byte length of the prefixes (63: that long or longer).
    prefix_lengths: u64,
    /// How many words and prefixes it holds.
    held: usize,
}

impl Wanted {
    /// A filter for dictionary entries (word, whether a prefix); only
    /// those outside ASCII can be forms (Arabic or Hangul) or bigrams.
    pub(super) fn new<'a>(entries: impl Iterator<Item = (&'a str, bool)> + Clone) -> Wanted {
        let wanted = entries.filter(|(word, _)| !word.is_ascii());
        let held = wanted.clone().count();
        let mut filter = Wanted {
            words: Bloom::for_words(held),
            prefix_lengths: 0,
            held,
        };
        for (word, prefix) in wanted {
            filter.words.insert(word);
            if prefix {
                filter.prefix_lengths |= 1 << word.len().min(63);
            }
        }
        filter
    }

    fn is_empty(&self) -> bool {
        self.held == 0
    }

    /// Whether `form` (whose [`word_hash`] is `hash`) may be a word or
    /// start with a prefix of the filter.
    // Inlined (it runs for every Han and Kana bigram), the rarer prefix
    // check not.
    #[inline]
    fn may_want(&self, form: &[u8], hash: u64) -> bool {
        self.words.may_hold_hash(hash) || (self.prefix_lengths != 0 && self.may_start_wanted(form))
    }

    /// Whether `form` may start with a prefix of the filter.
    #[inline(never)]
    fn may_start_wanted(&self, form: &[u8]) -> bool {
        // Shorter than the form (a prefix as long as it is a word above).
        let shorter = match form.len() {
            0..64 => (1 << form.len()) - 1,
            _ => u64::MAX,
        };
        let mut lengths = self.prefix_lengths & shorter;
        while lengths != 0 {
            let len = lengths.trailing_zeros() as usize;
            lengths &= lengths - 1;
            // Prefixes of 63 bytes and more: not told apart by length.
            if len == 63 || self.words.may_hold_hash(word_hash(&form[..len])) {
                return true;
            }
        }
        false
    }
}
