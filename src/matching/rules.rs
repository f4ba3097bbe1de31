//! Rule files (`rules.d/*.toml`): the raw form as written, aliases shared by
//! all files, and each rule compiled into a matcher [`Node`] tree.

use crate::delivery::timing::DigestSchedule;
use crate::matching::query::{self, Expr, QueryError};
use crate::matching::stems::Language;
use crate::matching::text;
use crate::matching::tree::{Leaf, LeafKind, Node};
use crate::model::diagnostic::{Diagnostic, SourceFile};
use crate::model::field::FieldSet;
use crate::model::story::StoryMode;
use serde::Deserialize;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleFile {
    #[serde(default)]
    rule: Vec<RawRule>,
    /// Each entry a query term, or `{ term = "…", stem = "ru" }`: a term
    /// stemmed in a language of its own.
    #[serde(default)]
    aliases: BTreeMap<Spanned<String>, Vec<Spanned<toml::Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Spanned<String>,
    query: Spanned<String>,
    #[serde(default)]
    notify: Vec<Spanned<String>>,
    #[serde(default)]
    feeds: Vec<Spanned<String>>,
    #[serde(default)]
    case_sensitive: bool,
    #[serde(default = "yes")]
    whole_word: bool,
    mode: Option<Spanned<String>>,
    digest: Option<Spanned<String>>,
    every: Option<Spanned<String>>,
    /// Stemmed matching in a language (ISO 639-1): see `stems`.
    stem: Option<Spanned<String>>,
    /// What a story's later articles get: "first", "updates" or "every".
    story: Option<Spanned<String>>,
}

fn yes() -> bool {
    true
}

/// A value whose span is moved `by` bytes: from a piece of a file to the file.
fn moved<T>(value: Spanned<T>, by: usize) -> Spanned<T> {
    let span = value.span();
    Spanned::new(span.start + by..span.end + by, value.into_inner())
}

impl RawRuleFile {
    fn shifted(self, by: usize) -> RawRuleFile {
        if by == 0 {
            return self;
        }
        let all = |values: Vec<Spanned<String>>| values.into_iter().map(|v| moved(v, by)).collect();
        RawRuleFile {
            rule: self
                .rule
                .into_iter()
                .map(|r| RawRule {
                    name: moved(r.name, by),
                    query: moved(r.query, by),
                    notify: all(r.notify),
                    feeds: all(r.feeds),
                    mode: r.mode.map(|v| moved(v, by)),
                    digest: r.digest.map(|v| moved(v, by)),
                    every: r.every.map(|v| moved(v, by)),
                    stem: r.stem.map(|v| moved(v, by)),
                    story: r.story.map(|v| moved(v, by)),
                    ..r
                })
                .collect(),
            aliases: self
                .aliases
                .into_iter()
                .map(|(name, entries)| {
                    let entries = entries.into_iter().map(|v| moved(v, by)).collect();
                    (moved(name, by), entries)
                })
                .collect(),
        }
    }
}

/// A watch rule, validated, with its query compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub query_text: String,
    /// The query as parsed; emptied once a [`crate::matching::RuleSet`]
    /// has compiled it.
    pub node: Node,
    pub notify: Vec<String>,
    /// Glob patterns over feed names and tags; empty means every feed.
    pub feeds: Vec<glob::Pattern>,
    /// `None`: each alert goes out at once; otherwise in digests.
    pub digest: Option<DigestSchedule>,
    /// What the rule sends for a story's later articles.
    pub story: StoryMode,
}

impl Rule {
    /// Whether the rule applies to a feed with this name and these tags.
    pub(crate) fn applies_to(&self, feed: &str, tags: &[String]) -> bool {
        self.feeds.is_empty()
            || self
                .feeds
                .iter()
                .any(|p| p.matches(feed) || tags.iter().any(|t| p.matches(t)))
    }
}

/// What the rules are checked against: the config's destinations and feeds.
/// Without it (`test-rule --rules`), rules are checked on their own.
pub struct Known<'a> {
    pub destinations: &'a HashSet<String>,
    /// Each feed's name and tags.
    pub feeds: &'a [(&'a str, &'a [String])],
}

/// What a set of rule files yields: the rules, every error found (a rule
/// with an error is left out) and warnings: mistakes that leave a rule
/// loaded but useless.
#[derive(Debug, Default)]
pub struct ParsedRules {
    pub rules: Vec<Rule>,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
}

