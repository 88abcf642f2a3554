//! The revocation plan: an edit of the governance file's text that removes exactly the given
//! grant accesses (and a grant left with none), keeping every comment and the layout otherwise.
//!
//! `warden blast-radius --plan --write` feeds it the report's revoke sets
//! ([`super::Report::removals`]). It edits by line, starting from each grant's
//! [`Location`](crate::governance::Location): a grant written as a flow mapping on one line
//! (`- { resource: repo:acme/docs, access: [read, write] }`) or as a block mapping
//! (`- resource: …` then `access: [read]`, or `access:` followed by `- read` lines). Before
//! changing anything it checks that the text at each location is the grant the model says
//! (resource and accesses); a layout it cannot edit safely is an error, never a guess. The caller
//! parses and validates the result before writing it.

use std::collections::{BTreeMap, BTreeSet};

use super::report::Removal;
use crate::governance::{Access, Agent, Governance};

/// Why a plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no agent `{agent}` in the governance file")]
    UnknownAgent { agent: String },
    #[error("agent `{agent}` holds no {access} grant on `{resource}`")]
    NotGranted {
        agent: String,
        resource: String,
        access: Access,
    },
    #[error("cannot edit the grant of `{agent}` at line {line} safely: {message}")]
    Layout {
        agent: String,
        line: usize,
        message: String,
    },
}

impl PlanError {
    /// How to get past the error.
    pub fn help(&self) -> &'static str {
        match self {
            PlanError::UnknownAgent { .. } | PlanError::NotGranted { .. } => {
                "make the plan from a report of the same governance file"
            }
            PlanError::Layout { .. } => {
                "write the grant as `- { resource: ID, access: [read, write] }` on one line, or remove the access by hand"
            }
        }
    }
}

/// Rewrites `yaml_text` with exactly `removals` taken out. `governance` must be the parse of
/// `yaml_text` (its grant locations are where the edits start).
pub fn plan_rewrite(
    yaml_text: &str,
    governance: &Governance,
    removals: &[Removal],
) -> Result<String, PlanError> {
    // (agent index, grant index) → accesses to remove. Agents are looked up by id once: a plan
    // for a large organisation has hundreds of thousands of removals.
    let agent_index: std::collections::HashMap<&str, usize> = governance
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let mut edits: BTreeMap<(usize, usize), BTreeSet<Access>> = BTreeMap::new();
    for removal in removals {
        let (a, agent) = agent_index
            .get(removal.agent.as_str())
            .and_then(|&a| governance.agents.get(a).map(|agent| (a, agent)))
            .ok_or_else(|| PlanError::UnknownAgent {
                agent: removal.agent.clone(),
            })?;
        let mut found = false;
        for (g, grant) in agent.grants.iter().enumerate() {
            if grant.resource == removal.resource && grant.access.contains(&removal.access) {
                edits.entry((a, g)).or_default().insert(removal.access);
                found = true;
            }
        }
        if !found {
            return Err(PlanError::NotGranted {
                agent: removal.agent.clone(),
                resource: removal.resource.clone(),
                access: removal.access,
            });
        }
    }

    let mut lines: Vec<Line> = yaml_text.split_inclusive('\n').map(Line::new).collect();
    let mut touched: BTreeSet<usize> = BTreeSet::new();
    // Per agent: grants deleted whole, and the first line of each deleted grant.
    let mut deleted: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (&(a, g), remove) in &edits {
        let Some(agent) = governance.agents.get(a) else {
            continue;
        };
        let Some(grant) = agent.grants.get(g) else {
            continue;
        };
        let layout_error = |message: String| PlanError::Layout {
            agent: agent.id.clone(),
            line: grant.location.line,
            message,
        };
        let text = GrantText::find(&lines, grant.location.line).map_err(layout_error)?;
        text.check(&grant.resource, &grant.access)
            .map_err(layout_error)?;
        for line in text.first..=text.last {
            if !touched.insert(line) {
                return Err(layout_error(
                    "another grant is written on the same lines".into(),
                ));
            }
        }
        let keep: Vec<Access> = grant
            .access
            .iter()
            .copied()
            .filter(|a| !remove.contains(a))
            .collect();
        if keep.is_empty() {
            for line in lines.iter_mut().take(text.last + 1).skip(text.first) {
                line.deleted = true;
            }
            deleted.entry(a).or_default().push(text.first);
        } else {
            text.keep_only(&mut lines, &keep);
        }
    }

    for (a, firsts) in deleted {
        let Some(agent) = governance.agents.get(a) else {
            continue;
        };
        if firsts.len() == agent.grants.len() {
            empty_grants(&mut lines, agent, firsts.iter().copied().min().unwrap_or(0))?;
        }
    }
    Ok(lines
        .into_iter()
        .filter(|l| !l.deleted)
        .map(|l| l.text)
        .collect())
}

