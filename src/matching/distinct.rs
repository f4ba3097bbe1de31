//! An article's distinct words, each with its positions: the dictionaries
//! are consulted once per distinct word (articles repeat their common
//! words many times), and a word a candidate query needs is one probe of a
//! small table instead of another pass over every token.

use super::document::Document;
use super::keys::{KEY_BYTES, key_hash, key_of_head, word_key};

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
    /// The real position of each position past the total: a word's other
    /// form (without its particles, see `clitics`) is indexed as a word of
    /// its own at the word's place.
    alternate_at: Vec<u32>,
}

struct Word<'d> {
    /// Its [`word_key`]: compared instead of the text, up to [`KEY_BYTES`].
    key: (u64, u64),
    /// Its [`key_hash`]: the gate filters take it.
    hash: u64,
    text: &'d str,
    /// The first and last position (a position numbers a token across all
    /// fields).
    first: u32,
    last: u32,
}

impl<'d> Distinct<'d> {
    /// Indexes the words of `doc`. This loop runs for every token: the
    /// dictionaries are consulted afterwards, once per distinct word, so
    /// that it stays small (with the lookups inlined into it, it ran out
    /// of registers).
    // Kept out of `matches`: inlined there, where the compiler chose to,
    // it was 4-7% slower (same machine, one build beside the other).
    #[inline(never)]
    pub(super) fn new(doc: &'d Document) -> Self {
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
            words: Vec::with_capacity(total / 2),
            next: vec![NONE; total],
            starts,
            alternate_at: Vec::new(),
        };
        for (f, field) in doc.fields.iter().enumerate() {
            for i in 0..field.tokens.len() {
                // Bytes, not `str`: no check for char boundaries per token.
                let (bytes, head) = field.tokens.word_and_head(i);
                let key = key_of_head(head, bytes.len());
                let hash = key_hash(key, bytes.len());
                let position = starts[f] + i as u32;
                match words.probe(key, hash, bytes) {
                    Ok(index) => words.link(index, position),
                    Err(slot) => words.add(slot, key, hash, field.tokens.word(i), position),
                }
            }
        }
        if doc.fields.iter().any(|f| f.tokens.has_alternates()) {
            words.add_alternates(doc);
        }
        words
    }

    /// Adds `position` to the end of word `index`'s chain.
    #[inline]
    fn link(&mut self, index: u32, position: u32) {
        let seen = &mut self.words[index as usize];
        self.next[seen.last as usize] = position;
        seen.last = position;
    }

    /// A new word at `slot` of the table, first seen at `position`.
    fn add(&mut self, slot: usize, key: (u64, u64), hash: u64, text: &'d str, position: u32) {
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

    /// Indexes the other forms of words, at positions past the total that
    /// stand for their words' places.
    #[cold]
    fn add_alternates(&mut self, doc: &'d Document) {
        let total = self.next.len() as u32;
        let count: usize = doc
            .fields
            .iter()
            .map(|f| f.tokens.alternates().count())
            .sum();
        // Room for them, keeping the table at most half full.
        let size = ((self.words.len() + count) * 2).next_power_of_two().max(16);
        if size > self.table.len() {
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
        for (f, field) in doc.fields.iter().enumerate() {
            for (text, i) in field.tokens.alternates() {
                let position = total + self.alternate_at.len() as u32;
                self.alternate_at.push(self.starts[f] + i as u32);
                self.next.push(NONE);
                let key = word_key(text.as_bytes());
                let hash = key_hash(key, text.len());
                match self.probe(key, hash, text.as_bytes()) {
                    Ok(index) => self.link(index, position),
                    Err(slot) => self.add(slot, key, hash, text, position),
                }
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.words.len()
    }

    /// The word with index `index`.
    pub(super) fn word(&self, index: u32) -> &'d str {
        self.words[index as usize].text
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
    fn probe(&self, key: (u64, u64), hash: u64, word: &[u8]) -> Result<u32, usize> {
        let mask = self.table.len() - 1;
        let mut slot = hash as usize & mask;
        loop {
            let held = self.table[slot];
            if held == 0 {
                return Err(slot);
            }
            if same(&self.words[held as usize - 1], key, word) {
                return Ok(held - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Where the word with index `index` occurs: (field, token), in order.
    pub(super) fn positions(&self, index: u32) -> impl Iterator<Item = (usize, usize)> + '_ {
        let mut at = self.words[index as usize].first;
        let total = self.starts[7];
        std::iter::from_fn(move || {
            (at != NONE).then(|| {
                let here = at;
                at = self.next[here as usize];
                let real = match here.checked_sub(total) {
                    Some(k) => self.alternate_at[k as usize],
                    None => here,
                };
                locate(&self.starts, real)
            })
        })
    }
}

/// The field and token of a position.
fn locate(starts: &[u32; 8], position: u32) -> (usize, usize) {
    // The last field starting at or before it: fields before it that are
    // empty start at the same position.
    let f = starts.partition_point(|&s| s <= position) - 1;
    (f, (position - starts[f]) as usize)
}

/// Whether `seen` is `word` (whose key is `key`).
fn same(seen: &Word, key: (u64, u64), word: &[u8]) -> bool {
    seen.key == key
        && seen.text.len() == word.len()
        && (word.len() <= KEY_BYTES || seen.text.as_bytes() == word)
}
