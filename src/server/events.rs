//! An in-memory event store so a client can resume an SSE stream with `Last-Event-ID`.
//! Bounded by bytes: the oldest events are forgotten first.
//!
//! An event id is `<sequence>/<stream id>`, and a resume replays only when both match a kept
//! event. rmcp hands a `Last-Event-ID` to the store without checking which session or caller
//! owns it (a 2026-07-28 `GET` needs no session at all), so a bare counter would let anyone
//! replay another session's results by counting; a stream id is a random UUID, or the
//! session's own (secret) id for its standalone stream.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use rmcp::model::{CustomResult, JsonRpcMessage, ServerJsonRpcMessage, ServerNotification, ServerRequest, ServerResult};
use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::store::{EventId, EventStore, EventStoreError, EventStream};

/// How many bytes of events are kept across all streams and sessions. An event is kept as
/// the JSON it was sent as, and resuming needs only what a client missed while reconnecting:
/// 4 MiB is about 8,000 replies of half a KB, or 40 of 100 KB. (It used to be 2,000 events
/// held as rmcp's message values: about 6 KB each for a 0.3 KB tool result, 12 MB in all
/// once a few sessions had made 1,000 calls.)
const BUDGET_BYTES: usize = 4 << 20;

/// What one kept event costs besides its JSON and stream id: the queue slot and two
/// allocations' headers, so that events without a message (priming) count too.
const EVENT_OVERHEAD: usize = 64;

struct Kept {
    id: u64,
    stream: Box<str>,
    /// The message as sent (`None` for a priming event).
    json: Option<Box<str>>,
    retry: Option<Duration>,
}

impl Kept {
    fn cost(&self) -> usize {
        EVENT_OVERHEAD + self.stream.len() + self.json.as_ref().map_or(0, |j| j.len())
    }
}

#[derive(Default)]
struct Inner {
    next: u64,
    /// Events in the order they were stored, so ids increase from front to back.
    events: VecDeque<Kept>,
    /// Sum of [`Kept::cost`] over `events`.
    bytes: usize,
}

/// The store; share it between sessions with an `Arc`.
#[derive(Default)]
pub struct MemoryEventStore {
    inner: Mutex<Inner>,
}

/// The message a kept event replays, read back from the JSON it was sent as. A result is
/// wrapped in rmcp's catch-all result type so that sending it writes the same JSON again:
/// results carry no tag, and read back as a typed result one could drop or reorder fields.
/// Requests and notifications are tagged by their method and read back exactly.
fn replayed(json: &str) -> Result<ServerJsonRpcMessage, EventStoreError> {
    let raw: JsonRpcMessage<ServerRequest, CustomResult, ServerNotification> =
        serde_json::from_str(json).map_err(|e| format!("kept event is not a JSON-RPC message: {e}"))?;
    Ok(match raw {
        JsonRpcMessage::Request(r) => JsonRpcMessage::Request(r),
        JsonRpcMessage::Response(r) => ServerJsonRpcMessage::response(ServerResult::CustomResult(r.result), r.id),
        JsonRpcMessage::Notification(n) => JsonRpcMessage::Notification(n),
        JsonRpcMessage::Error(e) => JsonRpcMessage::Error(e),
    })
}

#[async_trait::async_trait]
impl EventStore for MemoryEventStore {
    async fn store_event(&self, stream_id: &str, event: &ServerSseMessage) -> Result<EventId, EventStoreError> {
        // Serialised outside the lock: sessions store concurrently.
        let json = match &event.message {
            Some(m) => Some(serde_json::to_string(&**m).map_err(|e| format!("event not serialisable: {e}"))?.into_boxed_str()),
            None => None,
        };
        let mut inner = self.inner.lock().map_err(|_| "event store lock poisoned")?;
        inner.next += 1;
        let id = inner.next;
        let kept = Kept { id, stream: stream_id.into(), json, retry: event.retry };
        inner.bytes += kept.cost();
        inner.events.push_back(kept);
        while inner.bytes > BUDGET_BYTES {
            let Some(old) = inner.events.pop_front() else { break };
            inner.bytes -= old.cost();
        }
        Ok(format!("{id}/{stream_id}"))
    }

