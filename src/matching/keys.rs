//! Word keys and hashes: a word's first bytes as two u64s, hashed with its
//! length, shared by the gate filters, the distinct-word table and prefixes.

/// Bytes of a word's start that its key is made of (what
/// `Tokens::word_and_head` reads).
pub(crate) const HEAD_BYTES: usize = 16;

/// A word's slot in [`RuleSet::word_filter`]: 5 bits of its first and of its
/// last byte (for lower-case letters, the letter itself).
#[inline]
pub(super) fn filter_slot(word: &str) -> usize {
    let bytes = word.as_bytes();
    let (first, last) = (bytes[0] as usize & 31, bytes[bytes.len() - 1] as usize & 31);
    first << 5 | last
}

/// A hash of a word from all its bytes up to 16 (its [`word_key`]) and
/// its length. A hash of a few bytes let too many article words through
/// at a million rules: each a probe of a big table.
#[inline]
pub(super) fn word_hash(b: &[u8]) -> u64 {
    key_hash(word_key(b), b.len())
}

/// A word's first [`KEY_BYTES`] bytes (zeros after a shorter word) as two
/// u64s: with the length, it tells words of up to [`KEY_BYTES`] bytes apart.
/// (Longer words of one length that differ only later share a hash, and
/// are told apart by their text.)
#[inline]
pub(super) fn word_key(b: &[u8]) -> (u64, u64) {
    // Read as two overlapping loads, the second shifted into place (where
    // they overlap they hold the same bytes): a copy of a variable length
    // was a call to memcpy per word.
    let n = b.len();
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let key = match n {
        16.. => u128::from(u64_at(0)) | u128::from(u64_at(8)) << 64,
        8..16 => u128::from(u64_at(0)) | u128::from(u64_at(n - 8)) << (8 * (n - 8)),
        4..8 => u128::from(u32_at(0) as u64 | u64::from(u32_at(n - 4)) << (8 * (n - 4))),
        1..4 => {
            let byte = |at: usize| u128::from(b[at]) << (8 * at);
            byte(0) | byte(n / 2) | byte(n - 1)
        }
        0 => 0,
    };
    (key as u64, (key >> 64) as u64)
}

/// [`word_key`] of a word of `len` bytes from the [`HEAD_BYTES`] bytes at
/// its start ([`text::Tokens::word_and_head`]; past a shorter word's end,
/// whatever follows it, masked off here with no branch on the length).
#[inline]
pub(super) fn key_of_head(head: [u8; HEAD_BYTES], len: usize) -> (u64, u64) {
    cut_key(u128::from_le_bytes(head), len)
}

/// The [`word_key`] of the first `len` bytes of `bytes` (little-endian).
#[inline]
pub(super) fn cut_key(bytes: u128, len: usize) -> (u64, u64) {
    let key = bytes & low_bytes(len);
    (key as u64, (key >> 64) as u64)
}

/// The bits of the first `len` bytes (all of them from [`KEY_BYTES`] on)
/// of a little-endian u128.
#[inline]
pub(super) fn low_bytes(len: usize) -> u128 {
    // A load, not a 128-bit shift by a variable (every token is keyed).
    LOW_BYTES[len.min(KEY_BYTES)]
}

/// [`low_bytes`] by length; none for an empty word (a prefix's empty head).
const LOW_BYTES: [u128; KEY_BYTES + 1] = {
    let mut masks = [0u128; KEY_BYTES + 1];
    let mut len = 1;
    while len <= KEY_BYTES {
        masks[len] = u128::MAX >> (8 * (KEY_BYTES - len));
        len += 1;
    }
    masks
};

/// The [`word_hash`] of the first `len` bytes of a word whose
/// [`word_key`] is `key`, with no copy of its bytes. (The key holds the
/// first [`KEY_BYTES`] of a longer prefix too, as its own key would.)
#[inline]
pub(super) fn prefix_hash(key: (u64, u64), len: usize) -> u64 {
    key_hash(cut_key(key_bytes(key), len), len)
}

/// A [`word_key`] as the bytes it holds, little-endian.
#[inline]
pub(super) fn key_bytes((low, high): (u64, u64)) -> u128 {
    u128::from(low) | u128::from(high) << 64
}

/// Bytes of a word that its [`word_key`] holds in full.
pub(super) const KEY_BYTES: usize = HEAD_BYTES;

/// [`word_hash`] from the key.
#[inline]
pub(super) fn key_hash((x, y): (u64, u64), len: usize) -> u64 {
    // A folded multiply: every input bit reaches the high output bits.
    let product =
        u128::from(x ^ 0x243F_6A88_85A3_08D3) * u128::from(y ^ len as u64 ^ 0x1319_8A2E_0370_7344);
    (product as u64) ^ (product >> 64) as u64
}

/// A word length's bit in [`RuleSet::word_filter`] (lengths of 63 and more share one).
#[inline]
pub(super) fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}
