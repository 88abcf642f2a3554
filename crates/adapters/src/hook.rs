//! Claude Code and Codex CLI hooks (CONTRACTS §6): the hook's JSON input → action requests, and
//! the decisions → the hook's answer.
//!
//! Claude Code runs a `PreToolUse` command hook with one JSON document on stdin (`session_id`,
//! `transcript_path`, `cwd`, `permission_mode`, `hook_event_name`, `tool_name`, `tool_input`,
//! `tool_use_id`, and `agent_id`/`agent_type` when a subagent calls) and reads
//! `{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":…,
//! "permissionDecisionReason":…}}` back; Codex copies the protocol (its file edits arrive as
//! `apply_patch` with the patch in `tool_input.command`). One tool call may be several requests:
//! `cd app && git push origin main` is a `shell.exec` and a `git.push`; the hook answers with the
//! most severe of their decisions.
//!
//! What needs the outside world (the repository a remote names, the current branch, the files a
//! push carries, the organisation's `memory` path class) is asked through [`Workspace`], which
//! the `warden` binary implements with git and the governance snapshot.

use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};
use warden_core::decision::{Decision, Outcome};
use warden_core::request::{ActionRequest, RequestContext};

use crate::paths::relative_to_root;
use crate::shell::{self, Action};

/// Which client's dialect of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    ClaudeCode,
    Codex,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeCode => "claude-code",
            Client::Codex => "codex",
        }
    }
}

/// The hook input, as Claude Code and Codex send it. Fields this adapter does not read are
/// ignored: both clients add fields over time, and a hook that refused them would deny
/// everything after an upgrade.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct HookInput {
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub transcript_path: Option<String>,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub permission_mode: Option<String>,
    #[serde(default)]
    pub hook_event_name: Option<String>,
    #[serde(default)]
    pub tool_name: Option<String>,
    #[serde(default)]
    pub tool_input: Value,
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// `PostToolUse`: what the tool returned.
    #[serde(default)]
    pub tool_response: Option<Value>,
    /// Set when a subagent makes the call.
    #[serde(default)]
    pub agent_id: Option<String>,
    #[serde(default)]
    pub agent_type: Option<String>,
}

/// Why the input is not a hook call Warden can read. The hook denies (fails closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadHookInput(pub String);

impl std::error::Error for BadHookInput {}

impl std::fmt::Display for BadHookInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the hook's stdin.
pub fn parse_input(bytes: &[u8]) -> Result<HookInput, BadHookInput> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| BadHookInput("the hook input is not UTF-8 text".into()))?;
    if text.trim().is_empty() {
        return Err(BadHookInput("the hook input is empty".into()));
    }
    let input: HookInput = serde_json::from_str(text).map_err(|e| {
        BadHookInput(format!(
            "the hook input is not the JSON a hook is sent: {e}"
        ))
    })?;
    Ok(input)
}

impl HookInput {
    /// `PreToolUse` unless the input says otherwise.
    pub fn event(&self) -> &str {
        self.hook_event_name.as_deref().unwrap_or("PreToolUse")
    }

    /// The subagent's id as recorded: `agent_id`, with `agent_type` in front when known.
    pub fn subagent(&self) -> Option<String> {
        match (self.agent_type.as_deref(), self.agent_id.as_deref()) {
            (Some(kind), Some(id)) => Some(format!("{kind}:{id}")),
            (None, Some(id)) => Some(id.to_owned()),
            (Some(kind), None) => Some(kind.to_owned()),
            (None, None) => None,
        }
    }
}

/// Who is calling: from `WARDEN_AGENT`/`WARDEN_TOKEN` and `WARDEN_SESSION`. A subagent calls
/// under its parent's identity and session: these, whatever the input says.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub agent: Option<String>,
    pub token: Option<String>,
    pub session: Option<String>,
}