/// One alias list, parsed, with where it was declared.
struct AliasDef {
    /// Each entry, with the language it alone is stemmed in.
    entries: Vec<(Expr, Option<Language>)>,
    /// The file (index) and span of its name, for the "never used" warning.
    declared: (usize, Range<usize>),
    used: Cell<bool>,
}

/// Parses and compiles rule files given as (path, text). Aliases declared in
/// any file may be used by rules in every file.
pub fn parse_rule_files(files: &[(PathBuf, String)], known: Option<&Known>) -> ParsedRules {
    let mut out = ParsedRules::default();
    let sources: Vec<SourceFile> = files
        .iter()
        .map(|(path, text)| SourceFile::new(path, text))
        .collect();
    let mut raws = Vec::new();
    for ((index, source), parsed) in sources.iter().enumerate().zip(parse_toml(files)) {
        match parsed {
            Ok(raw) => raws.push((index, raw)),
            Err((err, offset)) => out.errors.push(source.toml_error(&err, offset)),
        }
    }

    let mut aliases: HashMap<String, AliasDef> = HashMap::new();
    for (index, raw) in &raws {
        let source = &sources[*index];
        for (name, entries) in &raw.aliases {
            if aliases.contains_key(name.get_ref()) {
                out.errors.push(source.error_in(
                    &name.span(),
                    format!("alias @{} is declared twice", name.get_ref()),
                ));
                continue;
            }
            let mut parsed = Vec::new();
            for entry in entries {
                match parse_alias_entry(source, entry) {
                    Ok(entry) => parsed.push(entry),
                    Err(err) => out.errors.push(err),
                }
            }
            if entries.is_empty() {
                out.errors.push(
                    source.error_in(&name.span(), format!("alias @{} is empty", name.get_ref())),
                );
            }
            let def = AliasDef {
                entries: parsed,
                declared: (*index, name.span()),
                used: Cell::new(false),
            };
            aliases.insert(name.get_ref().clone(), def);
        }
    }

    let mut names = HashSet::new();
    for (index, raw) in raws {
        let source = &sources[index];
        for raw_rule in raw.rule {
            if let Some(rule) =
                compile_rule(source, raw_rule, &aliases, known, &mut names, &mut out)
            {
                out.rules.push(rule);
            }
        }
    }
    let mut unused: Vec<(&String, &AliasDef)> =
        aliases.iter().filter(|(_, def)| !def.used.get()).collect();
    unused.sort_by_key(|(_, def)| (def.declared.0, def.declared.1.start));
    for (name, def) in unused {
        let (file, span) = &def.declared;
        out.warnings.push(sources[*file].error_in(
            span,
            format!("alias @{name} is declared but no rule uses it"),
        ));
    }
    out
}

/// One alias entry: a query term, or a table of a term and the language
/// it is stemmed in.
fn parse_alias_entry(
    source: &SourceFile,
    entry: &Spanned<toml::Value>,
) -> Result<(Expr, Option<Language>), Diagnostic> {
    let span = entry.span();
    let error = |message: String| source.error_in(&span, message);
    match entry.get_ref() {
        toml::Value::String(term) => query::parse_alias_entry(term)
            .map(|expr| (expr, None))
            .map_err(|err| located_in_string(source, &span, &err, "in alias")),
        toml::Value::Table(table) => {
            if let Some(key) = table
                .keys()
                .find(|k| !matches!(k.as_str(), "term" | "stem"))
            {
                return Err(error(format!(
                    "unknown key `{key}` in an alias entry (it takes `term` and `stem`)"
                )));
            }
            let text = |key: &str| match table.get(key) {
                Some(toml::Value::String(value)) => Ok(value),
                Some(_) => Err(error(format!("`{key}` of an alias entry must be a string"))),
                None => Err(error(format!(
                    "an alias entry given as a table needs `{key}`"
                ))),
            };
            let (term, code) = (text("term")?, text("stem")?);
            let language = Language::parse(code).map_err(|e| error(format!("stem: {e}")))?;
            let expr = query::parse_alias_entry(term)
                .map_err(|err| error(format!("in alias: {}", err.message)))?;
            Ok((expr, Some(language)))
        }
        _ => Err(error(
            "an alias entry is a query term (\"Brussels\") or a table \
             ({ term = \"Брюссель\", stem = \"ru\" })"
                .to_string(),
        )),
    }
}

