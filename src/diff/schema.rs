//! Comparing two JSON Schemas (draft 2020-12, as `input` and `output.schema` are written).
//!
//! Each keyword that differs is judged by how it moves the set of values the schema accepts:
//! narrower (a raised `minimum`, an enum value removed, a new `pattern`), wider, or different
//! (a changed `pattern`). For an input schema narrower is breaking (a caller's arguments may be
//! refused); for an output schema wider is (an answer may hold what a caller did not expect),
//! and a removed property is breaking both ways. `properties`, `items` and
//! `additionalProperties` are compared recursively. A keyword this module does not analyse
//! (`oneOf`, `anyOf`, `allOf`, `not`, `$ref`, `if`, `patternProperties`, ...) that differs is
//! reported as "cannot compare": a difference is never dropped, so two schemas yield no change
//! only when they accept the same values for the same reasons (the same JSON up to the order of
//! keys and of `required`, `true` written `{}`, `items: true` or `additionalProperties: true`
//! written or left out, empty `properties` or `required` written or left out).

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{Kind, Message, Severity};

/// Which schema of a tool is compared: it decides which way is breaking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `input`: what callers send.
    Input,
    /// `output.schema`: what callers receive.
    Output,
}

impl Direction {
    fn label(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// How a change moves the set of accepted values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// Fewer values are accepted.
    Narrower,
    /// More values are accepted.
    Wider,
    /// Other values are accepted (some gained, some lost), or a property is gone.
    Different,
    /// A new optional property: never breaking.
    Additive,
    /// Nothing accepted changes (`description`, `default`, ...).
    Note,
    /// Not analysed.
    Unknown,
}

impl Effect {
    fn severity(self, dir: Direction) -> Severity {
        match (self, dir) {
            (Effect::Unknown, _) => Severity::Unknown,
            (Effect::Different, _) | (Effect::Narrower, Direction::Input) | (Effect::Wider, Direction::Output) => Severity::Breaking,
            (Effect::Additive | Effect::Note, _) | (Effect::Wider, Direction::Input) | (Effect::Narrower, Direction::Output) => {
                Severity::NonBreaking
            }
        }
    }
}

/// One difference between two schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaChange {
    /// What kind of change.
    pub kind: Kind,
    /// How it affects callers, given the direction.
    pub severity: Severity,
    /// Where, as a JSON pointer from the tool's spec (`/input/properties/service`).
    pub pointer: String,
    /// What changed.
    pub message: Message,
}

/// Compares `old` with `new`; `pointer` is where the schema sits in the tool's spec
/// (`/input`, `/output/schema`).
pub fn compare(old: &Value, new: &Value, dir: Direction, pointer: &str) -> Vec<SchemaChange> {
    let mut walk = Walk { dir, out: Vec::new() };
    walk.node(old, new, &Place { pointer: pointer.to_owned(), path: String::new() }, 0);
    walk.out
}

/// Nesting beyond which schemas are not compared further (reported as "cannot compare").
const MAX_DEPTH: usize = 64;

/// Where a subschema is: its JSON pointer and a readable path (`filter.level`, `tags[]`).
struct Place {
    pointer: String,
    path: String,
}

impl Place {
    fn property(&self, name: &str) -> Place {
        let escaped = name.replace('~', "~0").replace('/', "~1");
        let path = if self.path.is_empty() { name.to_owned() } else { format!("{}.{name}", self.path) };
        Place { pointer: format!("{}/properties/{escaped}", self.pointer), path }
    }

    fn items(&self) -> Place {
        Place { pointer: format!("{}/items", self.pointer), path: format!("{}[]", self.path) }
    }

    fn additional(&self) -> Place {
        let path = if self.path.is_empty() { "*".to_owned() } else { format!("{}.*", self.path) };
        Place { pointer: format!("{}/additionalProperties", self.pointer), path }
    }

    fn keyword(&self, key: &str) -> String {
        format!("{}/{}", self.pointer, key.replace('~', "~0").replace('/', "~1"))
    }
}

struct Walk {
    dir: Direction,
    out: Vec<SchemaChange>,
}

