//! `warden agent`: the identity lifecycle of the agents the governance file declares: list and
//! show them, suspend, resume and revoke them. Changes are audited and take effect on the agent's
//! next call.

use clap::{Args, Subcommand};
use serde_json::json;
use warden_core::identity::LifecycleChange;
use warden_engine::AgentView;

use crate::cli::Global;
use crate::commands::{open_engine, operator};
use crate::exit::{BadInput, OK};
use crate::output::{self, Fields, Format, Stdout, Table};

const LONG_ABOUT: &str = "\
Agent identities: list, show, suspend, resume and revoke.

Agents are declared in the governance file; their lifecycle state (active, suspended, revoked)
lives in the state folder. A suspended agent's calls are denied until it is resumed; a revoked
agent is gone for good (re-adding it takes a new id). Every change is audited with who made it
(--by, else $USER) and why (--reason).

Examples:
  warden agent list
  warden agent show claude-fixer --format json
  warden agent suspend claude-fixer --reason \"pushing to unknown remotes\"
  warden agent resume claude-fixer

Exit codes:
  0  done
  1  unknown agent, or a change that cannot be made (resuming an active agent, anything on a
     revoked one)
  2  bad input, or an invalid governance file";

/// Agent identities: list, show, suspend, resume, revoke
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Every declared agent with its role, owner and status
    List,
    /// One agent: its identity, role, ceiling, status and grants
    Show {
        /// The agent's id
        id: String,
    },
    /// Deny every call of the agent until it is resumed
    Suspend {
        /// The agent's id
        id: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// Let a suspended agent act again
    Resume {
        /// The agent's id
        id: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
    /// End the agent's identity for good
    Revoke {
        /// The agent's id
        id: String,
        #[command(flatten)]
        change: ChangeArgs,
    },
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Why, for the audit trail (required to suspend or revoke)
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Who is making the change [default: $USER, else `operator`]
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// What the command line asks for, checked.
enum Action<'a> {
    List,
    Show(&'a str),
    Change {
        kind: LifecycleChange,
        id: &'a str,
        reason: String,
        by: String,
    },
}

fn parse(args: &AgentArgs) -> Result<Action<'_>, BadInput> {
    let (kind, id, change) = match &args.command {
        AgentCommand::List => return Ok(Action::List),
        AgentCommand::Show { id } => return Ok(Action::Show(id)),
        AgentCommand::Suspend { id, change } => (LifecycleChange::Suspend, id, change),
        AgentCommand::Resume { id, change } => (LifecycleChange::Resume, id, change),
        AgentCommand::Revoke { id, change } => (LifecycleChange::Revoke, id, change),
    };
    let reason = change.reason.as_deref().map(str::trim).unwrap_or_default();
    if reason.is_empty() && kind != LifecycleChange::Resume {
        return Err(BadInput(format!(
            "`warden agent {}` needs `--reason TEXT` for the audit trail",
            kind.verb()
        )));
    }
    Ok(Action::Change {
        kind,
        id,
        reason: reason.to_owned(),
        by: operator(change.by.as_deref()),
    })
}

pub fn run(global: &Global, args: &AgentArgs) -> anyhow::Result<u8> {
    let action = parse(args)?;
    let engine = open_engine(global)?;
    let mut out = Stdout::new();
    match action {
        Action::List => {
            let agents = engine.agents()?;
            match global.format {
                Format::Json => out.json(&json!({ "agents": agents }))?,
                Format::Table => {
                    let mut table =
                        Table::new(["ID", "ROLE", "CEILING", "OWNER", "STATUS", "GRANTS"]);
                    for agent in &agents {
                        table.row(vec![
                            agent.id.clone(),
                            agent.role.clone(),
                            agent
                                .ceiling
                                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
                            agent.owner.clone(),
                            agent.status.to_string(),
                            agent.grants.len().to_string(),
                        ]);
                    }
                    table.print(&mut out)?;
                }
            }
        }
        Action::Show(id) => {
            let view = engine.agent(id)?;
            match global.format {
                Format::Json => out.json(&view)?,
                Format::Table => show(&mut out, &view)?,
            }
        }
        Action::Change {
            kind,
            id,
            reason,
            by,
        } => {
            let view = engine.change_agent(id, kind, &by, &reason)?;
            match global.format {
                Format::Json => out.json(&view)?,
                Format::Table => {
                    let why = if reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {reason}")
                    };
                    out.line(output::one_line(&format!(
                        "agent `{}` is now {} (by {by}{why})",
                        view.id, view.status
                    )))?;
                }
            }
        }
    }
    Ok(OK)
}

fn show(out: &mut Stdout, view: &AgentView) -> anyhow::Result<()> {
    let mut fields = Fields::new();
    fields
        .add("agent", &view.id)
        .add("spiffe id", &view.spiffe_id)
        .add("owner", &view.owner)
        .add("role", &view.role)
        .add(
            "ceiling",
            view.ceiling
                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
        )
        .add("status", view.status.to_string())
        .add_opt("changed", view.changed_at.map(output::time))
        .add_opt("changed by", view.changed_by.as_ref())
        .add_opt("why", view.status_reason.as_ref().filter(|r| !r.is_empty()));
    fields.print(out)?;
    out.line("")?;
    if view.grants.is_empty() {
        return out.line("no grants");
    }
    let mut table = Table::new(["GRANT", "ACCESS"]);
    for grant in &view.grants {
        let access: Vec<&str> = grant.access.iter().map(|a| a.as_str()).collect();
        table.row(vec![grant.resource.clone(), access.join(", ")]);
    }
    table.print(out)
}