/// Every grant of `agent` was removed: `grants:` would be left with no items, which YAML reads
/// as null, so it becomes `grants: []`.
fn empty_grants(lines: &mut [Line], agent: &Agent, first: usize) -> Result<(), PlanError> {
    let error = |message: &str| PlanError::Layout {
        agent: agent.id.clone(),
        line: first + 1,
        message: message.into(),
    };
    let above = (0..first)
        .rev()
        .find(|&i| lines.get(i).is_some_and(|l| !l.is_blank_or_comment()))
        .ok_or_else(|| error("no `grants:` key above the grants"))?;
    let line = lines
        .get_mut(above)
        .ok_or_else(|| error("no `grants:` key above the grants"))?;
    let (content, comment) = split_comment(line.body());
    let indent = indent_of(content);
    if content.trim() != "grants:" {
        return Err(error(
            "every grant is removed and the `grants:` key above them is not alone on its line",
        ));
    }
    let mut text = format!("{}grants: []", &content[..indent]);
    if !comment.is_empty() {
        text.push_str(comment);
    }
    line.replace_body(&text);
    Ok(())
}

/// One line of the file, its terminator kept.
struct Line {
    text: String,
    deleted: bool,
}

impl Line {
    fn new(text: &str) -> Line {
        Line {
            text: text.to_owned(),
            deleted: false,
        }
    }

    /// The line without its terminator.
    fn body(&self) -> &str {
        self.text.trim_end_matches(['\n', '\r'])
    }

    fn replace_body(&mut self, body: &str) {
        let end = self.text[self.body().len()..].to_owned();
        self.text = format!("{body}{end}");
    }

    fn is_blank_or_comment(&self) -> bool {
        let t = self.body().trim_start();
        t.is_empty() || t.starts_with('#')
    }
}

fn indent_of(s: &str) -> usize {
    s.len() - s.trim_start_matches(' ').len()
}

/// Splits a line into its content and its comment (from the whitespace before `#`). A `#` starts
/// a comment at the start of the line or after whitespace, outside quotes.
fn split_comment(line: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => {
                let content = &line[..i];
                let start = content.trim_end().len();
                return (&line[..start], &line[start..]);
            }
            None => {}
        }
        previous = c;
    }
    (line, "")
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// Byte ranges of the top-level comma-separated parts of `s[start..end]` (outside quotes and
/// nested brackets).
fn split_top(s: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut from = start;
    for (i, c) in s.get(start..end).unwrap_or_default().char_indices() {
        let at = start + i;
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    out.push((from, at));
                    from = at + 1;
                }
                _ => {}
            },
        }
    }
    out.push((from, end));
    out
}