/// A piece's TOML error, with where the piece starts in its file.
type PieceError = (toml::de::Error, usize);

/// Parses each file's TOML. Big files are cut into pieces at `[[rule]]`
/// headers, and the pieces shared among the cores: the toml crate holds a
/// whole document's tokens and tree while it deserialises, several times
/// the size of the text, and with a million rules parsing is most of the
/// time a load takes.
fn parse_toml(files: &[(PathBuf, String)]) -> Vec<Result<RawRuleFile, PieceError>> {
    parse_toml_in_pieces(files, PIECE_BYTES)
}

/// How big a piece of a rule file is, about.
const PIECE_BYTES: usize = 256 * 1024;

/// [`parse_toml`] with pieces of about `piece_bytes`.
fn parse_toml_in_pieces(
    files: &[(PathBuf, String)],
    piece_bytes: usize,
) -> Vec<Result<RawRuleFile, PieceError>> {
    let pieces: Vec<(usize, usize, &str)> = files
        .iter()
        .enumerate()
        .flat_map(|(file, (_, text))| {
            pieces_of(text, piece_bytes).map(move |(offset, piece)| (file, offset, piece))
        })
        .collect();
    let mut parsed = parse_in_parallel(&pieces)
        .into_iter()
        .zip(&pieces)
        .peekable();
    let mut out = Vec::new();
    for file in 0..files.len() {
        let mut file_pieces = Vec::new();
        while let Some((piece, _)) = parsed.next_if(|(_, (of, _, _))| *of == file) {
            file_pieces.push(piece);
        }
        let mut file_pieces = file_pieces.into_iter();
        let first = file_pieces.next().expect("every file has a piece");
        let rest: Result<Vec<RawRuleFile>, _> = file_pieces.collect();
        out.push(match (first, rest) {
            (Ok(mut whole), Ok(rest)) => {
                whole
                    .rule
                    .extend(rest.into_iter().flat_map(|piece| piece.rule));
                Ok(whole)
            }
            // The first broken piece's error: the earliest broken place.
            // (Parsing the whole file, the toml crate may read on past a
            // string left open and report a later line.)
            (Err(err), _) | (Ok(_), Err(err)) => Err(err),
        });
    }
    out
}

/// Pieces of about `piece_bytes` (offset, text), each starting at a line
/// that is a `[[rule]]` header outside any multi-line string. A file with
/// any other table after its first piece (a second `[aliases]`) is one
/// piece, so that TOML's rules about tables stay the whole file's (a
/// broken `[[rule]` header is not another table: its piece reports it).
fn pieces_of(text: &str, piece_bytes: usize) -> impl Iterator<Item = (usize, &str)> {
    let mut cuts = vec![0];
    let (mut line_start, mut in_string) = (0, None);
    for newline in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        let line = &text[line_start..newline];
        if in_string.is_none() {
            if line.starts_with('[') && cuts.len() > 1 && !line.starts_with("[[rule]") {
                cuts.truncate(1);
                break;
            }
            if line.starts_with("[[rule]]") && line_start - cuts[cuts.len() - 1] >= piece_bytes {
                cuts.push(line_start);
            }
        }
        in_string = multi_line_string_after(line, in_string);
        line_start = newline + 1;
    }
    cuts.push(text.len());
    (0..cuts.len() - 1).map(move |i| (cuts[i], &text[cuts[i]..cuts[i + 1]]))
}

