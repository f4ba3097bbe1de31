//! Command line: parses arguments and runs the chosen command. Returns
//! `anyhow` errors with context; only `main` prints them.

use crate::commands::{feed_list, store_admin};
use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::daemon::{self, Control};
use crate::http::redact;
use crate::ingest::feed;
use crate::ingest::fetch::{FetchConfig, Fetched, Fetcher, Validators};
use crate::ingest::network::origin;
use crate::matching::RuleSet;
use crate::matching::rules;
use crate::matching::stems::Language;
use crate::model::alert::Excerpt;
use crate::model::article::Article;
use crate::model::diagnostic::{Diagnostics, utf8_text};
use crate::model::story::AlertStory;
use crate::store::Retention;
use crate::stories::Stories;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use std::collections::hash_map::Entry;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::mpsc;

#[derive(Debug, Parser)]
#[command(
    name = "newswatch",
    version,
    about = "Watches news feeds and alerts on articles that match your rules"
)]
pub struct Cli {
    /// Config file.
    #[arg(short, long, global = true, env = "NEWSWATCH_CONFIG", default_value = DEFAULT_CONFIG_PATH)]
    pub config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon until SIGTERM or Ctrl-C; SIGHUP reloads config and rules.
    Run,
    /// Poll every feed once, match, deliver, and exit.
    Once,
    /// Validate the config and rule files; warnings do not fail the check.
    Check {
        /// Exit 1 on warnings too (rules that can never alert or never
        /// match, unused aliases, rules evaluated for every article).
        #[arg(long)]
        strict: bool,
    },
    /// Print what newswatch sees in a feed, one JSON object per entry.
    Inspect {
        /// Feeds: http(s) URLs, file paths, or `-` for standard input.
        #[arg(required = true)]
        sources: Vec<String>,
        /// Also print, to stderr, what was repaired or guessed while reading
        /// (encoding, skipped entries, unrecognised dates, legacy formats).
        #[arg(short, long)]
        verbose: bool,
    },
    /// List, retry or drop queued alerts and dead letters.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// List every feed with its health (ok, failing since when and why,
    /// never succeeded), or bring a feed list in or out as OPML.
    Feeds {
        #[command(subcommand)]
        command: Option<FeedsCommand>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// The store: its sizes and row counts, or forget now what
    /// `[retention]` lets go (the daemon does so every hour).
    #[command(subcommand)]
    Db(DbCommand),
    /// Run rules over feeds and print what would alert; sends nothing.
    TestRule {
        /// A query to try, instead of rule files. It is always a value, even
        /// when it starts with a dash: `--query '-football Brussels'`.
        #[arg(long, conflicts_with = "rules", allow_hyphen_values = true)]
        query: Option<String>,
        /// Stemmed matching for --query in a language (ISO 639-1, as a
        /// rule's `stem`).
        #[arg(long, requires = "query")]
        stem: Option<String>,
        /// Rule files to use (repeatable); default: the config's rules.
        #[arg(long)]
        rules: Vec<PathBuf>,
        /// Only this rule.
        #[arg(long)]
        rule: Option<String>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
        /// First print how each rule's terms were analysed: the words, pairs
        /// of characters or stems they are looked for as.
        #[arg(long)]
        explain: bool,
        /// Feeds: http(s) URLs, file paths, or `-` for standard input
        /// (none with --explain: only the analysis).
        #[arg(required_unless_present = "explain")]
        sources: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Alerts waiting for delivery and dead letters (with --all, delivered ones too).
    List {
        #[arg(long)]
        all: bool,
    },
    /// Queue dead letters for delivery again, due now.
    Retry {
        /// The alert id (see `outbox list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
    },
    /// Remove an alert that was not delivered.
    Drop { id: String },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// File sizes and row counts (feeds, seen keys, alerts by status).
    Stats {
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Forget seen keys and delivered alerts older than `[retention]` says.
    Prune {
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Bring the store's schema up to date and exit (the daemon does it at
    /// start too; with PostgreSQL, under a lock, so instances may start
    /// together).
    Migrate,
}

#[derive(Debug, Subcommand)]
pub enum FeedsCommand {
    /// Print an OPML file's feeds (as a feed reader exports them) as
    /// `[[feed]]` blocks for the config; folders become tags. (The config's
    /// `opml` key reads OPML files directly instead.)
    Import { file: PathBuf },
    /// Print the config's feeds as OPML 2.0, folders by their first tag.
    Export,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Human,
    Json,
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NEWSWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    // Panics go to the log in its own format (a raw "thread panicked" line
    // would break a JSON log); one caught at a feed's poll is that feed's error.
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| l.to_string()).unwrap_or_default();
        let message = feed::panic_message(info.payload());
        tracing::error!(%location, %message, "Panic");
    }));
}

