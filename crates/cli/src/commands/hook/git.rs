//! `warden hook git-pre-receive`: a git server's pre-receive hook (CONTRACTS §6).
//!
//! git runs it once per push, in the receiving repository, with one `OLD NEW REF` line per ref
//! on stdin and the pushed objects already readable (quarantined until the hook says yes).
//! Each ref is one `git.push` request with the branch and every file changed by every pushed
//! commit (`git log -m --no-renames` over the new commits, not a diff of the end points: a
//! secret added and removed again within the push is still seen). Any ref refused rejects the
//! whole push (git's pre-receive is all or nothing), with the reasons printed for the pusher.

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{anyhow, Context as _};
use clap::Args;
use warden_adapters::git::{identity_from_options, parse_ref_updates, push_options, RefUpdate};
use warden_core::request::{ActionRequest, RequestContext};
use warden_core::Outcome;

use super::backend::Backend;
use super::workspace::git;
use crate::cli::Global;

/// Decide a push on a git server (install as the repository's pre-receive hook)
#[derive(Debug, Args)]
#[command(long_about = "\
Decide a push on a git server: the repository's pre-receive hook.

Reads `OLD NEW REF` lines on stdin, as git gives them. Each ref is decided as one git.push
on the repository's resource (git config warden.resource, or --resource) with the branch and
the files changed by every pushed commit. The push is rejected if any ref is denied or needs
review; the pusher sees why (for a review: the gate, and that pushing the same commits again
passes once it is approved).

The agent comes from a push option (`git push -o warden-agent=ID` or `-o warden-token=…`),
WARDEN_AGENT, or the pusher's login that GitHub Enterprise Server, GitLab or Gitea set
(GITHUB_USER_LOGIN, GL_USERNAME, GITEA_PUSHER_NAME) matched to an agent's *_login.

Install with `warden hook install git PATH --resource repo:ORG/NAME`.

Exit codes:
  0  every ref is allowed: the push goes ahead
  1  rejected (denied, needs review, no agent, or Warden could not decide)")]
pub struct PreReceiveArgs {
    /// The repository's resource id (default: git config warden.resource)
    #[arg(long, value_name = "ID")]
    pub resource: Option<String>,
}

pub fn run(global: &Global, args: &PreReceiveArgs) -> u8 {
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decide_push(global, args)));
    let mut stderr = std::io::stderr().lock();
    match result {
        Ok(Ok(lines)) if lines.is_empty() => 0,
        Ok(Ok(lines)) => {
            for line in lines {
                let _ = writeln!(stderr, "warden: {line}");
            }
            1
        }
        Ok(Err(e)) => {
            let _ = writeln!(
                stderr,
                "warden: push rejected: Warden could not decide it (fail closed): {}",
                crate::exit::message(&e)
            );
            1
        }
        Err(_) => {
            let _ = writeln!(
                stderr,
                "warden: push rejected: Warden failed while deciding it"
            );
            1
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The lines to show the pusher; empty when the push may go ahead.
fn decide_push(global: &Global, args: &PreReceiveArgs) -> anyhow::Result<Vec<String>> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the ref updates")?;
    let updates = parse_ref_updates(&input).map_err(|e| anyhow!("bad pre-receive input: {e}"))?;
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let here = Path::new(".");
    let resource = args
        .resource
        .clone()
        .or_else(|| git(here, &["config", "--get", "warden.resource"]))
        .ok_or_else(|| {
            anyhow!("the repository names no resource: git config warden.resource repo:ORG/NAME")
        })?;
    let options = push_options(|k| std::env::var(k).ok());
    let (agent_option, token) = identity_from_options(&options);
    let backend = Backend::open(global, token.as_deref())?;
    let agent = agent_option.or_else(|| env("WARDEN_AGENT")).or_else(|| {
        let snapshot = backend.snapshot()?;
        ["GITHUB_USER_LOGIN", "GL_USERNAME", "GITEA_PUSHER_NAME"]
            .iter()
            .filter_map(|k| env(k))
            .find_map(|login| {
                snapshot
                    .governance
                    .agent_by_login(&login)
                    .map(|a| a.id.clone())
            })
    });
    if agent.is_none() && token.is_none() {
        return Ok(vec![
            "push rejected: no agent named. Push with `git push -o warden-agent=ID` (or -o warden-token=…)"
                .to_owned(),
        ]);
    }
    let requests: Vec<ActionRequest> = updates
        .iter()
        .map(|update| {
            Ok(ActionRequest {
                agent: agent.clone(),
                token: token.clone(),
                session: env("WARDEN_SESSION"),
                tool: "git.push".into(),
                resource: Some(resource.clone()),
                context: RequestContext {
                    branch: Some(update.branch().to_owned()),
                    files: Some(pushed_files(update)?),
                    ..RequestContext::default()
                },
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let decisions = backend.decide(&requests)?;
    let mut lines = Vec::new();
    for (update, decision) in updates.iter().zip(&decisions) {
        let reasons: Vec<String> = decision
            .reasons
            .iter()
            .filter(|r| r.effect != warden_core::Effect::Info)
            .map(|r| format!("{} ({})", r.message, r.rule))
            .collect();
        match decision.decision {
            Outcome::Allow => {}
            Outcome::Deny => lines.push(format!("{} denied: {}", update.name, reasons.join("; "))),
            Outcome::Review => {
                let gate = decision.gate.as_ref().map_or("(none)", |g| g.id.as_str());
                lines.push(format!(
                    "{} needs review: gate {gate}: {}. Push the same commits again once a reviewer approves it (warden gate approve {gate}).",
                    update.name,
                    reasons.join("; ")
                ));
            }
        }
    }
    if !lines.is_empty() {
        lines.insert(0, "push rejected".to_owned());
    }
    Ok(lines)
}

/// Every path changed by every commit the update brings in (the commits not reachable from any
/// ref before the push); nothing for a deletion.
fn pushed_files(update: &RefUpdate) -> anyhow::Result<Vec<String>> {
    if update.is_delete() {
        return Ok(Vec::new());
    }
    let here = Path::new(".");
    let range = if update.is_create() {
        vec![update.new.clone(), "--not".into(), "--all".into()]
    } else {
        vec![format!("{}..{}", update.old, update.new)]
    };
    let mut args: Vec<&str> = vec!["log", "--format=", "--name-only", "--no-renames", "-m"];
    args.extend(range.iter().map(String::as_str));
    let out = git(here, &args).ok_or_else(|| {
        anyhow!(
            "cannot list the files of the commits pushed to {}",
            update.name
        )
    })?;
    let files: BTreeSet<String> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(files.into_iter().collect())
}
