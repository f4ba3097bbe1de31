//! Word tokenising shared by the matcher and the query parser, so text and
//! queries are normalised the same way: Unicode NFKC, lower-cased, Latin-script
//! diacritics removed ("Aéroport" → "aeroport"), punctuation and hyphens split
//! words ("Al-Shabab" → "al", "shabab"), and a possessive 's / ’s dropped.

use super::clitics;
use super::keys::HEAD_BYTES;
use crate::model::boundary::floor_char_boundary;
use std::ops::Range;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// One word: where its normalised form sits in [`Tokens::norm`] and where
/// the original sits in the tokenised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    norm: (u32, u32),
    span: (u32, u32),
}

impl Token {
    fn new(norm: Range<usize>, span: Range<usize>) -> Token {
        // u32 offsets: 16 bytes a token, and matching reads every token.
        // `tokenize` reads at most 4 GiB of a text, so they fit.
        Token {
            norm: (norm.start as u32, norm.end as u32),
            span: (span.start as u32, span.end as u32),
        }
    }

    /// Where the normalised word sits in [`Tokens`]' buffer.
    pub(crate) fn norm(&self) -> Range<usize> {
        self.norm.0 as usize..self.norm.1 as usize
    }

    /// Where the word sits in the tokenised text.
    pub(crate) fn span(&self) -> Range<usize> {
        self.span.0 as usize..self.span.1 as usize
    }
}

/// A tokenised text: all normalised words in one buffer (one allocation,
/// not one per word), plus each word's ranges. The buffer starts with the
/// text lower-cased in one go, so an ASCII word's normal form sits at its
/// own offsets; words that need Unicode folding are appended after it, and
/// 16 zero bytes end it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    norm: String,
    pub tokens: Vec<Token>,
}

impl Tokens {
    pub(crate) fn word(&self, i: usize) -> &str {
        &self.norm[self.tokens[i].norm()]
    }

    /// Word `i` as bytes, and the [`HEAD_BYTES`] bytes at its start (past a
    /// shorter word's end, whatever follows it in the buffer): a short word
    /// in one load, with no branch on its length (the matcher hashes every
    /// word).
    pub(crate) fn word_and_head(&self, i: usize) -> (&[u8], [u8; HEAD_BYTES]) {
        let range = self.tokens[i].norm();
        let bytes = self.norm.as_bytes();
        let mut head = [0u8; HEAD_BYTES];
        head.copy_from_slice(&bytes[range.start..range.start + HEAD_BYTES]);
        (&bytes[range], head)
    }

    /// Whether word `i` without its particles (see [`clitics`]) passes
    /// `test` in any of its forms.
    pub(crate) fn any_form(&self, i: usize, test: impl FnMut(&str) -> bool) -> bool {
        clitics::any_form(self.word(i), test)
    }

