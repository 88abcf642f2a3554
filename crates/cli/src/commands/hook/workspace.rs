//! The hook's view of the machine it runs on: the working directory, its git repository, and
//! the organisation's path classes, behind the adapters' [`Workspace`] trait.
//!
//! Git is asked only when a call needs it (most calls need the top-level and the `origin`
//! remote once; a `git push` also its branch and commits), and every answer is cached for the
//! one call a hook process handles.

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use warden_adapters::git::repo_id_from_url;
use warden_adapters::hook::Workspace;
use warden_core::governance::path_class;
use warden_core::Snapshot;

pub struct GitWorkspace {
    cwd: PathBuf,
    root: OnceCell<PathBuf>,
    repo: OnceCell<Option<String>>,
    /// `WARDEN_REPO`, which wins over the `origin` remote.
    fixed_repo: Option<String>,
    snapshot: Option<Arc<Snapshot>>,
}

impl GitWorkspace {
    pub fn new(cwd: PathBuf, fixed_repo: Option<String>, snapshot: Option<Arc<Snapshot>>) -> Self {
        GitWorkspace {
            cwd,
            root: OnceCell::new(),
            repo: OnceCell::new(),
            fixed_repo,
            snapshot,
        }
    }

    fn dir(&self, dir: Option<&str>) -> PathBuf {
        match dir {
            Some(d) => self.cwd.join(d),
            None => self.cwd.clone(),
        }
    }
}

/// Runs git in `dir`; its trimmed stdout when it succeeds.
pub fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

impl Workspace for GitWorkspace {
    fn cwd(&self) -> &Path {
        &self.cwd
    }

    fn root(&self) -> &Path {
        self.root.get_or_init(|| {
            // The nearest folder with a `.git` (a folder, or a file in worktrees and
            // submodules) is the top-level, found without starting git (a hook runs on every
            // call, and git costs milliseconds). When the environment points git elsewhere,
            // git is asked.
            if std::env::var_os("GIT_DIR").is_none() && std::env::var_os("GIT_WORK_TREE").is_none()
            {
                if let Some(top) = self.cwd.ancestors().find(|dir| dir.join(".git").exists()) {
                    return top.to_path_buf();
                }
                return self.cwd.clone();
            }
            git(&self.cwd, &["rev-parse", "--show-toplevel"])
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| self.cwd.clone())
        })
    }

    fn repo(&self) -> Option<String> {
        self.repo
            .get_or_init(|| {
                self.fixed_repo.clone().or_else(|| {
                    git(&self.cwd, &["remote", "get-url", "origin"])
                        .and_then(|url| repo_id_from_url(&url))
                })
            })
            .clone()
    }

    fn push_repo(&self, dir: Option<&str>, remote: Option<&str>) -> Option<String> {
        let dir_path = self.dir(dir);
        let remote = match remote {
            Some(r) => r.to_owned(),
            None => {
                let branch = self.current_branch(dir);
                branch
                    .and_then(|b| git(&dir_path, &["config", &format!("branch.{b}.remote")]))
                    .unwrap_or_else(|| "origin".to_owned())
            }
        };
        // A URL or a path is its own answer; a remote name is looked up.
        if remote.contains(':') || remote.contains('/') {
            return repo_id_from_url(&remote);
        }
        if remote == "origin" && dir.is_none() {
            if let Some(repo) = self.repo() {
                return Some(repo);
            }
        }
        git(&dir_path, &["remote", "get-url", &remote]).and_then(|url| repo_id_from_url(&url))
    }

    fn current_branch(&self, dir: Option<&str>) -> Option<String> {
        git(&self.dir(dir), &["symbolic-ref", "--short", "-q", "HEAD"]).filter(|b| !b.is_empty())
    }

    fn pushed_files(
        &self,
        dir: Option<&str>,
        remote: Option<&str>,
        src: &str,
    ) -> Option<Vec<String>> {
        let dir_path = self.dir(dir);
        // Every commit `src` has that the remote's branches do not: what the push carries.
        let remote = remote.filter(|r| !r.contains(':') && !r.contains('/'));
        let not_remote = match remote {
            Some(r) => format!("--remotes={r}"),
            None => "--remotes".to_owned(),
        };
        let out = git(
            &dir_path,
            &[
                "log",
                "--format=",
                "--name-only",
                "--no-renames",
                "-m",
                src,
                "--not",
                &not_remote,
                "--",
            ],
        )?;
        let files: BTreeSet<String> = out
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        // Paths from the top-level of the repository `dir` is in, as git prints them.
        Some(files.into_iter().collect())
    }

    fn is_memory(&self, path: &str) -> bool {
        match &self.snapshot {
            Some(snapshot) => {
                let mut classes = BTreeSet::new();
                snapshot.classes_of(path, &mut classes);
                classes.contains(path_class::MEMORY)
            }
            // Without the governance file: the instruction files every client reads.
            None => {
                let name = path.rsplit('/').next().unwrap_or(path);
                matches!(name, "CLAUDE.md" | "AGENTS.md")
            }
        }
    }
}
