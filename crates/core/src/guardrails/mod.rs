//! Control 4, guardrails mapped to the OWASP Top 10 for Agentic Applications 2026 (CONTRACTS §7).
//!
//! Each guardrail is a step of the pipeline in [`crate::decide`] that adds reasons with its
//! risk id: writes to Warden's own governance files (ASI03), memory and instruction-file writes
//! (ASI06), rate limits (ASI08, in [`rate`], charged by the store). [`content`] holds the text
//! checks they share with the outbound-data gate.

pub mod content;
pub mod rate;

use std::collections::BTreeSet;

use crate::decision::{rules, Reason};
use crate::governance::{path_class, Access};
use crate::request::ActionRequest;
use content::FindingClass;

/// Writes by an agent to the `governance` path class are denied: an agent must not edit the
/// rules that govern it, Warden's state, or the hooks and settings that put Warden in its path.
/// `file_classes` holds each file's path classes, in the order of `files`.
pub fn check_governance_writes(
    files: &[String],
    file_classes: &[BTreeSet<&str>],
    access: Access,
    reasons: &mut Vec<Reason>,
) {
    if access != Access::Write {
        return;
    }
    let hit = governance_files(files, file_classes);
    if !hit.is_empty() {
        reasons.push(Reason::of(
            &rules::GUARD_GOVERNANCE,
            format!("agents may not write governance files: {}", hit.join(", ")),
        ));
    }
}

/// Memory writes (ASI06): `memory.write`, or any write touching the `memory` path class (agent
/// instruction files such as `CLAUDE.md`), must not carry instruction-like text or secrets.
pub fn check_memory_write(
    request: &ActionRequest,
    touches_memory: bool,
    reasons: &mut Vec<Reason>,
) {
    if !(request.tool == "memory.write" || touches_memory) {
        return;
    }
    let Some(payload) = request.context.payload.as_deref() else {
        return;
    };
    let findings = content::scan(payload);
    let kinds = |class: FindingClass| {
        findings
            .items
            .iter()
            .filter(|f| f.class == class)
            .map(|f| f.kind)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    };
    if findings.has(FindingClass::Instruction) {
        reasons.push(Reason::of(
            &rules::GUARD_MEMORY_INSTRUCTION,
            format!(
                "the memory write carries instruction-like text ({})",
                kinds(FindingClass::Instruction)
            ),
        ));
    }
    if findings.has(FindingClass::Secret) {
        reasons.push(Reason::of(
            &rules::GUARD_MEMORY_SECRET,
            format!(
                "the memory write carries a secret ({})",
                kinds(FindingClass::Secret)
            ),
        ));
    }
}

/// The files of a request that fall in the governance path class, given each file's classes.
pub fn governance_files<'a>(files: &'a [String], classes: &[BTreeSet<&str>]) -> Vec<&'a str> {
    files
        .iter()
        .zip(classes)
        .filter(|(_, c)| c.contains(path_class::GOVERNANCE))
        .map(|(f, _)| f.as_str())
        .collect()
}
