//! Matching: watch rules, from query text to one compiled matcher. Every
//! rule's query is compiled into one structure, so the cost per article
//! barely grows with the number of rules. One pass over the article's words
//! looks each up in a dictionary of all rule words (and prefixes); only the
//! queries anchored on a word that occurs are evaluated, plus the few that
//! cannot be anchored (pure negations, regexes, substring rules). Rules with
//! equal queries share one. Matches carry excerpts: passages with the
//! matched words as byte ranges.
//!
//! query (text → `Expr`) → rules (files → `Rule` with a `tree::Node`) →
//! compile (`RuleSet`) → eval (`RuleSet::matches`) → excerpt.

pub(crate) mod query;
pub mod rules;
pub mod text;

mod bloom;
mod clitics;
mod compile;
mod cost;
mod distinct;
mod document;
mod eval;
mod excerpt;
pub mod explain;
mod keys;
mod prefixes;
pub mod stems;
mod steps;
pub(crate) mod tree;

pub use compile::RuleSet;
pub use cost::{everyday_word_with_prefix, everyday_words, is_frequent};
pub use eval::{FeedRef, Match};

#[cfg(test)]
mod oracle;
#[cfg(test)]
mod script_tests;
#[cfg(test)]
mod tests;
