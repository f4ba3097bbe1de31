//! Stories: the articles of many outlets about one event, grouped, so that
//! a rule alerts once per story rather than once per outlet.

pub mod cluster;
pub mod features;
pub mod revision;
pub mod tracker;

pub use cluster::{Assignment, Clusterer};
pub use features::Features;
pub use tracker::{Placed, Stories};

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod update_tests;
