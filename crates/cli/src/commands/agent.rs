//! `warden agent`: the identity lifecycle of the agents the governance file declares: list and
//! show them; issue, rotate and trade their credentials for tokens; suspend, resume and revoke
//! them. Changes are audited and take effect on the agent's next call.

use std::io::Read as _;

use clap::{Args, Subcommand};
use jiff::SignedDuration;
use serde_json::json;
use warden_core::governance::parse::parse_duration;
use warden_core::identity::LifecycleChange;
use warden_engine::{AgentView, EngineError, NewCredential, Override, TokenAuth, TokenGrant};

use crate::cli::Global;
use crate::commands::{open_engine, operator};
use crate::exit::{BadInput, OK};
use crate::output::{self, Fields, Format, Stdout, Table};

const LONG_ABOUT: &str = "\
Agent identities: list, show, credentials and tokens, suspend, resume and revoke.

Agents are declared in the governance file; their lifecycle state (active, suspended, revoked)
lives in the state folder. A suspended agent's calls are denied until it is resumed; a revoked
agent is gone for good (re-adding it takes a new id), and so are its tokens. Every change is
audited with who made it (--by, else $USER) and why (--reason).

Credentials and tokens: `issue` gives an agent its credential (wdn_…) and `rotate` replaces it;
either prints it once (`{\"agent\", \"credential\", \"expires_at\"}` in json) and the state
folder keeps only its SHA-256. A credential stops working identity.credential_max_age after it
was issued; rotating it revokes every token issued before. `issue` refuses an agent whose blast
radius exceeds its role's ceiling or was never reviewed, unless --force --reason TEXT (audited).
`token` prints a short-lived signed token (`{\"token\", \"expires_at\"}` in json; the bare
token in table format), on the local operator's say-so or, with --credential (or
WARDEN_CREDENTIAL), in exchange for the agent's credential; with --session it is scoped to that
live session and dies with it. Requests carry it in their `token` field.

Examples:
  warden agent list
  warden agent show claude-fixer --format json
  warden agent issue claude-fixer
  WARDEN_CREDENTIAL=wdn_… warden agent token claude-fixer --ttl 15m
  warden agent rotate claude-fixer
  warden agent suspend claude-fixer --reason \"pushing to unknown remotes\"
  warden agent resume claude-fixer

Exit codes:
  0  done
  1  unknown agent, or a change that cannot be made (resuming an active agent, anything on a
     revoked one, a second credential, a deployment check that fails), or a credential refused
  2  bad input, or an invalid governance file";

