//! Record and replay of backend exchanges, for `toolwright test --record DIR` and `--replay DIR`.
//!
//! A [`Tape`] rides on a catalog's [`super::Clients`]. Where a request is sent (an `http`
//! action's request in `actions/http/execute.rs`, an AWS SDK request in `aws/tape.rs`), the
//! tape either lets it through and keeps the exchange (record), or answers it from the
//! recording without touching the network (replay: no DNS, no connection, no credentials).
//! It also holds the clock of the calls it serves (the recording's time in replay, so that
//! every clock-derived value of a request renders again as it was recorded) and the secret
//! values the calls used (record), which the recording must not hold once redacted
//! (`testing/recording.rs` writes the files).
//!
//! A replayed request is compared with the recorded one in order (the n-th request of a test
//! with the n-th exchange): method, URL, body (JSON bodies as values) and headers, except the
//! [`VOLATILE_HEADERS`] (credentials, signatures, clock- and run-derived values). A difference
//! fails the request with a diff, and the test with it.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::http::client::HttpClient;

/// Headers whose values are credentials: a recording holds `***` instead (request and response).
pub const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token"];

/// Headers a replay does not compare: the credentials above, signatures, and values derived
/// from the clock or the run (dates, invocation ids, attempt counters, trace context, the
/// client's version, the body's length, which the body comparison covers).
pub const VOLATILE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-amz-security-token",
    "x-amz-date",
    "x-amz-content-sha256",
    "amz-sdk-invocation-id",
    "amz-sdk-request",
    "user-agent",
    "x-amz-user-agent",
    "traceparent",
    "tracestate",
    "content-length",
];

/// What written in place of a secret.
pub const REDACTED: &str = "***";

/// Whether the tape keeps exchanges or answers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TapeMode {
    /// Send for real and keep each exchange.
    Record,
    /// Answer from the recording; nothing is sent.
    Replay,
}

/// One request and what came back: a response, or the error that stood for one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// What was sent.
    pub request: RecordedRequest,
    /// What came back, when anything did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<RecordedResponse>,
    /// The error the call reported instead of (or while reading) a response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A request as sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// The method.
    pub method: String,
    /// The whole URL, query included.
    pub url: String,
    /// Headers in the order sent (names in lower case).
    #[serde(default, with = "header_map")]
    pub headers: Vec<(String, String)>,
    /// The body, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

/// A response as received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// The HTTP status.
    pub status: u16,
    /// Headers in the order received (names in lower case).
    #[serde(default, with = "header_map")]
    pub headers: Vec<(String, String)>,
    /// The body, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

/// Headers in a recording: an object from each name to its value, or to the list of its
/// values when it came more than once (`set-cookie`), in the order they came.
mod header_map {
    use serde::de::Error as _;
    use serde::ser::SerializeMap as _;
    use serde::{Deserialize as _, Deserializer, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(headers: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
        let mut names: Vec<&str> = Vec::new();
        for (name, _) in headers {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        let mut map = serializer.serialize_map(Some(names.len()))?;
        for name in names {
            let values: Vec<&str> = headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
            match values.as_slice() {
                [one] => map.serialize_entry(name, one)?,
                many => map.serialize_entry(name, many)?,
            }
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<(String, String)>, D::Error> {
        let object = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let mut out = Vec::new();
        for (name, value) in object {
            match value {
                Value::String(v) => out.push((name, v)),
                Value::Array(items) => {
                    for item in items {
                        let Value::String(v) = item else {
                            return Err(D::Error::custom(format!("header `{name}`: a value is not a string")));
                        };
                        out.push((name.clone(), v));
                    }
                }
                _ => return Err(D::Error::custom(format!("header `{name}`: not a string or a list of strings"))),
            }
        }
        Ok(out)
    }
}

/// A body: JSON when its bytes are exactly the compact JSON of a value (what most APIs send,
/// and readable in a review), else text when it is UTF-8, else base64. Replaying gives back
/// the very bytes recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Body {
    /// A JSON value whose compact serialization is the body.
    Json(Value),
    /// A UTF-8 body.
    Text(String),
    /// Any other body, in standard base64.
    Base64(String),
}

impl Body {
    /// The body of `bytes`, or `None` when empty.
    pub fn of(bytes: &[u8]) -> Option<Body> {
        if bytes.is_empty() {
            return None;
        }
        if matches!(bytes.first(), Some(b'{' | b'[' | b'"'))
            && let Ok(value) = serde_json::from_slice::<Value>(bytes)
            && serde_json::to_vec(&value).is_ok_and(|again| again == bytes)
        {
            return Some(Body::Json(value));
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(Body::Text(text.to_owned())),
            Err(_) => {
                use base64::Engine as _;
                Some(Body::Base64(base64::engine::general_purpose::STANDARD.encode(bytes)))
            }
        }
    }

    /// The bytes of the body; `Err` for base64 that does not decode.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            Body::Json(v) => serde_json::to_vec(v).map_err(|e| format!("the recorded JSON body cannot be written: {e}")),
            Body::Text(t) => Ok(t.as_bytes().to_vec()),
            Body::Base64(b) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).map_err(|e| format!("the recorded base64 body does not decode: {e}"))
            }
        }
    }

    /// The body as a JSON value, when it is one (recorded as JSON, or text that parses).
    fn json(&self) -> Option<Value> {
        match self {
            Body::Json(v) => Some(v.clone()),
            Body::Text(t) => serde_json::from_str(t).ok(),
            Body::Base64(_) => None,
        }
    }
}