pub async fn execute(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check { strict } => Ok(check(&cli.config, strict)),
        Command::Once => {
            let config = load(&cli.config)?;
            let report = daemon::once(config).await?;
            tracing::info!(
                feeds_ok = report.feeds_ok,
                feeds_failed = report.feeds_failed,
                feeds_malformed = report.feeds_malformed,
                alerts_queued = report.alerts_queued,
                delivered = report.delivery.delivered,
                retrying = report.delivery.retrying,
                dead = report.delivery.dead,
                held_for_digest = report.delivery.held,
                "Poll finished"
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run => {
            let path = cli.config.clone();
            let loading = tokio::task::spawn_blocking(move || load(&path));
            let config = daemon::extending_timeout(loading).await??;
            let (tx, rx) = mpsc::channel(4);
            // Installed before the daemon starts, so an early SIGTERM is not fatal.
            let signals = Signals::install()?;
            tokio::spawn(signals.forward(tx));
            daemon::run(config, rx).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { sources, verbose } => inspect(&sources, verbose).await,
        Command::Outbox(command) => outbox(&cli.config, command).await,
        Command::Db(command) => {
            let config = load(&cli.config)?;
            match command {
                DbCommand::Stats { format } => {
                    store_admin::stats(&config, format == OutputFormat::Json).await
                }
                DbCommand::Prune { format } => {
                    store_admin::prune(&config, format == OutputFormat::Json).await
                }
                DbCommand::Migrate => store_admin::migrate(&config).await,
            }
        }
        Command::Feeds { command, format } => match command {
            None => feed_list::list(&load(&cli.config)?, format == OutputFormat::Json).await,
            Some(FeedsCommand::Import { file }) => feed_list::import(&file),
            Some(FeedsCommand::Export) => {
                feed_list::export(&load(&cli.config)?);
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::TestRule {
            query,
            stem,
            rules,
            rule,
            format,
            explain,
            sources,
        } => {
            let query = query.map(|q| (q, stem));
            let set = test_rules(&cli.config, query, &rules, rule.as_deref(), explain)?;
            if !sources.is_empty() {
                test_rule(&set, &sources, format).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn load(path: &std::path::Path) -> Result<Config> {
    Config::load(path).map_err(|errors| anyhow::anyhow!("invalid configuration:\n{errors}"))
}

fn check(path: &std::path::Path, strict: bool) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            let costly = config.rules.costly_rules();
            let warnings = config.warnings.len() + costly.len();
            println!(
                "{}: OK: {} feeds, {} rules in {} files, {} destinations, {warnings} warning(s)",
                path.display(),
                config.feeds.len(),
                config.rules.rules().len(),
                config.rule_files.len(),
                config.destinations.len()
            );
            for warning in &config.warnings {
                eprintln!("warning: {warning}");
            }
            for (rule, why) in costly {
                eprintln!("warning: rule {rule:?} {why}: it is evaluated for nearly every article");
            }
            match strict && warnings > 0 {
                true => ExitCode::FAILURE,
                false => ExitCode::SUCCESS,
            }
        }
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("{error}");
            }
            eprintln!("{} error(s)", errors.0.len());
            ExitCode::FAILURE
        }
    }
}

/// SIGTERM and SIGINT stop the daemon; SIGHUP reloads it.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind| signal(kind).context("cannot install signal handlers");
        Ok(Signals {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            hup: install(SignalKind::hangup())?,
        })
    }

    async fn forward(mut self, tx: mpsc::Sender<Control>) {
        loop {
            let command = tokio::select! {
                _ = self.term.recv() => Control::Shutdown,
                _ = self.int.recv() => Control::Shutdown,
                _ = self.hup.recv() => Control::Reload,
            };
            tracing::info!(?command, "Signal received");
            if tx.send(command).await.is_err() {
                return;
            }
        }
    }
}

/// One line of `inspect` output; its keys are a documented interface.
#[derive(Serialize)]
struct InspectEntry<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    /// Only on an entry cut short by a truncated document (never matched).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    partial: bool,
    id: &'a str,
    guid: Option<&'a str>,
    title: &'a str,
    link: Option<&'a str>,
    published: Option<String>,
    authors: &'a [String],
    categories: &'a [String],
    summary: &'a str,
    text: &'a str,
}

