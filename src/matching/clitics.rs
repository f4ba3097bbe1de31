//! Particles written as part of a word: Arabic proclitics (wa-, fa-, bi-,
//! ka-, li-, the article al- and their combinations) and pronoun
//! enclitics, after Lucene's Arabic light stemmer; Korean case and topic
//! particles (에서, 의, 은/는, 이/가, 을/를 …). A word of the text also stands
//! for itself without them: ببروكسل for بروكسل, والموصل for الموصل and
//! موصل, 브뤼셀에서 for 브뤼셀. A query for the bare name so finds it with
//! its particles, yet never finds another word that merely contains it
//! (the form left must be the query's word, whole).

/// Calls `form` with each form of the normalised `word` without its
/// particles (not `word` itself; a form may come more than once).
pub(super) fn forms(word: &str, form: &mut impl FnMut(&str)) {
    match word.chars().next_back() {
        Some('\u{ac00}'..='\u{d7a3}') => korean(word, form),
        _ if word.starts_with(|c| ('\u{621}'..='\u{64a}').contains(&c)) => arabic(word, form),
        _ => {}
    }
}

/// Whether the normalised `word` may carry particles [`forms`] takes off.
pub(super) fn may_carry(word: &str) -> bool {
    matches!(word.chars().next_back(), Some('\u{ac00}'..='\u{d7a3}'))
        || word.starts_with(|c| ('\u{621}'..='\u{64a}').contains(&c))
}

const AND: [&str; 3] = ["", "و", "ف"];
const PREPOSITIONS: [&str; 4] = ["", "ب", "ك", "ل"];
const ARTICLE: &str = "ال";
/// Possessive and object pronouns, longest first.
const PRONOUNS: [&str; 10] = ["هما", "ها", "هم", "هن", "كم", "كن", "نا", "ه", "ك", "ي"];

fn letters(word: &str) -> usize {
    word.chars().count()
}

fn arabic(word: &str, form: &mut impl FnMut(&str)) {
    // The word and its forms without proclitics, each then also without a
    // pronoun: stems of two letters at least, three before a pronoun.
    let mut stems: Vec<String> = vec![word.to_string()];
    let add = |stem: &str, stems: &mut Vec<String>| {
        if letters(stem) >= 2 && !stems.iter().any(|s| s == stem) {
            stems.push(stem.to_string());
        }
    };
    for and in AND {
        let Some(rest) = word.strip_prefix(and) else {
            continue;
        };
        for preposition in PREPOSITIONS {
            let Some(rest) = rest.strip_prefix(preposition) else {
                continue;
            };
            add(rest, &mut stems);
            if let Some(bare) = rest.strip_prefix(ARTICLE) {
                add(bare, &mut stems);
            }
            // li- before the article writes one lam: للموصل is لـ + الموصل.
            if preposition == "ل"
                && let Some(bare) = rest.strip_prefix('ل')
            {
                add(&format!("{ARTICLE}{bare}"), &mut stems);
                add(bare, &mut stems);
            }
        }
    }
    let proclitic_forms = stems.len();
    for i in 0..proclitic_forms {
        for pronoun in PRONOUNS {
            let Some(base) = stems[i].strip_suffix(pronoun) else {
                continue;
            };
            if letters(base) < 3 {
                continue;
            }
            let base = base.to_string();
            add(&base, &mut stems);
            // Taa marbuta (folded to haa) is written taa before a pronoun:
            // مدينته is مدينة + ه.
            if let Some(noun) = base.strip_suffix('ت') {
                add(&format!("{noun}ه"), &mut stems);
            }
        }
    }
    for stem in &stems[1..] {
        form(stem);
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

fn korean(word: &str, form: &mut impl FnMut(&str)) {
    for particle in PARTICLES {
        if let Some(stem) = word.strip_suffix(particle)
            && !stem.is_empty()
        {
            form(stem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(word: &str) -> Vec<String> {
        let mut out = Vec::new();
        forms(word, &mut |f| out.push(f.to_string()));
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
        assert!(all("ولد").iter().all(|f| letters(f) >= 2));
        assert!(all("بروكسل").iter().all(|f| f != "بروكسل"));
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