/// A recording to answer from: the time its calls ran at and the exchanges, in order.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// The call's time when it was recorded.
    pub time: Option<SystemTime>,
    /// The exchanges, in the order they were sent.
    pub exchanges: Vec<Exchange>,
}

/// What a tape saw during one test.
#[derive(Debug, Default)]
pub struct Taken {
    /// The call's time (record: when it ran; replay: the recording's).
    pub time: Option<SystemTime>,
    /// Record: every exchange, in order.
    pub exchanges: Vec<Exchange>,
    /// Record: every secret value the calls used (resolved `secret()` values, tokens, signatures).
    pub secrets: Vec<String>,
    /// Replay: requests that differed from the recording, requests past its end, exchanges
    /// never asked for. Any of them fails the test.
    pub problems: Vec<String>,
}

#[derive(Default)]
struct State {
    script: Script,
    next: usize,
    seen: Taken,
}

/// The record or replay state of one `toolwright test` run; one test at a time.
pub struct Tape {
    mode: TapeMode,
    state: Mutex<State>,
}

impl std::fmt::Debug for Tape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state holds secrets: never print it.
        f.debug_struct("Tape").field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl Tape {
    /// A tape in `mode`, with no test started.
    pub fn new(mode: TapeMode) -> Arc<Tape> {
        Arc::new(Tape { mode, state: Mutex::new(State::default()) })
    }

    /// Record or replay.
    pub fn mode(&self) -> TapeMode {
        self.mode
    }

    /// Whether requests are answered from a recording.
    pub fn replaying(&self) -> bool {
        self.mode == TapeMode::Replay
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a test: what the last one saw is forgotten; a replay answers from `script`.
    pub fn start(&self, script: Script) {
        let mut s = self.state();
        *s = State { script, next: 0, seen: Taken::default() };
    }

    /// Ends a test: what it saw. In replay, recorded exchanges never asked for are a problem
    /// (the spec now sends fewer requests than it did).
    pub fn finish(&self) -> Taken {
        let mut s = self.state();
        let recorded = s.script.exchanges.len();
        if self.replaying() && s.next < recorded {
            let next = s.next;
            let first = &s.script.exchanges[next].request;
            let problem = format!(
                "the recording holds {recorded} exchange(s) but the call sent {next} request(s); the first not sent: {} {}",
                first.method, first.url
            );
            s.seen.problems.push(problem);
        }
        let mut taken = std::mem::take(&mut s.seen);
        taken.time = s.script.time.or(taken.time);
        taken
    }

    /// The time of the call: in replay the recording's, in record the first time asked (to the
    /// millisecond, the finest a template reads), kept for the recording.
    pub fn now(&self) -> SystemTime {
        let mut s = self.state();
        if let Some(t) = s.script.time {
            return t;
        }
        if let Some(t) = s.seen.time {
            return t;
        }
        let now = SystemTime::now();
        let millis = now.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let now = UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX));
        s.seen.time = Some(now);
        now
    }

    /// Keeps secret values a call used (record only), so the recording can be held to them.
    pub fn add_secrets(&self, values: impl IntoIterator<Item = String>) {
        if self.mode != TapeMode::Record {
            return;
        }
        let mut s = self.state();
        for v in values {
            if !v.is_empty() && !s.seen.secrets.contains(&v) {
                s.seen.secrets.push(v);
            }
        }
    }

    /// Keeps one exchange (record).
    pub fn record(&self, exchange: Exchange) {
        self.state().seen.exchanges.push(exchange);
    }

    /// Answers a request from the recording (replay): `Ok` with the recorded response, or the
    /// recorded error (the backend could not be reached then); `Err` for a request that differs
    /// from the recorded one, or one past the recording's end, with what differs (also a
    /// problem of the test).
    pub fn answer(&self, request: &RecordedRequest) -> Result<Result<RecordedResponse, String>, String> {
        let mut s = self.state();
        let n = s.next;
        s.next += 1;
        let Some(exchange) = s.script.exchanges.get(n).cloned() else {
            let problem = format!(
                "request {} ({} {}) is not in the recording, which holds {} exchange(s)",
                n + 1,
                request.method,
                request.url,
                s.script.exchanges.len()
            );
            s.seen.problems.push(problem.clone());
            return Err(format!("replay: {problem}; nothing was sent"));
        };
        let differences = compare(&exchange.request, request);
        if !differences.is_empty() {
            let mut problem = format!("request {} differs from the recording:", n + 1);
            for d in &differences {
                let _ = write!(problem, "\n  {d}");
            }
            s.seen.problems.push(problem.clone());
            return Err(format!("replay: {problem}\nnothing was sent"));
        }
        match (exchange.response, exchange.error) {
            (_, Some(error)) => Ok(Err(error)),
            (Some(response), None) => Ok(Ok(response)),
            (None, None) => {
                let problem = format!("exchange {} of the recording has neither a response nor an error", n + 1);
                s.seen.problems.push(problem.clone());
                Err(format!("replay: {problem}"))
            }
        }
    }
}