/// Prints each source's entries; a source that cannot be read is reported
/// and the others still printed (exit status 1 if any failed).
async fn inspect(sources: &[String], verbose: bool) -> Result<ExitCode> {
    let mut failed = false;
    for source in sources {
        let shown = redact_source(source);
        let parsed = match read_source(source).await.and_then(|read| {
            feed::parse_from(&read.bytes, read.charset.as_deref(), read.base.as_ref())
                .map_err(Into::into)
        }) {
            Ok(parsed) => parsed,
            Err(error) => {
                eprintln!("newswatch: {shown}: {error:#}");
                failed = true;
                continue;
            }
        };
        if verbose {
            for warning in &parsed.warnings {
                eprintln!("{shown}: {warning}");
            }
        }
        if let Some(error) = &parsed.malformed {
            eprintln!(
                "{shown}: malformed feed ({error}); {} complete entries recovered",
                parsed.articles.len()
            );
        }
        // With several sources each line says which one it came from.
        let tag = (sources.len() > 1).then_some(shown.as_str());
        if !print_entries(&parsed.articles, tag, false)?
            || !print_entries(&parsed.partial, tag, true)?
        {
            break;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes one JSON line per article; false once stdout is closed
/// (`newswatch inspect URL | head` is not an error).
fn print_entries(articles: &[Article], source: Option<&str>, partial: bool) -> Result<bool> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for a in articles {
        let entry = InspectEntry {
            source,
            partial,
            id: &a.key,
            guid: a.guid.as_deref(),
            title: &a.title,
            link: a.link.as_deref(),
            published: a.published.map(|p| p.to_rfc3339()),
            authors: &a.authors,
            categories: &a.categories,
            summary: &a.summary,
            text: a.text(),
        };
        let line = serde_json::to_string(&entry)?;
        match writeln!(out, "{line}") {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(false),
            other => other?,
        }
    }
    match out.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        other => Ok(other.map(|()| true)?),
    }
}

/// A feed read for `inspect` or `test-rule`.
struct Source {
    bytes: Vec<u8>,
    /// The HTTP `charset`, if any.
    charset: Option<String>,
    /// What relative links resolve against: the server's `Content-Location`,
    /// else the URL the feed was read from.
    base: Option<url::Url>,
}

/// Reads a feed from a URL, a file or standard input. A file named on the
/// command line is read whole: the size cap protects the daemon from
/// servers, not the operator from their own files.
async fn read_source(source: &str) -> Result<Source> {
    let local = |bytes| Source {
        bytes,
        charset: None,
        base: None,
    };
    if source == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        return Ok(local(bytes));
    }
    let url = url::Url::parse(source).ok();
    let path = match &url {
        Some(url) if url.scheme() == "file" => url
            .to_file_path()
            .map_err(|()| anyhow::anyhow!("{source}: not a local file URL"))?,
        Some(url) if matches!(url.scheme(), "http" | "https") => {
            // The HTTP client (and TLS) is set up only here, when it is needed.
            // A URL typed here is the operator's: it may point anywhere.
            let mut config = FetchConfig::default();
            config.network.trusted_origins.insert(origin(url));
            let fetcher = Fetcher::new(&config);
            return match fetcher.fetch(url, &Validators::default()).await {
                Ok(Fetched::Body {
                    bytes,
                    charset,
                    location,
                    ..
                }) => Ok(Source {
                    bytes,
                    charset,
                    base: location.or_else(|| Some(url.clone())),
                }),
                Ok(Fetched::NotModified { .. }) => {
                    bail!("{}: server replied 304 Not Modified", redact(url))
                }
                Err(e) => Err(e).with_context(|| format!("cannot fetch {}", redact(url))),
            };
        }
        _ => PathBuf::from(source),
    };
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    // A file:// URL is the base of its relative links; a bare path is none.
    Ok(Source {
        base: url,
        ..local(bytes)
    })
}

