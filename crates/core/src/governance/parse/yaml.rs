//! The governance file as a small YAML tree that remembers where every node was written.
//!
//! Built from the parser's events rather than loaded into a ready-made YAML value because a
//! mapping here keeps every key in the order written, duplicates included: the reader reports a
//! duplicate key at its second occurrence, where a hash map would have silently kept one.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, Span};

/// A 1-based line and column in the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    fn of(span: Span) -> Pos {
        // The parser counts lines from 1 and columns from 0.
        Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
        }
    }
}

/// One node of the document with the position of its first character.
#[derive(Debug, Clone)]
pub struct Node<'a> {
    pub pos: Pos,
    pub value: Value<'a>,
}

#[derive(Debug, Clone)]
pub enum Value<'a> {
    Scalar(Scalar<'a>),
    Sequence(Vec<Node<'a>>),
    /// Key and value pairs in the order written, duplicate keys included.
    Mapping(Vec<(Node<'a>, Node<'a>)>),
    /// A scalar its explicit tag rejects (`!!int abc`), written as it was.
    Invalid(Cow<'a, str>),
}

impl Node<'_> {
    /// How the node's kind is named in messages ("expected a list, found a mapping").
    pub fn describe(&self) -> &'static str {
        match &self.value {
            Value::Mapping(_) => "a mapping",
            Value::Sequence(_) => "a list",
            Value::Scalar(Scalar::String(_)) => "a string",
            Value::Scalar(Scalar::Integer(_)) => "an integer",
            Value::Scalar(Scalar::FloatingPoint(_)) => "a number",
            Value::Scalar(Scalar::Boolean(_)) => "a boolean",
            Value::Scalar(Scalar::Null) => "an empty value",
            Value::Invalid(_) => "a value its tag does not allow",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Scalar(Scalar::Null))
    }

    /// The node as written, for scalars (`None` for collections).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Scalar(Scalar::String(s)) => Some(s.to_string()),
            Value::Scalar(Scalar::Integer(i)) => Some(i.to_string()),
            Value::Scalar(Scalar::FloatingPoint(f)) => Some(f.to_string()),
            Value::Scalar(Scalar::Boolean(b)) => Some(b.to_string()),
            Value::Scalar(Scalar::Null) => Some("null".to_owned()),
            Value::Invalid(s) => Some(s.to_string()),
            Value::Sequence(_) | Value::Mapping(_) => None,
        }
    }

    fn size(&self) -> usize {
        match &self.value {
            Value::Sequence(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            Value::Mapping(entries) => {
                1 + entries
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
            Value::Scalar(_) | Value::Invalid(_) => 1,
        }
    }
}

/// Why a text could not be read as one YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub pos: Pos,
    pub message: String,
    pub help: Option<String>,
}

/// Aliases are expanded by copying; past this many nodes a file is refused rather than allowed
/// to grow without bound ("billion laughs").
const MAX_NODES: usize = 1_000_000;

/// Reads `text` as one YAML document. `Ok(None)` for a file with no document at all (empty, or
/// only comments).
pub fn load(text: &str) -> Result<Option<Node<'_>>, LoadError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| LoadError {
            pos: Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
            message: format!("invalid YAML: {}", e.info()),
            help: None,
        })?;
        builder.on_event(event, span)?;
    }
    Ok(builder.docs.into_iter().next())
}

enum Frame<'a> {
    Sequence {
        pos: Pos,
        anchor: usize,
        items: Vec<Node<'a>>,
    },
    Mapping {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node<'a>, Node<'a>)>,
        key: Option<Node<'a>>,
    },
}

#[derive(Default)]
struct Builder<'a> {
    docs: Vec<Node<'a>>,
    stack: Vec<Frame<'a>>,
    /// Anchored nodes by anchor id, with their size.
    anchors: HashMap<usize, (Node<'a>, usize)>,
    nodes: usize,
}

