//! YAML documents as a tree that remembers where every node came from.
//!
//! serde-saphyr does the parsing; we deserialize each document into our own
//! [`Node`] tree (every node wrapped in `Spanned`), so later stages can point a
//! diagnostic at any value, key or list item, and can turn the tree into JSON
//! plus a JSON-pointer → position map for the JSON Schema based checks.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::Span;

/// Where a node starts, in characters, as serde-saphyr reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// Length of the node's source text in characters (0 when unknown).
    pub len: u32,
}

impl Pos {
    fn from_location(loc: serde_saphyr::Location) -> Self {
        Pos {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
            len: u32::try_from(loc.span().len()).unwrap_or(u32::MAX),
        }
    }
}

/// A YAML node with its position.
#[derive(Clone, Debug)]
pub struct Node {
    /// Where the node starts.
    pub pos: Pos,
    /// The node itself.
    pub value: NodeValue,
}

/// The shapes a YAML node can take once YAML's core schema has typed the scalars.
#[derive(Clone, Debug)]
pub enum NodeValue {
    /// `~`, `null` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// An integer above i64::MAX.
    UInt(u64),
    /// A float.
    Float(f64),
    /// Any string scalar (plain, quoted or block).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order. Keys are strings (other scalars are stringified).
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position.
#[derive(Clone, Debug)]
pub struct Key {
    /// Where the key starts.
    pub pos: Pos,
    /// The key text.
    pub name: String,
}

impl NodeValue {
    /// A short name of the node's type, for "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Int(_) | NodeValue::UInt(_) => "integer",
            NodeValue::Float(_) => "number",
            NodeValue::Str(_) => "string",
            NodeValue::Seq(_) => "array",
            NodeValue::Map(_) => "object",
        }
    }
}

impl Node {
    /// Looks up a mapping entry by key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node as a string, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts the tree into JSON (positions stay in the tree: see [`PointerMap`]).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::UInt(u) => Value::from(*u),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut out = serde_json::Map::with_capacity(entries.len());
                for (k, v) in entries {
                    out.insert(k.name.clone(), v.to_json());
                }
                Value::Object(out)
            }
        }
    }
}

/// Appends a JSON-pointer reference token, escaped per RFC 6901.
pub fn push_escaped(pointer: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

/// Positions of the nodes of one document by JSON pointer. It keeps the tree and walks it
/// on demand: positions are needed only for diagnostics, so a map of every node's pointer
/// would cost every document allocations that almost no document uses.
#[derive(Clone, Debug)]
pub struct PointerMap {
    root: Node,
}

impl PointerMap {
    /// Positions of the nodes of `root`.
    pub fn new(root: Node) -> Self {
        PointerMap { root }
    }

    /// The deepest node on the pointer's path, with the key that led to it when the whole
    /// path was found and its last step was a mapping key.
    fn walk(&self, pointer: &str) -> (&Node, Option<Pos>) {
        let mut cur = &self.root;
        let mut key = None;
        for raw in pointer.split('/').skip(1) {
            let token = raw.replace("~1", "/").replace("~0", "~");
            let next = match &cur.value {
                NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.name == token).map(|(k, v)| (Some(k.pos), v)),
                NodeValue::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)).map(|v| (None, v)),
                _ => None,
            };
            match next {
                Some((k, v)) => {
                    key = k;
                    cur = v;
                }
                None => return (cur, None),
            }
        }
        (cur, key)
    }

    /// The position of the node at `pointer`, or of its nearest ancestor.
    pub fn node(&self, pointer: &str) -> Pos {
        self.walk(pointer).0.pos
    }

    /// The position of the key that holds the node at `pointer` (falls back to the node).
    pub fn key(&self, pointer: &str) -> Pos {
        let (node, key) = self.walk(pointer);
        key.unwrap_or(node.pos)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<NodeValue>::deserialize(d)?;
        Ok(Node { pos: Pos::from_location(spanned.referenced), value: spanned.value })
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<KeyText>::deserialize(d)?;
        Ok(Key { pos: Pos::from_location(spanned.referenced), name: spanned.value.0 })
    }
}

/// A mapping key: any scalar, as text.
struct KeyText(String);

impl<'de> Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<KeyText, E> {
                Ok(KeyText(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<KeyText, E> {
                Ok(KeyText(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<KeyText, E> {
                Ok(KeyText(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<KeyText, E> {
                Ok(KeyText("null".to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NodeValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
                Ok(NodeValue::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
                Ok(NodeValue::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<NodeValue, D2::Error> {
                NodeValue::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
                Ok(NodeValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
                Ok(NodeValue::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
                Ok(i64::try_from(v).map_or(NodeValue::UInt(v), NodeValue::Int))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
                Ok(i64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::Int))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
                Ok(u64::try_from(v).map_or(NodeValue::Float(v as f64), NodeValue::UInt))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
                Ok(NodeValue::Float(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
                Ok(NodeValue::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
                Ok(NodeValue::Str(v))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NodeValue, E> {
                Ok(NodeValue::Str(String::from_utf8_lossy(v).into_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Node>()? {
                    items.push(item);
                }
                Ok(NodeValue::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
                let mut entries: Vec<(Key, Node)> = Vec::new();
                while let Some(key) = map.next_key::<Key>()? {
                    let value = map.next_value::<Node>()?;
                    entries.push((key, value));
                }
                Ok(NodeValue::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// One parsed document or the error that ended it.
pub enum Parsed {
    /// A document's tree.
    Doc(Node),
    /// A YAML error with its position (if known) and message.
    Error { pos: Option<Pos>, message: String, duplicate_key: bool },
}

/// Parses every document of a file. A syntax error ends the file; other errors
/// (such as a duplicate key) end only their document.
pub fn parse_documents(text: &str) -> Vec<Parsed> {
    // YAML 1.2 booleans only: `n`, `no`, `on` stay strings (a property named `n` is a name).
    let options = serde_saphyr::options! { with_snippet: false, strict_booleans: true };
    let mut reader = std::io::Cursor::new(text.as_bytes());
    let mut out = Vec::new();
    // A bound on documents per file keeps a pathological input from looping forever.
    for result in serde_saphyr::read_with_options::<_, Node>(&mut reader, options).take(100_000) {
        match result {
            Ok(node) => out.push(Parsed::Doc(node)),
            Err(e) => {
                let pos = e.location().filter(|l| l.line() > 0).map(Pos::from_location);
                let raw = e.to_string();
                let duplicate_key = raw.to_ascii_lowercase().contains("duplicate");
                out.push(Parsed::Error { pos, message: clean_message(&raw), duplicate_key });
            }
        }
    }
    out
}

/// serde-saphyr messages end with " at line N, column M"; we show positions ourselves.
fn clean_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let trimmed = match first.rfind(" at line ") {
        Some(i) => &first[..i],
        None => first,
    };
    // Advice about the library's own options means nothing to a spec author.
    let trimmed = match trimmed.find(", set DuplicateKeyPolicy") {
        Some(i) => &trimmed[..i],
        None => trimmed,
    };
    trimmed.trim_end_matches(':').to_owned()
}

/// Converts a `Pos` into a diagnostic span using the file's text for the end position.
pub fn span_of(index: &crate::diag::LineIndex, pos: Pos) -> Span {
    index.span(pos.line, pos.column, pos.len)
}
