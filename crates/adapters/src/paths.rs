//! File paths as Warden's path classes read them: relative to the repository root.
//!
//! Agents name files by absolute path (`/home/a/repo/src/x.rs`) or relative to their working
//! directory. Path classes are globs on repository-relative paths, so the hook turns each into
//! a path relative to the git top-level of `cwd` (or `cwd` outside a work tree). A path outside
//! the repository keeps its leading `..` segments (`../../home/a/.claude/settings.json`): it
//! matches no glob written for the repository's own files, but the built-in `governance` globs
//! start with `**/` and still catch a user's own hook settings.

use std::path::{Component, Path, PathBuf};

/// `path` (absolute, or relative to `cwd`) made relative to `root`, with `/` separators.
pub fn relative_to_root(path: &str, cwd: &Path, root: &Path) -> String {
    let path = expand_home(path);
    let absolute = if path.is_absolute() {
        path
    } else {
        cwd.join(path)
    };
    let absolute = lexical(&absolute);
    let root = lexical(root);
    let a: Vec<Component<'_>> = absolute.components().collect();
    let r: Vec<Component<'_>> = root.components().collect();
    let common = a.iter().zip(r.iter()).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..r.len() {
        parts.push("..".into());
    }
    for component in a.iter().skip(common) {
        parts.push(component.as_os_str().to_string_lossy().into_owned());
    }
    parts.join("/")
}

/// `~/x` as the shell would expand it (agents write it; the hook runs as the same user).
fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(home) => Path::new(&home).join(rest),
            None => PathBuf::from(path),
        },
        None => PathBuf::from(path),
    }
}

/// `.` and `..` resolved without touching the file system (the file may not exist yet).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_relative_to_the_root() {
        let root = Path::new("/w/repo");
        let cwd = Path::new("/w/repo/src");
        assert_eq!(relative_to_root("/w/repo/src/a.rs", cwd, root), "src/a.rs");
        assert_eq!(relative_to_root("b.rs", cwd, root), "src/b.rs");
        assert_eq!(
            relative_to_root("../.claude/settings.json", cwd, root),
            ".claude/settings.json"
        );
        assert_eq!(
            relative_to_root("/home/a/.claude/settings.json", cwd, root),
            "../../home/a/.claude/settings.json"
        );
        assert_eq!(
            relative_to_root("/w/repo/./x/../CLAUDE.md", cwd, root),
            "CLAUDE.md"
        );
    }
}