    /// The normalised words joined by single spaces, with each word's range
    /// in that string: for substring search across words.
    pub(crate) fn joined(&self) -> (String, Vec<Range<usize>>) {
        let mut joined = String::with_capacity(self.norm.len());
        let mut ranges = Vec::with_capacity(self.tokens.len());
        for i in 0..self.tokens.len() {
            if i > 0 {
                joined.push(' ');
            }
            let from = joined.len();
            joined.push_str(self.word(i));
            ranges.push(from..joined.len());
        }
        (joined, ranges)
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Ends every buffer of words, so that reading [`HEAD_BYTES`] from the
/// start of the last word stays inside it.
const PADDING: &str = "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
const _: () = assert!(PADDING.len() == HEAD_BYTES);

/// Splits `text` into normalised words with their byte ranges in `text`.
///
/// Word boundaries come from bit masks (one bit per byte, 64 bytes per
/// word of the mask) rather than a branch per byte: a branch that flips at
/// every word boundary is mispredicted about twice per word, which cost
/// more than all the other work together.
pub fn tokenize(text: &str) -> Tokens {
    // Fields no rule searches are tokenised as "": no allocation for them.
    if text.is_empty() {
        return Tokens::default();
    }
    // Offsets are u32 (see `Token::new`): past 4 GiB a text is not read.
    let text = &text[..floor_char_boundary(text, u32::MAX as usize)];
    let bytes = text.as_bytes();
    let ascii = text.is_ascii();
    // Words that need folding are appended to the text, and are seldom
    // longer folded (a buffer grown word by word was copied several times).
    let folded_room = if ascii { 0 } else { text.len() };
    let mut norm = String::with_capacity(text.len() + folded_room + PADDING.len());
    norm.push_str(text);
    norm.make_ascii_lowercase();
    let blocks = bytes.len().div_ceil(64);
    // One spare zero block: the end of the text ends a word.
    let mut word = vec![0u64; blocks + 1];
    for (k, chunk) in bytes.chunks(64).enumerate() {
        let mut mask = 0u64;
        let mut eights = chunk.chunks_exact(8);
        for (j, eight) in eights.by_ref().enumerate() {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(eight);
            mask |= u64::from(alphanumeric_bits(u64::from_le_bytes(bytes))) << (8 * j);
        }
        // The last few bytes of the text, padded with zeros (not word bytes).
        let rest = eights.remainder();
        if !rest.is_empty() {
            let mut padded = [0u8; 8];
            padded[..rest.len()].copy_from_slice(rest);
            let j = chunk.len() / 8;
            mask |= u64::from(alphanumeric_bits(u64::from_le_bytes(padded))) << (8 * j);
        }
        word[k] = mask;
    }
    // Where non-ASCII words need more than the ASCII lower-casing: a bit
    // per byte of their characters that fold to something else or are
    // written without spaces.
    let mut slow = Vec::new();
    let unspaced = if ascii {
        0
    } else {
        slow = vec![0u64; blocks + 1];
        mark_non_ascii_words(bytes, &mut word, &mut slow, &mut norm)
    };
    // A word starts at each set bit whose left neighbour is clear: sized
    // from that count, the token list never grows (a folded word may split
    // into a few more).
    let mut starts = 0;
    let mut carry = 0;
    for &mask in &word[..blocks] {
        starts += (mask & !((mask << 1) | carry)).count_ones() as usize;
        carry = mask >> 63;
    }
    let mut out = Tokens {
        norm,
        tokens: Vec::with_capacity(starts + unspaced + 4),
    };
    let mut push = |start: usize, end: usize| {
        if end - start == 1 && is_possessive_s(text, start, end) {
            return;
        }
        if ascii || !any_bit(&slow, start..end) {
            // Its own normal form, where the buffer already holds it.
            out.tokens.push(Token::new(start..end, start..end));
        } else if unspaced == 0 {
            push_folded(&text[start..end], start..end, &mut out);
        } else {
            push_word(&text[start..end], start, &mut out);
        }
    };
    let (mut carry, mut open) = (0, 0);
    for k in 0..blocks {
        let mask = word[k];
        let before = (mask << 1) | carry;
        carry = mask >> 63;
        let after = (mask >> 1) | (word[k + 1] << 63);
        let (mut first, mut last) = (mask & !before, mask & !after);
        // Starts and ends alternate; a one-byte word has both at one bit.
        while first | last != 0 {
            let (s, e) = (first.trailing_zeros(), last.trailing_zeros());
            if s <= e {
                open = k * 64 + s as usize;
                first &= first - 1;
            } else {
                push(open, k * 64 + e as usize + 1);
                last &= last - 1;
            }
        }
    }
    out.norm.push_str(PADDING);
    out
}

/// Sets the bits of the non-ASCII word characters of `bytes` (a `str`'s)
/// in `word` (a bit per byte, as [`tokenize`] has it; one spare block at
/// the end), and in `slow` those of the ones that fold to something else
/// or are written without spaces; counts the latter. Characters are found
/// by their lead bytes, 64 bytes at a time, and the scripts most news is
/// written in are told from their bytes: decoding each character and
/// asking Unicode's tables was most of the work on Arabic text.
fn mark_non_ascii_words(
    bytes: &[u8],
    word: &mut [u64],
    slow: &mut [u64],
    norm: &mut String,
) -> usize {
    let two_byte = &*TWO_BYTE_CHARS;
    let mut unspaced = 0;
    // The last block's bits: a character may go on into this one.
    let (mut word_before, mut slow_before) = (0u64, 0u64);
    for k in 0..bytes.len().div_ceil(64) {
        // The block and the bytes after it, where its last character may
        // end (zeros past the text: neither lead nor continuation bytes),
        // indexed without bounds checks.
        let at = k * 64;
        let mut block = [0u8; 72];
        if at + 72 <= bytes.len() {
            block.copy_from_slice(&bytes[at..at + 72]);
        } else {
            block[..bytes.len() - at].copy_from_slice(&bytes[at..]);
        }
        let (mut leads, mut continued) = (0u64, 0u64);
        for j in 0..8 {
            let eight = u64::from_le_bytes(block[8 * j..8 * j + 8].try_into().expect("8 bytes"));
            let (l, c) = lead_and_continuation_bits(eight);
            leads |= u64::from(l) << (8 * j);
            continued |= u64::from(c) << (8 * j);
        }
        // A bit at the first byte of each word character (and of each that
        // needs folding), gathered in a register and stored once per block:
        // a store per character, each read back by the next, was most of
        // the work.
        // Each character's class is stored at its first byte, and the bits
        // gathered eight bytes at a time: fewer steps per character than
        // shifting two bits into place for each.
        let mut classes = [0u8; 64];
        while leads != 0 {
            let j = leads.trailing_zeros() as usize & 63;
            leads &= leads - 1;
            let lead = block[j];
            classes[j] = if lead < 0xe0 {
                two_byte[usize::from(lead & 0x1f) << 6 | usize::from(block[j + 1] & 0x3f)]
            } else {
                let class = long_char_class(&block[j..j + 4]);
                // Each character written without spaces may start a bigram.
                unspaced += usize::from(class & UNSPACED != 0);
                class
            };
        }
        let (mut word_leads, mut slow_leads, mut swaps) = (0u64, 0u64, 0u64);
        for (j, eight) in classes.chunks_exact(8).enumerate() {
            let eight = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
            word_leads |= u64::from(top_bits(eight << 7)) << (8 * j);
            slow_leads |= u64::from(top_bits(eight << 6)) << (8 * j);
            swaps |= u64::from(top_bits(eight << 4)) << (8 * j);
        }
        // Letters whose folded form is another letter of two bytes are
        // folded where they stand: their words stay in place, with no copy.
        while swaps != 0 {
            let j = swaps.trailing_zeros() as usize & 63;
            swaps &= swaps - 1;
            let code = usize::from(block[j] & 0x1f) << 6 | usize::from(block[j + 1] & 0x3f);
            if let Some(folded) = char::from_u32(TWO_BYTE_FOLDS[code].into()) {
                norm.replace_range(at + j..at + j + 2, folded.encode_utf8(&mut [0; 4]));
            }
        }
        // Each character's bit carried over its continuation bytes (three
        // at most), from the block before too.
        let spread = |mut bits: u64, before: u64| {
            bits |= (before >> 63) & continued;
            for _ in 0..3 {
                bits |= (bits << 1) & continued;
            }
            bits
        };
        word_before = spread(word_leads, word_before);
        slow_before = spread(slow_leads, slow_before);
        word[k] |= word_before;
        slow[k] |= slow_before;
    }
    unspaced
}

/// Classes of characters: a word character; one that needs more than the
/// ASCII lower-casing (folding, or bigrams); one written without spaces.
const WORD: u8 = 1;
const SLOW: u8 = 2;
const UNSPACED: u8 = 4;
/// A character of two bytes whose folded form is another of two bytes,
/// written over it in place.
const SWAP: u8 = 8;

/// The class of the character of three or four bytes that `bytes` starts
/// with (four bytes, the last ones possibly past it).
fn long_char_class(bytes: &[u8]) -> u8 {
    match bytes[0] {
        // U+5000-U+9FFF: Han, written without spaces (bigrams).
        0xe5..=0xe9 => WORD | SLOW | UNSPACED,
        // U+B000-U+CFFF: Hangul syllables, caseless and normal.
        0xeb | 0xec => WORD,
        lead => {
            let len = if lead >= 0xf0 { 4 } else { 3 };
            let c = std::str::from_utf8(&bytes[..len])
                .ok()
                .and_then(|c| c.chars().next())
                .unwrap_or(' ');
            let unspaced = if is_unspaced(c) { UNSPACED } else { 0 };
            if is_word_char(c) {
                WORD | SLOW | unspaced
            } else {
                unspaced
            }
        }
    }
}

/// For the characters written with two bytes in UTF-8 (U+0080-U+07FF:
/// Latin, Greek, Cyrillic, Hebrew, Arabic …), by code point: whether it is
/// a [`WORD`] character, and whether it needs folding ([`SLOW`]; not if
/// it is its own folded form whatever stands beside it: no mark, nothing
/// that composes with what precedes it).
static TWO_BYTE_CHARS: std::sync::LazyLock<[u8; 0x800]> = std::sync::LazyLock::new(|| {
    let mut classes = [0u8; 0x800];
    for c in (0x80..0x800u32).filter_map(char::from_u32) {
        if is_word_char(c) {
            let stable =
                !is_combining_mark(c) && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes;
            let folded = fold(c.encode_utf8(&mut [0; 4]));
            let mut chars = folded.chars();
            let class = match (chars.next(), chars.next()) {
                (Some(f), None) if stable && f == c => 0,
                // Another letter of two bytes, whatever stands beside it
                // (taa marbuta, hamza on alef, capital Cyrillic letters):
                // written over it in the buffer.
                (Some(f), None) if stable && f.len_utf8() == 2 && fold_char(c) == Some(Some(f)) => {
                    SWAP
                }
                _ => SLOW,
            };
            classes[c as usize] = WORD | class;
        }
    }
    classes
});

/// Whether any bit of `range` is set in `bits`.
fn any_bit(bits: &[u64], range: Range<usize>) -> bool {
    let (first, last) = (range.start / 64, (range.end - 1) / 64);
    // The bits from the start's, up to the end's, of one block.
    let from = |b: u64, at: usize| b >> (at % 64);
    let upto = |b: u64, end: usize| b & (u64::MAX >> (63 - (end - 1) % 64));
    if first == last {
        return upto(bits[first], range.end) >> (range.start % 64) != 0;
    }
    from(bits[first], range.start) != 0
        || bits[first + 1..last].iter().any(|&b| b != 0)
        || upto(bits[last], range.end) != 0
}

/// The plain loop [`tokenize`] replaced, kept to check it against.
#[cfg(test)]
fn tokenize_scalar(text: &str) -> Tokens {
    if text.is_empty() {
        return Tokens::default();
    }
    let mut norm = String::with_capacity(text.len() + PADDING.len());
    norm.push_str(text);
    norm.make_ascii_lowercase();
    let mut out = Tokens {
        norm,
        tokens: Vec::with_capacity(text.len() / 6),
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Skip to the start of a word.
        let b = bytes[i];
        if WORD_BYTE[b as usize] {
        } else if b < 0x80 {
            i += 1;
            continue;
        } else {
            let c = next_char(text, i);
            if !is_word_char(c) {
                i += c.len_utf8();
                continue;
            }
        }
        let start = i;
        let mut ascii = true;
        while i < bytes.len() {
            let b = bytes[i];
            if WORD_BYTE[b as usize] {
                i += 1;
            } else if b < 0x80 {
                break;
            } else {
                let c = next_char(text, i);
                if !is_word_char(c) {
                    break;
                }
                ascii = false;
                i += c.len_utf8();
            }
        }
        if is_possessive_s(text, start, i) {
            continue;
        }
        if ascii {
            out.tokens.push(Token::new(start..i, start..i));
        } else {
            push_word(&text[start..i], start, &mut out);
        }
    }
    out.norm.push_str(PADDING);
    out
}

/// A bit per byte of `eight` (little-endian): whether it is an ASCII letter
/// or digit, for eight bytes at once (a table lookup per byte was most of
/// the tokenizer's work).
fn alphanumeric_bits(eight: u64) -> u8 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let ascii = !eight & HIGH;
    let low = eight & !HIGH;
    // A byte's top bit after adding 0x80 - `from`: whether it is ≥ `from`
    // (7-bit bytes: no carry into the next byte).
    let at_least = |bytes: u64, from: u8| (bytes + u64::from(0x80 - from) * ONES) & HIGH;
    let digit = at_least(low, b'0') & !at_least(low, b'9' + 1);
    // Setting bit 5 lower-cases a letter and turns no other byte into one.
    let folded = low | (0x20 * ONES);
    let letter = at_least(folded, b'a') & !at_least(folded, b'z' + 1);
    top_bits((digit | letter) & ascii)
}

/// Two bits per byte of `eight` (little-endian): whether it starts a
/// character of two bytes or more (11xxxxxx), and whether it continues one
/// (10xxxxxx).
fn lead_and_continuation_bits(eight: u64) -> (u8, u8) {
    // Bit 6 of each byte moved up beside bit 7.
    let sixth = eight << 1;
    (top_bits(eight & sixth), top_bits(eight & !sixth))
}

/// The top bit of each byte of `eight` (little-endian), gathered into one
/// byte.
fn top_bits(eight: u64) -> u8 {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    ((eight & HIGH).wrapping_mul(0x0002_0408_1020_4081) >> 56) as u8
}

/// ASCII letters and digits: the bytes that continue a word without a look
/// at Unicode (the plain loop's test; [`alphanumeric_bits`] does it).
#[cfg(test)]
static WORD_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

#[cfg(test)]
fn next_char(text: &str, i: usize) -> char {
    text[i..].chars().next().unwrap_or(' ')
}

/// Letters, digits, combining marks (so a decomposed "e\u{301}" stays one
/// word) and invisible joiners (so "Zaven\u{ad}tem" with a soft hyphen does).
#[inline]
fn is_word_char(c: char) -> bool {
    // CJK and Arabic punctuation, without a search of Unicode's tables.
    if matches!(c, '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{3020}' | '\u{ff01}'..='\u{ff0f}' | '\u{ff1a}'..='\u{ff20}' | '\u{60c}' | '\u{61b}' | '\u{61f}' | '\u{6d4}')
    {
        return false;
    }
    // The letters of the scripts that fill most non-English news, without
    // a search of Unicode's tables (which was most of their tokenising).
    is_common_cjk(c)
        || matches!(c, '\u{ac00}'..='\u{d7a3}' | '\u{621}'..='\u{64a}' | '\u{410}'..='\u{44f}')
        || c.is_alphanumeric()
        || is_combining_mark(c)
        || is_invisible(c)
}

/// [`is_combining_mark`], answered at once for Han and Hangul.
fn is_mark(c: char) -> bool {
    !matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{ac00}'..='\u{d7a3}') && is_combining_mark(c)
}

/// Han and Kana letters that are their own folded form.
fn is_common_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3041}'..='\u{3096}' | '\u{30a1}'..='\u{30fa}')
}