/// What the hook needs from the machine it runs on.
pub trait Workspace {
    /// The directory the call runs in (the input's `cwd`).
    fn cwd(&self) -> &Path;
    /// The git top-level of `cwd`, or `cwd` outside a work tree.
    fn root(&self) -> &Path;
    /// The repository the agent works in: `WARDEN_REPO`, else the `origin` remote of `cwd`
    /// mapped to a repository id.
    fn repo(&self) -> Option<String>;
    /// The repository a push goes to: `remote` (a name or URL; `None` = the upstream) as seen
    /// from `dir` (relative to `cwd`).
    fn push_repo(&self, dir: Option<&str>, remote: Option<&str>) -> Option<String>;
    /// The branch checked out in `dir`.
    fn current_branch(&self, dir: Option<&str>) -> Option<String>;
    /// The files changed by every commit `src` would push to `remote` (repository-relative);
    /// `None` when they cannot be listed.
    fn pushed_files(
        &self,
        dir: Option<&str>,
        remote: Option<&str>,
        src: &str,
    ) -> Option<Vec<String>>;
    /// Whether a repository-relative path is in the organisation's `memory` path class.
    fn is_memory(&self, path: &str) -> bool;
}

/// What a hook call comes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// Allowed without a decision (`TodoWrite`: the agent's own to-do list).
    NoDecision,
    /// The requests to decide; the answer is the most severe decision.
    Requests(Vec<ActionRequest>),
}

/// Shell builtins that do nothing Warden decides on; a command line made only of them and of
/// recognized actions needs no `shell.exec` of its own.
const NEUTRAL: &[&str] = &[
    "cd", "pushd", "popd", "true", "false", ":", "echo", "printf", "sleep", "export", "set",
    "unset", "test", "[", "wait",
];

