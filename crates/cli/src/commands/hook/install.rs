//! `warden hook install`: writes the hook configuration for Claude Code, Codex CLI or a git
//! server's repository.
//!
//! The agent CLI settings are merged into the existing file (a project's other hooks, its
//! permissions and everything else are kept; an earlier Warden entry is replaced, so running
//! it twice changes nothing). The command written names this `warden` binary and the
//! governance file and state folder by absolute path, since the hook runs from wherever the
//! agent works. Its timeout is `gates.hook_wait` plus a margin: a client that kills a slow hook
//! lets the call through.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::cli::Global;
use crate::exit::BadInput;

/// Write the hook configuration for Claude Code, Codex CLI or a git repository
#[derive(Debug, Args)]
pub struct InstallArgs {
    #[command(subcommand)]
    pub target: Target,
}

#[derive(Debug, Subcommand)]
pub enum Target {
    /// Add Warden's PreToolUse and PostToolUse hooks to Claude Code settings
    ClaudeCode(AgentInstall),
    /// Add Warden's PreToolUse and PostToolUse hooks to Codex CLI's hooks.json
    Codex(AgentInstall),
    /// Install the pre-receive hook into a (bare) repository on a git server
    Git(GitInstall),
}

#[derive(Debug, Args)]
pub struct AgentInstall {
    /// The settings file (default: .claude/settings.json, or .codex/hooks.json for codex)
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Write WARDEN_AGENT=ID into the hook's command
    #[arg(long, value_name = "ID")]
    pub agent: Option<String>,
}

#[derive(Debug, Args)]
pub struct GitInstall {
    /// The repository (a bare repository, or a work tree's .git folder)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The resource id of the repository (`repo:ORG/NAME`)
    #[arg(long, value_name = "ID")]
    pub resource: String,
}

pub fn run(global: &Global, args: &InstallArgs) -> anyhow::Result<u8> {
    match &args.target {
        Target::ClaudeCode(a) => agent_install(global, a, "claude-code", ".claude/settings.json"),
        Target::Codex(a) => agent_install(global, a, "codex", ".codex/hooks.json"),
        Target::Git(a) => git_install(global, a),
    }
}

/// A word for a POSIX shell.
fn sh_quote(word: &str) -> String {
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

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn warden_exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot tell where this warden binary is")
}

/// The global flags the installed command carries.
fn global_flags(global: &Global) -> Vec<String> {
    let mut flags = vec![
        "--config".to_owned(),
        absolute(&global.config).display().to_string(),
        "--home".to_owned(),
        absolute(&global.home).display().to_string(),
    ];
    if let Some(server) = &global.server {
        flags.push("--server".into());
        flags.push(server.clone());
    }
    flags
}

