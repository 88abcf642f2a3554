//! git: the pre-receive hook's input, push options, and remote URLs as repository ids.
//!
//! A pre-receive hook reads one `OLD NEW REF` line per ref the push updates (an all-zero id
//! means "created" for OLD and "deleted" for NEW). Push options arrive in the environment as
//! `GIT_PUSH_OPTION_COUNT` and `GIT_PUSH_OPTION_<n>`. Listing the files of the pushed commits
//! is IO (`git rev-list`, `git diff-tree`), done by the binary; this module only reads text.

/// One ref update of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    /// The full ref name (`refs/heads/main`).
    pub name: String,
}

impl RefUpdate {
    /// The ref did not exist before this push.
    pub fn is_create(&self) -> bool {
        is_zero(&self.old)
    }

    /// The push deletes the ref.
    pub fn is_delete(&self) -> bool {
        is_zero(&self.new)
    }

    /// The branch name for `refs/heads/…`; the full name for other refs (tags, notes).
    pub fn branch(&self) -> &str {
        self.name.strip_prefix("refs/heads/").unwrap_or(&self.name)
    }
}

fn is_zero(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c == '0')
}

/// Parses the pre-receive input. A line that is not `OLD NEW REF` with hex ids is an error: the
/// hook rejects the whole push rather than decide on part of it.
pub fn parse_ref_updates(input: &str) -> Result<Vec<RefUpdate>, String> {
    let mut updates = Vec::new();
    for (number, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(old), Some(new), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("line {}: expected `OLD NEW REF`", number + 1));
        };
        let hex = |s: &str| s.len() >= 40 && s.chars().all(|c| c.is_ascii_hexdigit());
        if !hex(old) || !hex(new) {
            return Err(format!("line {}: object ids must be hex", number + 1));
        }
        updates.push(RefUpdate {
            old: old.to_owned(),
            new: new.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(updates)
}

/// The push options git hands a hook, from `GIT_PUSH_OPTION_COUNT`/`GIT_PUSH_OPTION_<n>`.
pub fn push_options(var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let count: usize = var("GIT_PUSH_OPTION_COUNT")
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    // A count is set by git; cap what is read so a forged huge count costs nothing.
    (0..count.min(1024))
        .filter_map(|i| var(&format!("GIT_PUSH_OPTION_{i}")))
        .collect()
}

/// Who pushes, as the push options say: `warden-agent=ID` and `warden-token=TOKEN`.
pub fn identity_from_options(options: &[String]) -> (Option<String>, Option<String>) {
    let mut agent = None;
    let mut token = None;
    for option in options {
        if let Some(v) = option.strip_prefix("warden-agent=") {
            agent = Some(v.trim().to_owned());
        } else if let Some(v) = option.strip_prefix("warden-token=") {
            token = Some(v.trim().to_owned());
        }
    }
    (
        agent.filter(|a| !a.is_empty()),
        token.filter(|t| !t.is_empty()),
    )
}

/// A repository id for a git remote URL: `https://github.com/acme/api.git`,
/// `git@github.com:acme/api.git`, `ssh://git@host/acme/api`, or a path ending in
/// `acme/api.git` all name `repo:acme/api` (the last two path segments, `.git` dropped).
pub fn repo_id_from_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let path = if let Some((_, rest)) = url.split_once("://") {
        // scheme://[user@]host[:port]/path
        rest.split_once('/').map(|(_, p)| p)?
    } else if let Some((before, after)) = url.split_once(':') {
        // scp-like `user@host:path`, unless it is a Windows drive or a plain path with a colon.
        if before.contains('/') || before.len() == 1 {
            url
        } else {
            after
        }
    } else {
        url
    };
    let mut segments: Vec<&str> = path
        .split(['/', '\\'])
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    let name = segments.pop()?;
    let name = name.strip_suffix(".git").unwrap_or(name);
    let org = segments.pop()?;
    if name.is_empty() || org.is_empty() {
        return None;
    }
    Some(format!("repo:{org}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const Z: &str = "0000000000000000000000000000000000000000";
    const A: &str = "1111111111111111111111111111111111111111";

    #[test]
    fn ref_updates_are_read_and_bad_lines_refused() {
        let input = format!("{Z} {A} refs/heads/main\n\n{A} {Z} refs/heads/old\n");
        let updates = parse_ref_updates(&input).unwrap_or_default();
        assert_eq!(updates.len(), 2);
        assert!(updates[0].is_create());
        assert_eq!(updates[0].branch(), "main");
        assert!(updates[1].is_delete());
        assert!(parse_ref_updates("x y").is_err());
        assert!(parse_ref_updates(&format!("{Z} zz refs/heads/a")).is_err());
    }

    #[test]
    fn push_options_name_the_agent() {
        let vars = |k: &str| match k {
            "GIT_PUSH_OPTION_COUNT" => Some("2".to_owned()),
            "GIT_PUSH_OPTION_0" => Some("ci.skip".to_owned()),
            "GIT_PUSH_OPTION_1" => Some("warden-agent=bot".to_owned()),
            _ => None,
        };
        let options = push_options(vars);
        assert_eq!(identity_from_options(&options), (Some("bot".into()), None));
    }

    #[test]
    fn remote_urls_name_repositories() {
        for url in [
            "https://github.com/acme/api.git",
            "git@github.com:acme/api.git",
            "ssh://git@github.com:22/acme/api",
            "/srv/git/acme/api.git",
            "file:///srv/git/acme/api.git/",
        ] {
            assert_eq!(
                repo_id_from_url(url).as_deref(),
                Some("repo:acme/api"),
                "{url}"
            );
        }
        assert_eq!(repo_id_from_url("api.git"), None);
    }
}
