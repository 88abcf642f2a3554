//! The compiled governance snapshot: the governance file with its globs compiled, its ids
//! indexed and its Cedar policies sliced by action, built once at load time so that a decision
//! does no parsing and no linear search.

use std::collections::{BTreeSet, HashMap, HashSet};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use crate::governance::{path_class, Agent, Governance, Resource, Role};
use crate::policy::{Policies, PolicyErrors, PolicySource};

/// A governance file compiled for deciding.
#[derive(Debug)]
pub struct Snapshot {
    pub governance: Governance,
    pub policies: Policies,
    resources: HashMap<String, usize>,
    agents: HashMap<String, usize>,
    roles: HashMap<String, usize>,
    /// Per role (same index as `governance.roles`), its tools.
    role_tools: Vec<HashSet<String>>,
    path_classes: PathClassMatcher,
    /// Per resource index, its protected branch globs (repositories that declare some).
    protected_branches: HashMap<usize, GlobSet>,
}

/// Why a snapshot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(transparent)]
    Policies(#[from] PolicyErrors),
    #[error("glob `{glob}`: {message}")]
    Glob { glob: String, message: String },
}

impl Snapshot {
    /// Compiles a validated governance file and its policy files. `governance_file` is the
    /// governance file's name as it sits in repositories (it joins the built-in `governance`
    /// path class).
    pub fn compile(
        governance: Governance,
        policy_sources: &[PolicySource],
        governance_file: &str,
    ) -> Result<Snapshot, SnapshotError> {
        let policies = Policies::compile(&governance, policy_sources)?;
        let index = |ids: Vec<&str>| {
            ids.into_iter()
                .enumerate()
                .map(|(i, id)| (id.to_owned(), i))
                .collect()
        };
        let resources = index(governance.resources.iter().map(|r| r.id.as_str()).collect());
        let agents = index(governance.agents.iter().map(|a| a.id.as_str()).collect());
        let roles = index(governance.roles.iter().map(|r| r.name.as_str()).collect());
        let role_tools = governance
            .roles
            .iter()
            .map(|r| r.tools.iter().cloned().collect())
            .collect();
        let mut classes: Vec<(String, Vec<String>)> = governance
            .paths
            .classes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        classes.push((
            path_class::GOVERNANCE.to_owned(),
            governance_globs(governance_file, &governance.policies),
        ));
        let path_classes = PathClassMatcher::new(&classes)?;
        let mut protected_branches = HashMap::new();
        for (i, resource) in governance.resources.iter().enumerate() {
            if !resource.protected_branches.is_empty() {
                protected_branches.insert(i, glob_set(&resource.protected_branches)?);
            }
        }
        Ok(Snapshot {
            governance,
            policies,
            resources,
            agents,
            roles,
            role_tools,
            path_classes,
            protected_branches,
        })
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources
            .get(id)
            .map(|&i| &self.governance.resources[i])
    }

    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.get(id).map(|&i| &self.governance.agents[i])
    }

    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.get(name).map(|&i| &self.governance.roles[i])
    }

    /// Whether a role lists a tool.
    pub fn role_allows(&self, role: &str, tool: &str) -> bool {
        self.roles
            .get(role)
            .is_some_and(|&i| self.role_tools[i].contains(tool))
    }

    /// The path classes a repository-relative path falls in, whatever its spelling.
    pub fn classes_of<'a>(&'a self, path: &str, into: &mut BTreeSet<&'a str>) {
        self.path_classes
            .classes_of(&crate::request::normalize_path(path), into);
    }

    /// Whether `branch` is a protected branch of `resource`.
    pub fn is_protected_branch(&self, resource: &str, branch: &str) -> bool {
        self.resources
            .get(resource)
            .and_then(|i| self.protected_branches.get(i))
            .is_some_and(|set| set.is_match(branch))
    }
}

/// The built-in `governance` path class: Warden's own files, its state folder, and the files
/// that configure agents' hooks, wherever they sit in a repository.
pub fn governance_globs(governance_file: &str, policy_globs: &[String]) -> Vec<String> {
    let mut globs = vec![
        format!("**/{governance_file}"),
        "**/.warden/**".to_owned(),
        "**/.claude/settings*.json".to_owned(),
        "**/.codex/**".to_owned(),
        "**/.git/hooks/**".to_owned(),
        "**/.github/hooks/**".to_owned(),
    ];
    for glob in policy_globs {
        let glob = glob.trim_start_matches("./");
        globs.push(glob.to_owned());
        globs.push(format!("**/{glob}"));
    }
    globs
}

/// Builds a glob the way every path glob in Warden is built: `*` stays inside one path segment.
pub fn build_glob(glob: &str) -> Result<Glob, SnapshotError> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .map_err(|e| SnapshotError::Glob {
            glob: glob.to_owned(),
            message: e.kind().to_string(),
        })
}

/// A set of globs built with [`build_glob`].
pub fn glob_set(globs: &[String]) -> Result<GlobSet, SnapshotError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(build_glob(glob)?);
    }
    builder.build().map_err(|e| SnapshotError::Glob {
        glob: globs.join(", "),
        message: e.to_string(),
    })
}

/// All path classes in one glob set, so that classifying a path is one match.
#[derive(Debug)]
struct PathClassMatcher {
    set: GlobSet,
    /// Glob index → class name.
    class_of_glob: Vec<String>,
}

impl PathClassMatcher {
    fn new(classes: &[(String, Vec<String>)]) -> Result<PathClassMatcher, SnapshotError> {
        let mut builder = GlobSetBuilder::new();
        let mut class_of_glob = Vec::new();
        for (class, globs) in classes {
            for glob in globs {
                // Path classes match whatever the case: `.CLAUDE/settings.json` is the same file
                // as `.claude/settings.json` on macOS and Windows, and a class only adds checks.
                let glob = GlobBuilder::new(glob)
                    .literal_separator(true)
                    .case_insensitive(true)
                    .build()
                    .map_err(|e| SnapshotError::Glob {
                        glob: glob.clone(),
                        message: e.kind().to_string(),
                    })?;
                builder.add(glob);
                class_of_glob.push(class.clone());
            }
        }
        let set = builder.build().map_err(|e| SnapshotError::Glob {
            glob: String::new(),
            message: e.to_string(),
        })?;
        Ok(PathClassMatcher { set, class_of_glob })
    }

    fn classes_of<'a>(&'a self, path: &str, into: &mut BTreeSet<&'a str>) {
        for i in self.set.matches(path) {
            if let Some(class) = self.class_of_glob.get(i) {
                into.insert(class.as_str());
            }
        }
    }
}
