//! Located errors and warnings for config and rule files:
//! `file:line:col: message`, with the offending stretch of the line.

use crate::model::boundary::floor_char_boundary;
use std::cell::OnceCell;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How many characters of a long line are quoted before and after the column:
/// one error in a 50 MB one-line query must not print the whole line.
const QUOTE_BEFORE: usize = 40;
const QUOTE_AFTER: usize = 60;

/// One error (or warning) in one input file, with its position when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column.
    pub position: Option<(usize, usize)>,
    pub message: String,
    /// The stretch of the offending line that is quoted.
    pub excerpt: Option<Quote>,
}

/// A window of a source line and where in it the caret goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub text: String,
    /// Characters before the caret, within `text`.
    pub caret_at: usize,
    /// Characters to underline.
    pub width: usize,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.file.display(), self.message)?
            }
            None => write!(f, "{}: {}", self.file.display(), self.message)?,
        }
        if let Some(quote) = &self.excerpt {
            let pad = " ".repeat(quote.caret_at);
            let marks = "^".repeat(quote.width.max(1));
            write!(f, "\n    {}\n    {pad}{marks}", quote.text)?;
        }
        Ok(())
    }
}

/// Every error found while loading a configuration, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Turns byte offsets of one source file into located diagnostics. The
/// line starts are found once, on the first diagnostic: locating each of a
/// million rules' entries from the top of the file was quadratic.
pub(crate) struct SourceFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    line_starts: OnceCell<Vec<usize>>,
}

impl<'a> SourceFile<'a> {
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        SourceFile {
            path,
            text,
            line_starts: OnceCell::new(),
        }
    }

    /// A diagnostic at `span`, shown with its line and a caret under the span.
    pub(crate) fn error_in(&self, span: &Range<usize>, message: impl Into<String>) -> Diagnostic {
        let text = self.text;
        let start = floor_char_boundary(text, span.start);
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
                .collect()
        });
        let line = starts.partition_point(|&s| s <= start);
        let line_start = starts[line - 1];
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let col = text[line_start..start].chars().count() + 1;
        let end = floor_char_boundary(text, span.end.clamp(start, line_end));
        Diagnostic {
            file: self.path.to_path_buf(),
            position: Some((line, col)),
            message: message.into(),
            excerpt: Some(quote(
                &text[line_start..start],
                &text[start..end],
                &text[end..line_end],
            )),
        }
    }

    /// As [`SourceFile::error_in`], without quoting the line: it holds a
    /// secret (a password written in a URL), which must not reach a log.
    pub(crate) fn secret_error_in(
        &self,
        span: &Range<usize>,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            excerpt: None,
            ..self.error_in(span, message)
        }
    }

    /// A TOML syntax or shape error, located where the toml crate says in
    /// the text it parsed, which starts `offset` bytes into the file.
    pub(crate) fn toml_error(&self, err: &toml::de::Error, offset: usize) -> Diagnostic {
        let message = err.message().trim_end().to_string();
        match err.span() {
            Some(span) => self.error_in(&(span.start + offset..span.end + offset), message),
            None => file_error(self.path, message),
        }
    }
}

/// The quoted window: up to [`QUOTE_BEFORE`] characters before the span, the
/// span (cut at [`QUOTE_AFTER`]) and what follows up to that, with `…` where
/// the line goes on. Tabs become spaces so the caret lines up.
fn quote(before: &str, span: &str, after: &str) -> Quote {
    let before: Vec<char> = before.chars().collect();
    let cut_before = before.len() > QUOTE_BEFORE;
    let before: String = before[before.len().saturating_sub(QUOTE_BEFORE)..]
        .iter()
        .collect();
    let mut rest = span.chars().chain(after.chars());
    let shown: String = rest.by_ref().take(QUOTE_AFTER).collect();
    let cut_after = rest.next().is_some();
    let caret_at = before.chars().count() + usize::from(cut_before);
    let width = span.chars().count().min(QUOTE_AFTER);
    let mut text = String::new();
    if cut_before {
        text.push('…');
    }
    text.push_str(&before);
    text.push_str(&shown);
    let mut text = text.trim_end().replace('\t', " ");
    if cut_after {
        text.push('…');
    }
    Quote {
        text,
        caret_at,
        width,
    }
}

pub(crate) fn file_error(path: &Path, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        position: None,
        message: message.into(),
        excerpt: None,
    }
}

/// A file's bytes as text, or an error at the first byte that is not UTF-8
/// (config and rule files are UTF-8; the position finds a stray Latin-1 "é").
pub(crate) fn utf8_text(path: &Path, bytes: Vec<u8>) -> Result<String, Diagnostic> {
    String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        let bytes = err.as_bytes();
        let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
        let line = valid.matches('\n').count() + 1;
        let col = valid[line_start..].chars().count() + 1;
        Diagnostic {
            file: path.to_path_buf(),
            position: Some((line, col)),
            message: format!(
                "not UTF-8: byte 0x{:02X} (save the file as UTF-8)",
                bytes[at]
            ),
            excerpt: None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, span: Range<usize>) -> Diagnostic {
        SourceFile::new(Path::new("r.toml"), text).error_in(&span, "bad")
    }

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(at(text, 0..0).position, Some((1, 1)));
        assert_eq!(at(text, 6..6).position, Some((2, 1)));
        assert_eq!(at(text, 10..10).position, Some((2, 4)));
        assert_eq!(at(text, 99..99).position, Some((3, 1)));
    }

    #[test]
    fn caret_underlines_the_span() {
        let d = at("[[rule]]\nquery = 'a OR'\n", 18..22);
        assert_eq!(
            d.to_string(),
            "r.toml:2:10: bad\n    query = 'a OR'\n             ^^^^"
        );
    }

    #[test]
    fn a_long_line_is_quoted_in_a_window_around_the_column() {
        let terms: Vec<String> = (0..100_000).map(|i| format!("w{i}")).collect();
        let line = format!("query = '{}'", terms.join(" OR "));
        let start = line.find("w5000 ").unwrap();
        let d = at(&line, start..start + 5);
        let shown = d.to_string();
        assert!(shown.len() < 300, "{} bytes", shown.len());
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[0], format!("r.toml:1:{}: bad", start + 1));
        assert!(
            lines[1].starts_with("    …") && lines[1].ends_with('…'),
            "{shown}"
        );
        let caret = lines[2].find('^').unwrap();
        assert_eq!(
            &lines[1][caret + '…'.len_utf8() - 1..][..5],
            "w5000",
            "{shown}"
        );
        assert_eq!(lines[2].trim(), "^^^^^");
    }

    #[test]
    fn a_file_that_is_not_utf8_is_located() {
        let d = utf8_text(
            Path::new("r.toml"),
            b"a = 1\nname = \"Li\xe8ge\"\n".to_vec(),
        )
        .unwrap_err();
        assert_eq!(
            d.to_string(),
            "r.toml:2:11: not UTF-8: byte 0xE8 (save the file as UTF-8)"
        );
    }
}
