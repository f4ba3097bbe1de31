//! Integration tests: the real `newswatch` binary against real servers on
//! loopback (feeds over HTTP from wiremock, mail over SMTP to aiosmtpd).

mod check;
mod crash;
mod daemon;
mod delivery;
mod digest;
mod feed_errors;
mod feeds;
mod hostile;
mod inspect;
mod instances;
mod monitor;
mod outbox;
mod secrets;
mod service;
mod stories;
mod support;
mod test_rule;
mod websub;
