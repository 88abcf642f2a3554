//! `warden hook git-pre-receive`, installed with `warden hook install git` into a real bare
//! repository and driven by real `git push`es from a clone (CONTRACTS §6): the agent from push
//! options or the environment, protected and unprotected branches, pipeline files, and a file
//! added and removed again within one push.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Org, BASE};

/// A bare repository for `repo:t/app` with Warden's hook installed, and a clone of it.
struct Remote {
    org: Org,
    work: PathBuf,
}

fn git_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("git");
    command
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("WARDEN_") {
            command.env_remove(key);
        }
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

impl Remote {
    fn new() -> Remote {
        Remote::with(Org::base())
    }

    fn with(org: Org) -> Remote {
        let bare = org.dir().join("srv/t/app.git");
        std::fs::create_dir_all(&bare).unwrap();
        let out = git_in(&bare, &["init", "-q", "--bare", "-b", "main"], &[]);
        assert!(out.status.success(), "{out:?}");
        org.warden(&[
            "hook",
            "install",
            "git",
            &bare.display().to_string(),
            "--resource",
            "repo:t/app",
        ])
        .ok();
        let work = org.dir().join("work");
        let out = git_in(
            org.dir(),
            &["clone", "-q", &bare.display().to_string(), "work"],
            &[],
        );
        assert!(out.status.success(), "{out:?}");
        let remote = Remote { org, work };
        remote.git(&["checkout", "-q", "-b", "main"]);
        remote
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        let out = git_in(&self.work, args, &[]);
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn commit(&self, path: &str, text: Option<&str>, message: &str) {
        let file = self.work.join(path);
        match text {
            Some(text) => {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, text).unwrap();
                self.git(&["add", path]);
            }
            None => {
                self.git(&["rm", "-q", path]);
            }
        }
        self.git(&["commit", "-q", "-m", message]);
    }

    /// `git push ARGS` with the environment `env`; (accepted, what the pusher saw).
    fn push(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        let out = git_in(&self.work, &all, env);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

const AS_BOT: &[&str] = &["-o", "warden-agent=bot"];

#[test]
fn install_sets_the_resource_and_push_options() {
    let remote = Remote::new();
    let bare = remote.org.dir().join("srv/t/app.git");
    let config = |key: &str| {
        let out = git_in(&bare, &["config", "--get", key], &[]);
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(config("warden.resource"), "repo:t/app");
    assert_eq!(config("receive.advertisePushOptions"), "true");
    let hook = std::fs::read_to_string(bare.join("hooks/pre-receive")).unwrap();
    assert!(hook.contains("hook git-pre-receive"), "{hook}");
    assert!(hook.contains("WARDEN_CONFIG:="), "{hook}");
}

#[test]
fn a_push_without_an_agent_is_rejected() {
    let remote = Remote::new();
    remote.commit("README.md", Some("hi\n"), "readme");
    let (accepted, said) = remote.push(&["origin", "main:feature/x"], &[]);
    assert!(!accepted, "{said}");
    assert!(
        said.contains("remote: warden: "),
        "the pusher sees why: {said}"
    );
    assert!(said.contains("warden-agent"), "{said}");
}

#[test]
fn pushes_to_unprotected_and_protected_branches() {
    let remote = Remote::new();
    remote.commit("README.md", Some("hi\n"), "readme");
    // An unprotected branch, the agent named by a push option.
    let (accepted, said) =
        remote.push(&["-o", "warden-agent=bot", "origin", "main:feature/x"], &[]);
    assert!(accepted, "{said}");
    // The agent from the environment works as well.
    remote.commit("docs/a.md", Some("a\n"), "docs");
    let (accepted, said) = remote.push(&["origin", "main:feature/y"], &[("WARDEN_AGENT", "bot")]);
    assert!(accepted, "{said}");
    // The protected branch: rejected for review, naming the gate.
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", "main"], &[]);
    assert!(!accepted, "{said}");
    assert!(said.contains("refs/heads/main needs review"), "{said}");
    assert!(said.contains("gate.protected-branch"), "{said}");
    assert!(said.contains("again once a reviewer approves"), "{said}");
    let gate = said
        .split_whitespace()
        .find(|w| w.starts_with("gate_"))
        .map(|w| w.trim_end_matches([':', ')', '.']).to_owned())
        .unwrap();
    // Approved: the same commits pushed again pass.
    remote.org.approve(&gate, "rev@test.dev").ok();
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", "main"], &[]);
    assert!(accepted, "{said}");
}

#[test]
fn pipeline_files_go_to_review_and_other_agents_are_refused() {
    let remote = Remote::new();
    remote.commit(".github/workflows/ci.yml", Some("on: push\n"), "ci");
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", "main:feature/ci"], &[]);
    assert!(!accepted, "{said}");
    assert!(said.contains("gate.pipeline"), "{said}");
    // reader-bot may not push at all.
    let (accepted, said) = remote.push(
        &["-o", "warden-agent=reader-bot", "origin", "main:feature/ci"],
        &[],
    );
    assert!(!accepted, "{said}");
    assert!(said.contains("denied"), "{said}");
    assert!(said.contains("tools.not-allowed"), "{said}");
}

#[test]
fn a_file_added_and_removed_within_the_push_is_seen() {
    let remote = Remote::new();
    remote.commit("README.md", Some("hi\n"), "readme");
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", "main:feature/z"], &[]);
    assert!(accepted, "{said}");
    // Two commits: a secret file added, then removed. The end points differ only in README.
    remote.commit(".env", Some("TOKEN=abc\n"), "oops");
    remote.commit(".env", None, "remove it");
    remote.commit("README.md", Some("hi again\n"), "readme");
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", "main:feature/z"], &[]);
    assert!(!accepted, "the .env in the middle commit is seen: {said}");
    assert!(said.contains("gate.secrets"), "{said}");
}

#[test]
fn deleting_a_protected_branch_is_reviewed() {
    let remote = Remote::new();
    remote.commit("README.md", Some("hi\n"), "readme");
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", "main:release/1.0"], &[]);
    assert!(!accepted, "{said}");
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", "main:feature/d"], &[]);
    assert!(accepted, "{said}");
    let (accepted, said) = remote.push(&[AS_BOT[0], AS_BOT[1], "origin", ":feature/d"], &[]);
    assert!(accepted, "deleting an unprotected branch: {said}");
}

#[test]
fn the_pushers_login_on_a_git_server_names_the_agent() {
    let yaml = BASE.replace(
        "  - id: bot\n    owner: owner@test.dev\n",
        "  - id: bot\n    owner: owner@test.dev\n    github_login: bot-gh[bot]\n    gitlab_login: bot-gl\n",
    );
    assert!(yaml.contains("github_login"), "the marker moved");
    let remote = Remote::with(Org::new(&yaml));
    remote.commit("README.md", Some("hi\n"), "readme");
    for (var, login) in [
        ("GITHUB_USER_LOGIN", "bot-gh[bot]"),
        ("GL_USERNAME", "bot-gl"),
    ] {
        let branch = format!("main:feature/{}", var.to_lowercase());
        let (accepted, said) = remote.push(&["origin", &branch], &[(var, login)]);
        assert!(accepted, "{var}: {said}");
    }
    // A login no agent has is no agent.
    let (accepted, said) = remote.push(
        &["origin", "main:feature/who"],
        &[("GITEA_PUSHER_NAME", "someone")],
    );
    assert!(!accepted, "{said}");
}
