//! Configuration: the raw TOML as written (`RawConfig`), validated and built
//! once into [`Config`]. Every error is collected with its file:line:col.

use crate::delivery::deliver::ntfy_root_and_topic;
use crate::delivery::destination::{
    DestinationConfig, DestinationKind, HttpFormat, MailTransport, Secret, SmtpTls,
};
use crate::delivery::email::Templates;
use crate::delivery::outbox::RetryPolicy;
use crate::delivery::timing::{self, DigestSchedule, QuietHours};
use crate::delivery::webhook::SigningKey;
use crate::ingest::fetch::FetchConfig;
use crate::ingest::schedule::{FeedConfig, FirstPoll};
use crate::matching::RuleSet;
use crate::matching::rules;
use crate::model::diagnostic::{Diagnostic, Diagnostics, SourceFile, file_error};
use jiff::tz::TimeZone;
use lettre::message::Mailbox;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;
use url::Url;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/newswatch/newswatch.toml";

/// Bounds for every duration in the config: "15ms" meant as "15m" would poll
/// a feed back to back, and "300000 years" would overflow date arithmetic.
const MIN_DURATION: Duration = Duration::from_secs(1);
const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    state_dir: Option<Spanned<String>>,
    #[serde(default)]
    rules: Vec<Spanned<String>>,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    feed: Vec<RawFeed>,
    #[serde(default)]
    destination: BTreeMap<String, RawDestination>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    interval: Option<Spanned<String>>,
    first_poll: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
    max_body_bytes: Option<u64>,
    user_agent: Option<String>,
    allow_private_redirects: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    retry_initial: Option<Spanned<String>>,
    retry_max: Option<Spanned<String>>,
    give_up_after: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeed {
    name: Spanned<String>,
    url: Spanned<String>,
    #[serde(default)]
    tags: Vec<String>,
    interval: Option<Spanned<String>>,
    first_poll: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    kind: Spanned<String>,
    // email
    smtp: Option<Spanned<String>>,
    from: Option<Spanned<String>>,
    #[serde(default)]
    to: Vec<Spanned<String>>,
    username: Option<String>,
    password_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    sendmail_path: Option<String>,
    timeout: Option<Spanned<String>>,
    // email and maildir
    templates: Option<Spanned<String>>,
    // maildir
    path: Option<String>,
    // webhook and chat services
    url: Option<Spanned<String>>,
    secret_file: Option<Spanned<String>>,
    secret_env: Option<Spanned<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    // every kind
    concurrency: Option<Spanned<i64>>,
    rate_limit: Option<Spanned<String>>,
    timezone: Option<Spanned<String>>,
    quiet_hours: Option<Spanned<String>>,
}

/// What a feed gets when it does not say (`[defaults]`).
#[derive(Debug, Clone)]
struct FeedDefaults {
    interval: Duration,
    first_poll: FirstPoll,
}

/// The validated configuration with rules compiled.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub state_dir: PathBuf,
    pub fetch: FetchConfig,
    /// The longest a failing feed waits between polls.
    pub max_backoff: Duration,
    pub retry: RetryPolicy,
    pub feeds: Vec<FeedConfig>,
    pub destinations: BTreeMap<String, DestinationConfig>,
    /// Shared with the pipeline: a million compiled rules are not copied.
    pub rules: Arc<RuleSet>,
    pub rule_files: Vec<PathBuf>,
}

