//! The `warden` binary, driven end to end as users and adapters drive it (CONTRACTS §3, §3a, §4).
//!
//! One integration-test binary: every test builds its own small organisation in a temporary
//! folder ([`common::Org`]) with its own state folder (`--home`), runs the real executable and
//! checks exit codes, the decision documents on stdout and the errors on stderr. Tests are named
//! after the behaviour they pin down, so a failure reads as the contract it breaks.

#![allow(clippy::unwrap_used)] // tests: a panic is a failed assertion

mod common;

mod approvals;
mod audit_trail;
mod bad_input;
mod batch;
mod blast_radius;
mod crash;
mod examples;
mod gates;
mod git_hook;
mod guards;
mod hooks;
mod identity;
mod mcp;
mod paths;
mod policies;
mod rate_limit;
mod requests;
mod server;
mod sessions;
mod tokens;
mod validate;