/// Maps one hook call to the requests Warden decides.
pub fn map_call(client: Client, input: &HookInput, caller: &Caller, ws: &dyn Workspace) -> Mapped {
    let tool_name = input.tool_name.as_deref().unwrap_or_default();
    let ti = &input.tool_input;
    let base = |tool: &str, resource: Option<String>, context: RequestContext| {
        let mut context = context;
        context.subagent = input.subagent();
        ActionRequest {
            agent: caller.agent.clone(),
            token: caller.token.clone(),
            session: caller.session.clone(),
            tool: tool.to_owned(),
            resource,
            context,
        }
    };
    let rel = |path: &str| relative_to_root(path, ws.cwd(), ws.root());
    let requests = match tool_name {
        "TodoWrite" => return Mapped::NoDecision,
        "Bash" | "PowerShell" | "shell" | "local_shell" | "exec_command" => {
            let command = shell_command(ti);
            shell_requests(&command, &base, ws)
        }
        "Write" | "Edit" | "MultiEdit" | "NotebookEdit" => {
            let path = str_field(ti, "file_path")
                .or_else(|| str_field(ti, "notebook_path"))
                .unwrap_or_default();
            let payload = match tool_name {
                "Write" => str_field(ti, "content"),
                "Edit" => str_field(ti, "new_string"),
                "NotebookEdit" => str_field(ti, "new_source"),
                _ => ti.get("edits").and_then(Value::as_array).map(|edits| {
                    edits
                        .iter()
                        .filter_map(|e| e.get("new_string").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("\n")
                }),
            };
            let diff = match tool_name {
                "Edit" => Some(format!(
                    "--- {path}\n+++ {path}\n{}{}",
                    prefixed(
                        "-",
                        str_field(ti, "old_string").as_deref().unwrap_or_default()
                    ),
                    prefixed(
                        "+",
                        str_field(ti, "new_string").as_deref().unwrap_or_default()
                    )
                )),
                _ => None,
            };
            let file = rel(&path);
            vec![write_request(&base, ws, vec![file], payload, diff)]
        }
        "apply_patch" => {
            let patch = shell_command(ti);
            let files: Vec<String> = patch_files(&patch).iter().map(|p| rel(p)).collect();
            let added: String = patch
                .lines()
                .filter_map(|l| l.strip_prefix('+'))
                .collect::<Vec<_>>()
                .join("\n");
            let (memory, plain): (Vec<String>, Vec<String>) =
                files.into_iter().partition(|f| ws.is_memory(f));
            let mut requests = Vec::new();
            for group in [plain, memory] {
                if !group.is_empty() {
                    requests.push(write_request(
                        &base,
                        ws,
                        group,
                        Some(added.clone()),
                        Some(patch.clone()),
                    ));
                }
            }
            if requests.is_empty() {
                // A patch that names no file cannot be checked: decide it as a write of nothing
                // known, which path-class rules cannot clear, rather than let it through.
                requests.push(base(
                    "fs.write",
                    ws.repo(),
                    RequestContext {
                        diff: Some(patch.clone()),
                        payload: Some(added),
                        ..RequestContext::default()
                    },
                ));
            }
            requests
        }
        "Read" | "Grep" | "Glob" | "LS" | "NotebookRead" => {
            let path = str_field(ti, "file_path")
                .or_else(|| str_field(ti, "notebook_path"))
                .or_else(|| str_field(ti, "path"));
            let files = path.map(|p| vec![rel(&p)]);
            vec![base(
                "fs.read",
                ws.repo(),
                RequestContext {
                    files,
                    ..RequestContext::default()
                },
            )]
        }
        "WebFetch" => vec![base(
            "net.request",
            None,
            RequestContext {
                url: str_field(ti, "url"),
                payload: str_field(ti, "prompt"),
                ..RequestContext::default()
            },
        )],
        "WebSearch" => vec![base(
            "net.request",
            None,
            RequestContext {
                // A search names no host: it is decided as a call to the `api:web-search`
                // resource, which an organisation declares to allow it.
                host: Some(WEB_SEARCH_HOST.into()),
                payload: str_field(ti, "query"),
                ..RequestContext::default()
            },
        )],
        "Task" | "Agent" => {
            let kind = str_field(ti, "subagent_type").unwrap_or_else(|| "general-purpose".into());
            vec![base(
                "agent.call",
                Some(format!("agent:{kind}")),
                RequestContext {
                    payload: str_field(ti, "prompt"),
                    reason: str_field(ti, "description"),
                    ..RequestContext::default()
                },
            )]
        }
        name if name.starts_with("mcp__") => match split_mcp_name(name) {
            Some((server, tool)) => vec![base(
                &format!("mcp:{server}/{tool}"),
                Some(format!("mcp:{server}")),
                RequestContext {
                    payload: Some(ti.to_string()),
                    ..RequestContext::default()
                },
            )],
            None => vec![unknown(&base, client, name, ws)],
        },
        other => vec![unknown(&base, client, other, ws)],
    };
    Mapped::Requests(requests)
}

/// The host a `WebSearch` is decided under.
pub const WEB_SEARCH_HOST: &str = "web-search";

/// A tool Warden does not know: decided under its client-qualified name (`claude-code:Foo`),
/// which no role can list, so the engine denies it with `request.unknown-tool` and audits it.
fn unknown(
    base: &dyn Fn(&str, Option<String>, RequestContext) -> ActionRequest,
    client: Client,
    name: &str,
    ws: &dyn Workspace,
) -> ActionRequest {
    let name = if name.is_empty() { "(none)" } else { name };
    base(
        &format!("{}:{name}", client.name()),
        ws.repo().or_else(|| Some("repo:unknown".into())),
        RequestContext::default(),
    )
}

fn write_request(
    base: &dyn Fn(&str, Option<String>, RequestContext) -> ActionRequest,
    ws: &dyn Workspace,
    files: Vec<String>,
    payload: Option<String>,
    diff: Option<String>,
) -> ActionRequest {
    let tool = if files.iter().any(|f| ws.is_memory(f)) {
        "memory.write"
    } else {
        "fs.write"
    };
    base(
        tool,
        ws.repo(),
        RequestContext {
            files: Some(files),
            payload,
            diff,
            ..RequestContext::default()
        },
    )
}

fn shell_requests(
    command: &str,
    base: &dyn Fn(&str, Option<String>, RequestContext) -> ActionRequest,
    ws: &dyn Workspace,
) -> Vec<ActionRequest> {
    let mut requests = Vec::new();
    let mut needs_exec = false;
    let actions = shell::analyze(command);
    for action in &actions {
        match action {
            Action::GitPush(push) => {
                let dir = push.dir.as_deref();
                let remote = push.remote.as_deref();
                let resource = ws.push_repo(dir, remote).or_else(|| ws.repo());
                let mut pairs = push.ref_pairs();
                if pairs.is_empty() && !push.everything {
                    if let Some(branch) = ws.current_branch(dir) {
                        pairs.push((branch.clone(), branch));
                    }
                }
                if pairs.is_empty() {
                    // `--all`, `--mirror`, or no branch known: nothing to check it against.
                    requests.push(base(
                        "git.push",
                        resource.clone(),
                        RequestContext {
                            command: Some(command.to_owned()),
                            ..RequestContext::default()
                        },
                    ));
                }
                for (src, dst) in pairs {
                    let current = || ws.current_branch(dir);
                    let src = if src == "HEAD" || src == "@" {
                        current().unwrap_or(src)
                    } else {
                        src
                    };
                    let dst = if dst == "HEAD" || dst == "@" {
                        current().unwrap_or(dst)
                    } else {
                        dst
                    };
                    let files = if push.delete || src.is_empty() {
                        Some(Vec::new())
                    } else {
                        ws.pushed_files(dir, remote, &src)
                    };
                    requests.push(base(
                        "git.push",
                        resource.clone(),
                        RequestContext {
                            branch: Some(dst),
                            files,
                            command: Some(command.to_owned()),
                            ..RequestContext::default()
                        },
                    ));
                }
            }
            Action::Net { url, payload } => requests.push(base(
                "net.request",
                None,
                RequestContext {
                    url: Some(url.clone()),
                    payload: payload.clone(),
                    command: Some(command.to_owned()),
                    ..RequestContext::default()
                },
            )),
            Action::WriteFile { path } => {
                let file = relative_to_root(path, ws.cwd(), ws.root());
                let mut request = write_request(base, ws, vec![file], None, None);
                request.context.command = Some(command.to_owned());
                requests.push(request);
            }
            Action::Other { program } => {
                if !NEUTRAL.contains(&program.as_str()) {
                    needs_exec = true;
                }
            }
        }
    }
    if needs_exec || requests.is_empty() {
        requests.insert(
            0,
            base(
                "shell.exec",
                ws.repo(),
                RequestContext {
                    command: Some(command.to_owned()),
                    ..RequestContext::default()
                },
            ),
        );
    }
    requests
}

/// `tool_input.command` as a string: Claude Code sends a string, Codex's shell tools may send
/// an argv array.
fn shell_command(ti: &Value) -> String {
    match ti.get("command") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let words: Vec<String> = parts
                .iter()
                .map(|p| match p.as_str() {
                    Some(s) => quote_word(s),
                    None => quote_word(&p.to_string()),
                })
                .collect();
            words.join(" ")
        }
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Single-quotes a word for a POSIX shell, so an argv array reads back as the same words.
fn quote_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn prefixed(mark: &str, text: &str) -> String {
    text.lines().map(|l| format!("{mark}{l}\n")).collect()
}

/// The files a Codex `apply_patch` touches: `*** Add File:`, `*** Update File:`, `*** Delete
/// File:` and `*** Move to:` lines.
pub fn patch_files(patch: &str) -> Vec<String> {
    let mut files = Vec::new();
    for line in patch.lines() {
        for prefix in [
            "*** Add File: ",
            "*** Update File: ",
            "*** Delete File: ",
            "*** Move to: ",
        ] {
            if let Some(path) = line.strip_prefix(prefix) {
                let path = path.trim().to_owned();
                if !path.is_empty() && !files.contains(&path) {
                    files.push(path);
                }
            }
        }
    }
    files
}

/// `mcp__<server>__<tool>` → (server, tool). The server name ends at the first `__`.
pub fn split_mcp_name(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some((server, tool))
}

/// The hook's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Allow,
    Deny,
    /// The person at the terminal decides (only with `gates.terminal_approval`).
    Ask,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Deny => "deny",
            Permission::Ask => "ask",
        }
    }
}