impl Config {
    /// The rules delivered in digests, with their schedules, by rule name.
    pub fn digests(&self) -> HashMap<String, DigestSchedule> {
        self.rules
            .rules()
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.digest.clone()?)))
            .collect()
    }

    /// Reads and validates the config file and every rule file it names.
    pub fn load(path: &Path) -> Result<Config, Diagnostics> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Diagnostics(vec![file_error(path, format!("cannot read: {e}"))]))?;
        Config::parse(path, &text)
    }

    /// Validates config text; rule files are read relative to `path`'s directory.
    pub fn parse(path: &Path, text: &str) -> Result<Config, Diagnostics> {
        let source = SourceFile { path, text };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| Diagnostics(vec![source.toml_error(&e)]))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut errors = Vec::new();

        let (feed_defaults, fetch, max_backoff) =
            build_defaults(&source, raw.defaults, &mut errors);
        let fallback = RetryPolicy::default();
        let retry = RetryPolicy {
            initial: duration(&source, raw.delivery.retry_initial.as_ref(), &mut errors)
                .unwrap_or(fallback.initial),
            max: duration(&source, raw.delivery.retry_max.as_ref(), &mut errors)
                .unwrap_or(fallback.max),
            give_up_after: duration(&source, raw.delivery.give_up_after.as_ref(), &mut errors)
                .unwrap_or(fallback.give_up_after),
        };
        let state_dir = base.join(raw.state_dir.as_ref().map_or("state", |s| s.get_ref()));
        let feeds = build_feeds(&source, base, raw.feed, &feed_defaults, &mut errors);
        // Rules may name a destination that has errors of its own: report those
        // errors once, not again as "unknown destination" in every rule.
        let declared: HashSet<String> = raw.destination.keys().cloned().collect();
        let mut destinations = BTreeMap::new();
        for (name, raw_dest) in raw.destination {
            if let Some(dest) =
                build_destination(&source, base, &state_dir, &name, raw_dest, &mut errors)
            {
                destinations.insert(name, dest);
            }
        }

        let rule_files = expand_rule_globs(&source, base, &raw.rules, &mut errors);
        let mut rule_texts = Vec::new();
        for file in &rule_files {
            match std::fs::read_to_string(file) {
                Ok(text) => rule_texts.push((file.clone(), text)),
                Err(e) => errors.push(file_error(file, format!("cannot read rule file: {e}"))),
            }
        }
        let parsed = rules::parse_rule_files(&rule_texts);
        errors.extend(parsed.errors);
        for r in parsed.notify_refs {
            if !declared.contains(&r.destination) {
                errors.push(Diagnostic {
                    message: format!(
                        "rule {:?} notifies unknown destination {:?}",
                        r.rule, r.destination
                    ),
                    ..r.at
                });
            }
        }
        let rules = parsed.rules;

        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        Ok(Config {
            path: path.to_path_buf(),
            state_dir,
            fetch,
            max_backoff,
            retry,
            feeds,
            destinations,
            rules: Arc::new(RuleSet::new(rules)),
            rule_files,
        })
    }
}

/// The feeds' defaults, how feeds are fetched, and the longest backoff.
fn build_defaults(
    source: &SourceFile,
    raw: RawDefaults,
    errors: &mut Vec<Diagnostic>,
) -> (FeedDefaults, FetchConfig, Duration) {
    let fetch = FetchConfig::default();
    let feeds = FeedDefaults {
        interval: duration(source, raw.interval.as_ref(), errors)
            .unwrap_or(Duration::from_secs(15 * 60)),
        first_poll: first_poll(source, raw.first_poll.as_ref(), errors).unwrap_or(FirstPoll::Quiet),
    };
    let fetch = FetchConfig {
        timeout: duration(source, raw.timeout.as_ref(), errors).unwrap_or(fetch.timeout),
        max_body_bytes: raw.max_body_bytes.unwrap_or(fetch.max_body_bytes),
        user_agent: raw.user_agent.unwrap_or(fetch.user_agent),
        allow_private_redirects: raw
            .allow_private_redirects
            .unwrap_or(fetch.allow_private_redirects),
    };
    let max_backoff =
        duration(source, raw.max_backoff.as_ref(), errors).unwrap_or(Duration::from_secs(6 * 3600));
    (feeds, fetch, max_backoff)
}

fn build_feeds(
    source: &SourceFile,
    base: &Path,
    raw: Vec<RawFeed>,
    defaults: &FeedDefaults,
    errors: &mut Vec<Diagnostic>,
) -> Vec<FeedConfig> {
    let mut names = HashSet::new();
    let mut feeds = Vec::new();
    for f in raw {
        let name = f.name.get_ref().trim().to_string();
        if name.is_empty() {
            errors.push(source.error_in(&f.name.span(), "feed name is empty"));
        } else if !names.insert(name.clone()) {
            errors.push(source.error_in(&f.name.span(), format!("duplicate feed name {name:?}")));
        }
        let url = feed_url(base, f.url.get_ref())
            .map_err(|msg| errors.push(source.error_in(&f.url.span(), msg)))
            .ok();
        let interval = duration(source, f.interval.as_ref(), errors).unwrap_or(defaults.interval);
        let first_poll =
            first_poll(source, f.first_poll.as_ref(), errors).unwrap_or(defaults.first_poll);
        if let Some(url) = url {
            feeds.push(FeedConfig {
                name,
                url,
                tags: f.tags,
                interval,
                first_poll,
            });
        }
    }
    feeds
}

