//! Excerpts: up to three passages around the rarest matched terms, with the
//! matched words marked. Text fields are quoted first; a match in a
//! metadata field (author, category, feed, link) quotes the entry that
//! matched, so that every match shows what it matched on.

use super::document::{Document, FieldText, Hit};
use super::text::is_unspaced;
use crate::model::alert::Excerpt;
use crate::model::field::Field;
use std::ops::Range;
use std::sync::Arc;

/// Words of context in one excerpt.
pub(super) const EXCERPT_WORDS: usize = 30;
/// Words shown before the first matched word of an excerpt.
pub(super) const LEAD_WORDS: usize = 10;
pub(super) const MAX_EXCERPTS: usize = 3;

/// Keeps the hits that excerpts show, in order (title first), once each.
pub(super) fn excerpt_hits(hits: &mut Vec<Hit>) {
    hits.retain(|h| h.start < h.end);
    // The whole hit as the key: equal hits end up side by side.
    hits.sort_unstable_by_key(|h| (h.field, h.start, h.end, h.rank));
    hits.dedup();
}

/// Cuts up to three excerpts around `hits` (from [`excerpt_hits`]);
/// `by_rank` is room to sort them in, kept between calls.
pub(super) fn excerpts(doc: &Document, hits: &[Hit], by_rank: &mut Vec<Hit>) -> Arc<[Excerpt]> {
    let mut out: [Option<Excerpt>; MAX_EXCERPTS] = Default::default();
    let mut windows: [(usize, usize, usize); MAX_EXCERPTS] = Default::default();
    let mut made = 0;
    // Windows go around the rarest terms first ("Zaventem", not every
    // "attack" of a long article); every hit inside a window is marked.
    by_rank.clear();
    by_rank.extend_from_slice(hits);
    by_rank.sort_unstable_by_key(|h| (h.field, h.rank, h.start, h.end));
    let inside = |(f, start, end): (usize, usize, usize), h: &Hit| {
        h.field() == f && start <= h.start as usize && h.end as usize <= end
    };
    for hit in by_rank.iter() {
        if made == MAX_EXCERPTS {
            break;
        }
        if windows[..made].iter().any(|&w| inside(w, hit)) {
            continue;
        }
        let field = &doc.fields[hit.field()];
        // Passages are cut from the text; metadata is quoted an entry at a time.
        let (start, end) = if !Field::ALL[hit.field()].is_metadata() {
            let per_word = tokens_per_word(field, hit.tokens().start);
            let start = hit.tokens().start.saturating_sub(LEAD_WORDS * per_word);
            let end = (start + EXCERPT_WORDS * per_word)
                .max(hit.tokens().end)
                .min(field.tokens.len());
            (start, end)
        } else {
            entry_around(field, hit.tokens())
        };
        let window = (hit.field(), start, end);
        let in_window = hits.iter().filter(|h| inside(window, h));
        out[made] = Some(cut(Field::ALL[hit.field()], field, start..end, in_window));
        windows[made] = window;
        made += 1;
    }
    if made == 0 {
        // Nothing to mark (`-football`: a match on what is absent): the
        // article's first words say what it was.
        let first = doc
            .fields
            .iter()
            .enumerate()
            .find(|(_, f)| !f.tokens.is_empty());
        if let Some((i, field)) = first {
            let window = match !Field::ALL[i].is_metadata() {
                true => 0..(EXCERPT_WORDS * tokens_per_word(field, 0)).min(field.tokens.len()),
                false => {
                    let (start, end) = entry_around(field, 0..1);
                    start..end
                }
            };
            out[0] = Some(cut(Field::ALL[i], field, window, [].iter()));
        }
    }
    // Title first, then the most telling passage: the order they were cut in.
    out.into_iter().flatten().collect()
}

/// Tokens to a word around token `at`: a pair of characters (Chinese,
/// Japanese, Thai) is about half a word, so twice as many make a passage as
/// long as elsewhere.
fn tokens_per_word(field: &FieldText, at: usize) -> usize {
    match field.tokens.word(at).chars().next() {
        Some(c) if is_unspaced(c) => 2,
        _ => 1,
    }
}

/// The tokens of the entry (one author, one category: a line of the joined
/// field) that holds `tokens`.
fn entry_around(field: &FieldText, tokens: Range<usize>) -> (usize, usize) {
    let all = &field.tokens.tokens;
    let line = line_around(&field.text, all[tokens.start].span().start);
    let start = all[..tokens.start].partition_point(|t| t.span().start < line.start);
    let end = tokens.end + all[tokens.end..].partition_point(|t| t.span().start < line.end);
    (start, end)
}

/// The line of `text` (an entry of a joined metadata field) around byte `at`.
fn line_around(text: &str, at: usize) -> Range<usize> {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    start..end
}

/// The text of tokens `window` of `field`, with "…" where it was cut.
pub(super) fn cut<'h>(
    name: Field,
    field: &FieldText,
    window: Range<usize>,
    hits: impl Iterator<Item = &'h Hit>,
) -> Excerpt {
    let tokens = &field.tokens.tokens;
    // A metadata entry is quoted whole, without "…": the entry's own line.
    let entry = name.is_metadata();
    let from = match window.start {
        _ if entry => line_around(&field.text, tokens[window.start].span().start).start,
        0 => 0,
        start => tokens[start].span().start,
    };
    let to = match window.end {
        _ if entry => line_around(&field.text, tokens[window.end - 1].span().start).end,
        end if end == tokens.len() => field.text.len(),
        end => tokens[end - 1].span().end,
    };
    let lead = if from > 0 && !entry { "…" } else { "" };
    let body = field.text[from..to].trim_end();
    let mut text = String::with_capacity(lead.len() + body.len() + "…".len());
    text.push_str(lead);
    text.push_str(body);
    let mut spans: Vec<(usize, usize)> = hits
        .map(|h| {
            let start = tokens[h.tokens().start].span().start - from + lead.len();
            let end = tokens[h.tokens().end - 1].span().end - from + lead.len();
            (start, end.min(text.len()))
        })
        .collect();
    // Overlapping hits (a phrase and one of its words) become one span.
    spans.sort_unstable();
    spans.dedup_by(|next, kept| {
        let overlaps = next.0 <= kept.1;
        if overlaps {
            kept.1 = kept.1.max(next.1);
        }
        overlaps
    });
    if to < field.text.len() && !entry {
        text.push('…');
    }
    Excerpt {
        field: name,
        text,
        spans,
    }
}
