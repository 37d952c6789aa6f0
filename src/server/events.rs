//! An in-memory event store so a client can resume an SSE stream with `Last-Event-ID`.
//! Bounded: the oldest events are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::store::{EventId, EventStore, EventStoreError, EventStream};

/// How many events are kept across all streams. Each is a whole message (a tool result can
/// be several KB), and resuming needs only what a client missed while reconnecting: 10,000
/// held 60 MB under load; 2,000 is minutes of history at ordinary call rates.
const CAPACITY: usize = 2_000;

#[derive(Default)]
struct Inner {
    next: u64,
    /// Events in the order they were stored: (id, stream, message).
    events: VecDeque<(u64, String, ServerSseMessage)>,
    /// Stream of each kept event id.
    stream_of: HashMap<u64, String>,
}

/// The store; share it between sessions with an `Arc`.
#[derive(Default)]
pub struct MemoryEventStore {
    inner: Mutex<Inner>,
}

#[async_trait::async_trait]
impl EventStore for MemoryEventStore {
    async fn store_event(&self, stream_id: &str, event: &ServerSseMessage) -> Result<EventId, EventStoreError> {
        let mut inner = self.inner.lock().map_err(|_| "event store lock poisoned")?;
        inner.next += 1;
        let id = inner.next;
        let mut event = event.clone();
        event.event_id = Some(id.to_string());
        inner.events.push_back((id, stream_id.to_owned(), event));
        inner.stream_of.insert(id, stream_id.to_owned());
        while inner.events.len() > CAPACITY {
            if let Some((old, _, _)) = inner.events.pop_front() {
                inner.stream_of.remove(&old);
            }
        }
        Ok(id.to_string())
    }

    async fn replay_events_after(&self, last_event_id: &str) -> Result<EventStream, EventStoreError> {
        let id: u64 = last_event_id.parse().map_err(|_| format!("unknown event id `{last_event_id}`"))?;
        let inner = self.inner.lock().map_err(|_| "event store lock poisoned")?;
        let stream = inner.stream_of.get(&id).ok_or_else(|| format!("event `{last_event_id}` is no longer kept"))?.clone();
        let later: Vec<ServerSseMessage> =
            inner.events.iter().filter(|(i, s, _)| *i > id && *s == stream).map(|(_, _, m)| m.clone()).collect();
        Ok(Box::pin(futures::stream::iter(later)))
    }
}
