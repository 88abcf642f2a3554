//! Content checks on text an agent sends out or writes: secrets, personal data, and
//! instruction-like text aimed at a later run of an agent.

use serde::Serialize;

/// What was found in a text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Findings {
    pub items: Vec<Finding>,
}

/// One finding: its kind and where in the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub start: usize,
    pub end: usize,
}

impl Findings {
    /// The distinct kinds found, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.items.iter().map(|f| f.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }
}

/// Scans a text.
pub fn scan(text: &str) -> Findings {
    let _ = text;
    Findings::default()
}