/// Agent identities: list, show, issue, rotate, token, suspend, resume, revoke
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
    /// Issue the agent its credential: printed once, only its hash is kept
    Issue {
        /// The agent's id
        id: String,
        /// Issue even though the deployment check refuses (reach over the role's ceiling, blast
        /// radius never reviewed); needs --reason, and the override is audited
        #[arg(long, requires = "reason")]
        force: bool,
        /// Why the refusal is overridden (with --force)
        #[arg(long, value_name = "TEXT", requires = "force")]
        reason: Option<String>,
        /// Who issues it [default: $USER, else `operator`]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Replace the agent's credential: the old one stops working and earlier tokens are revoked
    Rotate {
        /// The agent's id
        id: String,
        /// Who rotates it [default: $USER, else `operator`]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
    /// Print a short-lived signed token for the agent
    Token {
        /// The agent's id
        id: String,
        /// Scope the token to this live session of the agent's (ses_…)
        #[arg(long, value_name = "S")]
        session: Option<String>,
        /// How long the token lives: 30s, 15m, 1h [default: identity.token_ttl; never more
        /// than identity.token_max_ttl]
        #[arg(long, value_name = "DURATION", value_parser = ttl)]
        ttl: Option<SignedDuration>,
        /// Trade the agent's credential for the token (`-` reads it from stdin) instead of
        /// acting as the local operator
        #[arg(
            long,
            value_name = "CREDENTIAL",
            env = "WARDEN_CREDENTIAL",
            hide_env_values = true
        )]
        credential: Option<String>,
        /// Who asks, for the audit trail, without a credential [default: $USER, else `operator`]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
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

fn ttl(text: &str) -> Result<SignedDuration, String> {
    parse_duration(text).map_err(|e| e.reason.to_owned())
}

/// What the command line asks for, checked.
enum Action<'a> {
    List,
    Show(&'a str),
    Issue {
        id: &'a str,
        force: Option<String>,
        by: String,
    },
    Rotate {
        id: &'a str,
        by: String,
    },
    Token {
        id: &'a str,
        session: Option<&'a str>,
        ttl: Option<SignedDuration>,
        credential: Option<String>,
        by: String,
    },
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
        AgentCommand::Issue {
            id,
            force,
            reason,
            by,
        } => {
            let reason = reason.as_deref().map(str::trim).unwrap_or_default();
            if *force && reason.is_empty() {
                return Err(BadInput(
                    "`--force` needs `--reason TEXT` for the audit trail".into(),
                ));
            }
            return Ok(Action::Issue {
                id,
                force: force.then(|| reason.to_owned()),
                by: operator(by.as_deref()),
            });
        }
        AgentCommand::Rotate { id, by } => {
            return Ok(Action::Rotate {
                id,
                by: operator(by.as_deref()),
            })
        }
        AgentCommand::Token {
            id,
            session,
            ttl,
            credential,
            by,
        } => {
            return Ok(Action::Token {
                id,
                session: session.as_deref(),
                ttl: *ttl,
                credential: credential.as_deref().map(read_credential).transpose()?,
                by: operator(by.as_deref()),
            })
        }
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
        Action::Issue { id, force, by } => {
            let forced = match (engine.deployment_check(id), force) {
                (Ok(()), _) => None,
                (Err(EngineError::Refused(refusal)), Some(reason)) => Some(Override {
                    reason,
                    refusal: Some(refusal),
                }),
                (Err(e), _) => return Err(e.into()),
            };
            let issued = engine.issue_credential(id, &by, forced.as_ref())?;
            if forced.is_some() {
                eprintln!("warning: the deployment check of agent `{id}` was overridden with --force (audited)");
            }
            print_credential(&mut out, global.format, &issued)?;
        }
        Action::Rotate { id, by } => {
            let issued = engine.rotate_credential(id, &by)?;
            print_credential(&mut out, global.format, &issued)?;
        }
        Action::Token {
            id,
            session,
            ttl,
            credential,
            by,
        } => {
            let auth = match credential.as_deref() {
                Some(credential) => TokenAuth::Credential(credential),
                None => TokenAuth::Operator { by: &by },
            };
            let token = engine.issue_token(&TokenGrant {
                agent: id,
                session,
                ttl,
                auth,
            })?;
            match global.format {
                Format::Json => out.json(&json!({
                    "token": token.token,
                    "expires_at": token.expires_at,
                }))?,
                // The bare token, for `$(warden agent token …)`.
                Format::Table => out.line(&token.token)?,
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

/// A credential given on the command line, or read from stdin for `-`.
fn read_credential(given: &str) -> Result<String, BadInput> {
    if given != "-" {
        return Ok(given.trim().to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| BadInput(format!("cannot read the credential from stdin: {e}")))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(BadInput("no credential on stdin".into()));
    }
    Ok(text.to_owned())
}

/// Shows a new credential, the one time it is shown.
fn print_credential(
    out: &mut Stdout,
    format: Format,
    issued: &NewCredential,
) -> anyhow::Result<()> {
    match format {
        Format::Json => out.json(&json!({
            "agent": issued.agent,
            "credential": issued.credential.expose(),
            "expires_at": issued.expires_at,
        })),
        Format::Table => {
            out.line(format!(
                "credential of agent `{}` (shown this once; warden keeps only its hash):",
                issued.agent
            ))?;
            out.line("")?;
            out.line(format!("  {}", issued.credential.expose()))?;
            out.line("")?;
            out.line(format!(
                "it expires at {}; trade it for tokens with `warden agent token {} --credential -` or WARDEN_CREDENTIAL",
                output::time(issued.expires_at),
                issued.agent
            ))
        }
    }
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
