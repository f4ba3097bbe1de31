//! The compiled form of a query: a run of u32 words (steps) in one array,
//! how a tree is written into it, and how it is read back.

use super::tree::{LeafKind, Node, leaf_len};
use crate::model::field::FieldSet;

/// A compiled query is a run of u32 words, in pre-order. An operator word
/// holds its kind in the top bits and the length in words of its whole
/// subtree below them; its operands follow it (for NEAR, after two more
/// words: the left side's length and the distance). A leaf word is the
/// leaf's id. The words of a query, its other words and its rules sit side
/// by side in one array: evaluating it touches a cache line or two, not a
/// tree of boxes.
pub(super) const KIND_SHIFT: u32 = 29;
pub(super) const LEN_MASK: u32 = (1 << KIND_SHIFT) - 1;
pub(super) const LEAF: u32 = 0;
pub(super) const AND: u32 = 1;
pub(super) const OR: u32 = 2;
pub(super) const NOT: u32 = 3;
pub(super) const NEAR: u32 = 4;
/// A one-word leaf compared without case (most leaves: a name, a place),
/// with what finding it takes inline: the leaf id, then its dictionary id,
/// then its fields (top 8 bits) and rank. Evaluating it reads no `Leaf`.
pub(super) const WORD: u32 = 5;
pub(super) const WORD_LEN: usize = 3;
pub(super) const RANK_MASK: u32 = (1 << 24) - 1;
/// A phrase compared without case (`"Al Shabab"`), inline likewise: the
/// leaf id, its anchor word's dictionary id, its fields and rank as for
/// WORD, then the number of words its phrase part takes, which are each
/// word's length in bytes and its bytes, four to a word. Checking the words
/// around an anchor reads no `Leaf` and no heap string.
pub(super) const PHRASE: u32 = 6;
/// PHRASE's words before its phrase part.
pub(super) const PHRASE_HEAD: usize = 4;

#[inline]
pub(super) fn kind(word: u32) -> u32 {
    word >> KIND_SHIFT
}

/// Words in the subtree that starts `steps`.
#[inline]
pub(super) fn subtree_len(steps: &[u32]) -> usize {
    match kind(steps[0]) {
        LEAF => 1,
        WORD => WORD_LEN,
        PHRASE => PHRASE_HEAD + steps[3] as usize,
        _ => (steps[0] & LEN_MASK) as usize,
    }
}

#[inline]
pub(super) fn is_leaf(word: u32) -> bool {
    matches!(kind(word), LEAF | WORD | PHRASE)
}

/// Appends a word's length and bytes, four to a u32.
pub(super) fn pack_word(word: &str, out: &mut Vec<u32>) {
    out.push(word.len() as u32);
    for chunk in word.as_bytes().chunks(4) {
        let mut four = [0u8; 4];
        four[..chunk.len()].copy_from_slice(chunk);
        out.push(u32::from_le_bytes(four));
    }
}

/// Whether `word` is the word packed at the start of `packed`; returns the
/// rest of `packed` after it.
#[inline]
pub(super) fn unpack_eq<'p>(word: &str, packed: &'p [u32]) -> (bool, &'p [u32]) {
    let len = packed[0] as usize;
    let (bytes, rest) = packed[1..].split_at(len.div_ceil(4));
    let same = word.len() == len
        && word.as_bytes().chunks(4).zip(bytes).all(|(chunk, &held)| {
            let mut four = [0u8; 4];
            four[..chunk.len()].copy_from_slice(chunk);
            u32::from_le_bytes(four) == held
        });
    (same, rest)
}

/// Words before an operator's operands.
#[inline]
pub(super) fn operands_at(word: u32) -> usize {
    if kind(word) == NEAR { 3 } else { 1 }
}

/// The leaf ids in a query's steps.
pub(super) fn step_leaves(steps: &[u32]) -> impl Iterator<Item = u32> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < steps.len() {
            let word = steps[at];
            if is_leaf(word) {
                at += subtree_len(&steps[at..]);
                return Some(word & LEN_MASK);
            }
            at += operands_at(word);
        }
        None
    })
}

/// Appends `node`'s words to `program` (its leaves must have their ids).
pub(super) fn compile(node: &Node, program: &mut Vec<u32>) {
    let at = program.len();
    let kind = match node {
        Node::Leaf(leaf) => {
            let fields = u32::from(leaf.fields.0) << 24 | leaf.rank.min(RANK_MASK);
            return match (&leaf.kind, leaf.anchor) {
                // A stemmed leaf's words are checked (`words_at`): no inline form.
                _ if leaf.stem.is_some() => program.push(leaf.id),
                (_, Some((id, _))) if leaf_len(leaf) == 1 && !leaf.case_sensitive => {
                    program.extend([WORD << KIND_SHIFT | leaf.id, id, fields])
                }
                (
                    LeafKind::Words {
                        words,
                        prefix: false,
                        ..
                    },
                    Some((id, offset)),
                ) if !leaf.case_sensitive => {
                    program.extend([PHRASE << KIND_SHIFT | leaf.id, id, fields, 0]);
                    let from = program.len();
                    for word in words {
                        pack_word(word, program);
                    }
                    program[at + 3] = (program.len() - from) as u32;
                    // The anchor's place in the phrase, after the words.
                    program.push(offset as u32);
                    program[at + 3] += 1;
                }
                _ => program.push(leaf.id),
            };
        }
        Node::And(parts) | Node::Or(parts) => {
            program.push(0);
            parts.iter().for_each(|p| compile(p, program));
            if matches!(node, Node::And(_)) {
                AND
            } else {
                OR
            }
        }
        Node::Not(inner) => {
            program.push(0);
            compile(inner, program);
            NOT
        }
        Node::Near {
            left,
            right,
            distance,
        } => {
            program.extend([0, 0, *distance]);
            compile(left, program);
            program[at + 1] = (program.len() - at - 3) as u32;
            compile(right, program);
            NEAR
        }
    };
    program[at] = kind << KIND_SHIFT | (program.len() - at) as u32;
}

/// The fields of a WORD or PHRASE step.
#[inline]
pub(super) fn steps_fields(steps: &[u32]) -> FieldSet {
    FieldSet((steps[2] >> 24) as u8)
}