/// The most differences a diff lists.
const MAX_DIFFERENCES: usize = 20;
/// The most characters of a value a diff shows.
const MAX_SHOWN: usize = 200;

fn shown(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_SHOWN).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

/// What differs between a recorded request and the one sent now, one line each (empty: the
/// same). Header names are compared in lower case, without the [`VOLATILE_HEADERS`].
pub fn compare(recorded: &RecordedRequest, now: &RecordedRequest) -> Vec<String> {
    let mut out = Vec::new();
    if !recorded.method.eq_ignore_ascii_case(&now.method) {
        out.push(format!("method: recorded {}, now {}", recorded.method, now.method));
    }
    if recorded.url != now.url {
        out.push(format!("url: recorded {}, now {}", shown(&recorded.url), shown(&now.url)));
    }
    let compared = |headers: &[(String, String)]| -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .filter(|(k, _)| !VOLATILE_HEADERS.contains(&k.as_str()))
            .collect();
        h.sort();
        h
    };
    let (a, b) = (compared(&recorded.headers), compared(&now.headers));
    let names: std::collections::BTreeSet<&str> = a.iter().chain(b.iter()).map(|(k, _)| k.as_str()).collect();
    for name in names {
        let values = |h: &[(String, String)]| -> Vec<String> { h.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect() };
        let (va, vb) = (values(&a), values(&b));
        if va != vb {
            let show =
                |v: &[String]| if v.is_empty() { "absent".to_owned() } else { v.iter().map(|s| shown(s)).collect::<Vec<_>>().join(", ") };
            out.push(format!("header {name}: recorded {}, now {}", show(&va), show(&vb)));
        }
    }
    match (&recorded.body, &now.body) {
        (None, None) => {}
        (Some(_), None) => out.push("body: recorded one, now none".to_owned()),
        (None, Some(_)) => out.push("body: recorded none, now one".to_owned()),
        (Some(x), Some(y)) => match (x.json(), y.json()) {
            (Some(vx), Some(vy)) => json_differences("", &vx, &vy, &mut out),
            _ => {
                let (bx, by) = (x.bytes().unwrap_or_default(), y.bytes().unwrap_or_default());
                if bx != by {
                    out.push(format!(
                        "body: recorded {}, now {}",
                        shown(&String::from_utf8_lossy(&bx)),
                        shown(&String::from_utf8_lossy(&by))
                    ));
                }
            }
        },
    }
    if out.len() > MAX_DIFFERENCES {
        let more = out.len() - MAX_DIFFERENCES;
        out.truncate(MAX_DIFFERENCES);
        out.push(format!("… and {more} more"));
    }
    out
}