impl<'a> Builder<'a> {
    fn on_event(&mut self, event: Event<'a>, span: Span) -> Result<(), LoadError> {
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                if !self.docs.is_empty() {
                    return Err(LoadError {
                        pos: Pos::of(span),
                        message: "expected one YAML document, found a second one".to_owned(),
                        help: Some("remove the `---` line and everything after it".to_owned()),
                    });
                }
            }
            Event::SequenceStart(anchor, _tag) => self.stack.push(Frame::Sequence {
                pos: Pos::of(span),
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _tag) => self.stack.push(Frame::Mapping {
                pos: Pos::of(span),
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence { pos, anchor, items }) => (
                        Node {
                            pos,
                            value: Value::Sequence(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Mapping {
                        pos,
                        anchor,
                        entries,
                        ..
                    }) => (
                        Node {
                            pos,
                            value: Value::Mapping(entries),
                        },
                        anchor,
                    ),
                    // The parser balances starts and ends; nothing to close means nothing to do.
                    None => return Ok(()),
                };
                self.insert(node, anchor);
            }
            Event::Scalar(text, style, anchor, tag) => {
                let value =
                    match Scalar::parse_from_cow_and_metadata(text.clone(), style, tag.as_ref()) {
                        Some(scalar) => Value::Scalar(scalar),
                        None => Value::Invalid(text),
                    };
                let node = Node {
                    pos: Pos::of(span),
                    value,
                };
                self.insert(node, anchor);
            }
            Event::Alias(id) => {
                let node = match self.anchors.get(&id) {
                    Some((node, size)) => {
                        self.nodes = self.nodes.saturating_add(*size);
                        if self.nodes > MAX_NODES {
                            return Err(LoadError {
                                pos: Pos::of(span),
                                message: "the file expands to too many nodes through aliases"
                                    .to_owned(),
                                help: Some(
                                    "write the repeated parts out, or use fewer aliases".to_owned(),
                                ),
                            });
                        }
                        Node {
                            pos: Pos::of(span),
                            value: node.value.clone(),
                        }
                    }
                    None => Node {
                        pos: Pos::of(span),
                        value: Value::Invalid(Cow::Borrowed("*alias")),
                    },
                };
                self.insert(node, 0);
            }
        }
        Ok(())
    }

    fn insert(&mut self, node: Node<'a>, anchor: usize) {
        self.nodes = self.nodes.saturating_add(1);
        if anchor > 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            Some(Frame::Sequence { items, .. }) => items.push(node),
            Some(Frame::Mapping { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => self.docs.push(node),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(node: &Node<'_>) -> Vec<(String, Pos)> {
        match &node.value {
            Value::Mapping(entries) => entries
                .iter()
                .map(|(k, _)| (k.scalar_text().unwrap_or_default(), k.pos))
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn positions_are_one_based() {
        let doc = load("a: 1\nbb:\n  - x\n")
            .expect("valid YAML")
            .expect("a document");
        assert_eq!(doc.pos, Pos { line: 1, column: 1 });
        assert_eq!(
            keys(&doc),
            vec![
                ("a".to_owned(), Pos { line: 1, column: 1 }),
                ("bb".to_owned(), Pos { line: 2, column: 1 })
            ]
        );
        let Value::Mapping(entries) = &doc.value else {
            panic!()
        };
        assert_eq!(entries[1].1.pos, Pos { line: 3, column: 3 });
        let Value::Sequence(items) = &entries[1].1.value else {
            panic!()
        };
        assert_eq!(items[0].pos, Pos { line: 3, column: 5 });
    }

    #[test]
    fn duplicate_keys_are_kept() {
        let doc = load("a: 1\nb: 2\na: 3\n")
            .expect("valid YAML")
            .expect("a document");
        let names: Vec<String> = keys(&doc).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["a", "b", "a"]);
    }

    #[test]
    fn aliases_are_copied() {
        let doc = load("a: &x [1, 2]\nb: *x\n")
            .expect("valid YAML")
            .expect("a document");
        let Value::Mapping(entries) = &doc.value else {
            panic!()
        };
        assert!(matches!(&entries[1].1.value, Value::Sequence(items) if items.len() == 2));
        assert_eq!(entries[1].1.pos, Pos { line: 2, column: 4 });
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = load(&text).expect_err("invalid YAML");
        assert!(err.message.contains("too many nodes"), "{err:?}");
    }

    #[test]
    fn empty_and_comment_only_files_have_no_document() {
        assert!(matches!(load(""), Ok(None)));
        assert!(matches!(load("# nothing here\n"), Ok(None)));
    }

    #[test]
    fn a_second_document_is_refused() {
        let err = load("a: 1\n---\nb: 2\n").expect_err("invalid YAML");
        assert_eq!(err.pos.line, 2);
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = load("a: 1\nb: [1, 2\n").expect_err("invalid YAML");
        assert!(err.message.starts_with("invalid YAML: "), "{err:?}");
        assert!(err.pos.line >= 2, "{err:?}");
    }
}
