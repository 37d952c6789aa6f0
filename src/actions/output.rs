//! Output shaping shared by every backend: what the model receives is a JSON object
//! (MCP `structuredContent` must be one) plus a compact text rendering, and it is cut to the
//! tool's `max_bytes` at an element, row or line boundary, always saying what was cut.
//!
//! These functions are pure and never panic, so the HTTP backend and the CloudWatch
//! backends (whose rows arrive as `{"rows": [...]}`) shape their results the same way.

use serde_json::{Map, Value};

/// What a tool call produced, ready for MCP: `structured` becomes structuredContent, `text` the text content.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The structured result, always a JSON object when present.
    pub structured: Option<serde_json::Value>,
    /// A compact text rendering (the JSON text of `structured`, or the text the backend sent).
    pub text: String,
    /// Whether the output was cut to the tool's `max_bytes`.
    pub truncated: bool,
    /// Whether the result is a tool error that still carries its answer (a watch that
    /// breached): MCP `isError: true` with the structured content, which is then not held to
    /// the tool's output schema.
    pub is_error: bool,
    /// Content beyond the one text block: an image, audio or embedded resource beside the
    /// text, or the whole list of blocks (a `steps` tool's `content:`).
    pub media: Option<Content>,
}

/// What a result's content is, beyond the text block its [`ToolOutput::text`] gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// One block beside the text: an image, audio, or the answer as an embedded resource.
    Beside(Media),
    /// The result's content blocks, in order, in place of the text block (the text still
    /// renders the structured result for whoever reads only text, such as `toolwright call`).
    Blocks(Vec<Block>),
}

/// One content block of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A text block.
    Text(String),
    /// An image, audio or embedded resource block.
    Media(Media),
}

impl ToolOutput {
    /// The result's content blocks, in order, as MCP receives them: its text, then the block
    /// beside it; or the blocks it lists.
    pub fn blocks(text: String, media: Option<Content>) -> Vec<Block> {
        match media {
            None => vec![Block::Text(text)],
            Some(Content::Beside(m)) => vec![Block::Text(text), Block::Media(m)],
            Some(Content::Blocks(blocks)) => blocks,
        }
    }
}

/// A content block that is not text: MCP image, audio or embedded resource content.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// Which block it becomes.
    pub kind: MediaKind,
    /// The answer's media type, such as `image/png`.
    pub mime_type: String,
    /// The bytes as the backend sent them.
    pub data: bytes::Bytes,
}

/// What a [`Media`] becomes in the tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaKind {
    /// An image content block (the answer's type is `image/*`).
    Image,
    /// An audio content block (`audio/*`).
    Audio,
    /// An embedded resource (`response.content: resource`), named by this URI.
    Resource(String),
}

impl ToolOutput {
    /// The result of a call that returned nothing (such as HTTP 204).
    pub fn empty() -> ToolOutput {
        ToolOutput { structured: None, text: String::new(), truncated: false, is_error: false, media: None }
    }

    /// The result as one JSON value, as a step's `output` or a watch's `fail_when` reads it:
    /// the structured result, else the text as a string, else null.
    pub fn into_value(self) -> Value {
        match self.structured {
            Some(v) => v,
            None if self.text.is_empty() => Value::Null,
            None => Value::String(self.text),
        }
    }
}

/// The key a value that is not an object is wrapped under.
pub const RESULT_KEY: &str = "result";

/// The keys added beside a cut array.
const TRUNCATED_KEY: &str = "truncated";
const KEPT_KEY: &str = "kept";
const TOTAL_KEY: &str = "total";

/// Turns any JSON value into an object: objects stay as they are, anything else becomes
/// `{"result": value}`, because MCP `structuredContent` must be a JSON object.
pub fn into_object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => {
            let mut map = Map::with_capacity(1);
            map.insert(RESULT_KEY.to_owned(), other);
            map
        }
    }
}

