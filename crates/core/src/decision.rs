//! The decision document (CONTRACTS §3) and the stable rule ids every reason carries.
//!
//! A decision never fails: whatever goes wrong becomes a deny reason that says so. The table in
//! [`rules::ALL`] is the published list of rule ids with their OWASP risk and meaning
//! (`docs/rules.md` is generated from the same words).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// `allow`, `deny` or `review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Allow,
    Review,
    Deny,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Review => "review",
        }
    }

    /// The exit code of `warden check` for this outcome: 0 allow, 1 deny, 3 review.
    pub fn exit_code(self) -> i32 {
        match self {
            Outcome::Allow => 0,
            Outcome::Deny => 1,
            Outcome::Review => 3,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reason does to the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Recorded for the explanation; changes nothing (an approval that was used, say).
    Info,
    /// Sends the call to a review gate unless something denies it.
    Review,
    /// Denies the call; never approvable.
    Deny,
}

/// The OWASP Top 10 for Agentic Applications 2026 risk ids (CONTRACTS §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Risk {
    /// Agent Goal Hijack.
    ASI01,
    /// Tool Misuse and Exploitation.
    ASI02,
    /// Identity and Privilege Abuse.
    ASI03,
    /// Agentic Supply Chain Vulnerabilities.
    ASI04,
    /// Unexpected Code Execution.
    ASI05,
    /// Memory and Context Poisoning.
    ASI06,
    /// Insecure Inter-Agent Communication.
    ASI07,
    /// Cascading Failures.
    ASI08,
    /// Human-Agent Trust Exploitation.
    ASI09,
    /// Rogue Agents.
    ASI10,
}

impl Risk {
    pub fn title(self) -> &'static str {
        match self {
            Risk::ASI01 => "Agent Goal Hijack",
            Risk::ASI02 => "Tool Misuse and Exploitation",
            Risk::ASI03 => "Identity and Privilege Abuse",
            Risk::ASI04 => "Agentic Supply Chain Vulnerabilities",
            Risk::ASI05 => "Unexpected Code Execution",
            Risk::ASI06 => "Memory and Context Poisoning",
            Risk::ASI07 => "Insecure Inter-Agent Communication",
            Risk::ASI08 => "Cascading Failures",
            Risk::ASI09 => "Human-Agent Trust Exploitation",
            Risk::ASI10 => "Rogue Agents",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One reason for a decision: which rule, which risk, what it does, and why in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// A stable id, prefixed by the control that produced it (`gate.protected-branch`).
    pub rule: Cow<'static, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    pub effect: Effect,
    pub message: String,
}

impl Reason {
    /// A reason for one of the built-in rules; its risk and effect come from the rule table.
    pub fn of(rule: &'static rules::Rule, message: impl Into<String>) -> Reason {
        Reason {
            rule: Cow::Borrowed(rule.id),
            risk: rule.risk,
            effect: rule.effect,
            message: message.into(),
        }
    }
}

/// The gate a `review` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRef {
    pub id: String,
    pub status: String,
    pub expires_at: jiff::Timestamp,
}

/// Who the decision was made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    pub id: String,
    pub spiffe_id: String,
}

/// Where the decision sits in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRef {
    pub seq: u64,
    pub hash: String,
}

/// The decision document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decision: Outcome,
    pub reasons: Vec<Reason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditRef>,
}

impl Decision {
    /// The outcome the reasons add up to (CONTRACTS §3a): any deny denies, else any review
    /// reviews, else allow.
    pub fn outcome_of(reasons: &[Reason]) -> Outcome {
        let strongest = reasons.iter().map(|r| r.effect).max();
        match strongest {
            Some(Effect::Deny) => Outcome::Deny,
            Some(Effect::Review) => Outcome::Review,
            _ => Outcome::Allow,
        }
    }

    /// A decision built from its reasons alone.
    pub fn from_reasons(reasons: Vec<Reason>) -> Decision {
        Decision {
            decision: Decision::outcome_of(&reasons),
            reasons,
            gate: None,
            agent: None,
            audit: None,
        }
    }

    /// The reasons with a given effect.
    pub fn reasons_with(&self, effect: Effect) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(move |r| r.effect == effect)
    }
}