/// Keywords that annotate without deciding what is accepted.
const NOTES: &[&str] = &["description", "title", "default", "examples", "deprecated", "$comment", "readOnly", "writeOnly"];

/// Lower bounds (a higher value accepts fewer values).
const LOWER: &[&str] = &["minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"];
/// Upper bounds (a lower value accepts fewer values).
const UPPER: &[&str] = &["maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"];

/// The JSON types; `integer` is a subset of `number`.
const TYPES: &[&str] = &["null", "boolean", "object", "array", "number", "string", "integer"];

impl Walk {
    /// "input `filter.level`" or "input".
    fn at(&self, place: &Place) -> Message {
        let m = Message::new().text(self.dir.label());
        if place.path.is_empty() { m } else { m.text(" ").code(&place.path) }
    }

    fn push(&mut self, effect: Effect, kind: Kind, pointer: String, message: Message) {
        self.out.push(SchemaChange { kind, severity: effect.severity(self.dir), pointer, message });
    }

    /// A keyword whose values this comparison does not analyse: listed, never taken for "no change".
    fn cannot_compare(&mut self, place: &Place, pointer: String, keyword: &str, why: &str) {
        let message = self.at(place).text(": cannot compare ").code(keyword).text(format!(" ({why})"));
        self.push(Effect::Unknown, Kind::CannotCompare, pointer, message);
    }

    /// Compares two schemas at `place`.
    fn node(&mut self, old: &Value, new: &Value, place: &Place, depth: usize) {
        if old == new {
            return;
        }
        if depth > MAX_DEPTH {
            self.push(
                Effect::Unknown,
                Kind::CannotCompare,
                place.pointer.clone(),
                self.at(place).text(": cannot compare (nested too deep)"),
            );
            return;
        }
        let empty = Map::new();
        let (o, n) = match (old, new) {
            (Value::Bool(false), _) => {
                self.push(
                    Effect::Wider,
                    Kind::ConstraintLoosened,
                    place.pointer.clone(),
                    self.at(place).text(": accepted no value (`false`), now accepts some"),
                );
                return;
            }
            (_, Value::Bool(false)) => {
                self.push(
                    Effect::Narrower,
                    Kind::ConstraintTightened,
                    place.pointer.clone(),
                    self.at(place).text(": now accepts no value (`false`)"),
                );
                return;
            }
            (Value::Bool(true), Value::Object(n)) => (&empty, n),
            (Value::Object(o), Value::Bool(true)) => (o, &empty),
            (Value::Object(o), Value::Object(n)) => (o, n),
            _ => {
                self.push(
                    Effect::Unknown,
                    Kind::CannotCompare,
                    place.pointer.clone(),
                    self.at(place).text(": cannot compare (not a schema object)"),
                );
                return;
            }
        };
        if o == n {
            return;
        }
        let mut keys: Vec<&String> = o.keys().collect();
        keys.extend(n.keys().filter(|k| !o.contains_key(*k)));
        let mut object_done = false;
        for key in keys {
            let (a, b) = (o.get(key), n.get(key));
            if a == b {
                continue;
            }
            let before = self.out.len();
            match key.as_str() {
                "properties" | "required" => {
                    if object_done {
                        continue;
                    }
                    object_done = true;
                    self.object(o, n, place, depth);
                }
                "type" => self.types(a, b, place),
                "enum" => self.enumeration(a, b, place),
                "const" => self.constant(a, b, place),
                k if LOWER.contains(&k) => self.bound(k, true, a, b, place),
                k if UPPER.contains(&k) => self.bound(k, false, a, b, place),
                "multipleOf" => self.multiple_of(a, b, place),
                "pattern" => self.pattern(a, b, place),
                "format" => self.format(a, b, place),
                "additionalProperties" => self.additional(a, b, place, depth),
                "items" => self.items(a, b, place, depth),
                "uniqueItems" => self.unique(a, b, place),
                k if NOTES.contains(&k) => self.note(k, a, b, place),
                k => self.push(
                    Effect::Unknown,
                    Kind::CannotCompare,
                    place.keyword(k),
                    self.at(place).text(": cannot compare ").code(k).text(" (").text(presence(a, b)).text(")"),
                ),
            }
            // Every keyword that differs says something: a difference is never dropped. The
            // keywords compared recursively say nothing only when what they accept is the same
            // (`true` and `{}`, an absent `items` and `items: true`, `required` reordered).
            if self.out.len() == before && !matches!(key.as_str(), "properties" | "required" | "items" | "additionalProperties") {
                self.push(
                    Effect::Unknown,
                    Kind::CannotCompare,
                    place.keyword(key),
                    self.at(place).text(": cannot compare ").code(key.as_str()).text(" (changed)"),
                );
            }
        }
    }