/// Whether `word` is all [`is_common_cjk`] letters, told from its bytes
/// three at a time: each three must start with the lead byte of a
/// three-byte character (so none is cut), whose code is then read.
fn all_common_cjk(word: &[u8]) -> bool {
    word.len() % 3 == 0
        && word.chunks_exact(3).all(|c| {
            let code =
                u32::from(c[0] & 0x0f) << 12 | u32::from(c[1] & 0x3f) << 6 | u32::from(c[2] & 0x3f);
            matches!(c[0], 0xe3..=0xe9) && char::from_u32(code).is_some_and(is_common_cjk)
        })
}

/// Whether `c` alone is already in its folded form: Han, Hangul and Kana
/// letters are caseless and NFKC-stable.
fn is_folded(c: char) -> bool {
    is_common_cjk(c)
        || matches!(c, '\u{ac00}'..='\u{d7a3}')
        || (!is_diacritic(c)
            && !is_invisible(c)
            && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
            && !c.is_uppercase())
}

/// Soft hyphen, zero-width joiner and non-joiner, word joiner.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200c}' | '\u{200d}' | '\u{2060}')
}

/// Whether `text[start..end]` is the "s" of a possessive ("Kenya's", "Kenya’s").
fn is_possessive_s(text: &str, start: usize, end: usize) -> bool {
    if !matches!(&text[start..end], "s" | "S") {
        return false;
    }
    let before = &text[..start];
    let Some(apostrophe) = before.chars().next_back() else {
        return false;
    };
    matches!(apostrophe, '\'' | '’')
        && before[..before.len() - apostrophe.len_utf8()]
            .chars()
            .next_back()
            .is_some_and(is_word_char)
}

