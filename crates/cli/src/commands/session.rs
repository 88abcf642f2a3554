//! `warden session`: task sessions, the declared scope (resources, paths, tools) and lifetime an
//! agent's calls must stay inside. A call outside a live session's scope goes to review
//! (`session.out-of-scope`); a call naming an ended or expired session is denied.

use clap::{Args, Subcommand};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use warden_core::authorize::Session;
use warden_core::governance::parse::{format_duration, parse_duration};
use warden_core::governance::ResourceKind;
use warden_engine::SessionRequest;

use crate::cli::Global;
use crate::commands::{open_engine, operator};
use crate::exit::{BadInput, OK};
use crate::output::{self, Fields, Format, Stdout, Table};

const LONG_ABOUT: &str = "\
Task sessions: start, list, show and end them.

A session declares what an agent is about to do: the task in words, the resources it needs
(--repo for repositories, --resource for anything, always by id), the paths it will touch
(globs) and the tools it will use (the role's tools if none are given), for a limited time.
Requests name it in their `session` field (the hooks read WARDEN_SESSION), or carry the token
`start` prints, which is scoped to the session: a request with it is decided as the session's
agent in that session, and the token dies with the session (it lives identity.token_ttl at
most; `warden agent token ID --session S` gives a fresh one). A call inside the
session's scope is decided as usual; a call outside it goes to review (session.out-of-scope); a
call naming an ended, expired or unknown session is denied.

Examples:
  warden session start --agent claude-fixer --task \"fix the flaky login test\" \\
      --repo repo:acme/api --path 'src/auth/**' --path 'tests/**' --ttl 2h
  warden session list --all
  warden session end ses_01J…

Exit codes:
  0  done
  1  unknown session or agent, or an agent that may not act (suspended, revoked)
  2  bad input: an undeclared resource, a tool outside the role, a bad glob or duration, or an
     invalid governance file";

/// Task sessions: start, list, show, end
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct SessionArgs {
    #[command(subcommand)]
    pub command: SessionCommand,
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// Start a task session with its declared scope; prints its id and a token scoped to it
    Start(StartArgs),
    /// Live sessions (every session with --all)
    List {
        /// Include ended and expired sessions
        #[arg(long)]
        all: bool,
    },
    /// One session: its agent, task, scope and lifetime
    Show {
        /// The session's id (ses_…)
        id: String,
    },
    /// End a session; calls naming it are denied from now on
    End {
        /// The session's id (ses_…)
        id: String,
        /// Who ends it [default: $USER, else `operator`]
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// The agent the session is for
    #[arg(long, value_name = "ID")]
    pub agent: String,

    /// What the session is for, in words (shown to reviewers)
    #[arg(long, value_name = "TEXT")]
    pub task: String,

    /// A repository the task needs, by resource id (repo:ORG/NAME); repeatable
    #[arg(long = "repo", value_name = "R")]
    pub repos: Vec<String>,

    /// Any resource the task needs, by id (secret:…, api:…, mcp:…); repeatable
    #[arg(long = "resource", value_name = "ID")]
    pub resources: Vec<String>,

    /// A path glob the task may touch (repository-relative); repeatable; none: any path
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,

    /// A tool the task may use; repeatable; none: the role's tools
    #[arg(long = "tool", value_name = "T")]
    pub tools: Vec<String>,

    /// How long the session lives: 30s, 15m, 1h, 90d [default: 1h]
    #[arg(long, value_name = "DURATION", value_parser = ttl)]
    pub ttl: Option<SignedDuration>,
}

fn ttl(text: &str) -> Result<SignedDuration, String> {
    parse_duration(text).map_err(|e| e.reason.to_owned())
}

/// A session as printed: the stored session and its status now.
#[derive(Serialize)]
struct SessionOut<'a> {
    #[serde(flatten)]
    session: &'a Session,
    status: &'static str,
}

/// A session just started: the session, and a token scoped to it with its own expiry.
#[derive(Serialize)]
struct StartedOut<'a> {
    #[serde(flatten)]
    session: SessionOut<'a>,
    token: &'a str,
    token_expires_at: Timestamp,
}

fn status(session: &Session, now: Timestamp) -> &'static str {
    match session.ended_at {
        Some(_) => "ended",
        None if now >= session.expires_at => "expired",
        None => "live",
    }
}

/// The resources of `--repo` and `--resource`, in order, each once. A `--repo` must be a
/// repository's resource id.
fn resources(args: &StartArgs) -> Result<Vec<String>, BadInput> {
    let mut resources: Vec<String> = Vec::new();
    for repo in &args.repos {
        let fix = match ResourceKind::of_id(repo) {
            Some(ResourceKind::Repo) => None,
            Some(_) => Some(format!("`--resource {repo}`")),
            None if !repo.contains(':') && !repo.is_empty() => {
                Some(format!("`--repo repo:{repo}`"))
            }
            None => Some("`--repo repo:ORG/NAME`".to_owned()),
        };
        if let Some(fix) = fix {
            return Err(BadInput(format!(
                "`--repo {repo}` is not a repository's resource id; use {fix}"
            )));
        }
        if !resources.contains(repo) {
            resources.push(repo.clone());
        }
    }
    for resource in &args.resources {
        if !resources.contains(resource) {
            resources.push(resource.clone());
        }
    }
    Ok(resources)
}

