//! Passwords and signing keys: read from a file or an environment variable
//! named in the config, never written in it.

use super::sources::Sources;
use crate::model::diagnostic::{Diagnostic, SourceFile};
use std::path::Path;
use toml::Spanned;

/// Where a secret was read from.
pub(super) enum SecretFrom {
    File,
    Env,
}

/// A secret from `<key>_file` (a path relative to the config) or `<key>_env`
/// (an environment variable), with where it was named: `Ok(None)` when
/// neither is set, `Err(())` once the error is pushed.
pub(super) fn read_secret(
    source: &SourceFile,
    base: &Path,
    files: &dyn Sources,
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
            match files.read(&path).map(String::from_utf8) {
                Ok(Ok(text)) => Ok(Some((text, file.span(), SecretFrom::File))),
                Ok(Err(_)) => {
                    errors.push(source.error_in(
                        &file.span(),
                        format!("{key}_file {} is not UTF-8 text", path.display()),
                    ));
                    Err(())
                }
                Err(e) => {
                    errors.push(source.error_in(
                        &file.span(),
                        format!("cannot read {key}_file {}: {e}", path.display()),
                    ));
                    Err(())
                }
            }
        }
        (None, Some(var)) => match files.env(var.get_ref()).ok_or(()) {
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
