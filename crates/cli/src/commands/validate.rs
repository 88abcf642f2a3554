//! `warden validate`: checks the governance file and its Cedar policies, and reports every
//! problem at once, each with its file, line and column.

use clap::Args;
use serde_json::json;
use warden_engine::load_snapshot;

use crate::cli::Global;
use crate::exit::{self, OK};
use crate::output::{Format, Stdout};

const LONG_ABOUT: &str = "\
Check the governance file and its Cedar policies.

Reads the file named by --config and the policy files its `policies:` globs name, and checks
everything: unknown keys, references between resources, roles and agents, durations, globs, and
the Cedar policies against the schema (`warden policy schema`). Every problem is reported, one
per line, as FILE:LINE:COLUMN: MESSAGE with a `help:` line where there is a fix to suggest.

With --format json, prints {\"valid\": BOOL, \"errors\": [STRING…], \"summary\": {…}}.

Examples:
  warden validate
  warden --config examples/acme/warden.yaml validate --format json

Exit codes:
  0  valid
  2  invalid (or the file cannot be read)";

/// Check the governance file and its Cedar policies
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct ValidateArgs {}

pub fn run(global: &Global, _args: &ValidateArgs) -> anyhow::Result<u8> {
    let loaded = load_snapshot(&global.config);
    let mut out = Stdout::new();
    match (loaded, global.format) {
        (Ok(snapshot), format) => {
            let governance = &snapshot.governance;
            let summary = json!({
                "org": governance.org,
                "agents": governance.agents.len(),
                "roles": governance.roles.len(),
                "resources": governance.resources.len(),
                "policies": snapshot.policies.len(),
            });
            match format {
                Format::Json => {
                    out.json(&json!({ "valid": true, "errors": [], "summary": summary }))?
                }
                Format::Table => out.line(format!(
                    "valid: {}, {}, {}, {}",
                    count(governance.agents.len(), "agent", "agents"),
                    count(governance.roles.len(), "role", "roles"),
                    count(governance.resources.len(), "resource", "resources"),
                    count(snapshot.policies.len(), "policy", "policies"),
                ))?,
            }
            Ok(OK)
        }
        (Err(error), Format::Json) => {
            let problems = exit::load_problems(&error);
            out.json(&json!({ "valid": false, "errors": problems, "summary": null }))?;
            // The same problems in words on stderr, as for every error.
            Ok(exit::report(&error.into()))
        }
        (Err(error), Format::Table) => Err(error.into()),
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
