//! Particles written as part of a word: Arabic proclitics (wa-, fa-, bi-,
//! ka-, li-, the article al- and their combinations) and pronoun
//! enclitics, after Lucene's Arabic light stemmer; Korean case and topic
//! particles (에서, 의, 은/는, 이/가, 을/를 …). A word of the text also stands
//! for itself without them: ببروكسل for بروكسل, والموصل for الموصل and
//! موصل, 브뤼셀에서 for 브뤼셀. A query for the bare name so finds it with
//! its particles, yet never finds another word that merely contains it
//! (the form left must be the query's word, whole).

use super::keys::{key_bytes, word_key};

/// A form of a word without its particles: most are a part of the word
/// (its bytes `Part(range)`, nothing copied); a few are spelled otherwise.
pub(super) enum Form<'a> {
    Part(std::ops::Range<usize>),
    Spelled(&'a str),
}

/// Calls `form` with each form of the normalised `word` without its
/// particles (not `word` itself; a form may come more than once).
pub(super) fn forms(word: &str, form: &mut impl FnMut(Form)) {
    let bytes = word.as_bytes();
    if ends_in_hangul(bytes) {
        korean(word, form);
    } else if starts_in_arabic(bytes) {
        arabic(word, form);
    }
}

/// Whether any form of `word` without its particles passes `test`.
pub(super) fn any_form(word: &str, mut test: impl FnMut(&str) -> bool) -> bool {
    let mut any = false;
    forms(word, &mut |form| {
        any = any
            || test(match &form {
                Form::Part(range) => &word[range.clone()],
                Form::Spelled(spelled) => spelled,
            })
    });
    any
}

/// Whether the normalised `word` (its UTF-8 bytes) may carry particles
/// [`forms`] takes off.
pub(super) fn may_carry(word: &[u8]) -> bool {
    ends_in_hangul(word) || starts_in_arabic(word)
}

// Told from the bytes, without decoding: this runs for every distinct word.
/// Korean particles follow a Hangul syllable (U+AC00–U+D7A3).
fn ends_in_hangul(word: &[u8]) -> bool {
    // A lead byte three from the end starts the last character.
    let &[.., lead @ 0xea..=0xed, second, third] = word else {
        return false;
    };
    let c = u32::from(lead & 0x0f) << 12 | u32::from(second & 0x3f) << 6 | u32::from(third & 0x3f);
    (0xac00..=0xd7a3).contains(&c)
}

/// Arabic proclitics come before an Arabic letter (U+0621–U+064A).
fn starts_in_arabic(word: &[u8]) -> bool {
    matches!(word, [0xd8, 0xa1..=0xbf, ..] | [0xd9, 0x80..=0x8a, ..])
}

// Arabic letters as their two UTF-8 bytes read as a little-endian u16: the
// forms are cut by comparing pairs of bytes, not strings (this runs for
// every distinct Arabic word of the text).
const WAW: u16 = u16::from_le_bytes([0xd9, 0x88]);
const FA: u16 = u16::from_le_bytes([0xd9, 0x81]);
const BA: u16 = u16::from_le_bytes([0xd8, 0xa8]);
const KAF: u16 = u16::from_le_bytes([0xd9, 0x83]);
const LAM: u16 = u16::from_le_bytes([0xd9, 0x84]);
const ALEF: u16 = u16::from_le_bytes([0xd8, 0xa7]);
const TA: u16 = u16::from_le_bytes([0xd8, 0xaa]);
const HA: u16 = u16::from_le_bytes([0xd9, 0x87]);
const MIM: u16 = u16::from_le_bytes([0xd9, 0x85]);
const NUN: u16 = u16::from_le_bytes([0xd9, 0x86]);
const YA: u16 = u16::from_le_bytes([0xd9, 0x8a]);

/// Whether every character of `word` (UTF-8) is written with two bytes
/// from U+0600 to U+07FF: a lead byte D8-DF at every even offset, eight
/// bytes at a time.
fn two_byte_letters(word: &[u8]) -> bool {
    const EVEN: u64 = 0x00f8_00f8_00f8_00f8;
    const LEADS: u64 = 0x00d8_00d8_00d8_00d8;
    let mut eights = word.chunks_exact(8);
    let all = eights
        .by_ref()
        .all(|e| u64::from_le_bytes(e.try_into().expect("8 bytes")) & EVEN == LEADS);
    let rest = eights.remainder();
    all && rest.len() % 2 == 0 && rest.chunks_exact(2).all(|l| l[0] & 0xf8 == 0xd8)
}