/// Latin, Greek and Cyrillic accents (U+0300–U+036F), and Arabic harakat,
/// hamza and madda marks, superscript alef and tatweel. Marks of other
/// scripts (Devanagari vowel signs, say) carry meaning and are kept.
fn is_diacritic(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}' | '\u{640}' | '\u{64b}'..='\u{65f}' | '\u{670}')
}

/// Whether `c` belongs to a script written without spaces between words:
/// Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar. A run of them is
/// indexed as overlapping pairs of characters (bigrams), the way Lucene's
/// CJK analyzer indexes Han and Kana, and a query in them is compiled to the
/// same pairs: "布鲁塞尔" finds 布鲁塞尔 inside a sentence (as the phrase
/// 布鲁 鲁塞 塞尔) but not 布鲁 alone. Dictionary segmentation (ICU4X) was
/// measured and not chosen: it missed 10-17% of names glued to the next
/// word (北京市, 東京都知事), ran at 15-30 MB/s, and adds 2.4-3.1 MB of data
/// (docs/rules.md, "Languages and scripts").
pub(crate) fn is_unspaced(c: char) -> bool {
    matches!(c,
        '\u{3005}' | '\u{3007}' // 々 〇
        | '\u{3040}'..='\u{30ff}' // Hiragana, Katakana
        | '\u{31f0}'..='\u{31ff}' // Katakana extensions
        | '\u{3400}'..='\u{4dbf}' // Han extension A
        | '\u{4e00}'..='\u{9fff}' // Han
        | '\u{f900}'..='\u{faff}' // Han compatibility
        | '\u{ff66}'..='\u{ff9f}' // half-width Katakana
        | '\u{20000}'..='\u{3134f}' // Han extensions B-H
        | '\u{0e00}'..='\u{0eff}' // Thai, Lao
        | '\u{1000}'..='\u{109f}' // Myanmar
        | '\u{1780}'..='\u{17ff}' // Khmer
        | '\u{19e0}'..='\u{19ff}' // Khmer symbols
        | '\u{a9e0}'..='\u{a9ff}' // Myanmar extended-B
        | '\u{aa60}'..='\u{aa7f}' // Myanmar extended-A
    )
}

