//! Warden's pure core.
//!
//! Everything here is a function of its inputs: no IO, no clock, no randomness. The engine
//! (`warden-engine`) loads the governance file, reads the store and the clock, and calls into this
//! crate; the CLI and the server both go through the engine, so a decision made on a laptop and one
//! made by a server are the same function of the same inputs.
//!
//! The modules follow the six controls of the framework:
//!
//! | control | module |
//! |---|---|
//! | 1. identity | [`identity`] |
//! | 2. blast radius | [`blast_radius`] |
//! | 3. least privilege per tool call | [`authorize`] |
//! | 4. guardrails (OWASP ASI01–ASI10) | [`guardrails`] |
//! | 5. human review gates | [`gates`] |
//! | 6. monitoring | (a later module, `monitor`) |
//!
//! plus the [`governance`] file they are configured by, the [`policy`] engine for an
//! organisation's own Cedar rules, the [`request`] and [`decision`] documents, and the [`audit`]
//! record format. [`decide`] runs the pipeline over all of them.

pub mod audit;
pub mod authorize;
pub mod blast_radius;
pub mod decide;
pub mod decision;
pub mod gates;
pub mod governance;
pub mod guardrails;
pub mod identity;
pub mod policy;
pub mod request;
pub mod snapshot;
pub mod tools;

pub use decide::{decide, Facts, Snapshot};
pub use decision::{Decision, Effect, Outcome, Reason, Risk};
pub use governance::Governance;
pub use request::ActionRequest;
