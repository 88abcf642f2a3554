//! Rendering for every command, in one place: aligned plain-text tables and key/value blocks for
//! people, one JSON document (or JSON Lines for streams) for scripts.
//!
//! Everything goes through [`Stdout`], which treats a closed pipe (`warden agent list | head -1`)
//! as the reader having seen enough rather than as an error: writes after it are dropped and the
//! command finishes with its own exit code. Text that agents control (a request's fields, its
//! payload, the agent's own account) is shown with control characters escaped, so that it cannot
//! move the cursor or recolour the reviewer's terminal.

use std::fmt::Write as _;
use std::io::{self, Write};

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// `--format`: tables and text for people, JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned plain text.
    Table,
    /// One JSON document on stdout (JSON Lines for streams); `jsonl` is the same.
    #[value(alias = "jsonl")]
    Json,
}

/// Standard output that ends quietly on a broken pipe.
pub struct Stdout {
    inner: io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    pub fn new() -> Stdout {
        Stdout {
            inner: io::stdout().lock(),
            closed: false,
        }
    }

    /// Writes `text` and a newline. After the reader has gone, does nothing.
    pub fn line(&mut self, text: impl AsRef<str>) -> anyhow::Result<()> {
        if self.closed {
            return Ok(());
        }
        let result = writeln!(self.inner, "{}", text.as_ref()).and_then(|()| self.inner.flush());
        self.settle(result)
    }

    /// Writes `value` as one pretty-printed JSON document.
    pub fn json(&mut self, value: &impl Serialize) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value).context("cannot render JSON")?;
        self.line(text)
    }

    /// Writes `value` as one compact JSON line (JSON Lines, and `warden check`).
    pub fn json_line(&mut self, value: &impl Serialize) -> anyhow::Result<()> {
        let text = serde_json::to_string(value).context("cannot render JSON")?;
        self.line(text)
    }

    fn settle(&mut self, result: io::Result<()>) -> anyhow::Result<()> {
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(e) => Err(e).context("cannot write to standard output"),
        }
    }
}

/// A table: a header row and rows of cells, rendered with columns aligned by two spaces.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<const N: usize>(headers: [&str; N]) -> Table {
        Table {
            rows: vec![headers.iter().map(|h| h.to_string()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| one_line(c)).collect());
    }

    /// The lines of the table, trailing spaces trimmed.
    pub fn render(&self) -> Vec<String> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| c.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        self.rows
            .iter()
            .map(|row| {
                let mut line = String::new();
                for (cell, width) in row.iter().zip(&widths) {
                    let _ = write!(line, "{cell:<width$}  ");
                }
                line.trim_end().to_owned()
            })
            .collect()
    }

    pub fn print(&self, out: &mut Stdout) -> anyhow::Result<()> {
        for line in self.render() {
            out.line(line)?;
        }
        Ok(())
    }
}

/// Key/value lines with the keys aligned: `agent    claude-fixer`.
#[derive(Default)]
pub struct Fields {
    fields: Vec<(String, String)>,
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    pub fn add(&mut self, key: &str, value: impl AsRef<str>) -> &mut Fields {
        self.fields.push((key.to_owned(), one_line(value.as_ref())));
        self
    }

    pub fn add_opt(&mut self, key: &str, value: Option<impl AsRef<str>>) -> &mut Fields {
        if let Some(value) = value {
            self.add(key, value);
        }
        self
    }

    pub fn render(&self) -> Vec<String> {
        let width = self
            .fields
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        self.fields
            .iter()
            .map(|(k, v)| format!("{k:<width$}  {v}").trim_end().to_owned())
            .collect()
    }

    pub fn print(&self, out: &mut Stdout) -> anyhow::Result<()> {
        for line in self.render() {
            out.line(line)?;
        }
        Ok(())
    }
}

/// Text on one line, control characters (newlines included) escaped.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c, false);
    }
    out
}

/// Text over several lines, each indented by `indent`; control characters other than newlines
/// and tabs escaped.
pub fn block(text: &str, indent: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let mut out = String::from(indent);
            for c in line.chars() {
                push_escaped(&mut out, c, true);
            }
            out
        })
        .collect()
}

fn push_escaped(out: &mut String, c: char, keep_tabs: bool) {
    match c {
        '\t' if keep_tabs => out.push('\t'),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() || is_bidi_control(c) => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Unicode bidirectional controls, which can make text read differently from what it is.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// A timestamp for people: `2026-11-27 10:00:00Z`, to the second.
pub fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// How far `at` is from `now`: `in 42m`, `3h 5m ago`.
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let delta = at.duration_since(now);
    if delta.is_negative() {
        format!("{} ago", span(-delta))
    } else {
        format!("in {}", span(delta))
    }
}

/// A duration for people, in its two largest units: `1d 4h`, `42m`, `35s`.
pub fn span(duration: SignedDuration) -> String {
    let total = duration.as_secs().unsigned_abs();
    let units = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let parts: Vec<String> = units
        .iter()
        .scan(total, |left, &(unit, size)| {
            let n = *left / size;
            *left %= size;
            Some((n, unit))
        })
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_trim() {
        let mut table = Table::new(["ID", "STATUS"]);
        table.row(vec!["claude-fixer".into(), "active".into()]);
        table.row(vec!["x".into(), "".into()]);
        assert_eq!(
            table.render(),
            ["ID            STATUS", "claude-fixer  active", "x"]
        );
    }

    #[test]
    fn agent_text_cannot_steer_the_terminal() {
        assert_eq!(one_line("ok\x1b[2Jhi\nthere"), "ok\\u{1b}[2Jhi\\nthere");
        assert_eq!(block("a\tb\n\u{202e}c", "  "), ["  a\tb", "  \\u{202e}c"]);
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(SignedDuration::from_secs(42 * 60)), "42m");
        assert_eq!(span(SignedDuration::from_secs(3_600 + 5 * 60 + 7)), "1h 5m");
        assert_eq!(span(SignedDuration::from_secs(86_400 + 30)), "1d");
        assert_eq!(span(SignedDuration::ZERO), "0s");
        let now = Timestamp::UNIX_EPOCH;
        let later = now
            .checked_add(SignedDuration::from_secs(90))
            .expect("in range");
        assert_eq!(relative(later, now), "in 1m 30s");
        assert_eq!(relative(now, later), "1m 30s ago");
    }
}
