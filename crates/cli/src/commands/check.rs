//! `warden check`: decides one request, or a batch of them in JSON Lines, and exits by the
//! outcome.
//!
//! All input is read and checked before anything is decided: if any line is not a request, the
//! command exits 2 naming every bad line, and nothing is decided, audited or written. A batch is
//! decided and committed in chunks of [`CHUNK`] requests, one transaction each, and each chunk's
//! decisions are printed only once its transaction is durable: a decision on stdout is a
//! decision in the audit trail, even if the process is killed the next instant.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::Args;
use warden_core::request::ActionRequest;
use warden_core::tools::CANONICAL;
use warden_core::Outcome;
use warden_engine::parse_request;

use crate::cli::Global;
use crate::commands::open_engine;
use crate::exit::BadInput;
use crate::output::Stdout;

/// Requests decided and committed per transaction in a batch: large enough that the durable
/// write is shared by many decisions, small enough that a decision is acknowledged soon.
pub const CHUNK: usize = 256;

/// Decide tool calls: one request (JSON) or many (JSON Lines)
#[derive(Debug, Args)]
#[command(long_about = long_about())]
pub struct CheckArgs {
    /// Read the request(s) from FILE instead of stdin (`-` is stdin)
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
}

fn long_about() -> String {
    let tools: Vec<&str> = CANONICAL.iter().map(|(name, _)| *name).collect();
    format!(
        "\
Decide tool calls an agent is about to make.

Reads one request, a JSON document (it may span several lines), or many, in JSON Lines (one
request per line; blank lines are skipped), from stdin or --request FILE. Prints one decision
per request, each a JSON document on its own line, whatever --format says:
  {{\"decision\": \"allow\"|\"deny\"|\"review\",
   \"reasons\": [{{\"rule\", \"risk\", \"effect\", \"message\"}}…],
   \"gate\": {{\"id\", \"status\", \"expires_at\"}} (for a review),
   \"agent\": {{\"id\", \"spiffe_id\"}}, \"audit\": {{\"seq\", \"hash\"}}}}
Every decision is written to the audit trail; a review opens a gate (see `warden gate`). A
batch is committed 256 requests at a time, and a decision is printed only once it is on disk.

The request document:
  agent      the agent's id (or give a token)
  token      a token issued to the agent (`warden agent token`, `warden session start`):
             the call is decided as the token's agent and session; a forged, expired,
             wrong-audience or revoked token is denied (identity.token-…)
  session    a task session id (`warden session start`), optional
  tool       the tool called (required)
  resource   a resource id such as repo:acme/api; may be left out for net.request (taken
             from context.url or context.host) and MCP tools (taken from the server name)
  context    optional facts about the call:
    branch   the git branch
    files    repository-relative paths the call changes
    command  the shell command of a shell.exec
    url      the target of a net.request (or host)
    host     the host of a net.request
    payload  text the agent sends out or writes (memory, outbound calls)
    diff     the change, for a reviewer
    reason   the agent's own account of why (shown to reviewers as the agent's)
    chain    the agents that called this one, nearest last
    subagent a sub-agent acting under this agent's identity

Canonical tools: {}
and mcp:SERVER/TOOL for a tool of a declared MCP server.

Examples:
  echo '{{\"agent\":\"docs-bot\",\"tool\":\"fs.read\",\"resource\":\"repo:acme/docs\"}}' | warden check
  warden check --request examples/acme/requests/review-protected-branch.json
  warden check --request calls.jsonl

Exit codes:
  0  allowed (for a batch: every call)
  1  denied (for a batch: any call)
  2  bad input: a line that is not a request (nothing is decided), or an invalid governance file
  3  needs review (for a batch: none denied, at least one review)",
        tools.join(", ")
    )
}

pub fn run(global: &Global, args: &CheckArgs) -> anyhow::Result<u8> {
    // Parse: every request, before anything is decided.
    let source = args.request.as_deref().filter(|p| *p != Path::new("-"));
    let text = read_input(source)?;
    let requests = parse_input(&text, source)?;

    if let Some(url) = &global.server {
        return remote(url, &requests);
    }

    // Resolve.
    let engine = open_engine(global)?;

    // Act.
    let mut out = Stdout::new();
    let mut worst: Option<Outcome> = None;
    for chunk in requests.chunks(CHUNK) {
        let decisions = match chunk {
            [one] => vec![engine.decide(one)],
            many => engine.decide_batch(many),
        };
        // Committed: acknowledge.
        for decision in &decisions {
            out.json_line(decision)?;
        }
        // The most severe outcome: deny over review over allow (`Outcome` is ordered that way).
        worst = decisions.iter().map(|d| d.decision).chain(worst).max();
    }
    let worst = worst.unwrap_or(Outcome::Deny);
    Ok(u8::try_from(worst.exit_code()).unwrap_or(crate::exit::FAILED))
}

/// `--server URL`: each request is decided by the server (`POST /v1/decide`), one after the
/// other, and its decision printed once the server answered (it is then in the server's audit
/// trail). The bearer token is the request's `token`, else `WARDEN_TOKEN`, else none (a
/// server in `--local-trust` mode decides as the agent the request names). A request the server
/// refuses (no or a bad token: 401/403) stops the batch with exit 1; one it finds malformed,
/// with exit 2.
fn remote(url: &str, requests: &[ActionRequest]) -> anyhow::Result<u8> {
    let client = crate::client::Client::new(url)?;
    let fallback = std::env::var("WARDEN_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let mut out = Stdout::new();
    let mut worst: Option<Outcome> = None;
    for request in requests {
        let token = request.token.clone().or_else(|| fallback.clone());
        let mut body = serde_json::to_value(request)?;
        if let Some(body) = body.as_object_mut() {
            body.remove("token");
        }
        let decision = match client.post("/v1/decide", token.as_deref(), &body) {
            Ok(decision) => decision,
            Err(e) => {
                return match e.downcast_ref::<crate::client::ServerError>() {
                    Some(refused) if refused.status == 400 || refused.status == 413 => {
                        Err(BadInput(refused.to_string()).into())
                    }
                    _ => Err(e),
                }
            }
        };
        out.json_line(&decision)?;
        let outcome = match decision["decision"].as_str() {
            Some("allow") => Outcome::Allow,
            Some("review") => Outcome::Review,
            _ => Outcome::Deny,
        };
        worst = Some(worst.map_or(outcome, |w| w.max(outcome)));
    }
    let worst = worst.unwrap_or(Outcome::Deny);
    Ok(u8::try_from(worst.exit_code()).unwrap_or(crate::exit::FAILED))
}

fn read_input(source: Option<&Path>) -> anyhow::Result<String> {
    let (bytes, name) = match source {
        Some(path) => (
            std::fs::read(path).map_err(|e| {
                BadInput(format!(
                    "cannot read `{}`: {}",
                    path.display(),
                    e.to_string().to_lowercase()
                ))
            })?,
            format!("`{}`", path.display()),
        ),
        None => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
                BadInput(format!(
                    "cannot read stdin: {}",
                    e.to_string().to_lowercase()
                ))
            })?;
            (bytes, "stdin".to_owned())
        }
    };
    String::from_utf8(bytes).map_err(|_| BadInput(format!("{name} is not UTF-8 text")).into())
}

