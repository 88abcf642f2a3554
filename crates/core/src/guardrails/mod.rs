//! Control 4, guardrails mapped to the OWASP Top 10 for Agentic Applications 2026.

pub mod content;
