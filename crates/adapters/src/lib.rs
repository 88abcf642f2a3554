//! Warden's adapters: the translation between the protocols agents and their tools already
//! speak and Warden's action request and decision (CONTRACTS §3, §6).
//!
//! Everything here is pure: an adapter turns a client's message into [`ActionRequest`]s and a
//! [`Decision`] back into the client's answer, and holds no policy of its own. The IO around it
//! (reading stdin, asking git, forwarding to an MCP server, opening the engine or calling a
//! server) lives in the `warden` binary and the server; what it needs from the outside world is
//! asked through small traits ([`hook::Workspace`]) so that the mapping is tested without it.
//!
//! - [`shell`]: what a shell command line really runs, through wrappers (`env`, `sh -c`, `sudo`,
//!   `xargs`, `timeout` …): `git push`, `curl`/`wget`, redirections into files.
//! - [`hook`]: Claude Code and Codex CLI hooks: hook input → requests, decision → hook answer.
//! - [`mcp`]: the MCP gateway's message handling, shared by the stdio proxy and the HTTP
//!   gateway: `tools/list` filtered by scope, `tools/call` → `mcp:<server>/<tool>`.
//! - [`git`]: pre-receive ref updates, push options, remote URLs → repository ids.
//! - [`github`]: webhook signatures and events → activity.
//!
//! [`ActionRequest`]: warden_core::request::ActionRequest
//! [`Decision`]: warden_core::Decision

pub mod git;
pub mod github;
pub mod hook;
pub mod mcp;
pub mod paths;
pub mod shell;