    /// `properties` and `required` together: added, removed, now and no longer required
    /// properties, and each property on both sides compared recursively.
    fn object(&mut self, o: &Map<String, Value>, n: &Map<String, Value>, place: &Place, depth: usize) {
        let props = |m: &Map<String, Value>| -> Option<Map<String, Value>> {
            match m.get("properties") {
                None => Some(Map::new()),
                Some(Value::Object(p)) => Some(p.clone()),
                Some(_) => None,
            }
        };
        let required = |m: &Map<String, Value>| -> Option<BTreeSet<String>> {
            match m.get("required") {
                None => Some(BTreeSet::new()),
                Some(Value::Array(items)) => items.iter().map(|v| v.as_str().map(str::to_owned)).collect(),
                Some(_) => None,
            }
        };
        let (Some(op), Some(np), Some(or), Some(nr)) = (props(o), props(n), required(o), required(n)) else {
            self.push(
                Effect::Unknown,
                Kind::CannotCompare,
                place.pointer.clone(),
                self.at(place)
                    .text(": cannot compare ")
                    .code("properties")
                    .text(" / ")
                    .code("required")
                    .text(" (not an object / a list of names)"),
            );
            return;
        };
        for (name, old_schema) in &op {
            let child = place.property(name);
            match np.get(name) {
                None => {
                    let why = match self.dir {
                        Direction::Input => ": callers that send it may be refused or ignored",
                        Direction::Output => ": callers that read it no longer get it",
                    };
                    self.push(
                        Effect::Different,
                        Kind::PropertyRemoved,
                        child.pointer.clone(),
                        self.at(place).text(": property ").code(name).text(" removed").text(why),
                    );
                }
                Some(new_schema) => {
                    self.node(old_schema, new_schema, &child, depth + 1);
                    match (or.contains(name), nr.contains(name)) {
                        (false, true) => {
                            self.push(Effect::Narrower, Kind::NowRequired, child.pointer.clone(), self.at(&child).text(" is now required"))
                        }
                        (true, false) => self.push(
                            Effect::Wider,
                            Kind::NoLongerRequired,
                            child.pointer.clone(),
                            self.at(&child).text(" is no longer required"),
                        ),
                        _ => {}
                    }
                }
            }
        }
        for (name, _) in np.iter().filter(|(k, _)| !op.contains_key(*k)) {
            let child = place.property(name);
            if nr.contains(name) && !or.contains(name) {
                self.push(
                    Effect::Narrower,
                    Kind::RequiredPropertyAdded,
                    child.pointer,
                    self.at(place).text(": new required property ").code(name),
                );
            } else {
                let what = match (self.dir, nr.contains(name)) {
                    (Direction::Input, false) => ": new optional property ",
                    _ => ": new property ",
                };
                self.push(Effect::Additive, Kind::PropertyAdded, child.pointer, self.at(place).text(what).code(name));
            }
        }
        // Names required without a property schema on either side.
        for name in or.union(&nr).filter(|k| !op.contains_key(*k) && !np.contains_key(*k)) {
            let child = place.property(name);
            match (or.contains(name), nr.contains(name)) {
                (false, true) => {
                    self.push(Effect::Narrower, Kind::NowRequired, child.pointer.clone(), self.at(&child).text(" is now required"))
                }
                (true, false) => {
                    self.push(Effect::Wider, Kind::NoLongerRequired, child.pointer.clone(), self.at(&child).text(" is no longer required"))
                }
                _ => {}
            }
        }
    }

