//! A tool's approval gate asked of a 2026-07-28 client without MCP Tasks, which cannot be sent a
//! request of ours: the call is answered with an `InputRequiredResult` (SEP-2322) holding the
//! gate's elicitation and a `requestState`; the client retries with `inputResponses` and the
//! state, and only then does the action run.
//!
//! The state is sealed with rmcp's `RequestStateCodec` (HMAC-SHA256 under a random key made at
//! start, so a state from another process or server is foreign): its payload is the question and
//! a one-time id, its associated data the tool's name and the call's arguments, and it expires
//! after the tool's timeout. A retry whose state was tampered with, is foreign, is for other
//! arguments, has expired or was already used is a JSON-RPC error, and nothing runs: each state
//! lets the action run at most once in this process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolRequestParams, ElicitRequest, ElicitResult, InputRequest, InputRequests, InputRequiredResult, RequestStateCodec,
    RequestStateError, SealOptions,
};
use serde::{Deserialize, Serialize};

use super::tasks::{approval_of, approval_request};
use crate::actions::{Approval, Question};
use crate::catalog::CompiledTool;
use crate::runtime::Loaded;

/// The key of the gate's elicitation in `inputRequests` and `inputResponses`.
pub(super) const INPUT_KEY: &str = "confirm";

/// States handed out remembered at most this many at once (each for its tool's timeout): past
/// it, a new question is refused rather than letting memory grow without bound.
const MAX_OPEN: usize = 100_000;

/// The process's sealer of request states, made on first use.
static STATES: std::sync::OnceLock<Result<RequestStates, String>> = std::sync::OnceLock::new();

/// The process's [`RequestStates`] (its key is made once, at first use).
pub(super) fn states() -> Result<&'static RequestStates, McpError> {
    STATES.get_or_init(RequestStates::new).as_ref().map_err(|e| McpError::internal_error(e.clone(), None))
}

/// The sealer of request states and the states already used.
pub(super) struct RequestStates {
    codec: RequestStateCodec,
    /// One-time ids of states whose answer was taken, with when each state expires.
    used: Mutex<HashMap<String, Instant>>,
}

/// What a sealed state holds.
#[derive(Serialize, Deserialize)]
struct Sealed {
    /// A one-time id: 128 random bits.
    id: String,
    /// The question as put (a question may read the clock; the retry gets the same one).
    message: String,
}

/// What the gate makes of a call.
pub(super) enum Gate {
    /// Ask: answer the call with this.
    Ask(InputRequiredResult),
    /// The client answered: run the call with this answer.
    Answered(Approval),
}

impl RequestStates {
    /// A sealer with a key of 32 random bytes from the OS.
    pub(super) fn new() -> Result<Self, String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("no randomness for the request-state key: {e}"))?;
        let codec = RequestStateCodec::try_new(key.to_vec()).map_err(|e| e.to_string())?;
        Ok(RequestStates { codec, used: Mutex::new(HashMap::new()) })
    }

    /// The gate of `tool` (which has `confirm`) for this call: a question to put, or the
    /// client's answer. `None` when the call cannot get that far (arguments that do not
    /// validate, a question that does not render): the ordinary call path says why.
    pub(super) fn gate(&self, loaded: &Loaded, tool: &CompiledTool, request: &CallToolRequestParams) -> Option<Result<Gate, McpError>> {
        let confirm = tool.confirm.as_ref()?;
        let args = tool.prepare_args(request.arguments.as_ref()).ok()?;
        let bound = associated_data(&tool.name, &args);
        let Some(state) = &request.request_state else {
            let question = crate::runtime::question(loaded, tool, confirm, &args, SystemTime::now()).ok()?;
            return Some(self.ask(&question, &bound, tool.timeout));
        };
        let sealed: Sealed = match self.codec.open_json_with(state, &bound) {
            Ok(s) => s,
            Err(e) => return Some(Err(refused(&e, tool))),
        };
        let question = Question { message: sealed.message, fields: confirm.fields.clone() };
        // A retry without the answer is asked again (the state is not spent).
        let Some(value) = request.input_responses.as_ref().and_then(|r| r.get(INPUT_KEY)) else {
            return Some(self.ask(&question, &bound, tool.timeout));
        };
        let result = match serde_json::from_value::<ElicitResult>(value.clone()) {
            Ok(r) => r,
            Err(e) => {
                return Some(Err(McpError::invalid_params(
                    format!("inputResponses[{INPUT_KEY:?}] is not an elicitation result: {e}"),
                    None,
                )));
            }
        };
        let now = Instant::now();
        {
            let Ok(mut used) = self.used.lock() else { return Some(Err(McpError::internal_error("request states unavailable", None))) };
            used.retain(|_, expires| *expires > now);
            if used.contains_key(&sealed.id) {
                return Some(Err(McpError::invalid_params(
                    "this requestState was already used: the action it approved has run (or was refused); call the tool again without \
                     requestState to be asked again",
                    None,
                )));
            }
            used.insert(sealed.id, now + tool.timeout + Duration::from_secs(1));
        }
        Some(Ok(Gate::Answered(approval_of(&result, &question))))
    }

    /// An InputRequiredResult asking `question`, with a fresh state bound to `bound`.
    fn ask(&self, question: &Question, bound: &[u8], ttl: Duration) -> Result<Gate, McpError> {
        if self.used.lock().map(|u| u.len()).unwrap_or(MAX_OPEN) >= MAX_OPEN {
            return Err(McpError::internal_error("too many approval questions are open; retry later", None));
        }
        let params = approval_request(question).map_err(|e| McpError::internal_error(e, None))?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| McpError::internal_error(format!("no randomness: {e}"), None))?;
        let sealed = Sealed { id: id.iter().map(|b| format!("{b:02x}")).collect(), message: question.message.clone() };
        let state = self
            .codec
            .seal_json_with(&sealed, &SealOptions::new().associated_data(bound).ttl(ttl))
            .map_err(|e| McpError::internal_error(format!("the request state could not be sealed: {e}"), None))?;
        let mut requests = InputRequests::new();
        requests.insert(INPUT_KEY.to_owned(), InputRequest::Elicitation(ElicitRequest::new(params)));
        Ok(Gate::Ask(InputRequiredResult::new(Some(requests), Some(state))))
    }
}

/// What a state is bound to: the tool and the prepared arguments (serde_json writes an object's
/// keys in one order for one input, so the same call gives the same bytes).
fn associated_data(tool: &str, args: &crate::catalog::JsonObject) -> Vec<u8> {
    /// The value with every object's keys sorted, so that a retry that lists the same
    /// arguments in another order is the same call.
    fn canonical(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                serde_json::Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&o[k]))).collect())
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let mut bound = tool.as_bytes().to_vec();
    bound.push(0);
    bound.extend(serde_json::to_vec(&canonical(&serde_json::Value::Object(args.clone()))).unwrap_or_default());
    bound
}

/// The JSON-RPC error for a state that does not open.
fn refused(e: &RequestStateError, tool: &CompiledTool) -> McpError {
    let why = match e {
        RequestStateError::Expired => format!(
            "requestState has expired (it is good for the tool's timeout, {}); call the tool again without requestState to be asked again",
            humantime::format_duration(tool.timeout)
        ),
        _ => format!(
            "requestState failed its integrity check: it was not issued by this server for `{}` with these arguments (tampered with, \
             from another server or process, or for other arguments); nothing was run. Call the tool again without requestState to be \
             asked again",
            tool.name
        ),
    };
    McpError::invalid_params(why, None)
}