/// What the command line asks for, checked.
enum Action<'a> {
    Start(SessionRequest),
    List { all: bool },
    Show(&'a str),
    End { id: &'a str, by: String },
}

fn parse(args: &SessionArgs) -> Result<Action<'_>, BadInput> {
    Ok(match &args.command {
        SessionCommand::Start(start) => Action::Start(SessionRequest {
            agent: start.agent.clone(),
            task: start.task.clone(),
            resources: resources(start)?,
            paths: start.paths.clone(),
            tools: start.tools.clone(),
            ttl: start.ttl,
        }),
        SessionCommand::List { all } => Action::List { all: *all },
        SessionCommand::Show { id } => Action::Show(id),
        SessionCommand::End { id, by } => Action::End {
            id,
            by: operator(by.as_deref()),
        },
    })
}

pub fn run(global: &Global, args: &SessionArgs) -> anyhow::Result<u8> {
    let action = parse(args)?;
    let engine = open_engine(global)?;
    let now = engine.now();
    let mut out = Stdout::new();
    match action {
        Action::Start(request) => {
            let started = engine.start_session_with_token(&request, &operator(None))?;
            let session = &started.session;
            match global.format {
                Format::Json => out.json(&StartedOut {
                    session: SessionOut {
                        session,
                        status: status(session, now),
                    },
                    token: &started.token.token,
                    token_expires_at: started.token.expires_at,
                })?,
                Format::Table => {
                    out.line(format!(
                        "started session {} for agent `{}`",
                        session.id, session.agent
                    ))?;
                    out.line("")?;
                    details(&mut out, session, now)?;
                    out.line("")?;
                    out.line(format!(
                        "name it in requests (\"session\": \"{0}\") or set WARDEN_SESSION={0} for the hooks,",
                        session.id
                    ))?;
                    out.line(format!(
                        "or send this token, scoped to it, until {} (WARDEN_TOKEN for the hooks):",
                        output::time(started.token.expires_at)
                    ))?;
                    out.line("")?;
                    out.line(format!("  {}", started.token.token))?;
                }
            }
        }
        Action::List { all } => {
            let sessions = engine.sessions(!all)?;
            match global.format {
                Format::Json => {
                    let sessions: Vec<SessionOut<'_>> = sessions
                        .iter()
                        .map(|s| SessionOut {
                            session: s,
                            status: status(s, now),
                        })
                        .collect();
                    out.json(&json!({ "sessions": sessions }))?;
                }
                Format::Table if sessions.is_empty() && !all => {
                    out.line("no live sessions (see ended and expired ones with --all)")?;
                }
                Format::Table => {
                    let mut table = Table::new(["ID", "AGENT", "STATUS", "EXPIRES", "TASK"]);
                    for session in &sessions {
                        table.row(vec![
                            session.id.clone(),
                            session.agent.clone(),
                            status(session, now).to_owned(),
                            output::relative(session.expires_at, now),
                            session.task.clone(),
                        ]);
                    }
                    table.print(&mut out)?;
                }
            }
        }
        Action::Show(id) => {
            let session = engine.session(id)?;
            match global.format {
                Format::Json => out.json(&SessionOut {
                    session: &session,
                    status: status(&session, now),
                })?,
                Format::Table => details(&mut out, &session, now)?,
            }
        }
        Action::End { id, by } => {
            let session = engine.end_session(id, &by)?;
            match global.format {
                Format::Json => out.json(&SessionOut {
                    session: &session,
                    status: status(&session, now),
                })?,
                Format::Table => out.line(format!(
                    "ended session {} of agent `{}`",
                    session.id, session.agent
                ))?,
            }
        }
    }
    Ok(OK)
}

fn details(out: &mut Stdout, session: &Session, now: Timestamp) -> anyhow::Result<()> {
    let scope = &session.scope;
    let list = |items: &[String], none: &str| {
        if items.is_empty() {
            none.to_owned()
        } else {
            items.join(", ")
        }
    };
    let lifetime = session.expires_at.duration_since(session.created_at);
    let mut fields = Fields::new();
    fields
        .add("session", &session.id)
        .add("agent", &session.agent)
        .add("task", &session.task)
        .add("status", status(session, now))
        .add(
            "resources",
            list(&scope.resources, "any the agent is granted"),
        )
        .add("paths", list(&scope.paths, "any"))
        .add("tools", list(&scope.tools, "the role's tools"))
        .add("started", output::time(session.created_at))
        .add(
            "expires",
            format!(
                "{} ({}, a {} session)",
                output::time(session.expires_at),
                output::relative(session.expires_at, now),
                format_duration(lifetime)
            ),
        )
        .add_opt("ended", session.ended_at.map(output::time));
    fields.print(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn start(args: &[&str]) -> StartArgs {
        #[derive(clap::Parser)]
        struct Wrap {
            #[command(flatten)]
            start: StartArgs,
        }
        let mut argv = vec!["start", "--agent", "a", "--task", "t"];
        argv.extend_from_slice(args);
        Wrap::try_parse_from(argv).expect("parses").start
    }

    #[test]
    fn repos_and_resources_are_one_list() {
        let args = start(&[
            "--repo",
            "repo:acme/api",
            "--resource",
            "secret:ci/key",
            "--resource",
            "repo:acme/api",
        ]);
        assert_eq!(
            resources(&args).expect("valid"),
            ["repo:acme/api", "secret:ci/key"]
        );
    }

    #[test]
    fn a_repo_is_named_by_its_resource_id() {
        let error = resources(&start(&["--repo", "acme/api"])).expect_err("not an id");
        assert!(error.0.contains("`--repo repo:acme/api`"), "{}", error.0);
        let error = resources(&start(&["--repo", "secret:ci/key"])).expect_err("not a repo");
        assert!(
            error.0.contains("`--resource secret:ci/key`"),
            "{}",
            error.0
        );
    }

    #[test]
    fn ttls_read_like_the_governance_file() {
        assert_eq!(
            start(&["--ttl", "90d"]).ttl,
            Some(SignedDuration::from_hours(90 * 24))
        );
        assert!(ttl("1w").is_err());
    }
}