/// The multi-line string (`'''` or `"""`) still open at the end of a TOML
/// line that starts inside `open` (or outside any). Single-line strings and
/// comments are skipped, so the quotes in them do not count.
fn multi_line_string_after(line: &str, mut open: Option<u8>) -> Option<u8> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if let Some(quote) = open {
            if quote == b'"' && b[i] == b'\\' {
                i += 2;
            } else if b[i..].starts_with(&[quote; 3]) {
                open = None;
                i += 3;
                // Up to two more quotes belong to the string, not a new one.
                while b.get(i) == Some(&quote) {
                    i += 1;
                }
            } else {
                i += 1;
            }
            continue;
        }
        match b[i] {
            b'#' => break,
            quote @ (b'"' | b'\'') if b[i..].starts_with(&[quote; 3]) => {
                open = Some(quote);
                i += 3;
            }
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < b.len() && b[i] != quote {
                    i += if quote == b'"' && b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    open
}

/// Parses pieces on all cores, split by size: one big piece beside small
/// ones. Spans are moved by each piece's offset, to be the file's.
fn parse_in_parallel(pieces: &[(usize, usize, &str)]) -> Vec<Result<RawRuleFile, PieceError>> {
    let parse = |pieces: &[(usize, usize, &str)]| -> Vec<_> {
        pieces
            .iter()
            .map(|(_, offset, text)| {
                toml::from_str::<RawRuleFile>(text)
                    .map(|raw| raw.shifted(*offset))
                    .map_err(|err| (err, *offset))
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads == 1 || pieces.len() < 2 {
        return parse(pieces);
    }
    let total: usize = pieces.iter().map(|(_, _, text)| text.len()).sum();
    let share = total.div_ceil(threads).max(1);
    let mut chunks: Vec<&[(usize, usize, &str)]> = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, (_, _, text)) in pieces.iter().enumerate() {
        size += text.len();
        if size >= share {
            chunks.push(&pieces[start..=i]);
            (start, size) = (i + 1, 0);
        }
    }
    if start < pieces.len() {
        chunks.push(&pieces[start..]);
    }
    std::thread::scope(|scope| {
        let parsing: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || parse(chunk))
                    .map_err(|_| chunk)
            })
            .collect();
        parsing
            .into_iter()
            .flat_map(|spawned| match spawned {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // No thread to be had (a task limit): parse here instead.
                Err(chunk) => parse(chunk),
            })
            .collect()
    })
}

/// Compiles one `--query` given on the command line into a rule, stemmed
/// in `stem` if given.
pub(crate) fn rule_from_query(
    name: &str,
    query_text: &str,
    stem: Option<Language>,
) -> Result<Rule, QueryError> {
    let expr = query::parse(query_text)?;
    let options = Options {
        stem,
        ..Options::default()
    };
    let node = resolve(&expr, &HashMap::new(), options, FieldSet::TEXT)?;
    Ok(Rule {
        name: name.to_string(),
        query_text: query_text.to_string(),
        node,
        notify: Vec::new(),
        feeds: Vec::new(),
        digest: None,
        story: StoryMode::default(),
    })
}

fn compile_rule(
    source: &SourceFile,
    raw: RawRule,
    aliases: &HashMap<String, AliasDef>,
    known: Option<&Known>,
    names: &mut HashSet<String>,
    out: &mut ParsedRules,
) -> Option<Rule> {
    let before = out.errors.len();
    let name = raw.name.get_ref().trim().to_string();
    if name.is_empty() {
        out.errors
            .push(source.error_in(&raw.name.span(), "rule name is empty"));
    } else if !names.insert(name.clone()) {
        out.errors
            .push(source.error_in(&raw.name.span(), format!("duplicate rule name {name:?}")));
    }
    let query_span = raw.query.span();
    let stem = raw
        .stem
        .as_ref()
        .and_then(|code| match Language::parse(code.get_ref()) {
            Ok(language) => Some(language),
            Err(e) => {
                out.errors
                    .push(source.error_in(&code.span(), format!("stem: {e}")));
                None
            }
        });
    let options = Options {
        case_sensitive: raw.case_sensitive,
        whole_word: raw.whole_word,
        stem,
    };
    let node = query::parse(raw.query.get_ref())
        .and_then(|expr| resolve(&expr, aliases, options, FieldSet::TEXT))
        .map_err(|err| {
            out.errors
                .push(located_in_string(source, &query_span, &err, "in query"))
        })
        .ok();
    let mut feeds = Vec::new();
    for pattern in &raw.feeds {
        match glob::Pattern::new(pattern.get_ref()) {
            Ok(p) => {
                let matches_no_feed = known.is_some_and(|k| {
                    !k.feeds
                        .iter()
                        .any(|(feed, tags)| p.matches(feed) || tags.iter().any(|t| p.matches(t)))
                });
                if matches_no_feed {
                    out.warnings.push(source.error_in(
                        &pattern.span(),
                        format!(
                            "rule {name:?}: feeds pattern {:?} matches no feed name or tag, so the rule never matches",
                            pattern.get_ref()
                        ),
                    ));
                }
                feeds.push(p)
            }
            Err(e) => out
                .errors
                .push(source.error_in(&pattern.span(), format!("invalid feed pattern: {e}"))),
        }
    }
    if let Some(known) = known {
        for dest in &raw.notify {
            if !known.destinations.contains(dest.get_ref()) {
                out.errors.push(source.error_in(
                    &dest.span(),
                    format!(
                        "rule {name:?} notifies unknown destination {:?}",
                        dest.get_ref()
                    ),
                ));
            }
        }
        if raw.notify.is_empty() {
            out.warnings.push(source.error_in(
                &raw.name.span(),
                format!("rule {name:?} has no `notify`, so it never alerts"),
            ));
        }
    }
    let digest = digest_schedule(source, &raw, &mut out.errors);
    let story = match &raw.story {
        None => StoryMode::default(),
        Some(text) => StoryMode::parse(text.get_ref()).unwrap_or_else(|| {
            out.errors.push(source.error_in(
                &text.span(),
                format!(
                    "story must be \"first\", \"updates\" or \"every\", not {:?}",
                    text.get_ref()
                ),
            ));
            StoryMode::default()
        }),
    };
    if out.errors.len() > before {
        return None;
    }
    Some(Rule {
        name,
        query_text: raw.query.into_inner(),
        node: node?,
        notify: raw.notify.into_iter().map(Spanned::into_inner).collect(),
        feeds,
        digest,
        story,
    })
}

