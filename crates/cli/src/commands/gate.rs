//! `warden gate`: review gates, the calls waiting for a person. `show` lays out everything the
//! reviewer needs to decide (who, what, where, which files in which path classes, the redacted
//! payload and diff, the rules that fired), with the agent's own account labelled as the agent's:
//! it is a claim to weigh, not a fact (ASI09).

use std::collections::{BTreeMap, BTreeSet};

use clap::{Args, Subcommand, ValueEnum};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::json;
use warden_core::authorize::target_resource;
use warden_core::gates::{Answer, Gate, GateStatus};
use warden_core::governance::Sensitivity;
use warden_engine::Engine;

use crate::cli::Global;
use crate::commands::open_engine;
use crate::exit::OK;
use crate::output::{self, Fields, Format, Stdout, Table};

const LONG_ABOUT: &str = "\
Review gates: list, show, approve and deny them.

A call that needs review (`warden check` exits 3) opens a gate. A listed reviewer (gates.reviewers
in the governance file) looks at it with `warden gate show` and answers it; never the agent, and
the agent's owner only if gates.owner_may_approve. An approval lets exactly the reviewed request
pass, once, before the gate expires; any deny reason still denies it. A gate nobody answers is
denied when it expires.

Examples:
  warden gate list
  warden gate show gate_01J…
  warden gate approve gate_01J… --reviewer bob@acme.dev --comment \"checked the diff\"
  warden gate deny gate_01J… --reviewer bob@acme.dev --comment \"not during the freeze\"

Exit codes:
  0  done
  1  unknown gate, or an answer that is refused (not a listed reviewer, the agent's owner, a
     gate that is no longer pending)
  2  bad input, or an invalid governance file";

/// Review gates: list, show, approve, deny
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct GateArgs {
    #[command(subcommand)]
    pub command: GateCommand,
}

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Gates with a given status, oldest first
    List {
        /// Which gates to list
        #[arg(long, value_enum, default_value_t = StatusFilter::Pending)]
        status: StatusFilter,
    },
    /// Everything a reviewer needs to answer one gate
    Show {
        /// The gate's id (gate_…)
        id: String,
    },
    /// Approve a pending gate: the reviewed request passes once
    Approve(AnswerArgs),
    /// Deny a pending gate: the request stays denied
    Deny(AnswerArgs),
}

#[derive(Debug, Args)]
pub struct AnswerArgs {
    /// The gate's id (gate_…)
    pub id: String,

    /// Who answers: a reviewer listed in the governance file (gates.reviewers)
    #[arg(long, value_name = "EMAIL")]
    pub reviewer: String,

    /// Why, for the audit trail and the agent
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    Pending,
    Approved,
    Denied,
    Expired,
    Used,
    All,
}

impl StatusFilter {
    fn status(self) -> Option<GateStatus> {
        match self {
            StatusFilter::Pending => Some(GateStatus::Pending),
            StatusFilter::Approved => Some(GateStatus::Approved),
            StatusFilter::Denied => Some(GateStatus::Denied),
            StatusFilter::Expired => Some(GateStatus::Expired),
            StatusFilter::Used => Some(GateStatus::Used),
            StatusFilter::All => None,
        }
    }
}

/// A gate with what the governance file says about it, as `gate show --format json` prints it.
#[derive(Serialize)]
struct GateOut<'a> {
    #[serde(flatten)]
    gate: &'a Gate,
    /// The resource the request targets (as named, or derived from a URL or MCP server).
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sensitivity: Option<Sensitivity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    /// Each file's path classes (files in none are left out).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    file_classes: BTreeMap<&'a str, Vec<&'a str>>,
    /// Seconds until a pending gate expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in_seconds: Option<i64>,
}

