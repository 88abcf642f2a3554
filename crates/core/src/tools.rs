//! Canonical tool names and the access each implies on its resource (CONTRACTS §2).

use crate::governance::{Access, Governance, ResourceKind};

/// The canonical tools with the access they imply.
pub const CANONICAL: &[(&str, Access)] = &[
    ("fs.read", Access::Read),
    ("fs.write", Access::Write),
    ("shell.exec", Access::Write),
    ("git.clone", Access::Read),
    ("git.commit", Access::Write),
    ("git.push", Access::Write),
    ("pr.create", Access::Write),
    ("pr.merge", Access::Write),
    ("net.request", Access::Write),
    ("secret.read", Access::Read),
    ("memory.read", Access::Read),
    ("memory.write", Access::Write),
    ("agent.call", Access::Write),
    ("pipeline.edit", Access::Write),
];

/// Tools whose changes the path-class and file-count gates look at.
pub const CHANGE_TOOLS: &[&str] = &[
    "git.commit",
    "git.push",
    "pr.create",
    "pr.merge",
    "pipeline.edit",
];

/// Tools the protected-branch gate applies to.
pub const BRANCH_TOOLS: &[&str] = &["git.commit", "git.push", "pr.merge"];

/// Tools that must name a branch and files to be checked.
pub const VERIFIABLE_TOOLS: &[&str] = &["git.push", "pr.merge"];

/// A tool name, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool<'a> {
    /// One of [`CANONICAL`].
    Canonical { name: &'a str, access: Access },
    /// `mcp:<server>/<tool>`.
    Mcp { server: &'a str, tool: &'a str },
}

impl<'a> Tool<'a> {
    /// Parses a tool name: a canonical name or `mcp:<server>/<tool>`. `None` for anything else.
    pub fn parse(name: &'a str) -> Option<Tool<'a>> {
        if let Some(rest) = name.strip_prefix("mcp:") {
            let (server, tool) = rest.split_once('/')?;
            if server.is_empty() || tool.is_empty() || tool.contains('/') {
                return None;
            }
            return Some(Tool::Mcp { server, tool });
        }
        CANONICAL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(name, access)| Tool::Canonical { name, access })
    }

    /// The access the tool implies, given the organisation's MCP scope declarations. `None` for an
    /// MCP tool its server does not declare (or an undeclared server).
    pub fn access(&self, governance: &Governance) -> Option<Access> {
        match *self {
            Tool::Canonical { access, .. } => Some(access),
            Tool::Mcp { server, tool } => {
                let resource = governance.resource(&format!("mcp:{server}"))?;
                debug_assert_eq!(resource.kind, ResourceKind::Mcp);
                resource.tools.get(tool).copied()
            }
        }
    }

    pub fn name(&self) -> &'a str {
        match *self {
            Tool::Canonical { name, .. } => name,
            // The borrowed form of an MCP tool's full name is not available here; callers that
            // need it keep the original string.
            Tool::Mcp { tool, .. } => tool,
        }
    }

    pub fn is(&self, canonical: &str) -> bool {
        matches!(self, Tool::Canonical { name, .. } if *name == canonical)
    }
}

/// Whether `name` is a tool the governance file may list in a role: a canonical tool, or an
/// `mcp:<server>/<tool>` form (the server and tool are checked against declarations separately).
pub fn is_valid_tool_name(name: &str) -> bool {
    Tool::parse(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tools() {
        assert_eq!(
            Tool::parse("git.push"),
            Some(Tool::Canonical {
                name: "git.push",
                access: Access::Write
            })
        );
        assert_eq!(
            Tool::parse("mcp:github/get_issue"),
            Some(Tool::Mcp {
                server: "github",
                tool: "get_issue"
            })
        );
        assert_eq!(Tool::parse("mcp:github"), None);
        assert_eq!(Tool::parse("mcp:/x"), None);
        assert_eq!(Tool::parse("rm -rf"), None);
    }
}
