//! newswatch: polls news feeds, matches new articles against watch rules and
//! delivers alerts. See DESIGN.md for the pipeline: each stage is a folder,
//! and dependencies point one way: model → stages → config → daemon → cli.

pub mod model;

pub(crate) mod http;
pub(crate) mod metrics;

pub mod delivery;
pub mod ingest;
pub mod matching;
pub mod store;
pub mod stories;

pub mod config;

pub mod cli;
pub mod commands;
pub(crate) mod daemon;
pub(crate) mod pipeline;
pub(crate) mod serve;
