//! Reads `warden.yaml` into [`Governance`], reporting every error of the file in one run.

use super::Governance;

/// One problem in a governance file, located at a line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct GovernanceError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// What is wrong: lowercase, no final period, user input in backticks.
    pub message: String,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

/// Every problem found in a governance file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct GovernanceErrors(pub Vec<GovernanceError>);

fn render(errors: &[GovernanceError]) -> String {
    errors
        .iter()
        .map(|e| match &e.help {
            Some(help) => format!("{e}\n  help: {help}"),
            None => e.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses and validates a governance file. `file` is the name used in error messages.
pub fn parse_governance(file: &str, text: &str) -> Result<Governance, GovernanceErrors> {
    let _ = (file, text);
    todo!("governance parser")
}
