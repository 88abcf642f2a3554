//! Exit codes, and the one place where an error becomes words on stderr and an exit code.
//!
//! Every command returns `anyhow::Result<u8>`: `Ok` carries the code of a finished command (for
//! `warden check`, the outcome of the decision), `Err` whatever stopped it. [`report`] walks the
//! error's chain for the errors it knows ([`EngineError`], [`LoadError`], [`StoreError`],
//! [`BadInput`], [`Refused`]) and picks the code CONTRACTS §4 gives it; anything else is an
//! operation that failed (exit 1).

use std::io::Write;

use warden_engine::{EngineError, LoadError};
use warden_store::StoreError;

/// Success, or an allowed call.
pub const OK: u8 = 0;
/// A denied call, or an operation that was refused or failed.
pub const FAILED: u8 = 1;
/// Not a request, an invalid governance file, or a wrong command line.
pub const BAD_INPUT: u8 = 2;

/// The exit-code table shown at the end of `warden --help`.
pub const TABLE: &str = "\
Exit codes:
  0  success; for `warden check`, the call is allowed
  1  the call is denied, or the operation was refused or failed (an unknown id, say)
  2  bad input: not a request, an invalid governance file or policy, a wrong command line
  3  for `warden check`: the call needs review (a gate was opened)";

/// Input the CLI rejects before doing anything (exit 2). Several problems go one per line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// An operation the CLI refuses to carry out, such as overwriting a file (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// The exit code for an error (CONTRACTS §4).
pub fn code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            return match e {
                EngineError::Load(_) | EngineError::Invalid(_) => BAD_INPUT,
                EngineError::NotFound { .. } | EngineError::Refused(_) | EngineError::Store(_) => {
                    FAILED
                }
            };
        }
        if cause.is::<LoadError>() || cause.is::<BadInput>() || cause.is::<clap::Error>() {
            return BAD_INPUT;
        }
        if cause.is::<StoreError>() || cause.is::<Refused>() {
            return FAILED;
        }
    }
    FAILED
}

/// Writes the error to stderr as `error: …` lines and returns its exit code.
///
/// A governance file or policy that does not validate gets one `error:` line per problem (each
/// with its file, line and column, and its `help:` below it), so that all of them show at once.
pub fn report(error: &anyhow::Error) -> u8 {
    let mut stderr = std::io::stderr().lock();
    for line in lines_of(error) {
        // If stderr itself is gone there is nowhere left to say anything.
        let _ = writeln!(stderr, "{line}");
    }
    code_of(error)
}

/// The lines [`report`] writes.
pub fn lines_of(error: &anyhow::Error) -> Vec<String> {
    match load_error(error) {
        Some(load) => load_lines(load),
        None => prefixed(&message(error)),
    }
}

/// The words of an error: its context chain joined with `: `, without repeating a cause whose
/// text its context already carries (transparent wrappers).
pub fn message(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

/// One `error:` line per problem in a governance file or its policies, `help:` lines indented.
pub fn load_lines(error: &LoadError) -> Vec<String> {
    prefixed(&error.to_string())
}

/// `error: ` before every line of `text` that is not indented (indented lines are the `help:`
/// of the line above).
fn prefixed(text: &str) -> Vec<String> {
    if text.trim().is_empty() {
        return vec!["error: something went wrong, and it did not say what".to_owned()];
    }
    text.lines()
        .map(|line| {
            if line.starts_with(char::is_whitespace) {
                line.to_owned()
            } else {
                format!("error: {line}")
            }
        })
        .collect()
}

/// The problems of a governance file or its policies, one string each (help included), for
/// `--format json`.
pub fn load_problems(error: &LoadError) -> Vec<String> {
    let mut problems: Vec<String> = Vec::new();
    for line in error.to_string().lines() {
        match (
            line.trim_start().strip_prefix("help: "),
            problems.last_mut(),
        ) {
            (Some(help), Some(last)) if line.starts_with(char::is_whitespace) => {
                last.push_str(&format!(" (help: {help})"));
            }
            _ => problems.push(line.to_owned()),
        }
    }
    problems
}

fn load_error(error: &anyhow::Error) -> Option<&LoadError> {
    error.chain().find_map(|cause| {
        cause
            .downcast_ref::<LoadError>()
            .or_else(|| match cause.downcast_ref::<EngineError>() {
                Some(EngineError::Load(load)) => Some(load),
                _ => None,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_their_codes() {
        let cases = [
            (EngineError::Invalid("x".into()), BAD_INPUT),
            (
                EngineError::NotFound {
                    what: "gate",
                    id: "g".into(),
                },
                FAILED,
            ),
            (EngineError::Refused("no".into()), FAILED),
            (
                EngineError::Store(StoreError::Backend("disk".into())),
                FAILED,
            ),
            (
                EngineError::Load(LoadError::Read {
                    path: "w".into(),
                    message: "m".into(),
                }),
                BAD_INPUT,
            ),
        ];
        for (error, code) in cases {
            let error = anyhow::Error::new(error).context("while doing something");
            assert_eq!(code_of(&error), code, "{error:#}");
        }
        assert_eq!(
            code_of(&anyhow::Error::new(BadInput("b".into()))),
            BAD_INPUT
        );
        assert_eq!(code_of(&anyhow::anyhow!("io")), FAILED);
    }

    #[test]
    fn the_store_says_it_failed_once() {
        let error = anyhow::Error::new(EngineError::Store(StoreError::Backend("disk full".into())));
        assert_eq!(lines_of(&error), ["error: the store failed: disk full"]);
    }

    #[test]
    fn load_errors_get_one_line_each() {
        let error = LoadError::Read {
            path: "warden.yaml".into(),
            message: "no such file".into(),
        };
        assert_eq!(
            load_lines(&error),
            ["error: cannot read `warden.yaml`: no such file"]
        );
    }
}
