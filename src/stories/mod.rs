//! Stories: the articles of many outlets about one event, grouped, so that
//! a rule alerts once per story rather than once per outlet (issue 22; the
//! clustering is built and measured, not yet wired into alerts).

pub mod cluster;
pub mod features;

pub use cluster::{Assignment, Clusterer};
pub use features::Features;

#[cfg(test)]
mod corpus_tests;