/// http(s) URLs as written; `file://` URLs relative to the config directory.
fn feed_url(base: &Path, text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("invalid feed URL {text:?}: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        "file" => {
            // `file://feeds/x.xml` is read as a path relative to the config file.
            let rest = text.trim().trim_start_matches("file://");
            let path = if rest.starts_with('/') {
                PathBuf::from(rest)
            } else {
                std::path::absolute(base.join(rest))
                    .map_err(|e| format!("bad path {rest:?}: {e}"))?
            };
            Url::from_file_path(&path).map_err(|()| format!("bad file path {rest:?}"))
        }
        other => Err(format!(
            "unsupported URL scheme {other:?} in {text:?} (use http, https or file)"
        )),
    }
}

fn build_destination(
    source: &SourceFile,
    base: &Path,
    state_dir: &Path,
    name: &str,
    raw: RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<DestinationConfig> {
    let before = errors.len();
    for key in inapplicable_keys(&raw) {
        errors.push(source.error_in(
            &raw.kind.span(),
            format!(
                "destination {name:?}: `{key}` does not apply to kind {:?}",
                raw.kind.get_ref()
            ),
        ));
    }
    let kind = destination_kind(source, base, state_dir, name, &raw, errors);
    let timezone = match &raw.timezone {
        Some(tz) => timing::time_zone(tz.get_ref())
            .map_err(|e| errors.push(source.error_in(&tz.span(), e)))
            .unwrap_or(TimeZone::UTC),
        None => TimeZone::system(),
    };
    let quiet_hours = raw.quiet_hours.as_ref().and_then(|q| {
        QuietHours::parse(q.get_ref())
            .map_err(|e| errors.push(source.error_in(&q.span(), e)))
            .ok()
    });
    let concurrency = match &raw.concurrency {
        Some(n) if (1..=64).contains(n.get_ref()) => *n.get_ref() as usize,
        Some(n) => {
            errors.push(source.error_in(&n.span(), "concurrency must be between 1 and 64"));
            1
        }
        // Mail and webhooks take a few at once; chat services want one at a time.
        None => match &kind {
            Some(DestinationKind::Email { .. }) => 2,
            Some(DestinationKind::Http {
                format: HttpFormat::Webhook { .. },
                ..
            }) => 4,
            _ => 1,
        },
    };
    let min_interval = match &raw.rate_limit {
        Some(rate) => rate_limit(rate.get_ref())
            .map_err(|e| errors.push(source.error_in(&rate.span(), e)))
            .unwrap_or(None),
        None => match &kind {
            Some(DestinationKind::Http { format, .. }) => format.default_min_interval(),
            _ => None,
        },
    };
    if errors.len() > before {
        return None;
    }
    Some(DestinationConfig {
        kind: kind?,
        timezone,
        quiet_hours,
        concurrency,
        min_interval,
    })
}

fn destination_kind(
    source: &SourceFile,
    base: &Path,
    state_dir: &Path,
    name: &str,
    raw: &RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<DestinationKind> {
    let kind_span = raw.kind.span();
    let templates = |errors: &mut Vec<Diagnostic>| match &raw.templates {
        Some(dir) => Templates::load(&base.join(dir.get_ref()))
            .map_err(|e| errors.push(source.error_in(&dir.span(), e)))
            .ok(),
        None => Some(Templates::default()),
    };
    let http_format = match raw.kind.get_ref().as_str() {
        "email" => {
            let transport = match &raw.smtp {
                None => {
                    errors.push(source.error_in(
                        &kind_span,
                        format!("destination {name:?}: email needs `smtp`"),
                    ));
                    None
                }
                Some(smtp) => mail_transport(source, base, raw, smtp, errors),
            };
            let from = match &raw.from {
                None => {
                    errors.push(source.error_in(
                        &kind_span,
                        format!("destination {name:?}: email needs `from`"),
                    ));
                    None
                }
                Some(from) => mailbox(source, from, errors),
            };
            if raw.to.is_empty() {
                errors.push(source.error_in(
                    &kind_span,
                    format!("destination {name:?}: email needs `to`"),
                ));
            }
            let to: Vec<Mailbox> = raw
                .to
                .iter()
                .filter_map(|t| mailbox(source, t, errors))
                .collect();
            let timeout =
                duration(source, raw.timeout.as_ref(), errors).unwrap_or(Duration::from_secs(60));
            let templates = templates(errors);
            return Some(DestinationKind::Email {
                transport: transport?,
                from: from?,
                to,
                timeout,
                templates: templates?,
            });
        }
        "maildir" => {
            let templates = templates(errors)?;
            return Some(DestinationKind::Maildir {
                path: raw
                    .path
                    .as_deref()
                    .map_or_else(|| state_dir.join("maildir").join(name), |p| base.join(p)),
                templates,
            });
        }
        // A bad secret is reported along with any other error of this block.
        "webhook" => {
            webhook_secret(source, base, raw, errors).map(|secret| HttpFormat::Webhook { secret })
        }
        "slack" => Some(HttpFormat::Slack),
        "discord" => Some(HttpFormat::Discord),
        "teams" => Some(HttpFormat::Teams),
        "ntfy" => Some(HttpFormat::Ntfy),
        other => {
            errors.push(source.error_in(
                &kind_span,
                format!(
                    "destination {name:?}: unknown kind {other:?} (expected email, maildir, \
                     webhook, slack, discord, teams or ntfy)"
                ),
            ));
            return None;
        }
    };
    let Some(url_text) = &raw.url else {
        errors.push(source.error_in(
            &kind_span,
            format!("destination {name:?}: {} needs `url`", raw.kind.get_ref()),
        ));
        return None;
    };
    let url = match Url::parse(url_text.get_ref()) {
        Ok(url)
            if http_format
                .as_ref()
                .is_some_and(|f| matches!(f, HttpFormat::Ntfy))
                && ntfy_root_and_topic(&url).1.is_empty() =>
        {
            errors.push(source.error_in(
                &url_text.span(),
                "an ntfy URL ends with the topic, e.g. https://ntfy.sh/newsroom-alerts",
            ));
            return None;
        }
        Ok(url) if matches!(url.scheme(), "http" | "https") => url,
        Ok(url) => {
            errors.push(source.error_in(
                &url_text.span(),
                format!(
                    "unsupported URL scheme {:?} (use http or https)",
                    url.scheme()
                ),
            ));
            return None;
        }
        Err(e) => {
            errors.push(source.error_in(&url_text.span(), format!("invalid URL: {e}")));
            return None;
        }
    };
    let mut headers = Vec::new();
    for (header, value) in &raw.headers {
        let valid_name = reqwest::header::HeaderName::from_bytes(header.as_bytes()).is_ok();
        let valid_value = reqwest::header::HeaderValue::from_str(value.get_ref()).is_ok();
        if !valid_name || !valid_value {
            errors.push(source.error_in(
                &value.span(),
                format!("invalid HTTP header {header:?} (name or value)"),
            ));
        } else {
            headers.push((header.clone(), value.get_ref().clone()));
        }
    }
    let timeout = duration(source, raw.timeout.as_ref(), errors).unwrap_or(Duration::from_secs(30));
    Some(DestinationKind::Http {
        format: http_format?,
        url,
        headers,
        timeout,
    })
}

/// Keys set on a destination whose kind does not use them: a `secret_file`
/// on a Slack destination is a mistake to report, not to ignore.
fn inapplicable_keys(raw: &RawDestination) -> Vec<&'static str> {
    let kind = raw.kind.get_ref().as_str();
    let http = matches!(kind, "webhook" | "slack" | "discord" | "teams" | "ntfy");
    let keys = [
        ("smtp", raw.smtp.is_some(), kind == "email"),
        ("from", raw.from.is_some(), kind == "email"),
        ("to", !raw.to.is_empty(), kind == "email"),
        ("username", raw.username.is_some(), kind == "email"),
        (
            "password_file",
            raw.password_file.is_some(),
            kind == "email",
        ),
        ("password_env", raw.password_env.is_some(), kind == "email"),
        (
            "sendmail_path",
            raw.sendmail_path.is_some(),
            kind == "email",
        ),
        ("timeout", raw.timeout.is_some(), kind != "maildir"),
        (
            "templates",
            raw.templates.is_some(),
            matches!(kind, "email" | "maildir"),
        ),
        ("path", raw.path.is_some(), kind == "maildir"),
        ("url", raw.url.is_some(), http),
        ("headers", !raw.headers.is_empty(), http),
        ("secret_file", raw.secret_file.is_some(), kind == "webhook"),
        ("secret_env", raw.secret_env.is_some(), kind == "webhook"),
    ];
    let known = matches!(kind, "email" | "maildir") || http;
    keys.into_iter()
        .filter(|&(_, set, applies)| known && set && !applies)
        .map(|(key, _, _)| key)
        .collect()
}

/// Where a secret was read from.
enum SecretFrom {
    File,
    Env,
}

/// A secret from `<key>_file` (a path relative to the config) or `<key>_env`
/// (an environment variable), with where it was named: `Ok(None)` when
/// neither is set, `Err(())` once the error is pushed.
fn read_secret(
    source: &SourceFile,
    base: &Path,
    key: &str,
    file: &Option<Spanned<String>>,
    env: &Option<Spanned<String>>,
    errors: &mut Vec<Diagnostic>,
) -> Result<Option<(String, std::ops::Range<usize>, SecretFrom)>, ()> {
    match (file, env) {
        (Some(_), Some(var)) => {
            errors.push(source.error_in(
                &var.span(),
                format!("set either {key}_file or {key}_env, not both"),
            ));
            Err(())
        }
        (Some(file), None) => {
            let path = base.join(file.get_ref());
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some((text, file.span(), SecretFrom::File))),
                Err(e) => {
                    errors.push(source.error_in(
                        &file.span(),
                        format!("cannot read {key}_file {}: {e}", path.display()),
                    ));
                    Err(())
                }
            }
        }
        (None, Some(var)) => match std::env::var(var.get_ref()) {
            Ok(text) => Ok(Some((text, var.span(), SecretFrom::Env))),
            Err(_) => {
                errors.push(source.error_in(
                    &var.span(),
                    format!("environment variable {} is not set", var.get_ref()),
                ));
                Err(())
            }
        },
        (None, None) => Ok(None),
    }
}

