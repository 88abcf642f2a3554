//! `warden hook`: the adapters that sit where agents act (CONTRACTS §6).
//!
//! - `warden hook claude-code` and `warden hook codex`: a Claude Code or Codex CLI command hook
//!   ([`agent`]). Reads the hook's JSON on stdin, decides the call, and answers with
//!   `hookSpecificOutput.permissionDecision`. It fails closed: whatever goes wrong (no input,
//!   bad input, no governance file, Warden unreachable, a panic) ends in exit 2 with the reason
//!   on stderr, which both clients treat as a refusal.
//! - `warden hook git-pre-receive`: a git server's pre-receive hook ([`git`]).
//! - `warden hook install claude-code|codex|git`: writes the configuration ([`install`]).
//!
//! The decision comes from the local engine, or from a server with `--server`/`WARDEN_URL`
//! ([`backend`]); what the hook needs from git comes through [`workspace`].

mod agent;
mod backend;
mod git;
mod install;
pub use backend::open_local;
mod workspace;

use clap::{Args, Subcommand};

use crate::cli::Global;

/// Agent CLI and git hook adapters, and their installation
#[derive(Debug, Args)]
pub struct HookArgs {
    #[command(subcommand)]
    pub command: HookCommand,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    ClaudeCode(agent::AgentHookArgs),
    Codex(agent::AgentHookArgs),
    GitPreReceive(git::PreReceiveArgs),
    Install(install::InstallArgs),
}

pub fn run(global: &Global, args: &HookArgs) -> anyhow::Result<u8> {
    match &args.command {
        HookCommand::ClaudeCode(a) => Ok(agent::run(
            global,
            a,
            warden_adapters::hook::Client::ClaudeCode,
        )),
        HookCommand::Codex(a) => Ok(agent::run(global, a, warden_adapters::hook::Client::Codex)),
        HookCommand::GitPreReceive(a) => Ok(git::run(global, a)),
        HookCommand::Install(a) => install::run(global, a),
    }
}