    fn types(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let set = |v: Option<&Value>| -> Option<BTreeSet<String>> {
            match v {
                None => Some(TYPES.iter().filter(|t| **t != "integer").map(|t| (*t).to_owned()).collect()),
                Some(Value::String(s)) if TYPES.contains(&s.as_str()) => Some([s.clone()].into()),
                Some(Value::Array(items)) => items.iter().map(|v| v.as_str().filter(|s| TYPES.contains(s)).map(str::to_owned)).collect(),
                Some(_) => None,
            }
        };
        let pointer = place.keyword("type");
        let (Some(old), Some(new)) = (set(a), set(b)) else {
            self.cannot_compare(place, pointer, "type", "not a type name or a list of them");
            return;
        };
        let accepts = |set: &BTreeSet<String>, t: &str| set.contains(t) || (t == "integer" && set.contains("number"));
        let old_in_new = old.iter().all(|t| accepts(&new, t));
        let new_in_old = new.iter().all(|t| accepts(&old, t));
        let shown = |v: Option<&Value>, set: &BTreeSet<String>| -> String {
            if v.is_none() { "any".to_owned() } else { set.iter().cloned().collect::<Vec<_>>().join(" or ") }
        };
        let (from, to) = (shown(a, &old), shown(b, &new));
        let (effect, kind, verb) = match (old_in_new, new_in_old) {
            (true, true) => (Effect::Note, Kind::SchemaAnnotationChanged, "written differently"),
            (false, true) => (Effect::Narrower, Kind::TypeNarrowed, "narrowed"),
            (true, false) => (Effect::Wider, Kind::TypeWidened, "widened"),
            (false, false) => (Effect::Different, Kind::TypeChanged, "changed"),
        };
        self.push(effect, kind, pointer, self.at(place).text(format!(": type {verb} from ")).code(from).text(" to ").code(to));
    }

    fn enumeration(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let pointer = place.keyword("enum");
        let list = |v: Option<&Value>| -> Option<Option<Vec<Value>>> {
            match v {
                None => Some(None),
                Some(Value::Array(items)) => Some(Some(items.clone())),
                Some(_) => None,
            }
        };
        let (Some(old), Some(new)) = (list(a), list(b)) else {
            self.cannot_compare(place, pointer, "enum", "not a list");
            return;
        };
        let texts = |values: &[Value]| values.iter().map(Value::to_string).collect::<Vec<_>>();
        match (old, new) {
            (None, Some(new)) => {
                self.push(
                    Effect::Narrower,
                    Kind::EnumNarrowed,
                    pointer,
                    self.at(place).text(": enum added: only ").codes(texts(&new)).text(" accepted"),
                );
            }
            (Some(old), None) => {
                self.push(
                    Effect::Wider,
                    Kind::EnumWidened,
                    pointer,
                    self.at(place).text(": enum removed (was ").codes(texts(&old)).text(")"),
                );
            }
            (Some(old), Some(new)) => {
                let removed: Vec<Value> = old.iter().filter(|v| !new.contains(v)).cloned().collect();
                let added: Vec<Value> = new.iter().filter(|v| !old.contains(v)).cloned().collect();
                if !removed.is_empty() {
                    self.push(
                        Effect::Narrower,
                        Kind::EnumNarrowed,
                        pointer.clone(),
                        self.at(place).text(": enum values removed: ").codes(texts(&removed)),
                    );
                }
                if !added.is_empty() {
                    self.push(
                        Effect::Wider,
                        Kind::EnumWidened,
                        pointer.clone(),
                        self.at(place).text(": enum values added: ").codes(texts(&added)),
                    );
                }
                if removed.is_empty() && added.is_empty() {
                    self.push(Effect::Note, Kind::SchemaAnnotationChanged, pointer, self.at(place).text(": enum values reordered"));
                }
            }
            (None, None) => {}
        }
    }

