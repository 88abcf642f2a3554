//! `warden init`: writes a starter governance file (or, with `--example`, the complete example
//! organisation with its Cedar policies) and creates the state folder.
//!
//! Every file is written to a temporary name first and renamed into place only once all of them
//! are written, so an interrupted or failed init leaves nothing half-written; an existing file is
//! never overwritten without `--force`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use crate::cli::Global;
use crate::exit::{Refused, OK};
use crate::output::{Format, Stdout};

mod example {
    include!(concat!(env!("OUT_DIR"), "/example.rs"));
}

const LONG_ABOUT: &str = "\
Write a starter governance file and create the state folder.

Writes the file named by --config (./warden.yaml by default): a small, commented organisation
with one repository, one role and one agent, which `warden validate` accepts as it is. With
--example, writes the complete example organisation instead (the `acme` example from the Warden
repository) and its Cedar policies under policies/ next to it. Creates the state folder named by
--home (./.warden by default), with a .gitignore that keeps it out of version control.

An existing file is left alone unless --force is given.

Examples:
  warden init
  warden init --example --config acme/warden.yaml

Exit codes:
  0  written
  1  a file already exists (pass --force), or it could not be written";

/// Write a starter warden.yaml (or the full example) and the state folder
#[derive(Debug, Args)]
#[command(long_about = LONG_ABOUT)]
pub struct InitArgs {
    /// Write the complete example organisation and its Cedar policies
    #[arg(long)]
    pub example: bool,

    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
}

/// The starter governance file. Kept valid by a test.
pub const STARTER: &str = r#"# warden.yaml: who your coding agents are, what they may touch, and what needs a person's review.
# Review it like code, and check it with `warden validate`. `warden init --example` writes a
# complete example organisation to learn from.
version: 1
org: my-org
trust_domain: my-org.dev            # agent identities are spiffe://my-org.dev/agent/<id>

# Everything an agent could touch; ids are "<kind>:<name>" with kinds repo, secret, api, cloud,
# pipeline, memory, mcp and agent. Sensitivity: public < internal < regulated < production-critical.
resources:
  - id: repo:my-org/app
    sensitivity: internal
    protected_branches: [main]      # pushes and merges here wait for review

# Roles: the tools an agent of the role may call, and the most sensitive resource it may reach.
roles:
  developer:
    ceiling: internal
    tools: [fs.read, fs.write, shell.exec, git.clone, git.commit, git.push, pr.create]
    # require_session: true         # every call must belong to a task session (`warden session start`)

# One identity per agent, owned by a person; never a person's token.
agents:
  - id: coding-agent
    owner: owner@my-org.dev
    role: developer
    grants:
      - { resource: repo:my-org/app, access: [read, write] }

# Review gates: pushes to protected branches, changes to pipelines, auth code, secrets and IAM
# files, and large change sets wait until one of these reviewers answers.
gates:
  reviewers: [reviewer@my-org.dev]
  expires_after: 1h                 # an unanswered gate is denied when it expires
  file_count_threshold: 50

# The organisation's own rules, as Cedar `forbid` policies checked against `warden policy schema`.
# policies: [policies/*.cedar]
"#;

const STATE_GITIGNORE: &str =
    "# Warden's state: the database and signing keys. Never commit it.\n*\n";

pub fn run(global: &Global, args: &InitArgs) -> anyhow::Result<u8> {
    // Parse: decide what to write before touching the disk.
    let config = &global.config;
    let base = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let files: Vec<(PathBuf, &str)> = if args.example {
        if example::EXAMPLE_FILES.is_empty() {
            return Err(
                Refused("this build of warden carries no example organisation".into()).into(),
            );
        }
        example::EXAMPLE_FILES
            .iter()
            .map(|&(relative, text)| {
                let path = if relative == "warden.yaml" {
                    config.clone()
                } else {
                    base.join(relative)
                };
                (path, text)
            })
            .collect()
    } else {
        vec![(config.clone(), STARTER)]
    };

    // Resolve: refuse before writing anything if any file is in the way.
    if !args.force {
        if let Some((existing, _)) = files.iter().find(|(path, _)| path.exists()) {
            return Err(Refused(format!(
                "`{}` already exists; pass --force to overwrite it",
                existing.display()
            ))
            .into());
        }
    }

    // Act.
    write_all(&files)?;
    let home = &global.home;
    fs::create_dir_all(home)
        .with_context(|| format!("cannot create the state folder `{}`", home.display()))?;
    let gitignore = home.join(".gitignore");
    if !gitignore.exists() {
        fs::write(&gitignore, STATE_GITIGNORE)
            .with_context(|| format!("cannot write `{}`", gitignore.display()))?;
    }

    let mut out = Stdout::new();
    let written: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    match global.format {
        Format::Json => out.json(&json!({
            "config": config.display().to_string(),
            "written": written,
            "home": home.display().to_string(),
        }))?,
        Format::Table => {
            for path in &written {
                out.line(format!("wrote {path}"))?;
            }
            out.line(format!("created the state folder {}", home.display()))?;
            out.line("")?;
            out.line(format!(
                "next: edit {}, then run `warden validate`",
                config.display()
            ))?;
        }
    }
    Ok(OK)
}

/// Writes every file under a temporary name, then renames them all into place. On failure the
/// temporary files are removed and no target has changed.
fn write_all(files: &[(PathBuf, &str)]) -> anyhow::Result<()> {
    let mut staged: Vec<(PathBuf, &Path)> = Vec::new();
    let result = (|| {
        for (path, text) in files {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create the folder `{}`", parent.display()))?;
            }
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".warden-init.tmp");
            let temporary = path.with_file_name(name);
            fs::write(&temporary, text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            staged.push((temporary, path));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (temporary, _) in &staged {
            let _ = fs::remove_file(temporary);
        }
        return Err(e);
    }
    for (i, (temporary, path)) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(temporary, path) {
            for (left, _) in staged.iter().skip(i) {
                let _ = fs::remove_file(left);
            }
            return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::governance::parse_governance;
    use warden_core::Snapshot;

    #[test]
    fn the_starter_validates() {
        let governance = parse_governance("warden.yaml", STARTER).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(governance.agents.len(), 1);
        Snapshot::compile(governance, &[], "warden.yaml").unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn the_example_validates_when_embedded() {
        if example::EXAMPLE_FILES.is_empty() {
            return;
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (relative, text) in example::EXAMPLE_FILES {
            let path = dir.path().join(relative);
            fs::create_dir_all(path.parent().expect("a parent")).expect("a folder");
            fs::write(path, text).expect("written");
        }
        warden_engine::load_snapshot(&dir.path().join("warden.yaml"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
