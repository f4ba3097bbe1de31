//! `store`: where newswatch keeps its state. SQLite in the state directory
//! by default; `store = "postgres://…"` for a database several instances
//! share, its password from `store_password_file` or `store_password_env`
//! (or `PGPASSWORD`), never from the URL.

use super::secrets::read_secret;
use super::sources::Sources;
use crate::model::diagnostic::{Diagnostic, SourceFile};
use crate::store::{Location, Target};
use std::path::{Path, PathBuf};
use toml::Spanned;

pub(super) struct RawStore<'a> {
    pub url: Option<&'a Spanned<String>>,
    pub password_file: &'a Option<Spanned<String>>,
    pub password_env: &'a Option<Spanned<String>>,
}

pub(super) fn build_store(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
    state_dir: &Path,
    raw: RawStore,
    errors: &mut Vec<Diagnostic>,
) -> Location {
    let sqlite = || Location::Sqlite {
        state_dir: PathBuf::from(state_dir),
    };
    let Some(url) = raw.url else {
        if let Some(key) = raw.password_file.as_ref().or(raw.password_env.as_ref()) {
            errors.push(source.error_in(
                &key.span(),
                "a store password needs `store = \"postgres://…\"`",
            ));
        }
        return sqlite();
    };
    let text = url.get_ref();
    if text == "sqlite" {
        return sqlite();
    }
    if !text.starts_with("postgres://") && !text.starts_with("postgresql://") {
        errors.push(source.error_in(
            &url.span(),
            "store must be \"sqlite\" or a URL starting with postgres://",
        ));
        return sqlite();
    }
    match text.parse::<tokio_postgres::Config>() {
        // Not quoted: the line holds the password.
        Ok(parsed) if parsed.get_password().is_some() => {
            errors.push(source.secret_error_in(
                &url.span(),
                "a password may not be written in the config: use store_password_file, store_password_env or PGPASSWORD",
            ));
            return sqlite();
        }
        Ok(_) => {}
        Err(e) => {
            errors
                .push(source.secret_error_in(&url.span(), format!("store URL is not valid: {e}")));
            return sqlite();
        }
    }
    let password = read_secret(
        source,
        base,
        files,
        "store_password",
        raw.password_file,
        raw.password_env,
        errors,
    )
    .ok()
    .flatten()
    .map(|(text, _, _)| text.trim_end_matches(['\r', '\n']).to_string());
    Location::Postgres(Target {
        url: text.clone(),
        password,
    })
}
