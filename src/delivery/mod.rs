//! Delivery: the durable outbox and what it sends alerts and digests through
//! (SMTP, sendmail, Maildir, webhooks, chat services), with digest timing and
//! quiet hours.

pub(crate) mod chat;
pub mod clock;
pub mod deliver;
pub(crate) mod destination;
pub(crate) mod email;
pub mod outbox;
pub(crate) mod timing;
pub(crate) mod webhook;