    fn constant(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let pointer = place.keyword("const");
        match (a, b) {
            (None, Some(n)) => self.push(
                Effect::Narrower,
                Kind::ConstraintTightened,
                pointer,
                self.at(place).text(": ").code("const").text(" added: only ").code(n.to_string()).text(" accepted"),
            ),
            (Some(o), None) => self.push(
                Effect::Wider,
                Kind::ConstraintLoosened,
                pointer,
                self.at(place).text(": ").code("const").text(" removed (was ").code(o.to_string()).text(")"),
            ),
            (Some(o), Some(n)) => self.push(
                Effect::Different,
                Kind::ConstraintChanged,
                pointer,
                self.at(place).text(": ").code("const").text(" changed from ").code(o.to_string()).text(" to ").code(n.to_string()),
            ),
            (None, None) => {}
        }
    }

    /// A lower bound (`lower`) or an upper one.
    fn bound(&mut self, key: &str, lower: bool, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let pointer = place.keyword(key);
        let number = |v: Option<&Value>| -> Option<Option<f64>> {
            match v {
                None => Some(None),
                Some(Value::Number(n)) => n.as_f64().map(Some),
                Some(_) => None,
            }
        };
        let (Some(old), Some(new)) = (number(a), number(b)) else {
            self.cannot_compare(place, pointer, key, "not a number");
            return;
        };
        let shown = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_default();
        let at = self.at(place).text(": ").code(key);
        match (old, new) {
            (None, Some(_)) => self.push(Effect::Narrower, Kind::ConstraintTightened, pointer, at.text(" added: ").code(shown(b))),
            (Some(_), None) => {
                self.push(Effect::Wider, Kind::ConstraintLoosened, pointer, at.text(" removed (was ").code(shown(a)).text(")"))
            }
            (Some(o), Some(n)) => {
                let tighter = if lower { n > o } else { n < o };
                let verb = if n > o { " raised from " } else { " lowered from " };
                let (effect, kind) = if o == n {
                    (Effect::Note, Kind::SchemaAnnotationChanged)
                } else if tighter {
                    (Effect::Narrower, Kind::ConstraintTightened)
                } else {
                    (Effect::Wider, Kind::ConstraintLoosened)
                };
                let verb = if o == n { " written differently: " } else { verb };
                self.push(effect, kind, pointer, at.text(verb).code(shown(a)).text(" to ").code(shown(b)));
            }
            (None, None) => {}
        }
    }

    fn multiple_of(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let pointer = place.keyword("multipleOf");
        let number = |v: Option<&Value>| -> Option<Option<f64>> {
            match v {
                None => Some(None),
                Some(Value::Number(n)) => n.as_f64().filter(|f| *f > 0.0).map(Some),
                Some(_) => None,
            }
        };
        let (Some(old), Some(new)) = (number(a), number(b)) else {
            self.cannot_compare(place, pointer, "multipleOf", "not a positive number");
            return;
        };
        let shown = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_default();
        let at = self.at(place).text(": ").code("multipleOf");
        let whole = |x: f64| x.is_finite() && (x - x.round()).abs() < 1e-9;
        match (old, new) {
            (None, Some(_)) => self.push(Effect::Narrower, Kind::ConstraintTightened, pointer, at.text(" added: ").code(shown(b))),
            (Some(_), None) => {
                self.push(Effect::Wider, Kind::ConstraintLoosened, pointer, at.text(" removed (was ").code(shown(a)).text(")"))
            }
            (Some(o), Some(n)) => {
                // Multiples of n are multiples of o when n is a multiple of o.
                let (effect, kind) = if whole(n / o) {
                    (Effect::Narrower, Kind::ConstraintTightened)
                } else if whole(o / n) {
                    (Effect::Wider, Kind::ConstraintLoosened)
                } else {
                    (Effect::Different, Kind::ConstraintChanged)
                };
                self.push(effect, kind, pointer, at.text(" changed from ").code(shown(a)).text(" to ").code(shown(b)));
            }
            (None, None) => {}
        }
    }

    fn pattern(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let pointer = place.keyword("pattern");
        match (a.map(Value::as_str), b.map(Value::as_str)) {
            (None, Some(Some(n))) => {
                self.push(Effect::Narrower, Kind::PatternAdded, pointer, self.at(place).text(": pattern added: ").code(n))
            }
            (Some(Some(o)), None) => {
                self.push(Effect::Wider, Kind::PatternRemoved, pointer, self.at(place).text(": pattern removed (was ").code(o).text(")"))
            }
            (Some(Some(o)), Some(Some(n))) => self.push(
                Effect::Different,
                Kind::PatternChanged,
                pointer,
                self.at(place).text(": pattern changed from ").code(o).text(" to ").code(n),
            ),
            _ => self.cannot_compare(place, pointer, "pattern", "not a string"),
        }
    }