/// `secret_file` or `secret_env` holding `whsec_<base64>`; `Some(None)` when
/// the webhook is unsigned.
fn webhook_secret(
    source: &SourceFile,
    base: &Path,
    raw: &RawDestination,
    errors: &mut Vec<Diagnostic>,
) -> Option<Option<SigningKey>> {
    let Some((text, span, _)) = read_secret(
        source,
        base,
        "secret",
        &raw.secret_file,
        &raw.secret_env,
        errors,
    )
    .ok()?
    else {
        return Some(None);
    };
    let text = text.trim();
    match SigningKey::parse(text) {
        Ok(key) => Some(Some(key)),
        Err(e) => {
            errors.push(source.error_in(&span, e));
            None
        }
    }
}

/// `"1/s"`, `"30/min"`, `"100/h"` or `"none"` as the least time between sends.
fn rate_limit(text: &str) -> Result<Option<Duration>, String> {
    if text.trim() == "none" {
        return Ok(None);
    }
    let invalid = || format!("invalid rate_limit {text:?} (e.g. \"1/s\", \"30/min\", \"none\")");
    let (count, unit) = text.split_once('/').ok_or_else(invalid)?;
    let count: u32 = count.trim().parse().map_err(|_| invalid())?;
    let unit = match unit.trim() {
        "s" | "sec" | "second" => 1,
        "m" | "min" | "minute" => 60,
        "h" | "hour" => 3600,
        _ => return Err(invalid()),
    };
    if count == 0 {
        return Err(invalid());
    }
    Ok(Some(Duration::from_secs(unit) / count))
}