/// A source for messages: URLs without their secrets, paths as given.
fn redact_source(source: &str) -> String {
    url::Url::parse(source).map_or_else(|_| source.to_string(), |u| redact(&u))
}

/// The rules `test-rule` runs: a `--query`, `--rules` files, or the config's.
fn test_rules(
    config: &Path,
    query: Option<(String, Option<String>)>,
    files: &[PathBuf],
    only: Option<&str>,
    explain: bool,
) -> Result<RuleSet> {
    let mut rules = if let Some((query, stem)) = query {
        let stem = stem
            .map(|code| Language::parse(&code))
            .transpose()
            .map_err(|e| anyhow::anyhow!("--stem: {e}"))?;
        let rule = rules::rule_from_query("query", &query, stem)
            .map_err(|e| anyhow::anyhow!("--query: {}: {e}", e.span.start + 1))?;
        vec![rule]
    } else {
        // The config's rules are read again from their files: its compiled
        // rule set keeps no query trees (taking its rules matched nothing).
        let config_files;
        let files = if files.is_empty() {
            config_files = load(config)?.rule_files;
            &config_files
        } else {
            files
        };
        let mut texts = Vec::new();
        for file in files {
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let text = utf8_text(file, bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
            texts.push((file.clone(), text));
        }
        let parsed = rules::parse_rule_files(&texts, None);
        if !parsed.errors.is_empty() {
            bail!("invalid rules:\n{}", Diagnostics(parsed.errors));
        }
        parsed.rules
    };
    if let Some(name) = only {
        rules.retain(|r| r.name == name);
        if rules.is_empty() {
            bail!("no rule named {name:?}");
        }
    }
    if explain {
        // Before compiling: the rule set keeps no trees.
        for rule in &rules {
            println!("rule {}: {}", rule.name, rule.query_text);
            for line in crate::matching::explain::explain(rule) {
                println!("  {line}");
            }
        }
    }
    Ok(RuleSet::new(rules))
}

/// Writes the lines of `test-rule --format json`, whose keys are a
/// documented interface (`rule`, `entry_id`, `title`, `link`, `story`, `excerpts`, as
/// the test's `TestRuleMatch` has them), one article at a time: the article's
/// keys are serialised once, and each set of excerpts once (the rules that
/// matched on the same words share one set). With a big rule set most of
/// the output is repeated excerpts, and serialising each copy again took
/// longer than matching.
#[derive(Default)]
struct JsonLines {
    /// `"entry_id":…,"title":…,"link":…,"excerpts":` of the current article.
    article: Vec<u8>,
    /// Serialised excerpt sets of the current article, by address.
    sets: std::collections::HashMap<*const [Excerpt], Vec<u8>>,
}

impl JsonLines {
    fn start(&mut self, article: &Article, story: &AlertStory) -> serde_json::Result<()> {
        self.sets.clear();
        self.article.clear();
        let keys = [
            ("entry_id", Some(article.key.as_str())),
            ("title", Some(article.title.as_str())),
            ("link", article.link.as_deref()),
            ("story", Some(story.id.as_str())),
        ];
        for (key, value) in keys {
            write!(self.article, ",\"{key}\":").map_err(serde_json::Error::io)?;
            serde_json::to_writer(&mut self.article, &value)?;
        }
        self.article.extend_from_slice(b",\"excerpts\":");
        Ok(())
    }

    fn write(
        &mut self,
        out: &mut impl Write,
        rule: &str,
        excerpts: &Arc<[Excerpt]>,
    ) -> std::io::Result<()> {
        out.write_all(b"{\"rule\":")?;
        serde_json::to_writer(&mut *out, rule)?;
        out.write_all(&self.article)?;
        let set = match self.sets.entry(Arc::as_ptr(excerpts)) {
            Entry::Occupied(set) => set.into_mut(),
            Entry::Vacant(slot) => slot.insert(serde_json::to_vec(&**excerpts)?),
        };
        out.write_all(set)?;
        out.write_all(b"}\n")
    }
}

/// Matches the sources' entries, all sources' in published order (an entry
/// with no date keeps its place after the one before it in its source), and
/// places each in a story as the daemon would (at its published time), so
/// each match shows its story.
async fn test_rule(set: &RuleSet, sources: &[String], format: OutputFormat) -> Result<()> {
    // Buffered, and flushed after each source: a line-buffered stdout was a
    // write per match, and a big rule set has many.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let (mut entries, mut matches) = (0, 0);
    let mut json = JsonLines::default();
    let mut articles: Vec<(DateTime<Utc>, String, Article)> = Vec::new();
    for source in sources {
        let read = read_source(source).await?;
        let parsed = feed::parse_from(&read.bytes, read.charset.as_deref(), read.base.as_ref())
            .with_context(|| redact_source(source))?
            .articles;
        let shown = redact_source(source);
        let mut at = DateTime::<Utc>::MIN_UTC;
        for article in parsed {
            at = article.published.unwrap_or(at);
            articles.push((at, shown.clone(), article));
        }
    }
    articles.sort_by_key(|(at, _, _)| *at);
    let stories = Stories::new(Retention::default().stories);
    let now = Utc::now();
    let mut write = || -> std::io::Result<()> {
        for (at, source, article) in &articles {
            entries += 1;
            let at = if *at == DateTime::<Utc>::MIN_UTC {
                now
            } else {
                *at
            };
            let story = stories.place(source, article, at).story;
            if format == OutputFormat::Json {
                json.start(article, &story)?;
            }
            for m in set.matches(article, None) {
                matches += 1;
                match format {
                    OutputFormat::Json => json.write(&mut out, m.name(), &m.excerpts)?,
                    OutputFormat::Human => writeln!(
                        out,
                        "{}",
                        human_match(m.name(), article, &story, &m.excerpts)
                    )?,
                }
            }
        }
        out.flush()
    };
    if let Err(e) = write() {
        return if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e.into())
        };
    }
    eprintln!(
        "{matches} match(es) in {entries} entries, {} rule(s), {} stor{}",
        set.rules().len(),
        stories.len(),
        if stories.len() == 1 { "y" } else { "ies" }
    );
    Ok(())
}