/// Whether `word` (a normalised word) is a lone character of a script
/// written without spaces (with its marks): a unit, not a bigram.
pub(crate) fn is_lone_unit(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(is_unspaced) && chars.all(is_mark)
}

/// Normalises a non-ASCII word starting at byte `at` of the text: runs of
/// [`is_unspaced`] characters become bigrams, the rest is folded whole.
// Kept out of `tokenize`: inlined there, it cost matching ASCII text 3%
// more instructions (callgrind, news-like corpus at 100k rules).
#[inline(never)]
fn push_word(word: &str, at: usize, out: &mut Tokens) {
    if all_common_cjk(word.as_bytes()) {
        // Han and Kana only (three bytes each, already folded, no marks),
        // as most of a Chinese or Japanese sentence is: its bigrams are
        // every six bytes, three apart, in place.
        let pairs = (word.len() / 3).saturating_sub(1).max(1);
        for k in 0..pairs {
            let span = at + 3 * k..(at + 3 * k + 6).min(at + word.len());
            out.tokens.push(Token::new(span.clone(), span));
        }
        return;
    }
    if !word.chars().any(is_unspaced) {
        return push_folded(word, at..at + word.len(), out);
    }
    // Runs of one kind or the other; a combining mark stays with the
    // character before it.
    let mut run_start = 0;
    let mut run_unspaced = None;
    for (i, c) in word.char_indices() {
        if run_unspaced.is_some() && is_mark(c) {
            continue;
        }
        let unspaced = is_unspaced(c);
        if run_unspaced.is_some_and(|u| u != unspaced) {
            push_run(
                &word[run_start..i],
                at + run_start,
                run_unspaced == Some(true),
                out,
            );
            run_start = i;
        }
        run_unspaced = Some(unspaced);
    }
    push_run(
        &word[run_start..],
        at + run_start,
        run_unspaced == Some(true),
        out,
    );
}

/// The units of a run of [`is_unspaced`] text: each character with its
/// marks (a Thai consonant and its vowel sign), as (start, end) offsets.
fn units_of(run: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = run.char_indices().peekable();
    std::iter::from_fn(move || {
        let (i, c) = chars.next()?;
        let mut end = i + c.len_utf8();
        while let Some(&(j, mark)) = chars.peek().filter(|(_, m)| is_mark(*m)) {
            end = j + mark.len_utf8();
            chars.next();
        }
        Some((i, end))
    })
}