fn mail_transport(
    source: &SourceFile,
    base: &Path,
    raw: &RawDestination,
    smtp: &Spanned<String>,
    errors: &mut Vec<Diagnostic>,
) -> Option<MailTransport> {
    if smtp.get_ref() == "sendmail" {
        return Some(MailTransport::Sendmail {
            path: raw.sendmail_path.as_ref().map(PathBuf::from),
        });
    }
    let url = match Url::parse(smtp.get_ref()) {
        Ok(url) => url,
        Err(e) => {
            errors.push(source.error_in(&smtp.span(), format!("invalid smtp URL: {e}")));
            return None;
        }
    };
    if url.password().is_some() {
        errors.push(source.error_in(
            &smtp.span(),
            "a password may not be written in the config: use password_file or password_env",
        ));
        return None;
    }
    let tls_required = url
        .query_pairs()
        .any(|(k, v)| k == "tls" && v == "required");
    let (tls, default_port) = match url.scheme() {
        "smtp" if tls_required => (SmtpTls::Required, 587),
        "smtp" => (SmtpTls::Opportunistic, 25),
        "smtps" => (SmtpTls::Implicit, 465),
        other => {
            errors.push(source.error_in(
                &smtp.span(),
                format!(
                    "unsupported mail scheme {other:?} (use smtp://, smtps:// or \"sendmail\")"
                ),
            ));
            return None;
        }
    };
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        errors.push(source.error_in(&smtp.span(), "smtp URL has no host"));
        return None;
    };
    let password = read_secret(
        source,
        base,
        "password",
        &raw.password_file,
        &raw.password_env,
        errors,
    )
    .ok()?
    .map(|(text, _, from)| match from {
        // A file's trailing newline is not part of the password.
        SecretFrom::File => Secret::new(text.trim_end_matches(['\r', '\n']).to_string()),
        SecretFrom::Env => Secret::new(text),
    });
    // `smtp://alerts%40example.org@host`: the URL form of the name is encoded.
    let url_user = percent_encoding::percent_decode_str(url.username())
        .decode_utf8_lossy()
        .into_owned();
    let user = raw
        .username
        .clone()
        .or_else(|| Some(url_user).filter(|u| !u.is_empty()));
    let credentials = match (user, password) {
        (Some(user), Some(password)) => Some((user, password)),
        (None, None) => None,
        _ => {
            errors.push(source.error_in(
                &smtp.span(),
                "SMTP login needs both `username` and a password (password_file or password_env)",
            ));
            return None;
        }
    };
    Some(MailTransport::Smtp {
        host: host.to_string(),
        port: url.port().unwrap_or(default_port),
        tls,
        credentials,
    })
}

