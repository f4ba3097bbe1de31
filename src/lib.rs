//! newswatch: polls news feeds, matches new articles against watch rules and
//! delivers alerts. See DESIGN.md for the pipeline; each stage is a module.

pub mod alert;
pub mod article;
pub mod chat;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dates;
pub mod deliver;
pub mod diagnostic;
pub mod email;
pub mod encoding;
pub mod feed;
pub mod fetch;
pub mod html;
pub mod matcher;
pub mod outbox;
pub mod pipeline;
pub mod query;
pub mod rules;
pub mod schedule;
pub mod store;
pub mod text;
pub mod webhook;