fn push_run(run: &str, at: usize, unspaced: bool, out: &mut Tokens) {
    if !unspaced {
        push_folded(run, at..at + run.len(), out);
        return;
    }
    if run.chars().all(is_folded) {
        // Already folded (most Han, Kana and Thai): the buffer holds the
        // text itself at the run's offsets, so each bigram is its own span.
        let (mut before, mut units) = (at, 0);
        for (i, end) in units_of(run) {
            if units > 0 {
                out.tokens
                    .push(Token::new(before..at + end, before..at + end));
            }
            (before, units) = (at + i, units + 1);
        }
        if units == 1 {
            out.tokens
                .push(Token::new(at..at + run.len(), at..at + run.len()));
        }
        return;
    }
    // Otherwise each unit is folded on its own into the buffer: adjacent
    // units are adjacent there, so a bigram's normal form is one range of it.
    let mut units: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(run.len() / 3 + 1);
    for (i, end) in units_of(run) {
        let from = out.norm.len();
        out.norm
            .extend(fold(&run[i..end]).chars().filter(|&c| is_word_char(c)));
        if out.norm.len() > from {
            units.push((from..out.norm.len(), at + i..at + end));
        }
    }
    match units.as_slice() {
        [] => {}
        [(norm, span)] => out.tokens.push(Token::new(norm.clone(), span.clone())),
        _ => {
            for pair in units.windows(2) {
                let ((norm, span), (next_norm, next_span)) = (&pair[0], &pair[1]);
                out.tokens.push(Token::new(
                    norm.start..next_norm.end,
                    span.start..next_span.end,
                ));
            }
        }
    }
}

/// Normalises a non-ASCII word; NFKC can turn one word into several ("½").
fn push_folded(word: &str, span: Range<usize>, out: &mut Tokens) {
    let from = out.norm.len();
    if fold_quick(word, &mut out.norm) {
        if out.norm.len() > from {
            out.tokens.push(Token::new(from..out.norm.len(), span));
        }
        return;
    }
    let folded: String = fold(word);
    let mut from = None;
    for (i, c) in folded.char_indices() {
        match (is_word_char(c), from) {
            (true, None) => from = Some(i),
            (false, Some(f)) => {
                push_piece(&folded[f..i], span.clone(), out);
                from = None;
            }
            _ => {}
        }
    }
    if let Some(f) = from {
        push_piece(&folded[f..], span, out);
    }
}

fn push_piece(piece: &str, span: Range<usize>, out: &mut Tokens) {
    let from = out.norm.len();
    out.norm.push_str(piece);
    out.tokens.push(Token::new(from..out.norm.len(), span));
}

/// NFKC, diacritics removed, lower-cased, Arabic letter forms unified.
fn fold(word: &str) -> String {
    let stripped: String = word
        .nfkd()
        .filter(|c| !is_diacritic(*c) && !is_invisible(*c))
        .collect();
    stripped
        .nfkc()
        .flat_map(char::to_lowercase)
        .map(arabic_letter)
        .collect()
}

/// One form for Arabic letters written several ways, as Lucene's Arabic and
/// Persian normalisers have them: alef with hamza or madda and alef wasla
/// are alef (the marks are diacritics, dropped before this), taa marbuta is
/// haa, alef maqsura and the Persian and Urdu yehs are yeh, keheh is kaf,
/// the other hehs are heh; Arabic-Indic digits are digits.
fn arabic_letter(c: char) -> char {
    match c {
        '\u{671}' => '\u{627}',
        '\u{649}' | '\u{6cc}' | '\u{6d2}' => '\u{64a}',
        '\u{629}' | '\u{6c1}' | '\u{6c3}' | '\u{6be}' | '\u{6d5}' => '\u{647}',
        '\u{6a9}' => '\u{643}',
        '\u{660}'..='\u{669}' => char::from(b'0' + (c as u32 - 0x660) as u8),
        '\u{6f0}'..='\u{6f9}' => char::from(b'0' + (c as u32 - 0x6f0) as u8),
        _ => c,
    }
}

/// What [`fold`] makes of `c`, for the letters of Arabic, Cyrillic and
/// Hangul that are quick to tell (None: ask `fold`; Some(None): dropped):
/// a word of them is folded without NFKD and NFKC, which were most of the
/// cost of text in those scripts.
fn fold_char(c: char) -> Option<Option<char>> {
    Some(match c {
        'a'..='z' | '0'..='9' => Some(c),
        'A'..='Z' => Some(c.to_ascii_lowercase()),
        // Arabic letters with no marks, and the forms unified above.
        '\u{621}' | '\u{627}' | '\u{628}' | '\u{62a}'..='\u{63a}' | '\u{641}'..='\u{648}' => {
            Some(c)
        }
        '\u{64a}'
        | '\u{649}'
        | '\u{629}'
        | '\u{671}'
        | '\u{6a9}'
        | '\u{6be}'
        | '\u{6c1}'
        | '\u{6cc}'
        | '\u{6d2}'
        | '\u{6d5}'
        | '\u{660}'..='\u{669}'
        | '\u{6f0}'..='\u{6f9}' => Some(arabic_letter(c)),
        // Hamza and madda on a carrier: the carrier (the mark is dropped).
        '\u{622}' | '\u{623}' | '\u{625}' => Some('\u{627}'),
        '\u{624}' => Some('\u{648}'),
        '\u{626}' => Some('\u{64a}'),
        // Tatweel and the harakat.
        '\u{640}' | '\u{64b}'..='\u{65f}' | '\u{670}' => None,
        // Russian: й and ё lose their marks as in any Cyrillic word.
        '\u{430}'..='\u{438}' | '\u{43a}'..='\u{44f}' => Some(c),
        '\u{410}'..='\u{418}' | '\u{41a}'..='\u{42f}' => char::from_u32(c as u32 + 0x20),
        '\u{439}' | '\u{419}' => Some('\u{438}'),
        '\u{451}' | '\u{401}' => Some('\u{435}'),
        // Hangul syllables: caseless and normal.
        '\u{ac00}'..='\u{d7a3}' => Some(c),
        _ => return None,
    })
}