/// Where the closing bracket matching the opening one at `open` is.
fn matching(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.get(open..)?.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(open + i);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// How a grant's accesses are written.
enum AccessText {
    /// `[read, write]` on `line`, the brackets at `open..=close`; the items' texts.
    Flow {
        line: usize,
        open: usize,
        close: usize,
        items: Vec<(Access, String)>,
    },
    /// `access: read`: one access.
    Scalar { access: Access },
    /// `access:` then one `- read` line per access.
    Block { items: Vec<(Access, usize)> },
}

/// A grant as written: the lines it spans (`first..=last`, comments after its last key not
/// included), its resource and its accesses.
struct GrantText {
    first: usize,
    last: usize,
    resource: String,
    access: AccessText,
}

fn parse_access(item: &str) -> Result<Access, String> {
    let name = unquote(item);
    name.parse()
        .map_err(|()| format!("`{name}` is not an access"))
}

fn flow_list(body: &str, line: usize, open: usize) -> Result<AccessText, String> {
    let close = matching(body, open).ok_or("the access list does not close on its line")?;
    let mut items = Vec::new();
    for (from, to) in split_top(body, open + 1, close) {
        let item = body.get(from..to).unwrap_or_default().trim();
        if item.is_empty() {
            continue;
        }
        items.push((parse_access(item)?, item.to_owned()));
    }
    Ok(AccessText::Flow {
        line,
        open,
        close,
        items,
    })
}

impl GrantText {
    /// Finds the grant written at 1-based `line`: its item must start there with `- `.
    /// A location on a later key of a block mapping (`- access: …` then `resource: …`) is
    /// followed up to the `- ` line of its item.
    fn find(lines: &[Line], line: usize) -> Result<GrantText, String> {
        let mut at = line.checked_sub(1).ok_or("the grant has no location")?;
        let first = lines
            .get(at)
            .ok_or("the line is past the end of the file")?
            .body();
        let key_indent = indent_of(split_comment(first).0);
        let (content, after) = loop {
            let body = lines.get(at).map_or("", Line::body);
            let (content, _) = split_comment(body);
            let indent = indent_of(content);
            let rest = &content[indent..];
            if let Some(after) = rest.strip_prefix("- ") {
                if content.len() - after.trim_start().len() == key_indent || at + 1 == line {
                    break (content, after);
                }
            }
            let is_key = indent == key_indent && !rest.starts_with('-');
            let skip = lines.get(at).is_some_and(Line::is_blank_or_comment);
            match at.checked_sub(1) {
                Some(up) if is_key || skip => at = up,
                _ => return Err("the line does not start a list item (`- `)".into()),
            }
        };
        let dash = indent_of(content);
        let key_col = content.len() - after.trim_start().len();
        if content.get(key_col..).is_some_and(|s| s.starts_with('{')) {
            Self::flow(content, at, key_col)
        } else {
            Self::block(lines, at, dash, key_col)
        }
    }

    /// `- { resource: …, access: […] }` on one line.
    fn flow(content: &str, at: usize, open: usize) -> Result<GrantText, String> {
        let close = matching(content, open).ok_or("the flow mapping does not close on its line")?;
        if !content[close + 1..].trim().is_empty() {
            return Err("text follows the grant's flow mapping".into());
        }
        let mut resource = None;
        let mut access = None;
        for (from, to) in split_top(content, open + 1, close) {
            let entry = content.get(from..to).unwrap_or_default();
            let Some((key, _)) = entry.split_once(':') else {
                if entry.trim().is_empty() {
                    continue;
                }
                return Err(format!("`{}` is not a key and value", entry.trim()));
            };
            let value_start = from + key.len() + 1;
            let value = content.get(value_start..to).unwrap_or_default();
            match unquote(key) {
                "resource" => resource = Some(unquote(value).to_owned()),
                "access" => {
                    let start = value_start + (value.len() - value.trim_start().len());
                    access = Some(if content[start..].starts_with('[') {
                        flow_list(content, at, start)?
                    } else {
                        AccessText::Scalar {
                            access: parse_access(value)?,
                        }
                    });
                }
                _ => {}
            }
        }
        Ok(GrantText {
            first: at,
            last: at,
            resource: resource.ok_or("the grant has no `resource`")?,
            access: access.ok_or("the grant has no `access`")?,
        })
    }

    /// `- resource: …` followed by more keys at the same column.
    fn block(lines: &[Line], at: usize, dash: usize, key_col: usize) -> Result<GrantText, String> {
        let mut resource = None;
        let mut access = None;
        let mut last = at;
        let mut i = at;
        while let Some(line) = lines.get(i) {
            if i > at && line.is_blank_or_comment() {
                i += 1;
                continue;
            }
            let (content, _) = split_comment(line.body());
            let indent = if i == at { key_col } else { indent_of(content) };
            if i > at && indent <= dash {
                break;
            }
            if indent != key_col {
                return Err(format!("line {} is not a key of the grant", i + 1));
            }
            let entry = &content[indent..];
            let (key, value) = entry
                .split_once(':')
                .ok_or_else(|| format!("line {} is not a key and value", i + 1))?;
            let value_start = indent + key.len() + 1;
            last = i;
            match unquote(key) {
                "resource" => resource = Some(unquote(value).to_owned()),
                "access" if value.trim().is_empty() => {
                    let mut items = Vec::new();
                    let mut j = i + 1;
                    while let Some(item_line) = lines.get(j) {
                        if item_line.is_blank_or_comment() {
                            j += 1;
                            continue;
                        }
                        let (item, _) = split_comment(item_line.body());
                        let item_indent = indent_of(item);
                        let Some(name) = item[item_indent..].strip_prefix("- ") else {
                            break;
                        };
                        if item_indent < key_col {
                            break;
                        }
                        items.push((parse_access(name)?, j));
                        last = j;
                        j += 1;
                    }
                    if items.is_empty() {
                        return Err("the grant's `access` has no items".into());
                    }
                    access = Some(AccessText::Block { items });
                    i = j;
                    continue;
                }
                "access" => {
                    let start = value_start + (value.len() - value.trim_start().len());
                    access = Some(if content[start..].starts_with('[') {
                        flow_list(content, i, start)?
                    } else {
                        AccessText::Scalar {
                            access: parse_access(value)?,
                        }
                    });
                }
                _ => {}
            }
            i += 1;
        }
        Ok(GrantText {
            first: at,
            last,
            resource: resource.ok_or("the grant has no `resource`")?,
            access: access.ok_or("the grant has no `access`")?,
        })
    }

    fn accesses(&self) -> BTreeSet<Access> {
        match &self.access {
            AccessText::Flow { items, .. } => items.iter().map(|(a, _)| *a).collect(),
            AccessText::Scalar { access, .. } => BTreeSet::from([*access]),
            AccessText::Block { items } => items.iter().map(|(a, _)| *a).collect(),
        }
    }

    /// Checks that the text is the grant the model holds.
    fn check(&self, resource: &str, access: &[Access]) -> Result<(), String> {
        if self.resource != resource {
            return Err(format!(
                "the text names `{}`, the grant `{resource}`",
                self.resource
            ));
        }
        let model: BTreeSet<Access> = access.iter().copied().collect();
        if self.accesses() != model {
            return Err("the text's accesses differ from the grant's".into());
        }
        Ok(())
    }

    /// Edits the accesses down to `keep` (not empty: a grant left with none is deleted whole).
    fn keep_only(&self, lines: &mut [Line], keep: &[Access]) {
        match &self.access {
            AccessText::Flow {
                line,
                open,
                close,
                items,
            } => {
                let Some(l) = lines.get_mut(*line) else {
                    return;
                };
                let body = l.body().to_owned();
                let kept: Vec<&str> = items
                    .iter()
                    .filter(|(a, _)| keep.contains(a))
                    .map(|(_, t)| t.as_str())
                    .collect();
                let text = format!(
                    "{}[{}]{}",
                    &body[..*open],
                    kept.join(", "),
                    &body[close + 1..]
                );
                l.replace_body(&text);
            }
            // A scalar holds one access; keeping it means no change.
            AccessText::Scalar { .. } => {}
            AccessText::Block { items } => {
                for (access, line) in items {
                    if !keep.contains(access) {
                        if let Some(l) = lines.get_mut(*line) {
                            l.deleted = true;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_start_after_whitespace_outside_quotes() {
        assert_eq!(
            split_comment("  - read   # the key"),
            ("  - read", "   # the key")
        );
        assert_eq!(
            split_comment("resource: \"a # b\" # c"),
            ("resource: \"a # b\"", " # c")
        );
        assert_eq!(
            split_comment("id: repo:acme/x#y"),
            ("id: repo:acme/x#y", "")
        );
    }

    #[test]
    fn flow_items_split_at_top_level_commas() {
        let s = "{ resource: 'a,b', access: [read, write] }";
        let close = matching(s, 0).expect("closes");
        assert_eq!(close, s.len() - 1);
        let parts: Vec<&str> = split_top(s, 1, close)
            .into_iter()
            .map(|(a, b)| s[a..b].trim())
            .collect();
        assert_eq!(parts, vec!["resource: 'a,b'", "access: [read, write]"]);
        assert_eq!(unquote(" 'a,b' "), "a,b");
        assert_eq!(matching("[read", 0), None);
    }
}
