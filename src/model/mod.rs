//! The data model every stage shares: the `Article` the parser produces, the
//! `Alert` the matcher makes of it, and the located errors of config and rules.

pub mod alert;
pub mod article;
pub(crate) mod boundary;
pub(crate) mod diagnostic;
pub(crate) mod field;
pub mod story;
pub mod subscription;
