//! Delivery: the durable outbox and what it sends alerts and digests through
//! (SMTP, sendmail, Maildir, webhooks, chat services), with digest timing and
//! quiet hours.

pub(crate) mod chat;
pub mod clock;
pub mod deliver;
pub mod destination;
pub mod email;
pub mod outbox;
pub mod timing;
pub mod webhook;