/// Shapes a JSON result for the model: wraps it into an object and, when its compact
/// rendering is longer than `max_bytes`, keeps the first elements of its array that fit.
///
/// The array that is cut is the value itself when it is an array (it ends up under
/// `"result"`), or else the largest array at the top level of the object, such as
/// `{"items": [...]}`. Beside the cut array the object gets `"truncated": true`,
/// `"kept": k` and `"total": n`; when the object already uses one of those keys, the cut
/// object is wrapped as `{"result": {...}, "truncated": true, "kept": k, "total": n}` so that
/// nothing of the backend's answer is overwritten.
///
/// When no element fits, or there is no array to cut, the result falls back to
/// pretty-printed JSON text cut at a line boundary (see [`shape_text`]) without
/// structured content, so the model still receives a readable prefix.
pub fn shape_json(value: Value, max_bytes: usize) -> ToolOutput {
    let object = into_object(value);
    let text = compact(&object);
    if text.len() <= max_bytes {
        return ToolOutput { structured: Some(Value::Object(object)), text, truncated: false, is_error: false, media: None };
    }
    match cut_array(&object, max_bytes) {
        Some(cut) => {
            let text = compact(&cut);
            ToolOutput { structured: Some(Value::Object(cut)), text, truncated: true, is_error: false, media: None }
        }
        None => {
            // Pretty printing puts every element and field on its own line, so the text
            // cut below still ends at a field boundary.
            let pretty = serde_json::to_string_pretty(&object).unwrap_or(text);
            let mut out = shape_text(pretty, max_bytes);
            out.truncated = true;
            out
        }
    }
}

/// Shapes a text result: unchanged when it fits in `max_bytes`, otherwise cut at the last
/// line break that fits (or, for a single long line, at the last character that fits)
/// with `"\n[truncated: kept X of Y bytes]"` appended.
///
/// Room for that note is kept inside `max_bytes`, unless `max_bytes` is smaller than the
/// note itself, in which case only the note is returned.
pub fn shape_text(text: String, max_bytes: usize) -> ToolOutput {
    if text.len() <= max_bytes {
        return ToolOutput { structured: None, text, truncated: false, is_error: false, media: None };
    }
    let total = text.len();
    // The note is measured with the total in place of the kept count: the kept count has
    // no more digits, so the final note is never longer than the room kept for it.
    let reserve = truncation_note(total, total).len();
    let budget = floor_char_boundary(&text, max_bytes.saturating_sub(reserve));
    let cut = if text.as_bytes().get(budget) == Some(&b'\n') {
        budget
    } else {
        match text.get(..budget).and_then(|head| head.rfind('\n')) {
            Some(line_end) => line_end,
            None => budget,
        }
    };
    let mut out = text;
    out.truncate(cut);
    out.push_str(&truncation_note(cut, total));
    ToolOutput { structured: None, text: out, truncated: true, is_error: false, media: None }
}

/// Bounds a result's content blocks by the tool's `max_bytes`: the text blocks share it, in
/// order (a text that no longer fits whole is cut as [`shape_text`] cuts it, and left out when
/// not even the truncation note fits); image, audio and embedded resource blocks, which cannot
/// be cut, pass as they came (each is bounded by its connection's `max_response_bytes`).
pub fn bound_blocks(blocks: impl IntoIterator<Item = Block>, max_bytes: usize) -> Vec<Block> {
    let mut room = max_bytes;
    let mut out = Vec::new();
    for block in blocks {
        match block {
            Block::Text(text) if text.len() <= room => {
                room -= text.len();
                out.push(Block::Text(text));
            }
            Block::Text(text) => {
                let cut = shape_text(text, room).text;
                if cut.len() <= room {
                    room -= cut.len();
                    out.push(Block::Text(cut));
                } else {
                    room = 0;
                }
            }
            media @ Block::Media(_) => out.push(media),
        }
    }
    out
}

/// The note appended to cut text.
fn truncation_note(kept: usize, total: usize) -> String {
    format!("\n[truncated: kept {kept} of {total} bytes]")
}