/// The places where two JSON values differ, as `body <pointer>: recorded X, now Y` lines.
fn json_differences(pointer: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() > MAX_DIFFERENCES {
        return;
    }
    let at = if pointer.is_empty() { "body".to_owned() } else { format!("body {pointer}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                match y.get(k) {
                    Some(vb) => json_differences(&p, va, vb, out),
                    None => out.push(format!("body {p}: recorded {}, now absent", shown(&va.to_string()))),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push(format!("body {p}: recorded absent, now {}", shown(&vb.to_string())));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                json_differences(&format!("{pointer}/{i}"), va, vb, out);
            }
        }
        _ if a != b => out.push(format!("{at}: recorded {}, now {}", shown(&a.to_string()), shown(&b.to_string()))),
        _ => {}
    }
}

impl RecordedRequest {
    /// A reqwest request as it is about to be sent (after signing).
    fn of_reqwest(request: &reqwest::Request) -> RecordedRequest {
        RecordedRequest {
            method: request.method().as_str().to_owned(),
            url: request.url().as_str().to_owned(),
            headers: header_pairs(request.headers()),
            body: request.body().and_then(reqwest::Body::as_bytes).and_then(Body::of),
        }
    }
}

/// Header pairs in order, names in lower case; a value that is not text is kept lossily.
pub(crate) fn header_pairs(headers: &http::HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

impl RecordedResponse {
    /// The recorded response as a reqwest response, for the code that reads real ones.
    fn to_reqwest(&self) -> Result<reqwest::Response, String> {
        let mut builder = http::Response::builder().status(self.status);
        for (name, value) in &self.headers {
            // The length of what is given back, not of what was received.
            if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("transfer-encoding") {
                continue;
            }
            builder = builder.header(name.as_str(), value.as_str());
        }
        let body = match &self.body {
            Some(b) => b.bytes()?,
            None => Vec::new(),
        };
        let response =
            builder.body(bytes::Bytes::from(body)).map_err(|e| format!("replay: the recorded response is not valid HTTP: {e}"))?;
        Ok(reqwest::Response::from(response))
    }
}

/// Sends `request` through the client, or, when a tape runs, records the exchange or answers
/// it from the recording (nothing is sent). Errors are messages for the model, as without a
/// tape (`HttpClient::describe`).
pub(crate) async fn send(
    tape: Option<&Tape>,
    client: &HttpClient,
    request: reqwest::Request,
    host: &str,
) -> Result<reqwest::Response, String> {
    let Some(tape) = tape else {
        return client.client.execute(request).await.map_err(|e| client.describe(&e, host));
    };
    let recorded = RecordedRequest::of_reqwest(&request);
    if tape.replaying() {
        return tape.answer(&recorded)??.to_reqwest();
    }
    let mut response = match client.client.execute(request).await {
        Ok(r) => r,
        Err(e) => {
            let message = client.describe(&e, host);
            tape.record(Exchange { request: recorded, response: None, error: Some(message.clone()) });
            return Err(message);
        }
    };
    // Read one byte more than the connection allows, so that the replayed body is refused as
    // too large exactly as the real one is.
    let cap = usize::try_from(client.max_response_bytes().saturating_add(1)).unwrap_or(usize::MAX);
    let status = response.status().as_u16();
    let headers = header_pairs(response.headers());
    let read = crate::util::read_capped(&mut response, cap).await;
    let error = read.error.as_ref().map(|e| client.describe(e, host));
    let answer = RecordedResponse { status, headers, body: Body::of(&read.bytes) };
    tape.record(Exchange { request: recorded, response: Some(answer.clone()), error: error.clone() });
    if let Some(error) = error {
        return Err(error);
    }
    answer.to_reqwest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(url: &str, headers: &[(&str, &str)], body: Option<Body>) -> RecordedRequest {
        RecordedRequest {
            method: "POST".to_owned(),
            url: url.to_owned(),
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            body,
        }
    }

    #[test]
    fn bodies_round_trip_to_the_same_bytes() {
        for bytes in [&b"{\"a\":1,\"b\":[true,null]}"[..], b"{ \"a\": 1 }", b"plain text\n", b"\xff\x00binary", b"123", b"\"s\""] {
            let body = Body::of(bytes).expect("a body");
            assert_eq!(body.bytes().expect("bytes"), bytes);
            let text = serde_json::to_string(&body).expect("serialize");
            let back: Body = serde_json::from_str(&text).expect("deserialize");
            assert_eq!(back.bytes().expect("bytes"), bytes, "{text}");
        }
        assert!(matches!(Body::of(b"{\"a\":1}"), Some(Body::Json(_))));
        assert!(matches!(Body::of(b"{ \"a\": 1 }"), Some(Body::Text(_))));
        assert!(Body::of(b"").is_none());
    }

    #[test]
    fn comparison_skips_volatile_headers_and_diffs_json_bodies() {
        let a = request(
            "https://api.example.com/x?q=1",
            &[("content-type", "application/json"), ("authorization", "***"), ("x-amz-date", "20260101T000000Z")],
            Body::of(br#"{"filter":{"status":"open"},"limit":10}"#),
        );
        let same = request(
            "https://api.example.com/x?q=1",
            &[("Content-Type", "application/json"), ("authorization", "Bearer ***"), ("x-amz-date", "20270101T000000Z")],
            Body::of(br#"{"limit":10,"filter":{"status":"open"}}"#),
        );
        assert_eq!(compare(&a, &same), Vec::<String>::new());
        let other = request(
            "https://api.example.com/x?q=2",
            &[("content-type", "text/plain")],
            Body::of(br#"{"filter":{"status":"closed"},"limit":10,"extra":true}"#),
        );
        let diff = compare(&a, &other);
        assert!(diff.iter().any(|d| d.starts_with("url: recorded \"https://api.example.com/x?q=1\", now")), "{diff:?}");
        assert!(diff.contains(&"header content-type: recorded \"application/json\", now \"text/plain\"".to_owned()), "{diff:?}");
        assert!(diff.contains(&"body /filter/status: recorded \"\\\"open\\\"\", now \"\\\"closed\\\"\"".to_owned()), "{diff:?}");
        assert!(diff.iter().any(|d| d.starts_with("body /extra: recorded absent")), "{diff:?}");
    }

    #[test]
    fn a_replay_answers_in_order_and_reports_what_differs_or_is_left() {
        let tape = Tape::new(TapeMode::Replay);
        let response = RecordedResponse { status: 200, headers: vec![], body: Body::of(b"{\"ok\":true}") };
        let first = request("https://h/1", &[], None);
        let second = request("https://h/2", &[], None);
        let time = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let exchanges = vec![
            Exchange { request: first.clone(), response: Some(response.clone()), error: None },
            Exchange { request: second.clone(), response: None, error: Some("could not connect".to_owned()) },
        ];
        tape.start(Script { time: Some(time), exchanges: exchanges.clone() });
        assert_eq!(tape.now(), time);
        assert_eq!(tape.answer(&first), Ok(Ok(response.clone())));
        assert_eq!(tape.answer(&second), Ok(Err("could not connect".to_owned())));
        let extra = tape.answer(&first).expect_err("past the end");
        assert!(extra.contains("request 3 (POST https://h/1) is not in the recording"), "{extra}");
        assert_eq!(tape.finish().problems.len(), 1);

        tape.start(Script { time: Some(time), exchanges });
        let wrong = tape.answer(&second).expect_err("differs");
        assert!(wrong.contains("request 1 differs from the recording:\n  url: recorded \"https://h/1\", now \"https://h/2\""), "{wrong}");
        let taken = tape.finish();
        assert_eq!(taken.problems.len(), 2, "{:?}", taken.problems);
        assert!(taken.problems[1].contains("the recording holds 2 exchange(s) but the call sent 1 request(s)"), "{:?}", taken.problems);
    }

    #[test]
    fn a_record_keeps_its_time_and_secrets_per_test() {
        let tape = Tape::new(TapeMode::Record);
        tape.start(Script::default());
        let t = tape.now();
        assert_eq!(t.duration_since(UNIX_EPOCH).expect("after the epoch").subsec_nanos() % 1_000_000, 0);
        assert_eq!(tape.now(), t);
        tape.add_secrets(["s3cret-value".to_owned(), String::new(), "s3cret-value".to_owned()]);
        let taken = tape.finish();
        assert_eq!((taken.time, taken.secrets), (Some(t), vec!["s3cret-value".to_owned()]));
        tape.start(Script::default());
        assert!(tape.finish().secrets.is_empty());
        let _ = json!(null);
    }
}