/// [`fold`] for a word of [`fold_char`] letters, or None.
fn fold_quick(word: &str, out: &mut String) -> bool {
    let from = out.len();
    let two_byte = &*TWO_BYTE_FOLDS;
    for c in word.chars() {
        let quick = match c as u32 {
            // Most letters of Arabic and Cyrillic words: a load, not a
            // branch per range of `fold_char` (mispredicted letter by letter).
            code @ 0x80..0x800 => match two_byte[code as usize] {
                NOT_QUICK => None,
                DROPPED => Some(None),
                folded => Some(char::from_u32(folded.into())),
            },
            _ => fold_char(c),
        };
        match quick {
            Some(folded) => out.extend(folded),
            None => {
                out.truncate(from);
                return false;
            }
        }
    }
    true
}

/// [`fold_char`] of the characters of two bytes (U+0080-U+07FF), by code
/// point: the folded character's code (all below U+0800), [`DROPPED`], or
/// [`NOT_QUICK`].
static TWO_BYTE_FOLDS: std::sync::LazyLock<[u16; 0x800]> = std::sync::LazyLock::new(|| {
    let mut folds = [NOT_QUICK; 0x800];
    for c in (0x80..0x800u32).filter_map(char::from_u32) {
        folds[c as usize] = match fold_char(c) {
            Some(Some(folded)) => u16::try_from(u32::from(folded)).unwrap_or(NOT_QUICK),
            Some(None) => DROPPED,
            None => NOT_QUICK,
        };
    }
    folds
});
const DROPPED: u16 = 0;
const NOT_QUICK: u16 = u16::MAX;

/// A word as a case-sensitive rule compares it: NFKC and diacritics removed,
/// case kept.
pub(crate) fn exact_form(word: &str) -> String {
    if word.is_ascii() {
        return word.to_string();
    }
    let stripped: String = word
        .nfkd()
        .filter(|c| !is_diacritic(*c) && !is_invisible(*c))
        .collect();
    stripped.nfkc().collect()
}

