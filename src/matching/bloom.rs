//! Blocked Bloom filters on words: both of a word's bits sit in one u64,
//! so a probe reads one cache line.

use super::keys::word_hash;

#[derive(Debug, Clone, Default)]
pub(super) struct Bloom {
    filter: Vec<u64>,
    /// log2 of `filter.len()`.
    words: u32,
}

impl Bloom {
    /// A filter for about `n` words: 16 bits each, from 512 bytes to 256 KB.
    pub(super) fn for_words(n: usize) -> Bloom {
        let words = (n / 4).next_power_of_two().trailing_zeros().clamp(6, 15);
        Bloom::with_words(words)
    }

    /// A filter of `2^words` u64s.
    pub(super) fn with_words(words: u32) -> Bloom {
        Bloom {
            filter: vec![0; 1 << words],
            words,
        }
    }

    pub(super) fn insert(&mut self, word: &str) {
        let (at, bits) = self.place(word_hash(word.as_bytes()));
        self.filter[at] |= bits;
    }

    /// Whether the filter may hold `word`.
    #[cfg(test)]
    pub(super) fn may_hold(&self, word: &str) -> bool {
        self.may_hold_hash(word_hash(word.as_bytes()))
    }

    /// Whether the filter may hold the word whose [`word_hash`] is `hash`.
    pub(super) fn may_hold_hash(&self, hash: u64) -> bool {
        // An empty (default) filter holds nothing.
        if self.filter.is_empty() {
            return false;
        }
        let (at, bits) = self.place(hash);
        self.filter[at] & bits == bits
    }

    /// Which u64 a word goes in, and its two bits there.
    fn place(&self, hash: u64) -> (usize, u64) {
        let at = (hash >> (64 - self.words)) as usize;
        (at, 1 << (hash & 63) | 1 << ((hash >> 6) & 63))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_inserted_and_empty_holds_nothing() {
        let mut bloom = Bloom::for_words(1000);
        let words: Vec<String> = (0..1000).map(|i| format!("word{i}")).collect();
        words.iter().for_each(|w| bloom.insert(w));
        assert!(words.iter().all(|w| bloom.may_hold(w)));
        let strangers = (0..1000)
            .filter(|i| bloom.may_hold(&format!("other{i}")))
            .count();
        assert!(strangers < 100, "{strangers} of 1000 false positives");
        assert!(!Bloom::default().may_hold("word0"));
    }
}