impl<'a> GateOut<'a> {
    fn new(engine: &'a Engine, gate: &'a Gate, now: Timestamp) -> GateOut<'a> {
        let snapshot = engine.snapshot();
        let agent = snapshot.agent(&gate.agent);
        let target = target_resource(&gate.request);
        let sensitivity = target
            .as_deref()
            .and_then(|t| snapshot.resource(t))
            .map(|r| r.sensitivity);
        let mut file_classes = BTreeMap::new();
        for file in gate.request.context.files.iter().flatten() {
            let mut classes = BTreeSet::new();
            snapshot.classes_of(file, &mut classes);
            if !classes.is_empty() {
                file_classes.insert(file.as_str(), classes.into_iter().collect());
            }
        }
        GateOut {
            gate,
            target,
            sensitivity,
            owner: agent.map(|a| a.owner.as_str()),
            role: agent.map(|a| a.role.as_str()),
            file_classes,
            expires_in_seconds: (gate.status == GateStatus::Pending)
                .then(|| gate.expires_at.duration_since(now).as_secs()),
        }
    }
}

pub fn run(global: &Global, args: &GateArgs) -> anyhow::Result<u8> {
    let engine = open_engine(global)?;
    let now = engine.now();
    let mut out = Stdout::new();
    match &args.command {
        GateCommand::List { status } => {
            let gates = engine.gates(status.status())?;
            match global.format {
                Format::Json => out.json(&json!({ "gates": gates }))?,
                Format::Table if gates.is_empty() => {
                    let which = match status.status() {
                        Some(status) => format!("no {status} gates"),
                        None => "no gates".to_owned(),
                    };
                    out.line(which)?;
                }
                Format::Table => {
                    let mut table = Table::new([
                        "ID", "STATUS", "AGENT", "TOOL", "RESOURCE", "RULES", "EXPIRES",
                    ]);
                    for gate in &gates {
                        let rules: Vec<&str> =
                            gate.reasons.iter().map(|r| r.rule.as_ref()).collect();
                        table.row(vec![
                            gate.id.clone(),
                            gate.status.to_string(),
                            gate.agent.clone(),
                            gate.request.tool.clone(),
                            target_resource(&gate.request).unwrap_or_else(|| "-".to_owned()),
                            rules.join(","),
                            match gate.status {
                                GateStatus::Pending | GateStatus::Approved => {
                                    output::relative(gate.expires_at, now)
                                }
                                _ => "-".to_owned(),
                            },
                        ]);
                    }
                    table.print(&mut out)?;
                }
            }
        }
        GateCommand::Show { id } => {
            let gate = engine.gate(id)?;
            let view = GateOut::new(&engine, &gate, now);
            match global.format {
                Format::Json => out.json(&view)?,
                Format::Table => show(&mut out, &view, now)?,
            }
        }
        GateCommand::Approve(reply) => {
            answer(&engine, &mut out, global.format, reply, Answer::Approve)?
        }
        GateCommand::Deny(reply) => answer(&engine, &mut out, global.format, reply, Answer::Deny)?,
    }
    Ok(OK)
}

/// Records a reviewer's answer and says what it means for the agent.
fn answer(
    engine: &Engine,
    out: &mut Stdout,
    format: Format,
    args: &AnswerArgs,
    kind: Answer,
) -> anyhow::Result<()> {
    let gate = engine.answer_gate(&args.id, kind, &args.reviewer, args.comment.as_deref())?;
    match format {
        Format::Json => out.json(&gate),
        Format::Table => {
            let line = match kind {
                Answer::Approve => format!(
                    "approved gate {} as {}: the agent's request passes once if it is made again, unchanged, before {}",
                    gate.id,
                    args.reviewer,
                    output::time(gate.expires_at)
                ),
                Answer::Deny => format!("denied gate {} as {}: the agent's request stays denied", gate.id, args.reviewer),
            };
            out.line(output::one_line(&line))
        }
    }
}

