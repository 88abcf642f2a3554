//! Loading the governance file and its Cedar policies from disk into a [`Snapshot`].

use std::path::{Path, PathBuf};

use warden_core::governance::{parse_governance, GovernanceErrors};
use warden_core::policy::{PolicyErrors, PolicySource};
use warden_core::snapshot::SnapshotError;
use warden_core::Snapshot;

/// Why the governance file or its policies could not be loaded. Commands exit 2 on this, and
/// adapters deny (fail closed).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("{0}")]
    Governance(#[from] GovernanceErrors),
    #[error("{0}")]
    Policies(#[from] PolicyErrors),
    #[error("{0}")]
    Snapshot(String),
}

/// Reads, validates and compiles the governance file at `config` and the policy files its
/// `policies:` globs name (relative to the file's folder).
pub fn load_snapshot(config: &Path) -> Result<Snapshot, LoadError> {
    let text = read(config)?;
    let name = config.display().to_string();
    let governance = parse_governance(&name, &text)?;
    let base = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let sources = read_policies(base, &governance.policies)?;
    let file_name = config
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("warden.yaml");
    Snapshot::compile(governance, &sources, file_name).map_err(|e| match e {
        SnapshotError::Policies(p) => LoadError::Policies(p),
        other => LoadError::Snapshot(other.to_string()),
    })
}

/// The policy files named by `globs`, relative to `base`, in a stable order.
pub fn read_policies(base: &Path, globs: &[String]) -> Result<Vec<PolicySource>, LoadError> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for pattern in globs {
        let full = base.join(pattern);
        let full = full.to_string_lossy();
        let entries = glob::glob(&full).map_err(|e| LoadError::Read {
            path: pattern.clone(),
            message: format!("bad policy glob: {e}"),
        })?;
        for entry in entries {
            let path = entry.map_err(|e| LoadError::Read {
                path: e.path().display().to_string(),
                message: e.error().to_string(),
            })?;
            if path.is_file() && !paths.contains(&path) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            Ok(PolicySource {
                text: read(&path)?,
                path: path.display().to_string(),
            })
        })
        .collect()
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|e| LoadError::Read {
        path: path.display().to_string(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => {
                "no such file (create one with `warden init`, or pass --config)".into()
            }
            _ => e.to_string().to_lowercase(),
        },
    })
}