/// The largest index `<= index` that is a character boundary of `text`.
fn floor_char_boundary(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    let mut i = index;
    // A UTF-8 character is at most four bytes long, so this walks back at most three.
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The compact JSON text of an object.
fn compact(object: &Map<String, Value>) -> String {
    // Serializing a `Value` cannot fail (its keys are strings), so the fallback is unreachable.
    serde_json::to_string(object).unwrap_or_default()
}

/// The rows of a structured result: its largest non-empty top-level array by rendered size
/// (`result` when the answer was an array), with its key. This is the array `max_bytes` cuts,
/// and the one a test's `expect.rows` counts.
pub fn rows_array(object: &Map<String, Value>) -> Option<(&String, &Vec<Value>)> {
    object
        .iter()
        .filter_map(|(k, v)| match v {
            Value::Array(items) if !items.is_empty() => Some((k, items)),
            _ => None,
        })
        .max_by_key(|(_, items)| items.iter().map(|i| serde_json::to_string(i).map_or(0, |s| s.len())).sum::<usize>())
}

/// Cuts the array of `object` to the elements that fit in `max_bytes`, with the
/// truncation keys added. `None` when there is no non-empty array or not one element fits.
fn cut_array(object: &Map<String, Value>, max_bytes: usize) -> Option<Map<String, Value>> {
    let (key, items) = rows_array(object)?;
    let total = items.len();
    let nested = [TRUNCATED_KEY, KEPT_KEY, TOTAL_KEY].iter().any(|k| object.contains_key(*k));

    // The frame is everything but the array's elements, with the counts at their widest.
    let mut frame = object.clone();
    frame.insert(key.clone(), Value::Array(Vec::new()));
    let frame = with_counts(frame, nested, total, total);
    let room = max_bytes.checked_sub(compact(&frame).len())?;

    let mut used = 0usize;
    let mut kept = 0usize;
    for item in items {
        let size = serde_json::to_string(item).map_or(usize::MAX, |s| s.len());
        // Every element after the first is preceded by a comma.
        let needed = size.saturating_add(usize::from(kept > 0));
        match used.checked_add(needed) {
            Some(next) if next <= room => {
                used = next;
                kept += 1;
            }
            _ => break,
        }
    }
    if kept == 0 {
        return None;
    }
    let mut cut = object.clone();
    // Inserting under an existing key keeps its position (serde_json's `preserve_order`).
    cut.insert(key.clone(), Value::Array(items.iter().take(kept).cloned().collect()));
    Some(with_counts(cut, nested, kept, total))
}

/// Adds the truncation keys beside the cut array, or around the object when it already
/// uses one of those keys.
fn with_counts(object: Map<String, Value>, nested: bool, kept: usize, total: usize) -> Map<String, Value> {
    let mut out = if nested {
        let mut wrapper = Map::with_capacity(4);
        wrapper.insert(RESULT_KEY.to_owned(), Value::Object(object));
        wrapper
    } else {
        object
    };
    out.insert(TRUNCATED_KEY.to_owned(), Value::Bool(true));
    out.insert(KEPT_KEY.to_owned(), Value::from(kept));
    out.insert(TOTAL_KEY.to_owned(), Value::from(total));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_values_pass_unchanged_and_non_objects_are_wrapped() {
        let out = shape_json(json!({"a": 1}), 100);
        assert_eq!(
            out,
            ToolOutput { structured: Some(json!({"a": 1})), text: r#"{"a":1}"#.to_owned(), truncated: false, is_error: false, media: None }
        );
        let out = shape_json(json!([1, 2]), 100);
        assert_eq!(out.structured, Some(json!({"result": [1, 2]})));
        assert_eq!(out.text, r#"{"result":[1,2]}"#);
        assert_eq!(shape_json(Value::Null, 100).structured, Some(json!({"result": null})));
        assert_eq!(shape_json(json!("x"), 100).text, r#"{"result":"x"}"#);
    }

    #[test]
    fn a_top_level_array_is_cut_at_an_element_boundary() {
        let items: Vec<Value> = (0..100).map(|i| json!({"id": i, "name": format!("item-{i}")})).collect();
        let out = shape_json(Value::Array(items), 300);
        assert!(out.truncated);
        assert!(out.text.len() <= 300, "{}", out.text.len());
        let s = out.structured.expect("structured");
        let kept = s["kept"].as_u64().expect("kept");
        assert!(kept > 0 && kept < 100);
        assert_eq!(s["total"], json!(100));
        assert_eq!(s["truncated"], json!(true));
        assert_eq!(s["result"].as_array().map(Vec::len), Some(kept as usize));
        assert_eq!(s["result"][0], json!({"id": 0, "name": "item-0"}));
        assert_eq!(out.text, serde_json::to_string(&s).expect("text"));
    }

    #[test]
    fn the_largest_top_level_array_is_cut_and_other_keys_stay() {
        let value = json!({"count": 50, "tags": ["a"], "items": (0..50).map(|i| json!({"n": i})).collect::<Vec<_>>()});
        let out = shape_json(value, 200);
        assert!(out.truncated);
        assert!(out.text.len() <= 200);
        let s = out.structured.expect("structured");
        assert_eq!(s["count"], json!(50));
        assert_eq!(s["tags"], json!(["a"]));
        let kept = s["kept"].as_u64().expect("kept") as usize;
        assert_eq!(s["items"].as_array().map(Vec::len), Some(kept));
        assert_eq!(s["total"], json!(50));
        // The cut array keeps its place before the added keys.
        assert!(out.text.starts_with(r#"{"count":50,"tags":["a"],"items":[{"n":0}"#), "{}", out.text);
    }

    #[test]
    fn existing_truncation_keys_are_not_overwritten() {
        let value = json!({"total": 7, "items": (0..50).map(|i| json!({"n": i})).collect::<Vec<_>>()});
        let out = shape_json(value, 200);
        let s = out.structured.expect("structured");
        assert_eq!(s["result"]["total"], json!(7));
        assert_eq!(s["total"], json!(50));
        assert!(out.text.len() <= 200);
    }

    #[test]
    fn without_a_fitting_element_the_text_falls_back_to_pretty_lines() {
        let value = json!({"a": "x".repeat(50), "b": "y".repeat(50), "c": "z".repeat(500)});
        let out = shape_json(value, 200);
        assert!(out.truncated);
        assert_eq!(out.structured, None);
        assert!(out.text.len() <= 200, "{}", out.text.len());
        assert!(out.text.contains("[truncated: kept"), "{}", out.text);
        assert!(out.text.contains(r#""b": "yyy"#), "{}", out.text);
    }

    #[test]
    fn text_is_cut_at_the_last_line_break_that_fits() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let total = text.len();
        let out = shape_text(text, 120);
        assert!(out.truncated);
        assert!(out.text.len() <= 120, "{}", out.text.len());
        let (head, note) = out.text.split_once("\n[truncated: ").expect("note");
        assert!(head.ends_with(|c: char| c.is_ascii_digit()), "{head}");
        assert!(head.starts_with("line 0\nline 1\n"));
        assert_eq!(note, format!("kept {} of {total} bytes]", head.len()));
    }

    #[test]
    fn one_long_line_is_cut_at_a_character_boundary() {
        let text = "é".repeat(100);
        let out = shape_text(text, 101);
        assert!(out.text.len() <= 101);
        assert!(out.text.starts_with('é'));
        assert!(out.text.contains("[truncated: kept"));
    }

    #[test]
    fn blocks_share_one_text_budget_and_media_pass() {
        let image = Block::Media(Media { kind: MediaKind::Image, mime_type: "image/png".into(), data: bytes::Bytes::from_static(b"png") });
        let blocks = vec![Block::Text("a".repeat(60)), image.clone(), Block::Text("line\n".repeat(20)), Block::Text("c".repeat(10))];
        let out = bound_blocks(blocks, 100);
        let texts: usize = out.iter().map(|b| if let Block::Text(t) = b { t.len() } else { 0 }).sum();
        assert!(texts <= 100, "{texts}");
        assert_eq!(out[0], Block::Text("a".repeat(60)));
        assert_eq!(out[1], image);
        // The second text is cut to the 40 bytes left, and the third no longer fits at all.
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(matches!(&out[2], Block::Text(t) if t.starts_with("line") && t.contains("[truncated: kept")), "{out:?}");
        let out = bound_blocks(vec![Block::Text("x\n".repeat(100)), Block::Text("y".into())], 120);
        let Block::Text(first) = &out[0] else { panic!("{out:?}") };
        assert!(first.len() <= 120 && first.contains("[truncated: kept"), "{first}");
        assert!(out.len() <= 2);
        let all: usize = out.iter().map(|b| if let Block::Text(t) = b { t.len() } else { 0 }).sum();
        assert!(all <= 120);
        // Everything that fits is kept as it is.
        assert_eq!(bound_blocks(vec![Block::Text("ab".into()), Block::Text(String::new())], 2).len(), 2);
    }

    #[test]
    fn tiny_budgets_never_panic() {
        for max in 0..40 {
            let _ = shape_text("abc\ndef\n".repeat(10), max);
            let _ = shape_json(json!({"items": [1, 2, 3], "x": "yyyyyyyyyyyyyyyyyyyy"}), max);
            let _ = shape_json(json!([[], [], {}]), max);
        }
        assert_eq!(shape_text(String::new(), 0).text, "");
    }
}
