//! The gate prefixes (`mini*`), looked up for every distinct word of an
//! article: a Bloom filter on the word's first bytes, then one probe of a
//! flat table keyed by those bytes, then a few comparisons with prefixes
//! held inline.
//! No lookup reads a heap string: at a million rules those reads were
//! cache misses, a few per word.

use super::bloom::Bloom;
use super::keys::HEAD_BYTES;
use super::keys::{key_bytes, low_bytes, prefix_hash, word_key};
use std::ops::Range;

/// Bytes of a prefix compared inline; the rest of a longer one is in `rests`.
const INLINE: usize = HEAD_BYTES;
/// Heads are at most this long, so a head and its length fit in a u64.
const MAX_HEAD: usize = 7;
/// No head has this key (a key's top byte is a length of at most 7).
const FREE: u64 = u64::MAX;
/// log2 of the u64s in the Bloom filter on heads (64K bits).
const HEAD_BLOOM_WORDS: u32 = 10;

#[derive(Debug, Clone, Default)]
pub(super) struct Prefixes {
    /// Bytes of a word's head: the shortest prefix's length, at most
    /// [`MAX_HEAD`] (0: no prefixes).
    head_len: usize,
    /// The heads: most words start like no watched stem.
    heads: Bloom,
    /// Open addressing on [`head_key`]: each head's range of `entries`.
    slots: Vec<(u64, u32, u32)>,
    /// The prefixes, grouped by head.
    entries: Vec<Entry>,
    /// Bytes past the first [`INLINE`] of long prefixes.
    rests: Vec<Box<[u8]>>,
    /// The prefixes' lengths, when there are at most [`MAX_LENGTHS`] of them,
    /// and a Bloom filter on the prefixes themselves: a word whose head is
    /// watched is checked at each length before the table is read. Many
    /// words start like some watched stem ("mini" of "minister"), and the
    /// table and its entries are cache misses.
    lengths: Vec<usize>,
    exact: Bloom,
}

/// More prefix lengths than this and the exact filter costs more probes than
/// it saves.
const MAX_LENGTHS: usize = 6;

#[derive(Debug, Clone)]
struct Entry {
    /// The first bytes, little-endian, zero-padded.
    bytes: u128,
    len: u32,
    id: u32,
    /// Index in `rests` when longer than [`INLINE`] bytes.
    rest: u32,
}

