//! `newswatch feeds import` and `newswatch feeds export`: a feed list in and
//! out of OPML, the format every feed reader exports.

use crate::config::Config;
use crate::config::opml::{read_opml, write_opml};
use crate::model::diagnostic::{SourceFile, utf8_text};
use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;

/// The `[[feed]]` blocks of an OPML file, as TOML for a config, with each
/// URL once (a repeat is reported on stderr, with where it is).
pub fn import(path: &Path) -> Result<ExitCode> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = utf8_text(path, bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = SourceFile::new(path, &text);
    let outlines = match read_opml(&text) {
        Ok(outlines) => outlines,
        Err(e) => {
            eprintln!("{}", source.error_in(&(e.at..e.at + 1), e.message));
            return Ok(ExitCode::FAILURE);
        }
    };
    #[derive(Serialize)]
    struct Feeds {
        feed: Vec<Feed>,
    }
    #[derive(Serialize)]
    struct Feed {
        name: String,
        url: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tags: Vec<String>,
    }
    let (mut urls, mut names) = (HashSet::new(), HashSet::new());
    let mut feeds = Vec::new();
    for outline in outlines {
        if !urls.insert(outline.url.clone()) {
            let message = format!("{} is listed already; left out", outline.url);
            eprintln!("warning: {}", source.error_in(&outline.span, message));
            continue;
        }
        // Names are unique in a config: a repeated title gets a number.
        let mut name = outline.title.clone();
        for n in 2.. {
            if names.insert(name.clone()) {
                break;
            }
            name = format!("{} ({n})", outline.title);
        }
        feeds.push(Feed {
            name,
            url: outline.url,
            tags: outline.tags,
        });
    }
    let count = feeds.len();
    print!("{}", toml::to_string(&Feeds { feed: feeds })?);
    eprintln!("{count} feeds from {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// The config's feeds (its `[[feed]]` blocks and OPML files) as OPML 2.0.
pub fn export(config: &Config) {
    print!("{}", write_opml(&config.feeds));
}