/// The published rule table.
pub mod rules {
    use super::{Effect, Risk};

    /// One built-in rule: its id, risk, effect and what it means.
    #[derive(Debug)]
    pub struct Rule {
        pub id: &'static str,
        pub risk: Option<Risk>,
        pub effect: Effect,
        pub meaning: &'static str,
    }

    macro_rules! rules {
        ($($name:ident = $id:literal, $risk:expr, $effect:ident, $meaning:literal;)*) => {
            $(pub static $name: Rule = Rule { id: $id, risk: $risk, effect: Effect::$effect, meaning: $meaning };)*
            /// Every built-in rule, in pipeline order.
            pub static ALL: &[&Rule] = &[$(&$name),*];
        };
    }

    rules! {
        REQUEST_UNKNOWN_AGENT = "request.unknown-agent", Some(Risk::ASI03), Deny,
            "the request names an agent the governance file does not declare";
        REQUEST_UNKNOWN_TOOL = "request.unknown-tool", Some(Risk::ASI02), Deny,
            "the tool is not a canonical tool, or an MCP tool its server does not declare";
        REQUEST_UNKNOWN_RESOURCE = "request.unknown-resource", Some(Risk::ASI03), Deny,
            "the resource is not declared in the governance file (or none could be derived)";
        REQUEST_UNKNOWN_MCP_SERVER = "request.unknown-mcp-server", Some(Risk::ASI04), Deny,
            "the MCP tool names a server the governance file does not declare";
        REQUEST_BINDING = "request.binding-mismatch", Some(Risk::ASI02), Deny,
            "the tool does not fit the resource: an MCP tool must target its own server, a net.request the api resource of its host";
        IDENTITY_SUSPENDED = "identity.suspended", Some(Risk::ASI10), Deny,
            "the agent is suspended (by an operator or by the monitor) until resumed";
        IDENTITY_REVOKED = "identity.revoked", Some(Risk::ASI03), Deny,
            "the agent's identity was revoked for good";
        IDENTITY_TOKEN_INVALID = "identity.token-invalid", Some(Risk::ASI03), Deny,
            "the token is malformed, forged, or signed by a key Warden does not hold";
        IDENTITY_TOKEN_EXPIRED = "identity.token-expired", Some(Risk::ASI03), Deny,
            "the token is past its expiry";
        IDENTITY_TOKEN_AUDIENCE = "identity.token-audience", Some(Risk::ASI03), Deny,
            "the token was issued for another audience";
        IDENTITY_TOKEN_REVOKED = "identity.token-revoked", Some(Risk::ASI03), Deny,
            "the token was issued before its agent's credential was rotated or revoked, or its session ended";
        IDENTITY_AGENT_MISMATCH = "identity.agent-mismatch", Some(Risk::ASI03), Deny,
            "the request names one agent and carries the token of another";
        SESSION_INVALID = "session.invalid", Some(Risk::ASI01), Deny,
            "the session is unknown, ended, expired, or another agent's";
        SESSION_REQUIRED = "session.required", Some(Risk::ASI01), Deny,
            "the agent's role requires every call to belong to a live task session";
        SESSION_OUT_OF_SCOPE = "session.out-of-scope", Some(Risk::ASI01), Review,
            "the call falls outside the session's declared resources, paths or tools: it needs re-authorization";
        TOOLS_NOT_ALLOWED = "tools.not-allowed", Some(Risk::ASI02), Deny,
            "the tool is not on the agent role's allow-list";
        GRANTS_NOT_GRANTED = "grants.not-granted", Some(Risk::ASI03), Deny,
            "the agent holds no grant for this access on this resource";
        GRANTS_OVER_CEILING = "grants.over-ceiling", Some(Risk::ASI03), Deny,
            "the resource is more sensitive than the role's ceiling allows (excessive agency)";
        GUARD_GOVERNANCE = "guard.governance", Some(Risk::ASI03), Deny,
            "an agent may not write Warden's own governance files, its state, or agent hook and settings files";
        GUARD_MEMORY_INSTRUCTION = "guard.memory-instruction", Some(Risk::ASI06), Deny,
            "a write to agent memory or instruction files carries instruction-like content that would steer later runs";
        GUARD_MEMORY_SECRET = "guard.memory-secret", Some(Risk::ASI06), Deny,
            "a write to agent memory carries a secret";
        GUARD_RATE_LIMIT = "guard.rate-limit", Some(Risk::ASI08), Deny,
            "the agent's role rate limit is spent (token bucket, shared across processes)";
        GUARD_FAIL_CLOSED = "guard.fail-closed", None, Deny,
            "Warden could not decide (store unreachable, corrupt state) and fails closed";
        POLICY_ERROR = "policy.error", None, Deny,
            "an organisation policy errored while evaluating; Warden does not skip it as Cedar would";
        GATE_PROTECTED_BRANCH = "gate.protected-branch", Some(Risk::ASI03), Review,
            "a commit, push or merge to a protected branch";
        GATE_UNVERIFIABLE = "gate.unverifiable", Some(Risk::ASI03), Review,
            "a push or merge that names no branch or no files cannot be checked, so a human looks";
        GATE_PIPELINE = "gate.pipeline", Some(Risk::ASI04), Review,
            "a change to CI/CD pipeline definitions";
        GATE_AUTH = "gate.auth", Some(Risk::ASI03), Review,
            "a change to authentication code";
        GATE_SECRETS = "gate.secrets", Some(Risk::ASI03), Review,
            "a change to files that hold secrets";
        GATE_IAM = "gate.iam", Some(Risk::ASI03), Review,
            "a change to IAM and access policy files";
        GATE_FILE_COUNT = "gate.file-count", Some(Risk::ASI08), Review,
            "a change set larger than the file-count threshold";
        GATE_OUTBOUND_SENSITIVE = "gate.outbound-sensitive", Some(Risk::ASI02), Review,
            "an outbound call to an external service carrying secrets or personal data";
        GATE_APPROVED = "gate.approved", None, Info,
            "a reviewer approved exactly this request; the approval is now used";
    }