    fn format(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let pointer = place.keyword("format");
        let at = self.at(place).text(": ").code("format");
        match (a.map(Value::as_str), b.map(Value::as_str)) {
            (None, Some(Some(n))) => self.push(Effect::Narrower, Kind::ConstraintTightened, pointer, at.text(" added: ").code(n)),
            (Some(Some(o)), None) => {
                self.push(Effect::Wider, Kind::ConstraintLoosened, pointer, at.text(" removed (was ").code(o).text(")"))
            }
            (Some(Some(o)), Some(Some(n))) => {
                self.push(Effect::Different, Kind::ConstraintChanged, pointer, at.text(" changed from ").code(o).text(" to ").code(n))
            }
            _ => self.cannot_compare(place, pointer, "format", "not a string"),
        }
    }

    fn additional(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place, depth: usize) {
        let truth = Value::Bool(true);
        let (a, b) = (a.unwrap_or(&truth), b.unwrap_or(&truth));
        let pointer = place.keyword("additionalProperties");
        match (a, b) {
            (Value::Bool(false), Value::Bool(false)) => {}
            (_, Value::Bool(false)) => self.push(
                Effect::Narrower,
                Kind::AdditionalPropertiesClosed,
                pointer,
                self.at(place).text(": additional properties closed (").code("additionalProperties: false").text(")"),
            ),
            (Value::Bool(false), _) => self.push(
                Effect::Wider,
                Kind::AdditionalPropertiesOpened,
                pointer,
                self.at(place).text(": additional properties opened (was ").code("additionalProperties: false").text(")"),
            ),
            (a, b) => self.node(a, b, &place.additional(), depth + 1),
        }
    }

    fn items(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place, depth: usize) {
        let truth = Value::Bool(true);
        let (a, b) = (a.unwrap_or(&truth), b.unwrap_or(&truth));
        if a.is_array() || b.is_array() {
            self.cannot_compare(place, place.keyword("items"), "items", "a list of schemas");
            return;
        }
        self.node(a, b, &place.items(), depth + 1);
    }

    fn unique(&mut self, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let pointer = place.keyword("uniqueItems");
        let flag = |v: Option<&Value>| match v {
            None => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => None,
        };
        let at = self.at(place).text(": ").code("uniqueItems");
        match (flag(a), flag(b)) {
            (Some(false), Some(true)) => {
                self.push(Effect::Narrower, Kind::ConstraintTightened, pointer, at.text(" added: items must differ"))
            }
            (Some(true), Some(false)) => self.push(Effect::Wider, Kind::ConstraintLoosened, pointer, at.text(" removed: items may repeat")),
            (Some(_), Some(_)) => self.push(Effect::Note, Kind::SchemaAnnotationChanged, pointer, at.text(" written differently")),
            _ => self.cannot_compare(place, pointer, "uniqueItems", "not a boolean"),
        }
    }

    fn note(&mut self, key: &str, a: Option<&Value>, b: Option<&Value>, place: &Place) {
        let at = self.at(place).text(": ").code(key);
        let message = match (key, a, b) {
            ("description" | "title" | "$comment", _, _) => at.text(" ").text(presence(a, b)),
            (_, None, Some(n)) => at.text(" added: ").code(n.to_string()),
            (_, Some(o), None) => at.text(" removed (was ").code(o.to_string()).text(")"),
            (_, Some(o), Some(n)) => at.text(" changed from ").code(o.to_string()).text(" to ").code(n.to_string()),
            (_, None, None) => at,
        };
        self.push(Effect::Note, Kind::SchemaAnnotationChanged, place.keyword(key), message);
    }
}

/// "added", "removed" or "changed".
fn presence(a: Option<&Value>, b: Option<&Value>) -> &'static str {
    match (a, b) {
        (None, _) => "added",
        (_, None) => "removed",
        _ => "changed",
    }
}
