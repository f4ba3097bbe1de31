//! Located errors for config and rule files: `file:line:col: message`.

use crate::model::boundary::floor_char_boundary;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One error in one input file, with its position when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line and column.
    pub position: Option<(usize, usize)>,
    pub message: String,
    /// The offending line and how many characters from `position` to underline.
    pub excerpt: Option<(String, usize)>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.file.display(), self.message)?
            }
            None => write!(f, "{}: {}", self.file.display(), self.message)?,
        }
        if let (Some((_, col)), Some((text, width))) = (self.position, &self.excerpt) {
            let pad = " ".repeat(col - 1);
            write!(f, "\n    {text}\n    {pad}{}", "^".repeat((*width).max(1)))?;
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

/// Collects diagnostics for one source file, turning byte offsets into positions.
pub(crate) struct SourceFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl SourceFile<'_> {
    /// An error at `span`, shown with its line and a caret under the span.
    pub(crate) fn error_in(&self, span: &Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = line_col(self.text, span.start);
        let start = floor_char_boundary(self.text, span.start.min(self.text.len()));
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        let line_text = self.text[line_start..line_end].replace('\t', " ");
        let end = floor_char_boundary(self.text, span.end.clamp(start, line_end));
        Diagnostic {
            file: self.path.to_path_buf(),
            position: Some((line, col)),
            message: message.into(),
            excerpt: Some((
                line_text.trim_end().to_string(),
                self.text[start..end].chars().count(),
            )),
        }
    }

    /// A TOML syntax or shape error, located where the toml crate says.
    pub(crate) fn toml_error(&self, err: &toml::de::Error) -> Diagnostic {
        let message = err.message().trim_end().to_string();
        match err.span() {
            Some(span) => self.error_in(&span, message),
            None => file_error(self.path, message),
        }
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

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 10), (2, 4));
    }

    #[test]
    fn caret_underlines_the_span() {
        let text = "[[rule]]\nquery = 'a OR'\n";
        let source = SourceFile {
            path: Path::new("r.toml"),
            text,
        };
        let d = source.error_in(&(18..22), "bad");
        assert_eq!(
            d.to_string(),
            "r.toml:2:10: bad\n    query = 'a OR'\n             ^^^^"
        );
    }
}