fn human_match(rule: &str, article: &Article, story: &AlertStory, excerpts: &[Excerpt]) -> String {
    let mut text = format!("{rule}: {}\n", article.title);
    if let Some(link) = &article.link {
        text.push_str(&format!("  {link}\n"));
    }
    match story.articles {
        1 => text.push_str(&format!("  story {} (new)\n", story.id)),
        n => text.push_str(&format!(
            "  story {} (article {n}: {}){}\n",
            story.id,
            story.title,
            story
                .adds
                .as_deref()
                .map(|a| format!(", {a}"))
                .unwrap_or_default()
        )),
    }
    for e in excerpts {
        text.push_str(&format!(
            "  [{}] {}\n",
            e.field.name(),
            crate::delivery::email::marked(e, "[", "]").replace('\n', " ")
        ));
    }
    text
}

async fn outbox(config: &Path, command: OutboxCommand) -> Result<ExitCode> {
    let config = load(config)?;
    let store = crate::store::open(&config.store)
        .await
        .with_context(|| format!("cannot open store {}", config.store))?;
    match command {
        OutboxCommand::List { all } => {
            let entries = store.outbox_entries(!all).await?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for e in &entries {
                let a = &e.alert;
                let line = format!(
                    "{}  {:<9} attempts={:<3} {} -> {}  {}{}",
                    a.id,
                    e.status,
                    e.attempts,
                    a.rule,
                    a.destination,
                    a.article.title,
                    e.last_error
                        .as_deref()
                        .map(|err| format!("\n    last error: {err}"))
                        .unwrap_or_default()
                );
                if let Err(err) = writeln!(out, "{line}") {
                    if err.kind() == std::io::ErrorKind::BrokenPipe {
                        break;
                    }
                    return Err(err.into());
                }
            }
            eprintln!("{} alert(s)", entries.len());
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Retry { id, all: _ } => {
            let revived = store.revive(id.as_deref()).await?;
            if revived == 0 && id.is_some() {
                bail!("no dead letter with id {}", id.unwrap_or_default());
            }
            println!(
                "{revived} dead letter(s) queued again; the running daemon or the next `once` delivers them"
            );
            Ok(ExitCode::SUCCESS)
        }
        OutboxCommand::Drop { id } => {
            if !store.drop_alert(&id).await? {
                bail!("no undelivered alert with id {id}");
            }
            println!("dropped {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::field::Field;

    /// A line as serde writes it: what [`JsonLines`] must write.
    #[derive(Serialize)]
    struct TestRuleMatch<'a> {
        rule: &'a str,
        entry_id: &'a str,
        title: &'a str,
        link: Option<&'a str>,
        story: &'a str,
        excerpts: &'a [Excerpt],
    }

    #[test]
    fn json_lines_are_what_serde_writes_for_the_documented_struct() {
        let mut article = Article {
            key: "k\"1".into(),
            title: "Blast at \\ Zaventem\n".into(),
            guid: None,
            link: None,
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
            summary: String::new(),
            content: String::new(),
        };
        let sets: [Arc<[Excerpt]>; 2] = [
            Arc::from(vec![Excerpt {
                field: Field::Title,
                text: "Blast at Zaventem".into(),
                spans: vec![(9, 17)],
            }]),
            Arc::from(Vec::new()),
        ];
        for link in [None, Some("https://example.org/a?b=\"c\"")] {
            article.link = link.map(String::from);
            let mut lines = JsonLines::default();
            let story = Stories::new(std::time::Duration::from_secs(3600))
                .place("f", &article, Utc::now())
                .story;
            lines.start(&article, &story).unwrap();
            for (rule, set) in [
                ("one", &sets[0]),
                ("twö \"2\"", &sets[0]),
                ("three", &sets[1]),
            ] {
                let mut written = Vec::new();
                lines.write(&mut written, rule, set).unwrap();
                let mut expected = serde_json::to_vec(&TestRuleMatch {
                    rule,
                    entry_id: &article.key,
                    title: &article.title,
                    link: article.link.as_deref(),
                    story: &story.id,
                    excerpts: set,
                })
                .unwrap();
                expected.push(b'\n');
                assert_eq!(String::from_utf8(written), String::from_utf8(expected));
            }
        }
    }
}
