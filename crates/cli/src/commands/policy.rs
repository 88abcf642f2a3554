//! `warden policy`: the organisation's Cedar policies. `schema` prints the schema they are
//! checked against, built from the governance file (its MCP tools become actions).

use clap::{Args, Subcommand};
use serde_json::json;
use warden_core::governance::parse_governance;
use warden_core::policy::schema_text;
use warden_engine::LoadError;

use crate::cli::Global;
use crate::exit::OK;
use crate::output::{Format, Stdout};

const LONG_ABOUT: &str = "\
The organisation's Cedar policies.

Policies are Cedar `forbid` rules listed under `policies:` in the governance file, evaluated
under an implicit permit. A matching forbid denies the call with the rule id policy.<@id>; one
annotated @review sends it to review instead. `warden validate` checks them against the schema
that `warden policy schema` prints: the entity types Warden::Agent, Warden::Role and
Warden::Resource, one action per tool, and the context a policy can test.

Examples:
  warden policy schema > warden.cedarschema
  warden policy schema --format json

Exit codes:
  0  printed
  2  the governance file is invalid or cannot be read";

/// The organisation's Cedar policies: print their schema
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the Cedar schema the policies are checked against
    Schema,
}

pub fn run(global: &Global, args: &PolicyArgs) -> anyhow::Result<u8> {
    match args.command {
        PolicyCommand::Schema => schema(global),
    }
}

/// Only the governance file is read, not the policies: the schema is what one needs at hand
/// while fixing a policy that does not validate.
fn schema(global: &Global) -> anyhow::Result<u8> {
    let path = &global.config;
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: path.display().to_string(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => {
                "no such file (create one with `warden init`, or pass --config)".into()
            }
            _ => e.to_string().to_lowercase(),
        },
    })?;
    let governance =
        parse_governance(&path.display().to_string(), &text).map_err(LoadError::from)?;
    let schema = schema_text(&governance);
    let mut out = Stdout::new();
    match global.format {
        Format::Json => out.json(&json!({ "schema": schema }))?,
        Format::Table => out.line(schema.trim_end())?,
    }
    Ok(OK)
}