fn arabic(word: &str, form: &mut impl FnMut(Form)) {
    let bytes = word.as_bytes();
    // Cut at letters only where every letter is two bytes.
    if !two_byte_letters(bytes) {
        return;
    }
    let letters = bytes.len() / 2;
    // The letter at letter index `i` (0, no letter, past the end).
    let letter = |i: usize| {
        bytes
            .get(2 * i..2 * i + 2)
            .map_or(0, |l| u16::from_le_bytes([l[0], l[1]]))
    };
    // The same for the first eight, where proclitics are: from the word's
    // first 16 bytes, read at once.
    let head = key_bytes(word_key(bytes));
    let l = |i: usize| (head >> (16 * i)) as u16;
    let mut spelled = String::new();
    // Where the word may start once proclitics are off, a bit per letter
    // offset (bit 0: the word itself): wa- or fa-, then bi-, ka- or li-,
    // then the article.
    let mut starts = 1u32;
    for skip in [0, 1] {
        if skip == 1 && !matches!(l(0), WAW | FA) {
            continue;
        }
        let preposition = l(skip);
        for more in [0, 1] {
            if more == 1 && !matches!(preposition, BA | KAF | LAM) {
                continue;
            }
            let at = skip + more;
            starts |= 1 << at;
            if l(at) == ALEF && l(at + 1) == LAM {
                starts |= 1 << (at + 2);
            }
            // li- before the article writes one lam: للموصل is لـ + الموصل.
            if more == 1 && preposition == LAM && l(at) == LAM && letters - at > 2 {
                spelled.clear();
                spelled.push_str("ال");
                spelled.push_str(&word[2 * (at + 1)..]);
                form(Form::Spelled(&spelled));
                starts |= 1 << (at + 1);
            }
        }
    }
    // The set bits of `starts`, lowest first.
    let each_start = || {
        let mut left = starts;
        std::iter::from_fn(move || {
            (left != 0).then(|| {
                let start = left.trailing_zeros() as usize;
                left &= left - 1;
                start
            })
        })
    };
    // Stems of two letters at least.
    for start in each_start().filter(|&s| s > 0 && s + 2 <= letters) {
        form(Form::Part(2 * start..bytes.len()));
    }
    // Then each also without a pronoun, three letters at least before it.
    let from_end = |back: usize| letters.checked_sub(back).map_or(0, letter);
    // A word ends with one pronoun at most: هما, ها, نا, هم, هن, كم, كن, ه, ك, ي.
    let pronoun = match (from_end(3), from_end(2), from_end(1)) {
        (HA, MIM, ALEF) => 3,
        (_, HA | NUN, ALEF) | (_, HA | KAF, MIM | NUN) => 2,
        (_, _, HA | KAF | YA) => 1,
        _ => return,
    };
    let end = letters - pronoun;
    for start in each_start().filter(|&s| s + 3 <= end) {
        form(Form::Part(2 * start..2 * end));
        // Taa marbuta (folded to haa) is written taa before a pronoun:
        // مدينته is مدينة + ه.
        if letter(end - 1) == TA {
            spelled.clear();
            spelled.push_str(&word[2 * start..2 * (end - 1)]);
            spelled.push('ه');
            form(Form::Spelled(&spelled));
        }
    }
}

/// Korean particles, longest first where one ends another.
const PARTICLES: [&str; 44] = [
    "에서는",
    "에서도",
    "에서의",
    "에서만",
    "으로는",
    "으로도",
    "으로의",
    "이라는",
    "이라고",
    "에게서",
    "한테서",
    "까지",
    "부터",
    "처럼",
    "보다",
    "에서",
    "에게",
    "한테",
    "으로",
    "이나",
    "이랑",
    "과의",
    "와의",
    "에는",
    "에도",
    "께서",
    "라는",
    "라고",
    "은",
    "는",
    "이",
    "가",
    "을",
    "를",
    "의",
    "에",
    "로",
    "와",
    "과",
    "도",
    "만",
    "나",
    "랑",
    "께",
];

fn korean(word: &str, form: &mut impl FnMut(Form)) {
    for particle in PARTICLES {
        if let Some(stem) = word.strip_suffix(particle)
            && !stem.is_empty()
        {
            form(Form::Part(0..stem.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(word: &str) -> Vec<String> {
        let mut out = Vec::new();
        any_form(word, |f| {
            out.push(f.to_string());
            false
        });
        out
    }

    #[test]
    fn arabic_proclitics_article_and_pronouns_come_off() {
        assert!(all("ببروكسل").contains(&"بروكسل".to_string()));
        assert!(all("لبروكسل").contains(&"بروكسل".to_string()));
        let mosul = all("والموصل");
        assert!(mosul.contains(&"الموصل".to_string()) && mosul.contains(&"موصل".to_string()));
        let to_mosul = all("للموصل");
        assert!(to_mosul.contains(&"الموصل".to_string()), "{to_mosul:?}");
        assert!(all("وبالموصل").contains(&"الموصل".to_string()));
        // مدينته: his city, the noun with taa marbuta (folded to haa).
        assert!(all("مدينته").contains(&"مدينه".to_string()));
        // A word is never cut below two letters.
        assert!(all("ولد").iter().all(|f| f.chars().count() >= 2));
        assert!(all("بروكسل").iter().all(|f| f != "بروكسل"));
    }

    #[test]
    fn scripts_are_told_from_bytes_as_from_characters() {
        for c in (0..0x30000).filter_map(char::from_u32) {
            let arabic = ('\u{621}'..='\u{64a}').contains(&c);
            let hangul = ('\u{ac00}'..='\u{d7a3}').contains(&c);
            assert_eq!(
                starts_in_arabic(format!("{c}z").as_bytes()),
                arabic,
                "{c:?}"
            );
            assert_eq!(ends_in_hangul(format!("z{c}").as_bytes()), hangul, "{c:?}");
            assert_eq!(ends_in_hangul(c.to_string().as_bytes()), hangul, "{c:?}");
        }
    }

    #[test]
    fn korean_particles_come_off() {
        assert!(all("브뤼셀에서").contains(&"브뤼셀".to_string()));
        assert!(all("브뤼셀의").contains(&"브뤼셀".to_string()));
        assert!(all("서울은").contains(&"서울".to_string()));
        assert!(all("서울").is_empty());
        assert!(all("Brussels").is_empty());
    }
}