/// The reviewer's page: facts first, then why it is here, then what the agent says about it.
fn show(out: &mut Stdout, view: &GateOut<'_>, now: Timestamp) -> anyhow::Result<()> {
    let gate = view.gate;
    let request = &gate.request;
    let context = &request.context;
    let mut agent = gate.agent.clone();
    if let (Some(owner), Some(role)) = (view.owner, view.role) {
        agent.push_str(&format!(" (owner {owner}, role {role})"));
    }
    let resource = match (&view.target, view.sensitivity) {
        (Some(target), Some(sensitivity)) => format!("{target} ({sensitivity})"),
        (Some(target), None) => format!("{target} (not declared)"),
        (None, _) => "-".to_owned(),
    };
    let mut fields = Fields::new();
    fields
        .add("gate", &gate.id)
        .add("status", gate.status.to_string())
        .add("agent", agent)
        .add_opt("session", gate.session.as_ref())
        .add("tool", &request.tool)
        .add("resource", resource)
        .add_opt("branch", context.branch.as_ref())
        .add_opt("command", context.command.as_ref())
        .add_opt("url", context.url.as_ref())
        .add_opt("host", context.host.as_ref())
        .add_opt("called by", context.chain.as_ref().map(|c| c.join(" → ")))
        .add_opt("sub-agent", context.subagent.as_ref())
        .add(
            "created",
            format!(
                "{} ({})",
                output::time(gate.created_at),
                output::relative(gate.created_at, now)
            ),
        )
        .add(
            "expires",
            format!(
                "{} ({})",
                output::time(gate.expires_at),
                output::relative(gate.expires_at, now)
            ),
        )
        .add_opt("answered by", gate.answered_by.as_ref())
        .add_opt("answered", gate.answered_at.map(output::time))
        .add_opt("comment", gate.comment.as_ref())
        .add_opt("used", gate.used_at.map(output::time))
        .add("digest", &gate.digest);
    fields.print(out)?;

    out.line("")?;
    out.line("why it needs review:")?;
    let mut reasons = Table::new(["  RULE", "RISK", "WHAT"]);
    for reason in &gate.reasons {
        reasons.row(vec![
            format!("  {}", reason.rule),
            reason
                .risk
                .map_or_else(|| "-".to_owned(), |r| format!("{r} {}", r.title())),
            reason.message.clone(),
        ]);
    }
    reasons.print(out)?;

    if let Some(files) = &context.files {
        out.line("")?;
        out.line(format!("files ({}):", files.len()))?;
        let mut table = Table::new(["  PATH", "CLASSES"]);
        for file in files {
            let classes = view
                .file_classes
                .get(file.as_str())
                .map(|c| c.join(", "))
                .unwrap_or_default();
            table.row(vec![format!("  {file}"), classes]);
        }
        // The header only helps when some file falls in a class.
        let lines = table.render();
        for line in lines.iter().skip(usize::from(view.file_classes.is_empty())) {
            out.line(line)?;
        }
    }
    for (label, text) in [
        ("payload (secrets redacted)", &context.payload),
        ("diff (secrets redacted)", &context.diff),
    ] {
        if let Some(text) = text {
            out.line("")?;
            out.line(format!("{label}:"))?;
            for line in output::block(text, "  ") {
                out.line(line)?;
            }
        }
    }
    if gate.status != GateStatus::Pending && context.payload.is_none() && context.diff.is_none() {
        out.line("")?;
        out.line("(payload and diff, if any, were dropped when the gate was answered or expired)")?;
    }
    if let Some(reason) = &context.reason {
        out.line("")?;
        out.line("the agent's own account (written by the agent, not verified by warden):")?;
        for line in output::block(reason, "  | ") {
            out.line(line)?;
        }
    }
    if gate.status == GateStatus::Pending {
        out.line("")?;
        out.line(format!(
            "answer: warden gate approve {0} --reviewer EMAIL [--comment TEXT]\n        warden gate deny {0} --reviewer EMAIL [--comment TEXT]",
            gate.id
        ))?;
    }
    Ok(())
}