/// What the hook answers: a verdict and the words the agent (and the person) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookAnswer {
    pub permission: Permission,
    pub reason: String,
}

impl HookAnswer {
    pub fn deny(reason: impl Into<String>) -> HookAnswer {
        HookAnswer {
            permission: Permission::Deny,
            reason: reason.into(),
        }
    }
}

/// The outcome a set of decisions comes to: the most severe.
pub fn worst(decisions: &[Decision]) -> Outcome {
    decisions
        .iter()
        .map(|d| d.decision)
        .max()
        .unwrap_or(Outcome::Deny)
}

/// The answer for decisions that are final (no gate still pending): allow when all allow,
/// deny otherwise, naming every reason that denied.
pub fn answer_final(decisions: &[Decision]) -> HookAnswer {
    match worst(decisions) {
        Outcome::Allow => HookAnswer {
            permission: Permission::Allow,
            reason: "Warden allowed this call".into(),
        },
        _ => HookAnswer::deny(format!("Warden denied this call: {}", explain(decisions))),
    }
}

/// The answer for a review whose gate nobody answered in time (or that was denied or
/// expired): deny, naming the gate, and saying that the same call passes once approved.
pub fn answer_unanswered_review(gates: &[(String, String)], decisions: &[Decision]) -> HookAnswer {
    let named: Vec<String> = gates
        .iter()
        .map(|(id, status)| format!("{id} ({status})"))
        .collect();
    HookAnswer::deny(format!(
        "Warden sent this call to review gate {}: {}. Nobody approved it in time; \
         once a reviewer approves it (`warden gate approve {}`), the same call will pass.",
        named.join(", "),
        explain(decisions),
        gates.first().map(|(id, _)| id.as_str()).unwrap_or("…")
    ))
}