/// `mode = "digest"` with `digest = "daily 08:00"` or `every = "1h"`; a
/// schedule alone implies digest mode.
fn digest_schedule(
    source: &SourceFile,
    raw: &RawRule,
    errors: &mut Vec<Diagnostic>,
) -> Option<DigestSchedule> {
    let schedule = match (&raw.digest, &raw.every) {
        (Some(_), Some(every)) => {
            errors.push(source.error_in(&every.span(), "set either `digest` or `every`, not both"));
            return None;
        }
        (Some(daily), None) => DigestSchedule::parse_daily(daily.get_ref())
            .map_err(|e| errors.push(source.error_in(&daily.span(), e)))
            .ok(),
        (None, Some(every)) => DigestSchedule::parse_every(every.get_ref())
            .map_err(|e| errors.push(source.error_in(&every.span(), e)))
            .ok(),
        (None, None) => None,
    };
    match raw.mode.as_ref().map(|m| (m, m.get_ref().as_str())) {
        None => schedule,
        Some((_, "digest")) if raw.digest.is_none() && raw.every.is_none() => {
            errors.push(source.error_in(
                &raw.name.span(),
                "mode = \"digest\" needs `digest = \"daily 08:00\"` or `every = \"1h\"`",
            ));
            None
        }
        Some((_, "digest")) => schedule,
        Some((m, "immediate")) => {
            if schedule.is_some() {
                errors.push(source.error_in(
                    &m.span(),
                    "mode = \"immediate\" takes no `digest` or `every`",
                ));
            }
            None
        }
        Some((m, other)) => {
            errors.push(source.error_in(
                &m.span(),
                format!("mode must be \"immediate\" or \"digest\", not {other:?}"),
            ));
            None
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Options {
    case_sensitive: bool,
    whole_word: bool,
    stem: Option<Language>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            case_sensitive: false,
            whole_word: true,
            stem: None,
        }
    }
}

/// Turns parsed syntax into a matcher tree: aliases expanded, field scopes
/// pushed down to the leaves, rule options applied.
fn resolve(
    expr: &Expr,
    aliases: &HashMap<String, AliasDef>,
    options: Options,
    fields: FieldSet,
) -> Result<Node, QueryError> {
    let all = |parts: &[Expr]| -> Result<Vec<Node>, QueryError> {
        parts
            .iter()
            .map(|p| resolve(p, aliases, options, fields))
            .collect()
    };
    Ok(match expr {
        Expr::Words {
            words,
            exact,
            prefix,
            ..
        } => {
            // One character of a script written without spaces is no
            // bigram: it is looked for inside them.
            let whole_word = options.whole_word && !words.iter().any(|w| text::is_lone_unit(w));
            // Stemmed: whole words, not a prefix, some in the language's script.
            let stem = options
                .stem
                .filter(|l| whole_word && !*prefix && words.iter().any(|w| l.applies_to(w)));
            let words = match stem {
                Some(l) => words.iter().map(|w| l.stem(w).into_owned()).collect(),
                None => words.clone(),
            };
            let mut leaf = Leaf::new(
                LeafKind::Words {
                    words,
                    exact: exact.clone(),
                    prefix: *prefix,
                },
                fields,
                options.case_sensitive,
                whole_word,
            );
            leaf.stem = stem;
            Node::Leaf(Box::new(leaf))
        }
        Expr::Regex { regex, .. } => Node::Leaf(Box::new(Leaf::new(
            LeafKind::Regex(regex.clone()),
            fields,
            true,
            false,
        ))),
        Expr::Alias { name, span } => {
            let Some(def) = aliases.get(name).inspect(|def| def.used.set(true)) else {
                let mut known: Vec<&String> = aliases.keys().collect();
                known.sort();
                let hint = match known.is_empty() {
                    true => "no aliases are declared".to_string(),
                    false => format!(
                        "declared: {}",
                        known
                            .iter()
                            .map(|k| format!("@{k}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                return Err(QueryError {
                    span: span.clone(),
                    message: format!("unknown alias @{name} ({hint})"),
                });
            };
            // An entry's own language is stemmed in, whatever the rule's.
            let entries = def
                .entries
                .iter()
                .map(|(e, stem)| {
                    let stem = stem.or(options.stem);
                    resolve(e, aliases, Options { stem, ..options }, fields)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Node::Or(entries)
        }
        Expr::Field {
            fields: scope,
            inner,
        } => resolve(inner, aliases, options, *scope)?,
        Expr::And(parts) => Node::And(all(parts)?),
        Expr::Or(parts) => Node::Or(all(parts)?),
        Expr::Not(inner) => Node::Not(Box::new(resolve(inner, aliases, options, fields)?)),
        Expr::Near {
            left,
            right,
            distance,
        } => Node::Near {
            left: Box::new(resolve(left, aliases, options, fields)?),
            right: Box::new(resolve(right, aliases, options, fields)?),
            distance: *distance,
        },
    })
}

/// Maps an error inside a TOML string value back to the file: the value starts
/// past the opening quotes. (Escapes inside a basic string can shift later
/// columns; positions are then approximate, which still finds the spot.)
fn located_in_string(
    source: &SourceFile,
    value_span: &Range<usize>,
    err: &QueryError,
    context: &str,
) -> Diagnostic {
    let literal = &source.text[value_span.clone()];
    let body = if literal.starts_with("'''") || literal.starts_with("\"\"\"") {
        let after = value_span.start + 3;
        // A newline right after the opening delimiter is not part of the value.
        after + usize::from(source.text[after..].starts_with('\n'))
    } else {
        value_span.start + 1
    };
    let span = body + err.span.start..body + err.span.end;
    source.error_in(&span, format!("{context}: {}", err.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Parses the text of one rule file on its own (no aliases from elsewhere).
    fn parse_rule_file(path: &Path, text: &str) -> ParsedRules {
        parse_rule_files(&[(path.to_path_buf(), text.to_string())], None)
    }

    #[test]
    fn query_error_points_into_the_file_with_a_caret() {
        let text = "[[rule]]\nname = \"x\"\nquery = 'ISIS OR'\nnotify = [\"desk\"]\n";
        let parsed = parse_rule_file(Path::new("r.toml"), text);
        assert!(parsed.rules.is_empty());
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(
            parsed.errors[0].to_string(),
            "r.toml:3:17: in query: expected a term at end of query\n    query = 'ISIS OR'\n                    ^"
        );
    }

    #[test]
    fn unknown_key_is_an_error() {
        let text = "[[rule]]\nname = \"x\"\nquery = 'a'\nnotfy = []\n";
        let parsed = parse_rule_file(Path::new("r.toml"), text);
        assert_eq!(parsed.errors.len(), 1);
        assert!(
            parsed.errors[0]
                .to_string()
                .starts_with("r.toml:4:1: unknown field `notfy`")
        );
    }

    #[test]
    fn aliases_are_shared_across_files() {
        let a = "[aliases]\nbrussels = [\"Brussels\", \"Zaventem\", \"Molen*\"]\n".to_string();
        let b = "[[rule]]\nname = \"x\"\nquery = '@brussels blast'\n".to_string();
        let parsed = parse_rule_files(&[("a.toml".into(), a), ("b.toml".into(), b)], None);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.rules.len(), 1);
    }

    #[test]
    fn many_files_parse_in_file_order_with_errors_in_their_own_file() {
        // Sizes differ, so the files are split unevenly among the threads.
        let mut files: Vec<(PathBuf, String)> = (0..9)
            .map(|i| {
                let rules: String = (0..=i * 40)
                    .map(|j| format!("[[rule]]\nname = \"f{i}r{j}\"\nquery = 'Zaventem'\n"))
                    .collect();
                (format!("{i}.toml").into(), rules)
            })
            .collect();
        files[5].1.push_str("[[rule]\n");
        let parsed = parse_rule_files(&files, None);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert!(parsed.errors[0].to_string().starts_with("5.toml:"));
        let names: Vec<&str> = parsed.rules.iter().map(|r| r.name.as_str()).collect();
        let expected: Vec<String> = (0..9)
            .filter(|&i| i != 5)
            .flat_map(|i| (0..=i * 40).map(move |j| format!("f{i}r{j}")))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn unknown_alias_names_the_declared_ones() {
        let text = "[aliases]\nbrussels = [\"Brussels\"]\n[[rule]]\nname = \"x\"\nquery = 'blast @bruxels'\n";
        let parsed = parse_rule_file(Path::new("r.toml"), text);
        assert_eq!(
            parsed.errors[0].to_string().lines().next().unwrap(),
            "r.toml:5:16: in query: unknown alias @bruxels (declared: @brussels)"
        );
    }

    #[test]
    fn duplicate_rules_and_bad_feed_patterns_are_errors() {
        let text = "[[rule]]\nname = \"x\"\nquery = 'a'\n[[rule]]\nname = \"x\"\nquery = 'b'\nfeeds = [\"[\"]\n";
        let parsed = parse_rule_file(Path::new("r.toml"), text);
        let messages: Vec<String> = parsed.errors.iter().map(|e| e.message.clone()).collect();
        assert_eq!(parsed.rules.len(), 1);
        assert!(messages[0].contains("duplicate rule name"), "{messages:?}");
        assert!(messages[1].contains("invalid feed pattern"), "{messages:?}");
    }

    /// A file big enough to be parsed in pieces: `n` rules, each line padded.
    fn big_file(n: usize) -> String {
        let pad = "x".repeat(200);
        (0..n)
            .map(|i| format!("[[rule]]\nname = \"r{i}\"\nquery = 'Zaventem'\n# {pad}\n"))
            .collect()
    }

    #[test]
    fn a_big_file_parsed_in_pieces_keeps_its_rules_and_positions() {
        let mut text = big_file(5_000);
        assert!(pieces_of(&text, PIECE_BYTES).count() > 3);
        text.push_str("[[rule]]\nname = \"late\"\nquery = 'a OR'\n");
        let parsed = parse_rule_file(Path::new("r.toml"), &text);
        assert_eq!(parsed.rules.len(), 5_000);
        assert_eq!(parsed.rules[4_999].name, "r4999");
        let error = parsed.errors[0].to_string();
        assert!(error.starts_with("r.toml:20003:14: in query"), "{error}");

        text.push_str("[[rule]\n");
        let parsed = parse_rule_file(Path::new("r.toml"), &text);
        assert!(parsed.rules.is_empty());
        let error = parsed.errors[0].to_string();
        assert!(error.starts_with("r.toml:20004:"), "{error}");
    }

    #[test]
    fn a_rule_header_inside_a_multi_line_string_is_not_a_cut() {
        let half = big_file(1_300);
        let text = format!(
            "{half}[[rule]]\nname = \"long\"\nquery = '''Zaventem OR\n[[rule]]\nMolenbeek'''\n{half}"
        )
        .replace("name = \"r", "name = \"b");
        let half_rules = half.matches("[[rule]]").count();
        let text = text.replacen("name = \"b", "name = \"a", half_rules);
        let cuts: Vec<usize> = pieces_of(&text, PIECE_BYTES)
            .map(|(offset, _)| offset)
            .collect();
        assert!(cuts.len() > 2, "{cuts:?}");
        assert!(
            cuts.iter().all(|&c| !text[..c].ends_with("OR\n")),
            "{cuts:?}"
        );
        let parsed = parse_rule_file(Path::new("r.toml"), &text);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let long = parsed.rules.iter().find(|r| r.name == "long").unwrap();
        assert_eq!(long.query_text, "Zaventem OR\n[[rule]]\nMolenbeek");
    }

    #[test]
    fn a_second_aliases_table_is_an_error_however_big_the_file() {
        let text = format!(
            "[aliases]\na = [\"x\"]\n{}[aliases]\nb = [\"y\"]\n",
            big_file(3_000)
        );
        let parsed = parse_rule_file(Path::new("r.toml"), &text);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert!(
            parsed.errors[0].message.contains("duplicate key"),
            "{}",
            parsed.errors[0]
        );
    }

    #[test]
    fn multi_line_strings_are_followed_across_lines() {
        let after = |line, open| multi_line_string_after(line, open);
        assert_eq!(after("query = '''a", None), Some(b'\''));
        assert_eq!(after("b'''''", Some(b'\'')), None);
        assert_eq!(after(r#"x = """a\""""#, None), Some(b'"'));
        assert_eq!(after(r#"x = ["\"", """a"#, None), Some(b'"'));
        assert_eq!(after(r##"x = "#" # '''"##, None), None);
        assert_eq!(after(r#"x = '\' # """"#, None), None);
        assert_eq!(after(r#"x = """#, None), None);
    }

    /// Rule values that make cutting a file hard: headers, quotes and `#`
    /// inside strings of every kind, escapes, and now and then a mistake.
    const TRICKY: &[&str] = &[
        r#"'Zaventem'"#,
        r#""a \"quoted\" # b""#,
        "'''Zaventem OR\n[[rule]]\nMolenbeek'''",
        "\"\"\"a\n[[rule]]\nb \\\"\"\" c\"\"\"",
        r#"'''it's # not a comment'''"#,
        r##""# not a comment ''' ""##,
        r#"'''''two quotes end it'''''"#,
        "\"\"\"\n\"\"\"",
        r#"'unterminated"#,
        "\"\"\"never closed\n[[rule]]\nname = \"x\"",
    ];

    fn tricky_file() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop::collection::vec((0..TRICKY.len(), 0u8..8), 1..40).prop_map(|rules| {
            let mut text = String::from("[aliases]\na = ['x']\n");
            for (i, (value, extra)) in rules.into_iter().enumerate() {
                text.push_str(&format!(
                    "[[rule]]\nname = \"r{i}\"\nquery = {}\n",
                    TRICKY[value]
                ));
                match extra {
                    0 => text.push_str("# a comment with ''' and \"\"\" and [[rule]]\n"),
                    1 => text.push_str("notify = [\"desk\", '''d''']\n"),
                    2 if i % 7 == 3 => text.push_str("[[rule]\n"),
                    _ => {}
                }
            }
            text
        })
    }

    type Read = Vec<(String, Range<usize>, String, Range<usize>)>;

    fn read(raw: &RawRuleFile) -> Read {
        raw.rule
            .iter()
            .map(|r| {
                let (name, query) = (&r.name, &r.query);
                (
                    name.get_ref().clone(),
                    name.span(),
                    query.get_ref().clone(),
                    query.span(),
                )
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]

        /// Parsed in pieces of a few rules, a file reads as it does whole:
        /// the same rules at the same places, or an error both ways.
        #[test]
        fn a_file_in_pieces_reads_as_it_does_whole(text in tricky_file(), piece in 1usize..200) {
            use proptest::prelude::*;
            let whole = toml::from_str::<RawRuleFile>(&text);
            let files = [(PathBuf::from("r.toml"), text.clone())];
            let pieces = parse_toml_in_pieces(&files, piece).pop().unwrap();
            match (whole, pieces) {
                (Ok(whole), Ok(pieces)) => prop_assert_eq!(read(&whole), read(&pieces)),
                // Both broken. (Which error comes first can differ: whole,
                // the toml crate reads on past a string left open and may
                // report a later line; a piece ends sooner.)
                (Err(_), Err((piece, offset))) => {
                    let at = piece.span().map_or(0, |s| s.start + offset);
                    prop_assert!(at <= text.len());
                }
                (whole, pieces) => {
                    prop_assert!(false, "whole ok: {}, pieces ok: {}", whole.is_ok(), pieces.is_ok())
                }
            }
        }
    }
}
