//! What an article says, reduced to what tells one version of it from
//! another: its lead (the first words, where a report states its event), a
//! fingerprint of title and lead (the same article under a new key), and
//! the figures it gives (a death toll that rose is an update).

use crate::matching::text::tokenize;
use crate::model::article::hex;
use crate::model::boundary::floor_char_boundary;
use sha2::{Digest, Sha256};

/// Words of the text that count as its lead (here and in `features`).
pub const LEAD_WORDS: usize = 60;
/// Figures read of one text at most.
const MAX_FIGURES: usize = 32;
/// Fewer words than this in title and lead say too little to recognise an
/// article by (a "Daily briefing" with no text): no fingerprint.
const FINGERPRINT_WORDS: usize = 8;

/// The start of `text` up to the end of its `LEAD_WORDS`th word.
pub fn lead(text: &str) -> &str {
    // A prefix holds the lead of all but the oddest texts: a long body is
    // not tokenised whole on every poll.
    let prefix = &text[..floor_char_boundary(text, LEAD_WORDS * 16)];
    let tokens = match tokenize(prefix) {
        tokens if tokens.tokens.len() > LEAD_WORDS || prefix.len() == text.len() => tokens,
        _ => tokenize(text),
    };
    match tokens.tokens.get(LEAD_WORDS - 1) {
        Some(token) => &text[..token.span().end],
        None => text,
    }
}

/// A hash of the words of title and lead, as the matcher normalises them
/// (case, accents, punctuation and markup do not count); `None` when they
/// are too few to tell an article by.
pub fn fingerprint(title: &str, lead: &str) -> Option<String> {
    let mut hasher = Sha256::new();
    let mut words = 0;
    for text in [title, lead] {
        // Enough for the first words of either (a title may be huge).
        let tokens = tokenize(&text[..floor_char_boundary(text, LEAD_WORDS * 64)]);
        for i in 0..tokens.tokens.len().min(LEAD_WORDS) {
            hasher.update(tokens.word(i).as_bytes());
            hasher.update([0]);
            words += 1;
        }
        hasher.update([1]);
    }
    (words >= FINGERPRINT_WORDS).then(|| hex(&hasher.finalize()[..12]))
}

/// The figures of a text ("11", "90000", "1.5"; counts written as words,
/// "eleven", as their digits), without times of day ("08:15"), years
/// (1900-2099) or repeats: what a later report of the same event changes
/// when there is news.
pub fn figures(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut found: Vec<String> = Vec::new();
    // Counts written as words ("eleven dead"), as their digits.
    for word in text.split(|c: char| !c.is_alphabetic()) {
        let n = match word.to_lowercase().as_str() {
            "two" => "2",
            "three" => "3",
            "four" => "4",
            "five" => "5",
            "six" => "6",
            "seven" => "7",
            "eight" => "8",
            "nine" => "9",
            "ten" => "10",
            "eleven" => "11",
            "twelve" => "12",
            "thirteen" => "13",
            "fourteen" => "14",
            "fifteen" => "15",
            "sixteen" => "16",
            "seventeen" => "17",
            "eighteen" => "18",
            "nineteen" => "19",
            "twenty" => "20",
            "dozens" => "dozens",
            "hundreds" => "hundreds",
            "thousands" => "thousands",
            _ => continue,
        };
        if !found.iter().any(|f| f == n) {
            found.push(n.to_string());
        }
    }
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = String::new();
        // Digits with thousands separators or a decimal point between them.
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                digits.push(bytes[i] as char);
            } else if matches!(bytes[i], b',' | b'.')
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && i > start
            {
                if bytes[i] == b'.' {
                    digits.push('.');
                }
            } else {
                break;
            }
            i += 1;
        }
        let time = (bytes.get(i) == Some(&b':')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
            || (start > 0 && bytes[start - 1] == b':');
        let year = digits.len() == 4 && (digits.starts_with("19") || digits.starts_with("20"));
        if !time && !year && !found.contains(&digits) {
            found.push(digits);
            // A headline of a thousand numbers is no news of a thousand.
            if found.len() == MAX_FIGURES {
                break;
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_leave_out_times_years_and_words() {
        assert_eq!(
            figures(
                "At least 11 dead, 90,000 without power at 08:15 on 3 March 2026; B52 and 1.5m"
            ),
            ["11", "90000", "3", "1.5"]
        );
        assert_eq!(figures("11 dead, then 11 more"), ["11"]);
        assert_eq!(
            figures("Eleven dead, hundreds hurt, 11 missing"),
            ["11", "hundreds"]
        );
    }

    #[test]
    fn fingerprints_ignore_case_and_punctuation_not_words() {
        let lead = "A blast hit the departure hall of Zaventem airport on Tuesday morning.";
        let a = fingerprint("Blast at Zaventem", lead).unwrap();
        assert_eq!(
            Some(a.clone()),
            fingerprint("BLAST at Zaventem!", &lead.replace('.', ""))
        );
        assert_ne!(Some(a), fingerprint("Blast at Zaventem airport", lead));
        assert_eq!(fingerprint("Daily briefing", ""), None);
    }

    #[test]
    fn lead_is_the_first_words() {
        let text = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(lead(&text).ends_with("w59"));
        assert_eq!(lead("short text"), "short text");
    }
}
