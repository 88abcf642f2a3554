//! `warden hook claude-code` and `warden hook codex`: the agent CLI hook (CONTRACTS §6).
//!
//! One process per tool call: read the hook input, map it to requests (the adapters crate),
//! decide them, wait for a gate within `gates.hook_wait` when one opens, and print the answer.
//! `PostToolUse` records how the call ended. Everything that goes wrong ends in exit 2 with the
//! reason on stderr, the one refusal both clients honour whatever their version: a hook that
//! crashed, printed nothing, or exited 1 would let the call through.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{anyhow, Context as _};
use clap::Args;
use serde_json::{json, Value};
use warden_adapters::hook::{self, Caller, Client, HookAnswer, Mapped, Permission};
use warden_core::Outcome;

use super::backend::Backend;
use super::workspace::GitWorkspace;
use crate::cli::Global;

/// Exit code of a refusal a hook client honours (Claude Code and Codex: "blocking error").
pub const BLOCK: u8 = 2;

/// Decide one tool call of a Claude Code or Codex CLI agent (a command hook)
#[derive(Debug, Args)]
#[command(long_about = "\
Decide one tool call of a Claude Code or Codex CLI agent: a command hook.

Reads the hook input (JSON) on stdin, as the client sends it to a PreToolUse or PostToolUse
hook, and answers on stdout with
  {\"hookSpecificOutput\": {\"hookEventName\": \"PreToolUse\",
    \"permissionDecision\": \"allow\"|\"deny\"|\"ask\", \"permissionDecisionReason\": \"…\"}}
A call that needs review waits for its gate up to gates.hook_wait, then is allowed if a
reviewer approved it, or denied naming the gate (the same call passes once approved). `ask`
is answered only with gates.terminal_approval: true.

The agent comes from WARDEN_AGENT or WARDEN_TOKEN, the session from WARDEN_SESSION, the
repository from WARDEN_REPO or the `origin` remote of the input's cwd. With --server (or
WARDEN_URL) the decision comes from that server.

Install with `warden hook install claude-code` (or `codex`).

Exit codes:
  0  answered (the JSON on stdout says allow, deny or ask)
  2  refused without a decision: unreadable input, no governance file, Warden unreachable;
     the reason is on stderr and the client blocks the call")]
pub struct AgentHookArgs {}

/// Runs the hook; never fails and never panics past this point: every failure is a refusal.
pub fn run(global: &Global, _args: &AgentHookArgs, client: Client) -> u8 {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| answer(global, client)));
    match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => refuse(&format!(
            "Warden could not decide this call, so it is refused (fail closed): {}",
            crate::exit::message(&e)
        )),
        Err(_) => refuse("Warden failed while deciding this call, so it is refused (fail closed)"),
    }
}

fn refuse(reason: &str) -> u8 {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{reason}");
    BLOCK
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn answer(global: &Global, client: Client) -> anyhow::Result<u8> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read the hook input")?;
    let input = hook::parse_input(&bytes)?;
    let raw: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let caller = Caller {
        agent: env("WARDEN_AGENT"),
        token: env("WARDEN_TOKEN"),
        session: env("WARDEN_SESSION"),
    };
    if caller.agent.is_none() && caller.token.is_none() {
        return Err(anyhow!(
            "no agent: set WARDEN_AGENT (or WARDEN_TOKEN) in the hook's environment"
        ));
    }
    let backend = Backend::open(global, caller.token.as_deref())?;
    match input.event() {
        "PreToolUse" => {}
        "PostToolUse" | "PostToolUseFailure" => {
            let mut body = hook::tool_outcome(&input);
            if input.event() == "PostToolUseFailure" {
                body["outcome"] = json!("error");
            }
            body["client"] = json!(client.name());
            backend.record(
                "tool.result",
                caller.agent.as_deref(),
                caller.session.as_deref(),
                body,
                &raw,
            )?;
            // Nothing to say back: the call already ran.
            println!("{{}}");
            return Ok(0);
        }
        other => {
            return Err(anyhow!(
                "`{other}` is not an event this hook decides (install it for PreToolUse and PostToolUse)"
            ))
        }
    }
    let cwd = input
        .cwd
        .as_deref()
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let ws = GitWorkspace::new(cwd, env("WARDEN_REPO"), backend.snapshot());
    let answer = match hook::map_call(client, &input, &caller, &ws) {
        Mapped::NoDecision => HookAnswer {
            permission: Permission::Allow,
            reason: "allowed without a decision (the agent's own to-do list)".into(),
        },
        Mapped::Requests(requests) => {
            let answer = decide(&backend, &requests)?;
            if answer.permission == Permission::Ask {
                // The person at the terminal decides: recorded as such, with the gates the
                // decisions opened (they stay pending; the terminal's answer is not Warden's).
                backend.record(
                    "hook.ask",
                    caller.agent.as_deref(),
                    caller.session.as_deref(),
                    json!({
                        "client": client.name(),
                        "tool_name": input.tool_name,
                        "tool_use_id": input.tool_use_id,
                        "reason": answer.reason,
                    }),
                    &raw,
                )?;
            }
            answer
        }
    };
    let output = hook::pre_tool_use_output(client, &answer);
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{output}").context("cannot write the answer")?;
    stdout.flush().context("cannot write the answer")?;
    Ok(0)
}

/// Decides the requests and, for a review, waits for the gates; the answer.
fn decide(
    backend: &Backend,
    requests: &[warden_core::request::ActionRequest],
) -> anyhow::Result<HookAnswer> {
    let started = Instant::now();
    let mut decisions = backend.decide(requests)?;
    if hook::worst(&decisions) != Outcome::Review {
        return Ok(hook::answer_final(&decisions));
    }
    if backend.terminal_approval() {
        return Ok(hook::answer_ask(&decisions));
    }
    // Wait for every gate, within hook_wait in all.
    let until = started + backend.hook_wait();
    let mut gates = Vec::new();
    for decision in &decisions {
        if let Some(gate) = &decision.gate {
            let status = backend.wait_gate(&gate.id, until)?;
            gates.push((gate.id.clone(), status));
        }
    }
    if gates.iter().all(|(_, status)| status == "approved") {
        // Decide the reviewed calls again: the approval is used now, and deny steps run again.
        let again: Vec<usize> = decisions
            .iter()
            .enumerate()
            .filter(|(_, d)| d.decision == Outcome::Review)
            .map(|(i, _)| i)
            .collect();
        let retry: Vec<_> = again
            .iter()
            .filter_map(|&i| requests.get(i).cloned())
            .collect();
        let redecided = backend.decide(&retry)?;
        for (i, decision) in again.into_iter().zip(redecided) {
            if let Some(slot) = decisions.get_mut(i) {
                *slot = decision;
            }
        }
        if hook::worst(&decisions) == Outcome::Review {
            return Ok(hook::answer_unanswered_review(&gates, &decisions));
        }
        return Ok(hook::answer_final(&decisions));
    }
    Ok(hook::answer_unanswered_review(&gates, &decisions))
}
