//! What a config reads besides its own text: rule files, secret files and
//! environment variables, behind [`Sources`] so that parsing can be tested
//! from strings. ([`System`] reads the real ones.)

use crate::model::diagnostic::{Diagnostic, SourceFile};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Where the files and variables a config names are read from.
pub trait Sources {
    /// A file's bytes (config and rule files are then checked to be UTF-8).
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// The paths a glob pattern matches, each or why it could not be read;
    /// `Err` for an invalid pattern.
    fn glob(&self, pattern: &str) -> Result<Vec<Result<PathBuf, String>>, String>;
    fn env(&self, name: &str) -> Option<String>;
}

/// The file system and the process environment.
pub struct System;

impl Sources for System {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn glob(&self, pattern: &str) -> Result<Vec<Result<PathBuf, String>>, String> {
        let paths = glob::glob(pattern).map_err(|e| e.to_string())?;
        Ok(paths.map(|p| p.map_err(|e| e.to_string())).collect())
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// The rule files that the config's `rules` globs name, sorted, once each.
pub(super) fn expand_rule_globs(
    source: &SourceFile,
    base: &Path,
    sources: &dyn Sources,
    globs: &[Spanned<String>],
    errors: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for pattern in globs {
        let full = base.join(pattern.get_ref());
        match sources.glob(&full.to_string_lossy()) {
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

/// Files and environment variables held in memory: tests and the fuzz
/// targets read configs with them, nothing from disk.
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Default)]
pub struct Memory {
    files: std::collections::HashMap<PathBuf, String>,
    env: std::collections::HashMap<String, String>,
}

#[cfg(any(test, feature = "fuzzing"))]
impl Memory {
    pub fn file(mut self, path: &str, text: &str) -> Memory {
        self.files.insert(PathBuf::from(path), text.to_string());
        self
    }

    pub fn var(mut self, name: &str, value: &str) -> Memory {
        self.env.insert(name.to_string(), value.to_string());
        self
    }
}

#[cfg(any(test, feature = "fuzzing"))]
impl Sources for Memory {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.files
            .get(path)
            .map(|text| text.clone().into_bytes())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }

    fn glob(&self, pattern: &str) -> Result<Vec<Result<PathBuf, String>>, String> {
        let pattern = glob::Pattern::new(pattern).map_err(|e| e.to_string())?;
        let mut paths: Vec<_> = self
            .files
            .keys()
            .filter(|p| pattern.matches_path(p))
            .map(|p| Ok(p.clone()))
            .collect();
        paths.sort();
        Ok(paths)
    }

    fn env(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }
}