fn mailbox(
    source: &SourceFile,
    text: &Spanned<String>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Mailbox> {
    text.get_ref()
        .parse()
        .map_err(|e| {
            errors.push(source.error_in(
                &text.span(),
                format!("invalid address {:?}: {e}", text.get_ref()),
            ))
        })
        .ok()
}

fn duration(
    source: &SourceFile,
    text: Option<&Spanned<String>>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let text = text?;
    match humantime::parse_duration(text.get_ref()) {
        Ok(d) if (MIN_DURATION..=MAX_DURATION).contains(&d) => Some(d),
        Ok(_) => {
            errors.push(source.error_in(&text.span(), "duration must be between 1s and 365days"));
            None
        }
        Err(e) => {
            errors.push(source.error_in(
                &text.span(),
                format!(
                    "invalid duration {:?}: {e} (e.g. \"90s\", \"15m\", \"1h\")",
                    text.get_ref()
                ),
            ));
            None
        }
    }
}

fn first_poll(
    source: &SourceFile,
    text: Option<&Spanned<String>>,
    errors: &mut Vec<Diagnostic>,
) -> Option<FirstPoll> {
    let text = text?;
    match text.get_ref().as_str() {
        "quiet" => Some(FirstPoll::Quiet),
        "alert" => Some(FirstPoll::Alert),
        other => {
            errors.push(source.error_in(
                &text.span(),
                format!("first_poll must be \"quiet\" or \"alert\", not {other:?}"),
            ));
            None
        }
    }
}

fn expand_rule_globs(
    source: &SourceFile,
    base: &Path,
    globs: &[Spanned<String>],
    errors: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for pattern in globs {
        let full = base.join(pattern.get_ref());
        match glob::glob(&full.to_string_lossy()) {
            Ok(paths) => {
                let before = files.len();
                for path in paths {
                    match path {
                        Ok(path) => files.push(path),
                        Err(e) => errors
                            .push(source.error_in(&pattern.span(), format!("cannot read {e}"))),
                    }
                }
                // A typo in the glob would otherwise leave no rules in force, silently.
                if files.len() == before {
                    errors.push(source.error_in(
                        &pattern.span(),
                        format!("{} matches no files", full.display()),
                    ));
                }
            }
            Err(e) => errors.push(source.error_in(&pattern.span(), format!("invalid glob: {e}"))),
        }
    }
    files.sort();
    files.dedup();
    files
}