impl Prefixes {
    /// Indexes `prefixes` (normalised text, dictionary id).
    pub(super) fn new(mut prefixes: Vec<(Box<str>, u32)>) -> Prefixes {
        let Some(shortest) = prefixes.iter().map(|(p, _)| p.len()).min() else {
            return Prefixes::default();
        };
        let head_len = shortest.min(MAX_HEAD);
        let head = |p: &str| head_key(head_of(p, head_len));
        prefixes.sort_unstable_by_key(|(p, _)| head(p));
        let heads = prefixes.chunk_by(|a, b| head(&a.0) == head(&b.0)).count();
        let mut table = Prefixes {
            head_len,
            heads: Bloom::with_words(HEAD_BLOOM_WORDS),
            slots: vec![(FREE, 0, 0); (heads * 2).next_power_of_two()],
            ..Prefixes::default()
        };
        let mut lengths: Vec<usize> = prefixes.iter().map(|(p, _)| p.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        if lengths.len() <= MAX_LENGTHS {
            table.exact = Bloom::for_words(prefixes.len());
            for (prefix, _) in &prefixes {
                table.exact.insert(prefix);
            }
            table.lengths = lengths;
        }
        let mut run = 0..0;
        for (i, (prefix, id)) in prefixes.iter().enumerate() {
            let bytes = prefix.as_bytes();
            let rest = if bytes.len() > INLINE {
                table.rests.push(bytes[INLINE..].into());
                table.rests.len() as u32 - 1
            } else {
                u32::MAX
            };
            table.entries.push(Entry {
                bytes: key_bytes(word_key(bytes)),
                len: bytes.len() as u32,
                id: *id,
                rest,
            });
            run.end = i + 1;
            let last_of_head = prefixes
                .get(i + 1)
                .is_none_or(|(p, _)| head(p) != head(prefix));
            if last_of_head {
                table.heads.insert(head_of(prefix, head_len));
                let slot = table.slot(head(prefix));
                table.slots[slot] = (head(prefix), run.start as u32, run.end as u32);
                run.start = run.end;
            }
        }
        table
    }

    /// The slot holding `key`, or the free slot where it would go.
    fn slot(&self, key: u64) -> usize {
        let mask = self.slots.len() - 1;
        let mut at = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask;
        while self.slots[at].0 != key && self.slots[at].0 != FREE {
            at = (at + 1) & mask;
        }
        at
    }

    /// The entries that share the head of `word`; none when the filters
    /// show that no prefix can start it.
    fn bucket(&self, word: &str, key: (u64, u64)) -> Range<usize> {
        if self.head_len == 0 || word.len() < self.head_len {
            return 0..0;
        }
        let head = head_of(word, self.head_len);
        if !self.heads.may_hold_hash(prefix_hash(key, head.len())) {
            return 0..0;
        }
        let may_start = |&len: &usize| {
            word.is_char_boundary(len) && self.exact.may_hold_hash(prefix_hash(key, len))
        };
        if !self.lengths.is_empty()
            && !self
                .lengths
                .iter()
                .take_while(|&&len| len <= word.len())
                .any(may_start)
        {
            return 0..0;
        }
        let (key, from, to) = self.slots[self.slot(head_key(head))];
        if key == FREE {
            return 0..0;
        }
        from as usize..to as usize
    }

    /// Calls `found` with the id of every prefix `word` starts with;
    /// `key` is the word's [`word_key`].
    pub(super) fn find(&self, word: &str, key: (u64, u64), mut found: impl FnMut(u32)) {
        let bucket = self.bucket(word, key);
        if bucket.is_empty() {
            return;
        }
        let bytes = word.as_bytes();
        let first = key_bytes(key);
        for entry in &self.entries[bucket] {
            let len = entry.len as usize;
            if bytes.len() >= len
                && (first ^ entry.bytes) & low_bytes(len) == 0
                && (len <= INLINE || bytes[INLINE..len] == *self.rests[entry.rest as usize])
            {
                found(entry.id);
            }
        }
    }
}

/// The first `head_len` bytes of `word`, cut back to a character boundary.
fn head_of(word: &str, head_len: usize) -> &str {
    &word[..crate::model::boundary::floor_char_boundary(word, head_len)]
}

/// A head (at most [`MAX_HEAD`] bytes) and its length in one u64.
fn head_key(head: &str) -> u64 {
    let mut key = [0u8; 8];
    key[..head.len()].copy_from_slice(head.as_bytes());
    key[7] = head.len() as u8;
    u64::from_le_bytes(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(prefixes: &Prefixes, word: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        prefixes.find(word, word_key(word.as_bytes()), |id| ids.push(id));
        ids.sort_unstable();
        ids
    }

    #[test]
    fn finds_every_prefix_a_word_starts_with() {
        let long = "internationalisation";
        let prefixes = Prefixes::new(vec![
            ("mini".into(), 1),
            ("minis".into(), 2),
            ("minister".into(), 3),
            ("mino".into(), 4),
            (long.into(), 5),
            ("東京".into(), 6),
        ]);
        assert_eq!(found(&prefixes, "minister"), [1, 2, 3]);
        assert_eq!(found(&prefixes, "mini"), [1]);
        assert_eq!(found(&prefixes, "min"), Vec::<u32>::new());
        assert_eq!(found(&prefixes, "minor"), [4]);
        assert_eq!(found(&prefixes, "internationalisations"), [5]);
        assert_eq!(found(&prefixes, "internationalisatio"), Vec::<u32>::new());
        assert_eq!(found(&prefixes, "internationalizations"), Vec::<u32>::new());
        assert_eq!(found(&prefixes, "東京都"), [6]);
        assert_eq!(found(&prefixes, "東"), Vec::<u32>::new());
        assert_eq!(found(&prefixes, "maxi"), Vec::<u32>::new());
    }

    #[test]
    fn many_lengths_skip_the_exact_filter_and_still_find() {
        let stems = [
            "abc",
            "abcd",
            "abcde",
            "abcdef",
            "abcdefg",
            "abcdefgh",
            "abcdefghi",
        ];
        let prefixes = Prefixes::new(
            stems
                .iter()
                .enumerate()
                .map(|(i, s)| ((*s).into(), i as u32))
                .collect(),
        );
        assert!(prefixes.lengths.is_empty());
        assert_eq!(found(&prefixes, "abcdefx"), [0, 1, 2, 3]);
        assert_eq!(found(&prefixes, "abx"), Vec::<u32>::new());
    }

    #[test]
    fn no_prefixes_finds_nothing() {
        assert_eq!(found(&Prefixes::new(Vec::new()), "word"), Vec::<u32>::new());
    }
}