/// The requests in `text`: one JSON document, or JSON Lines. A document written over several
/// lines is one request; otherwise every non-blank line is one. All bad lines are reported.
fn parse_input(text: &str, source: Option<&Path>) -> Result<Vec<ActionRequest>, BadInput> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| (i + 1, line))
        .collect();
    if lines.is_empty() {
        let from = source.map_or_else(|| "stdin".to_owned(), |p| format!("`{}`", p.display()));
        return Err(BadInput(format!(
            "no request on {from}: give one JSON request, or JSON Lines (see `warden check --help`)"
        )));
    }
    if lines.len() > 1 && serde_json::from_str::<serde_json::Value>(text).is_ok() {
        return parse_request(text)
            .map(|r| vec![r])
            .map_err(|e| BadInput(e.0));
    }
    let mut requests = Vec::with_capacity(lines.len());
    let mut problems = Vec::new();
    for (number, line) in lines {
        match parse_request(line) {
            Ok(request) => requests.push(request),
            Err(e) => problems.push(format!("line {number}: {}", e.0)),
        }
    }
    if problems.is_empty() {
        Ok(requests)
    } else {
        Err(BadInput(problems.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUSH: &str = r#"{"agent":"a","tool":"git.push","resource":"repo:x/y"}"#;

    #[test]
    fn a_pretty_document_is_one_request() {
        let text =
            "{\n  \"agent\": \"a\",\n  \"tool\": \"fs.read\",\n  \"resource\": \"repo:x/y\"\n}\n";
        let requests = parse_input(text, None).expect("one request");
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].tool, "fs.read");
    }

    #[test]
    fn json_lines_are_a_batch_and_blank_lines_are_skipped() {
        let text = format!("{PUSH}\n\n{PUSH}\n");
        assert_eq!(parse_input(&text, None).expect("two requests").len(), 2);
    }

    #[test]
    fn every_bad_line_is_named() {
        let text = format!("{PUSH}\n{{\"agent\":\"a\"}}\n\nnot json\n");
        let error = parse_input(&text, None).expect_err("bad input");
        let lines: Vec<&str> = error.0.lines().collect();
        assert_eq!(lines.len(), 2, "{}", error.0);
        assert!(lines[0].starts_with("line 2: "), "{}", lines[0]);
        assert!(lines[1].starts_with("line 4: invalid JSON"), "{}", lines[1]);
    }

    #[test]
    fn nothing_is_bad_input() {
        assert!(parse_input(" \n\n", None).is_err());
    }
}
