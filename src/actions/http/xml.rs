//! An XML answer turned into JSON for `response.format: xml`, before `jq` and the output cap.
//!
//! The conversion runs in-process, iteratively (an explicit stack, no recursion) and in one
//! pass: its input is already capped by the connection's `max_response_bytes`, its nesting by
//! [`MAX_DEPTH`], and it expands no entity but XML's five predefined ones and character
//! references, so the JSON it builds is at most a small constant times the size of the
//! answer. A document type declaration (`<!DOCTYPE`, where entities would be declared) is
//! refused before anything in it is read: a billion-laughs document is an error at its first
//! line, never an expansion.
//!
//! The mapping: the document becomes `{"Root": value}`. An element with only text is its text
//! (a string), an empty one is null; an element with children is an object with a key per
//! child name, and a name repeated among siblings holds an array. An element whose children
//! are all `member` or all `item` (AWS's list encodings) is the array of their values, even
//! with one child. Attributes become `@name` keys (namespace declarations are dropped), and
//! text beside children or attributes becomes `#text`.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde_json::{Map, Value};

/// The deepest element nesting accepted.
pub const MAX_DEPTH: usize = 64;

/// The child names whose parent is a list (AWS Query and EC2 answers).
const LIST_NAMES: [&str; 2] = ["member", "item"];

/// One open element.
struct Frame {
    name: String,
    attributes: Vec<(String, Value)>,
    children: Vec<(String, Value)>,
    text: String,
}

/// Converts an XML document into JSON. The error says what is wrong and where (a byte offset).
pub fn to_json(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("the XML answer is not UTF-8 (at byte {})", e.valid_up_to()))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<(String, Value)> = None;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event().map_err(|e| format!("the XML answer does not parse at byte {at}: {e}"))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("the XML answer nests deeper than {MAX_DEPTH} elements (at byte {at}); it is refused"));
                }
                stack.push(open(&start, at)?);
            }
            Event::Empty(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("the XML answer nests deeper than {MAX_DEPTH} elements (at byte {at}); it is refused"));
                }
                let frame = open(&start, at)?;
                attach(&mut stack, &mut root, frame, at)?;
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or_else(|| format!("the XML answer closes an element it never opened (at byte {at})"))?;
                attach(&mut stack, &mut root, frame, at)?;
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content(), at)?,
            Event::CData(c) => push_text(&mut stack, &c.xml10_content(), at)?,
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| {
                            format!(
                                "the XML answer refers to the entity `&{name};` (at byte {at}); only XML's predefined entities (&lt; &gt; &amp; &apos; &quot;) and character references are expanded"
                            )
                        })?
                        .to_owned(),
                    Err(e) => return Err(format!("the XML answer holds an invalid character reference `&{name};` (at byte {at}): {e}")),
                };
                push_text(&mut stack, &resolved, at)?;
            }
            Event::DocType(_) => {
                return Err(format!(
                    "the XML answer has a document type declaration (<!DOCTYPE>, at byte {at}); DTDs and the entities they declare are never read, so it is refused"
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("the XML answer ends before the element `{}` is closed", open.name));
    }
    let (name, value) = root.ok_or("the XML answer holds no element")?;
    let mut map = Map::with_capacity(1);
    map.insert(name, value);
    Ok(Value::Object(map))
}

fn open(start: &BytesStart<'_>, at: u64) -> Result<Frame, String> {
    let name = start.name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("the XML answer has a malformed attribute in `{name}` (at byte {at}): {e}"))?;
        let key = attribute.key.as_ref().to_owned();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        // Predefined entities and character references only; any other is an error.
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("the XML answer has an attribute `{key}` of `{name}` that cannot be read (at byte {at}): {e}"))?;
        attributes.push((format!("@{key}"), Value::String(value.into_owned())));
    }
    Ok(Frame { name, attributes, children: Vec::new(), text: String::new() })
}

fn push_text(stack: &mut [Frame], text: &str, at: u64) -> Result<(), String> {
    match stack.last_mut() {
        Some(frame) => frame.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err(format!("the XML answer holds text outside its root element (at byte {at})")),
    }
    Ok(())
}

fn attach(stack: &mut [Frame], root: &mut Option<(String, Value)>, frame: Frame, at: u64) -> Result<(), String> {
    let name = frame.name.clone();
    let value = finish(frame);
    match stack.last_mut() {
        Some(parent) => parent.children.push((name, value)),
        None if root.is_none() => *root = Some((name, value)),
        None => return Err(format!("the XML answer has a second root element `{name}` (at byte {at})")),
    }
    Ok(())
}

/// The JSON value of a closed element.
fn finish(frame: Frame) -> Value {
    let Frame { attributes, children, text, .. } = frame;
    let has_text = !text.trim().is_empty();
    if children.is_empty() && attributes.is_empty() {
        return if has_text { Value::String(text) } else { Value::Null };
    }
    if attributes.is_empty() && !has_text && LIST_NAMES.iter().any(|list| children.iter().all(|(n, _)| n == list)) {
        return Value::Array(children.into_iter().map(|(_, v)| v).collect());
    }
    let mut map = Map::with_capacity(attributes.len() + children.len() + 1);
    for (k, v) in attributes {
        map.insert(k, v);
    }
    // Every child first goes into an array under its name; names seen once are unwrapped.
    let mut grouped: Map<String, Value> = Map::new();
    for (k, v) in children {
        match grouped.entry(k) {
            serde_json::map::Entry::Occupied(mut e) => {
                if let Value::Array(items) = e.get_mut() {
                    items.push(v);
                }
            }
            serde_json::map::Entry::Vacant(e) => {
                e.insert(Value::Array(vec![v]));
            }
        }
    }
    for (k, v) in grouped {
        let v = match v {
            Value::Array(mut items) if items.len() == 1 => items.pop().unwrap_or(Value::Null),
            other => other,
        };
        map.insert(k, v);
    }
    if has_text {
        map.insert("#text".to_owned(), Value::String(text.trim().to_owned()));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn elements_lists_attributes_and_text() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<R xmlns="urn:x"><a>1</a><b/><c x="y">t</c><l><member>p</member></l><i><item><n>1</n></item><item><n>2</n></item></i>
<d>one</d><d>two</d><e>&lt;&amp;&#x41;<![CDATA[<raw>]]></e></R>"#;
        let got = to_json(xml.as_bytes()).expect("converts");
        assert_eq!(
            got,
            json!({"R": {"a": "1", "b": null, "c": {"@x": "y", "#text": "t"}, "l": ["p"], "i": [{"n": "1"}, {"n": "2"}], "d": ["one", "two"], "e": "<&A<raw>"}})
        );
    }

    #[test]
    fn dtds_unknown_entities_and_depth_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert!(to_json(bomb.as_bytes()).expect_err("dtd").contains("DOCTYPE"));
        assert!(to_json(b"<a>&lol;</a>").expect_err("entity").contains("&lol;"));
        let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
        assert!(to_json(deep.as_bytes()).expect_err("deep").contains("deeper than 64"));
        let ok = "<a>".repeat(64) + &"</a>".repeat(64);
        assert!(to_json(ok.as_bytes()).is_ok());
        assert!(to_json(b"<a><b></a>").is_err());
        assert!(to_json(b"<a/><b/>").is_err());
        assert!(to_json(b"").is_err());
    }
}
