//! Ingest: from a feed's URL to `Article`s. Fetching (HTTP with conditional
//! requests and limits), then parsing in any encoding, with dates and HTML
//! read the way feeds really write them.

pub(crate) mod dates;
mod ebcdic;
pub(crate) mod encoding;
pub mod feed;
pub(crate) mod fetch;
pub mod health;
pub mod html;
pub mod network;
pub(crate) mod schedule;
pub mod websub;