    /// The rule for a built-in id.
    pub fn find(id: &str) -> Option<&'static Rule> {
        ALL.iter().copied().find(|r| r.id == id)
    }

    /// The published table of rule ids as Markdown (`docs/rules.md` embeds it verbatim; a test
    /// keeps the two the same).
    pub fn markdown() -> String {
        let mut out = String::from("| rule id | effect | risk | meaning |\n|---|---|---|---|\n");
        for rule in ALL {
            let risk = rule
                .risk
                .map_or("—".to_owned(), |r| format!("{r} {}", r.title()));
            let effect = match rule.effect {
                Effect::Deny => "deny",
                Effect::Review => "review",
                Effect::Info => "info",
            };
            out.push_str(&format!(
                "| `{}` | {effect} | {risk} | {} |\n",
                rule.id, rule.meaning
            ));
        }
        out.push_str("| `policy.<id>` | deny, or review with `@review` | the policy's `@risk`, if any | an organisation's Cedar `forbid` policy matched |\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deny_wins_over_review() {
        let reasons = vec![
            Reason::of(&rules::SESSION_OUT_OF_SCOPE, "x"),
            Reason::of(&rules::GRANTS_OVER_CEILING, "y"),
        ];
        assert_eq!(Decision::outcome_of(&reasons), Outcome::Deny);
        assert_eq!(Decision::outcome_of(&reasons[..1]), Outcome::Review);
        assert_eq!(Decision::outcome_of(&[]), Outcome::Allow);
    }

    #[test]
    fn published_rule_table_is_current() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md"))
                .unwrap_or_default();
        assert!(
            doc.contains(&rules::markdown()),
            "docs/rules.md is out of date; paste in the output of rules::markdown():\n{}",
            rules::markdown()
        );
    }

    #[test]
    fn rule_ids_are_unique_and_prefixed() {
        let prefixes = [
            "identity.",
            "session.",
            "tools.",
            "grants.",
            "guard.",
            "policy.",
            "gate.",
            "request.",
        ];
        let mut seen = std::collections::HashSet::new();
        for rule in rules::ALL {
            assert!(seen.insert(rule.id), "duplicate {}", rule.id);
            assert!(
                prefixes.iter().any(|p| rule.id.starts_with(p)),
                "{}",
                rule.id
            );
        }
    }
}