    async fn replay_events_after(&self, last_event_id: &str) -> Result<EventStream, EventStoreError> {
        let unknown = || format!("event `{last_event_id}` is unknown or no longer kept");
        let (id, stream) = last_event_id.split_once('/').ok_or_else(unknown)?;
        let id: u64 = id.parse().map_err(|_| unknown())?;
        let later: Vec<(u64, Option<String>, Option<Duration>)> = {
            let inner = self.inner.lock().map_err(|_| "event store lock poisoned")?;
            let at = inner.events.binary_search_by_key(&id, |k| k.id).map_err(|_| unknown())?;
            if *inner.events[at].stream != *stream {
                return Err(unknown().into());
            }
            inner
                .events
                .range(at + 1..)
                .filter(|k| *k.stream == *stream)
                .map(|k| (k.id, k.json.as_deref().map(str::to_owned), k.retry))
                .collect()
        };
        let mut out = Vec::with_capacity(later.len());
        for (id, json, retry) in later {
            // rmcp's type cannot be built field by field; its constructors set what we then overwrite.
            let mut event = match json.as_deref().map(replayed).transpose()? {
                Some(message) => ServerSseMessage::new(format!("{id}/{stream}"), message),
                None => ServerSseMessage::priming(format!("{id}/{stream}"), Duration::ZERO),
            };
            event.retry = retry;
            out.push(event);
        }
        Ok(Box::pin(futures::stream::iter(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use rmcp::model::{
        CallToolResult, ContentBlock, CustomNotification, ErrorCode, ErrorData, NumberOrString, ProgressNotificationParam, ProgressToken,
    };

    fn sse(message: Option<ServerJsonRpcMessage>, retry: Option<Duration>) -> ServerSseMessage {
        let mut event = match message {
            Some(m) => ServerSseMessage::from_message(m),
            None => ServerSseMessage::retry(Duration::ZERO),
        };
        event.retry = retry;
        event
    }

    async fn replay(store: &MemoryEventStore, after: &str) -> Result<Vec<ServerSseMessage>, EventStoreError> {
        Ok(store.replay_events_after(after).await?.collect().await)
    }

    fn json_of(m: &ServerSseMessage) -> Option<String> {
        m.message.as_ref().map(|m| serde_json::to_string(&**m).expect("serialisable"))
    }

    #[tokio::test]
    async fn replays_the_same_json_that_was_sent_for_every_kind_of_message() {
        let mut result = CallToolResult::success(vec![ContentBlock::text("{\"id\":\"INV-1\"}")]);
        result.structured_content = Some(serde_json::json!({"id": "INV-1", "lines": [1, 2.5, null], "ok": true}));
        let messages = [
            ServerJsonRpcMessage::response(ServerResult::CallToolResult(result), NumberOrString::Number(7)),
            ServerJsonRpcMessage::error(
                ErrorData::new(ErrorCode::INVALID_PARAMS, "bad `id`", Some(serde_json::json!({"at": "/id"}))),
                Some(NumberOrString::String("x".into())),
            ),
            ServerJsonRpcMessage::notification(ServerNotification::ToolListChangedNotification(Default::default())),
            ServerJsonRpcMessage::request(ServerRequest::PingRequest(Default::default()), NumberOrString::Number(9)),
            ServerJsonRpcMessage::notification(ServerNotification::CustomNotification(CustomNotification::new(
                "notifications/toolwright/x",
                Some(serde_json::json!({"b": 1, "a": [true]})),
            ))),
            ServerJsonRpcMessage::notification(ServerNotification::ProgressNotification(rmcp::model::Notification::new(
                ProgressNotificationParam::new(ProgressToken(NumberOrString::Number(3)), 0.5),
            ))),
        ];
        let store = MemoryEventStore::default();
        let first = store.store_event("s1", &sse(None, Some(Duration::from_secs(3)))).await.expect("stored");
        let _other = store.store_event("s2", &sse(Some(messages[0].clone()), None)).await.expect("stored");
        let mut ids = Vec::new();
        for m in &messages {
            ids.push(store.store_event("s1", &sse(Some(m.clone()), None)).await.expect("stored"));
        }
        let got = replay(&store, &first).await.expect("replayed");
        assert_eq!(got.len(), messages.len(), "only the later events of the same stream");
        for ((g, m), id) in got.iter().zip(&messages).zip(&ids) {
            assert_eq!(g.event_id.as_deref(), Some(id.as_str()));
            assert_eq!(json_of(g).as_deref(), Some(serde_json::to_string(m).expect("serialisable").as_str()));
        }
        let last = replay(&store, ids.last().expect("one")).await.expect("replayed");
        assert!(last.is_empty(), "nothing after the last event");
    }

    #[tokio::test]
    async fn an_event_id_replays_only_with_its_own_stream() {
        let store = MemoryEventStore::default();
        let msg = ServerJsonRpcMessage::notification(ServerNotification::ToolListChangedNotification(Default::default()));
        let first = store.store_event("secret-a", &sse(None, None)).await.expect("stored");
        store.store_event("secret-a", &sse(Some(msg.clone()), None)).await.expect("stored");
        let seq = first.split_once('/').expect("sequence/stream").0;
        for forged in [seq.to_owned(), format!("{seq}/secret-b"), format!("{seq}/"), format!("{seq}/secret-a/x"), "/secret-a".to_owned()] {
            let err = match replay(&store, &forged).await {
                Err(e) => e.to_string(),
                Ok(_) => panic!("`{forged}` replayed another stream's events"),
            };
            assert!(err.contains("unknown or no longer kept"), "{err}");
        }
        assert_eq!(replay(&store, &first).await.expect("own id replays").len(), 1);
    }

    #[tokio::test]
    async fn a_priming_event_replays_its_retry_and_no_message() {
        let store = MemoryEventStore::default();
        let a = store.store_event("s", &sse(None, None)).await.expect("stored");
        store.store_event("s", &sse(None, Some(Duration::from_millis(1500)))).await.expect("stored");
        let got = replay(&store, &a).await.expect("replayed");
        assert_eq!(got.len(), 1);
        assert!(got[0].message.is_none());
        assert_eq!(got[0].retry, Some(Duration::from_millis(1500)));
    }

    #[tokio::test]
    async fn forgets_the_oldest_events_beyond_the_byte_budget() {
        let store = MemoryEventStore::default();
        let big = "x".repeat(100_000);
        let msg = ServerJsonRpcMessage::response(
            ServerResult::CallToolResult(CallToolResult::success(vec![ContentBlock::text(big)])),
            NumberOrString::Number(1),
        );
        let mut ids = Vec::new();
        for _ in 0..60 {
            ids.push(store.store_event("s", &sse(Some(msg.clone()), None)).await.expect("stored"));
        }
        let bytes = store.inner.lock().expect("lock").bytes;
        assert!(bytes <= BUDGET_BYTES, "{bytes} bytes kept");
        let err = match replay(&store, &ids[0]).await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("the first event should be forgotten"),
        };
        assert!(err.contains("no longer kept"), "{err}");
        assert!(ids[30].ends_with("/s"), "{}", ids[30]);
        let kept = replay(&store, &ids[30]).await.expect("a recent event is kept");
        assert_eq!(kept.len(), 29);
        assert!(replay(&store, "nope").await.is_err());
    }
}