/// A query term with the spaces between two characters of scripts written
/// without spaces taken out: a phrase `"布鲁塞尔 机场"` is looked for as the
/// text writes it, 布鲁塞尔机场.
fn joined_runs(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unspaced) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_whitespace() {
            let before = text[..i].chars().next_back().is_some_and(is_unspaced);
            let after = text[i..]
                .trim_start()
                .chars()
                .next()
                .is_some_and(is_unspaced);
            if before && after {
                while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    std::borrow::Cow::Owned(out)
}

/// Normalised words of a query term, e.g. `Al-Shabab's` → `["al", "shabab"]`.
pub(crate) fn words(text: &str) -> Vec<String> {
    let text = &joined_runs(text);
    let tokens = tokenize(text);
    (0..tokens.len())
        .map(|i| tokens.word(i).to_string())
        .collect()
}

/// The original words of a query term, split the same way as [`words`]
/// (for case-sensitive comparison).
pub(crate) fn original_words(text: &str) -> Vec<String> {
    let text = &joined_runs(text);
    let tokens = tokenize(text);
    tokens
        .tokens
        .iter()
        .map(|t| exact_form(&text[t.span()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_bits_agree_with_the_table() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        for round in 0..100_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            // Every byte value in every lane, then random mixtures.
            let eight = if round < 256 {
                round * 0x0101_0101_0101_0101
            } else {
                rng
            };
            let expected = eight
                .to_le_bytes()
                .iter()
                .enumerate()
                .fold(0u8, |bits, (j, &b)| {
                    bits | u8::from(WORD_BYTE[b as usize]) << j
                });
            assert_eq!(alphanumeric_bits(eight), expected, "{eight:#x}");
        }
    }

    #[test]
    fn lead_and_continuation_bits_are_read_from_the_top_bits() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..100_000 {
            let eight = rng.u64(..);
            let bits = |test: fn(u8) -> bool| {
                eight
                    .to_le_bytes()
                    .iter()
                    .enumerate()
                    .fold(0u8, |bits, (j, &b)| bits | u8::from(test(b)) << j)
            };
            let expected = (bits(|b| b >= 0xc0), bits(|b| b & 0xc0 == 0x80));
            assert_eq!(lead_and_continuation_bits(eight), expected, "{eight:#x}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// The bit-mask tokenizer finds exactly the words the plain loop finds.
        #[test]
        fn mask_tokenizer_agrees_with_the_plain_loop(
            parts in proptest::collection::vec(proptest::sample::select(PIECES), 0..40),
            any in "\\PC{0,80}",
        ) {
            let text: String = parts.concat();
            proptest::prop_assert_eq!(read(&tokenize(&text)), read(&tokenize_scalar(&text)));
            proptest::prop_assert_eq!(read(&tokenize(&any)), read(&tokenize_scalar(&any)));
        }
    }

    /// Each word and where it was: a word may be found in place or copied.
    fn read(tokens: &Tokens) -> Vec<(String, Range<usize>)> {
        (0..tokens.len())
            .map(|i| (tokens.word(i).to_string(), tokens.tokens[i].span()))
            .collect()
    }

    #[test]
    fn letters_folded_to_another_of_two_bytes_are_folded_in_place() {
        let text = "مدينة Москва أحمد";
        let tokens = tokenize(text);
        let words: Vec<&str> = (0..tokens.len()).map(|i| tokens.word(i)).collect();
        assert_eq!(words, ["مدينه", "москва", "احمد"]);
        // Where the text stands in the buffer: no copy of the word.
        assert!(
            tokens.tokens.iter().all(|t| t.norm() == t.span()),
            "{tokens:?}"
        );
    }

    #[test]
    fn han_and_kana_are_told_from_their_bytes_as_from_their_characters() {
        for c in (0..0x30000).filter_map(char::from_u32) {
            for word in [format!("{c}日"), format!("日{c}"), format!("{c}{c}{c}")] {
                let all = word.chars().all(is_common_cjk);
                assert_eq!(all_common_cjk(word.as_bytes()), all, "{word:?}");
            }
        }
    }

    #[test]
    fn every_character_is_a_word_character_or_not_as_unicode_says() {
        // Each character alone and between two others, as the lead-byte
        // shortcuts read it against the plain loop's decoding; one text,
        // so that characters fall across the ends of 64-byte blocks too.
        let text: String = ('\u{80}'..='\u{ffff}')
            .chain('\u{1f000}'..='\u{2ffff}')
            .map(|c| format!("{c}{c} a{c}b \u{5e73}{c} "))
            .collect();
        let (masks, plain) = (read(&tokenize(&text)), read(&tokenize_scalar(&text)));
        if let Some(i) = (0..masks.len().max(plain.len())).find(|&i| masks.get(i) != plain.get(i)) {
            panic!("token {i}: {:?} against {:?}", masks.get(i), plain.get(i));
        }
    }

    proptest::proptest! {
        /// The quick fold gives what NFKD, NFKC and the rest give.
        #[test]
        fn quick_fold_agrees_with_fold(word in "[a-zA-Z0-9\u{621}-\u{65f}\u{660}-\u{672}\u{6a9}\u{6be}\u{6c0}-\u{6d5}\u{6f0}-\u{6f9}\u{400}-\u{45f}\u{ac00}-\u{ac20}\u{d7a0}-\u{d7a3}]{1,12}") {
            let mut quick = String::new();
            if fold_quick(&word, &mut quick) {
                proptest::prop_assert_eq!(quick, fold(&word));
            }
        }
    }

    #[test]
    fn arabic_letter_forms_and_marks_are_one_form() {
        // Alef with hamza, taa marbuta, alef maqsura, harakat, tatweel.
        assert_eq!(words("أحمد"), words("احمد"));
        assert_eq!(words("مدينة"), words("مدينه"));
        assert_eq!(words("مستشفى"), words("مستشفي"));
        assert_eq!(words("بُرُوكْسِل"), words("بروكسل"));
        assert_eq!(words("بروكـــسل"), words("بروكسل"));
        // Persian keheh and yeh.
        assert_eq!(words("کرمانی"), words("كرماني"));
        assert_eq!(words("٢٠١٦"), ["2016"]);
    }

    const PIECES: &[&str] = &[
        "a",
        "Zaventem",
        " ",
        "  ",
        "-",
        "'s",
        "’s",
        "s",
        "S",
        ".",
        "é",
        "e\u{301}",
        "ＩＳＩＳ",
        "½",
        "\u{ad}",
        "Москва",
        "नमस्ते",
        "12",
        "\n",
        "x",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ];

    #[test]
    fn splits_on_punctuation_and_lowercases() {
        assert_eq!(
            words("Al-Shabab's attack, in BRUSSELS."),
            ["al", "shabab", "attack", "in", "brussels"]
        );
    }

    #[test]
    fn possessives_are_dropped_but_not_other_s() {
        assert_eq!(words("Kenya’s mall"), ["kenya", "mall"]);
        assert_eq!(words("s club 's"), ["s", "club", "s"]);
    }

    #[test]
    fn spans_point_into_original_text() {
        let text = "Zaventem: blast";
        let tokens = tokenize(text);
        assert_eq!(&text[tokens.tokens[0].span()], "Zaventem");
        assert_eq!(tokens.word(1), "blast");
    }

    #[test]
    fn diacritics_are_removed_and_compatibility_forms_folded() {
        assert_eq!(words("Aéroport de Liège"), ["aeroport", "de", "liege"]);
        // Decomposed é (e + U+0301) is the same word.
        assert_eq!(words("Ae\u{301}roport"), ["aeroport"]);
        // Full-width letters and ligatures.
        assert_eq!(words("ＩＳＩＳ ﬁghters"), ["isis", "fighters"]);
        // Marks outside the Latin accents are kept.
        assert_eq!(words("नमस्ते"), ["नमस्ते"]);
        assert_eq!(words("Москва́"), ["москва"]);
        // A soft hyphen or word joiner does not split a word.
        assert_eq!(
            words("Zaven\u{ad}tem Mo\u{2060}lenbeek"),
            ["zaventem", "molenbeek"]
        );
    }

    #[test]
    fn exact_form_keeps_case() {
        assert_eq!(original_words("ISIS Aé"), ["ISIS", "Ae"]);
    }
}