/// The answer when the person at the terminal decides (`gates.terminal_approval`).
pub fn answer_ask(decisions: &[Decision]) -> HookAnswer {
    HookAnswer {
        permission: Permission::Ask,
        reason: format!(
            "Warden: this call needs a person's approval: {}",
            explain(decisions)
        ),
    }
}

/// Every reason that did not allow, as `rule: message`, with the gate when there is one.
pub fn explain(decisions: &[Decision]) -> String {
    let mut parts = Vec::new();
    for decision in decisions {
        if decision.decision == Outcome::Allow {
            continue;
        }
        for reason in &decision.reasons {
            if reason.effect != warden_core::Effect::Info {
                parts.push(format!("{} ({})", reason.message, reason.rule));
            }
        }
    }
    if parts.is_empty() {
        "no reason given".into()
    } else {
        parts.join("; ")
    }
}

/// The JSON a `PreToolUse` hook prints for `answer`.
pub fn pre_tool_use_output(client: Client, answer: &HookAnswer) -> Value {
    match (client, answer.permission) {
        // Codex acts on `deny` only; an empty object lets the call go on its normal path.
        (Client::Codex, Permission::Allow) => json!({}),
        (Client::Codex, Permission::Ask) => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": answer.reason,
            }
        }),
        _ => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": answer.permission.as_str(),
                "permissionDecisionReason": answer.reason,
            }
        }),
    }
}

