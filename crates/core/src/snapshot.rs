//! The compiled governance snapshot: the governance file with its globs compiled, its ids
//! indexed and its Cedar policies sliced by action, built once at load time so that a decision
//! does no parsing and no linear search.

use crate::governance::Governance;

/// A governance file compiled for deciding.
#[derive(Debug)]
pub struct Snapshot {
    pub governance: Governance,
}