fn agent_install(
    global: &Global,
    args: &AgentInstall,
    client: &str,
    default: &str,
) -> anyhow::Result<u8> {
    let settings = args
        .settings
        .clone()
        .unwrap_or_else(|| PathBuf::from(default));
    let hook_wait = warden_engine::load_snapshot(&global.config)
        .map(|s| s.governance.gates.hook_wait.as_secs())
        .unwrap_or(60)
        .max(0);
    let mut words = Vec::new();
    if let Some(agent) = &args.agent {
        words.push(format!("WARDEN_AGENT={}", sh_quote(agent)));
    }
    words.push(sh_quote(&warden_exe()?.display().to_string()));
    words.extend(global_flags(global).iter().map(|f| sh_quote(f)));
    words.extend(["hook".to_owned(), client.to_owned()]);
    let command = words.join(" ");
    let entry = |event: &str| {
        json!({
            "matcher": "*",
            "hooks": [{ "type": "command", "command": command, "timeout": hook_wait + 30 }],
            "_warden": event,
        })
    };
    let mut doc: Value = match std::fs::read_to_string(&settings) {
        Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text).map_err(|e| {
            BadInput(format!(
                "`{}` is not JSON ({e}); fix it first, nothing was written",
                settings.display()
            ))
        })?,
        Ok(_) => json!({}),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(anyhow!("cannot read `{}`: {e}", settings.display())),
    };
    let root = doc
        .as_object_mut()
        .ok_or_else(|| BadInput(format!("`{}` is not a JSON object", settings.display())))?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| {
            BadInput(format!(
                "`hooks` in `{}` is not an object",
                settings.display()
            ))
        })?;
    for event in ["PreToolUse", "PostToolUse"] {
        let list = hooks
            .entry(event)
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .ok_or_else(|| BadInput(format!("`hooks.{event}` is not a list")))?;
        // An earlier Warden entry is replaced, anything else kept.
        list.retain(|group| {
            let is_warden = group
                .get("hooks")
                .and_then(Value::as_array)
                .is_some_and(|hs| {
                    hs.iter().any(|h| {
                        h.get("command")
                            .and_then(Value::as_str)
                            .is_some_and(|c| c.contains(&format!("hook {client}")))
                    })
                });
            !is_warden
        });
        let mut group = entry(event);
        if let Some(map) = group.as_object_mut() {
            map.remove("_warden");
        }
        list.push(group);
    }
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    write_atomic(&settings, text.as_bytes())?;
    if global.format == crate::output::Format::Json {
        println!(
            "{}",
            json!({ "settings": settings.display().to_string(), "command": command })
        );
    } else {
        println!(
            "wrote Warden's {client} hooks to {} (PreToolUse and PostToolUse, timeout {}s)",
            settings.display(),
            hook_wait + 30
        );
    }
    Ok(0)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let tmp = path.with_extension("warden-tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

fn git_install(global: &Global, args: &GitInstall) -> anyhow::Result<u8> {
    if !args.resource.starts_with("repo:") {
        return Err(BadInput(format!(
            "`{}` is not a repository id (repo:ORG/NAME)",
            args.resource
        ))
        .into());
    }
    let repo = absolute(&args.path);
    let git_dir = super::workspace::git(&repo, &["rev-parse", "--absolute-git-dir"])
        .ok_or_else(|| BadInput(format!("`{}` is not a git repository", repo.display())))?;
    let git_dir = PathBuf::from(git_dir);
    let exe = warden_exe()?;
    let config = absolute(&global.config);
    let home = absolute(&global.home);
    let mut script = format!(
        "#!/bin/sh\n\
         # Installed by `warden hook install git`: Warden decides every push (CONTRACTS §6).\n\
         # WARDEN_CONFIG, WARDEN_HOME and WARDEN_URL from the environment win over these.\n\
         : \"${{WARDEN_CONFIG:={}}}\"\n\
         : \"${{WARDEN_HOME:={}}}\"\n\
         export WARDEN_CONFIG WARDEN_HOME\n",
        config.display(),
        home.display()
    );
    if let Some(server) = &global.server {
        script.push_str(&format!(
            ": \"${{WARDEN_URL:={server}}}\"\nexport WARDEN_URL\n"
        ));
    }
    script.push_str(&format!(
        "exec {} hook git-pre-receive\n",
        sh_quote(&exe.display().to_string())
    ));
    let hook = git_dir.join("hooks").join("pre-receive");
    write_atomic(&hook, script.as_bytes())?;
    set_executable(&hook)?;
    for (key, value) in [
        ("warden.resource", args.resource.as_str()),
        ("receive.advertisePushOptions", "true"),
    ] {
        super::workspace::git(&git_dir, &["config", key, value])
            .ok_or_else(|| anyhow!("cannot set git config {key}"))?;
    }
    if global.format == crate::output::Format::Json {
        println!(
            "{}",
            json!({ "hook": hook.display().to_string(), "resource": args.resource })
        );
    } else {
        println!(
            "installed the pre-receive hook in {} for {} (push options on)",
            hook.display(),
            args.resource
        );
    }
    Ok(0)
}

#[cfg(unix)]
fn set_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make `{}` executable", path.display()))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}
