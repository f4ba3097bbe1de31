//! Cutting text at a character boundary: for excerpts, chat messages,
//! quoted source lines and sniffed feed heads.

/// The largest char boundary of `text` at or below `i` (clamped to its length).
pub(crate) fn floor_char_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}