/// What a `PostToolUse` call reports, for the audit trail: whether the tool succeeded, and a
/// digest of what it returned (never the output itself).
pub fn tool_outcome(input: &HookInput) -> Value {
    let response = input.tool_response.clone().unwrap_or(Value::Null);
    let failed = response
        .get("is_error")
        .or_else(|| response.get("isError"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
        || response
            .get("success")
            .and_then(Value::as_bool)
            .is_some_and(|ok| !ok)
        || response
            .get("exit_code")
            .or_else(|| response.get("exitCode"))
            .and_then(Value::as_i64)
            .is_some_and(|code| code != 0)
        || response
            .get("interrupted")
            .and_then(Value::as_bool)
            .unwrap_or(false);
    json!({
        "tool_name": input.tool_name,
        "tool_use_id": input.tool_use_id,
        "outcome": if failed { "error" } else { "ok" },
        "response_sha256": crate::mcp::digest_json(&response),
        "subagent": input.subagent(),
        "client_session": input.session_id,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    struct Ws {
        cwd: PathBuf,
    }

    impl Workspace for Ws {
        fn cwd(&self) -> &Path {
            &self.cwd
        }
        fn root(&self) -> &Path {
            Path::new("/w/repo")
        }
        fn repo(&self) -> Option<String> {
            Some("repo:t/app".into())
        }
        fn push_repo(&self, _dir: Option<&str>, remote: Option<&str>) -> Option<String> {
            match remote {
                Some("upstream") => Some("repo:t/upstream".into()),
                _ => self.repo(),
            }
        }
        fn current_branch(&self, _dir: Option<&str>) -> Option<String> {
            Some("feature/x".into())
        }
        fn pushed_files(&self, _: Option<&str>, _: Option<&str>, _: &str) -> Option<Vec<String>> {
            Some(vec!["src/a.rs".into()])
        }
        fn is_memory(&self, path: &str) -> bool {
            path == "CLAUDE.md" || path.ends_with("/CLAUDE.md")
        }
    }

    fn ws() -> Ws {
        Ws {
            cwd: PathBuf::from("/w/repo/src"),
        }
    }

    fn caller() -> Caller {
        Caller {
            agent: Some("bot".into()),
            token: None,
            session: Some("ses_1".into()),
        }
    }

    fn map(tool: &str, input: Value) -> Vec<ActionRequest> {
        let hook = HookInput {
            tool_name: Some(tool.into()),
            tool_input: input,
            ..HookInput::default()
        };
        match map_call(Client::ClaudeCode, &hook, &caller(), &ws()) {
            Mapped::Requests(r) => r,
            Mapped::NoDecision => Vec::new(),
        }
    }

    #[test]
    fn a_wrapped_git_push_is_a_push() {
        let r = map(
            "Bash",
            json!({"command": "env FOO=1 sh -c \"git push upstream HEAD:main\""}),
        );
        assert_eq!(r.len(), 1, "{r:?}");
        let push = &r[0];
        assert_eq!(push.tool, "git.push");
        assert_eq!(push.resource.as_deref(), Some("repo:t/upstream"));
        assert_eq!(push.context.branch.as_deref(), Some("main"));
        assert_eq!(
            push.context.files.as_deref(),
            Some(&["src/a.rs".to_owned()][..])
        );
    }

    #[test]
    fn a_plain_push_needs_no_shell_exec() {
        let r = map("Bash", json!({"command": "cd .. && git push"}));
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].tool, "git.push");
        assert_eq!(r[0].context.branch.as_deref(), Some("feature/x"));
        assert_eq!(r[0].session.as_deref(), Some("ses_1"));
    }

    #[test]
    fn writes_are_relative_and_memory_files_are_memory_writes() {
        let r = map(
            "Write",
            json!({"file_path": "/w/repo/.claude/settings.json", "content": "{}"}),
        );
        assert_eq!(r[0].tool, "fs.write");
        assert_eq!(
            r[0].context.files.as_deref(),
            Some(&[".claude/settings.json".to_owned()][..])
        );
        let r = map(
            "Edit",
            json!({"file_path": "../CLAUDE.md", "old_string": "a", "new_string": "b"}),
        );
        assert_eq!(r[0].tool, "memory.write");
        assert_eq!(r[0].context.payload.as_deref(), Some("b"));
    }

    #[test]
    fn other_tools() {
        assert_eq!(
            map("Read", json!({"file_path": "/w/repo/a"}))[0].tool,
            "fs.read"
        );
        let fetch = &map(
            "WebFetch",
            json!({"url": "https://x.example/a", "prompt": "p"}),
        )[0];
        assert_eq!(fetch.tool, "net.request");
        assert_eq!(fetch.resource, None);
        let mcp = &map("mcp__github__get_issue", json!({"number": 1}))[0];
        assert_eq!(mcp.tool, "mcp:github/get_issue");
        assert_eq!(mcp.resource.as_deref(), Some("mcp:github"));
        assert_eq!(
            map("Task", json!({"subagent_type": "x"}))[0].tool,
            "agent.call"
        );
        assert!(map("TodoWrite", json!({})).is_empty());
        assert_eq!(
            map("Frobnicate", json!({}))[0].tool,
            "claude-code:Frobnicate"
        );
        let redirect = map("Bash", json!({"command": "echo x > ../CLAUDE.md"}));
        assert_eq!(redirect[0].tool, "memory.write", "{redirect:?}");
    }

    #[test]
    fn codex_patches_name_their_files() {
        let patch = "*** Begin Patch\n*** Add File: docs/a.md\n+hello\n*** Update File: /w/repo/CLAUDE.md\n@@\n-x\n+y\n*** End Patch";
        let hook = HookInput {
            tool_name: Some("apply_patch".into()),
            tool_input: json!({ "command": patch }),
            ..HookInput::default()
        };
        let Mapped::Requests(r) = map_call(Client::Codex, &hook, &caller(), &ws()) else {
            panic!("requests expected");
        };
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].tool, "fs.write");
        assert_eq!(
            r[0].context.files.as_deref(),
            Some(&["src/docs/a.md".to_owned()][..])
        );
        assert_eq!(r[1].tool, "memory.write");
    }

    #[test]
    fn subagents_are_recorded() {
        let hook = HookInput {
            tool_name: Some("Read".into()),
            agent_id: Some("a1".into()),
            agent_type: Some("Explore".into()),
            ..HookInput::default()
        };
        let Mapped::Requests(r) = map_call(Client::ClaudeCode, &hook, &caller(), &ws()) else {
            panic!("requests expected");
        };
        assert_eq!(r[0].agent.as_deref(), Some("bot"));
        assert_eq!(r[0].context.subagent.as_deref(), Some("Explore:a1"));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(parse_input(b"").is_err());
        assert!(parse_input(b"{not json").is_err());
        assert!(parse_input(&[0xff, 0xfe]).is_err());
        assert!(parse_input(br#"{"tool_name":"Bash","extra":1}"#).is_ok());
    }
}
