//! MCP on stdin/stdout.
//!
//! rmcp drops a line that is not a JSON-RPC message without a word, and the client waits for
//! ever. JSON-RPC 2.0 wants an error for it (-32700 for a line that is not JSON, -32600 for
//! JSON that is not a request, `id` null when it has none), and then the server goes on. So
//! stdin is read here line by line: valid lines go on to rmcp through a pipe, and the answer
//! to any other line is written to stdout between rmcp's own messages, which also reach stdout
//! through a pipe and one writer, a whole line at a time.

use std::sync::Arc;

use rmcp::ServiceExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::handler::Handler;
use super::state::ServerState;
use super::tidy::tidying;

/// Buffer of each pipe between this module and rmcp.
const PIPE_BYTES: usize = 256 * 1024;

/// Serves MCP on stdin/stdout until the client closes the stream. Run it on a single-threaded
/// runtime: every request is then served on the thread whose memory [`tidying`] returns.
pub async fn serve_stdio(shared: Arc<ServerState>) -> anyhow::Result<()> {
    tidying(async {
        let (to_rmcp, rmcp_in) = tokio::io::duplex(PIPE_BYTES);
        let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
        let (refusals_tx, refusals_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let reader = tokio::spawn(read_stdin(to_rmcp, refusals_tx));
        let writer = tokio::spawn(write_stdout(from_rmcp, refusals_rx));
        let service = Handler::new(shared).serve((rmcp_in, rmcp_out)).await;
        let result = match service {
            Ok(service) => service.waiting().await.map(|_| ()).map_err(anyhow::Error::from),
            // The client went away before it said hello (or a person at a terminal pressed
            // Ctrl-D): a normal end, not an error.
            Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => Ok(()),
            Err(e) => Err(anyhow::Error::from(e)),
        };
        reader.abort();
        // The writer ends once rmcp's side of its pipe is gone (the service was dropped above)
        // and it has written what it held.
        let _ = writer.await;
        result
    })
    .await
}

/// Passes each line of stdin that is a JSON-RPC message to rmcp, and the refusal of any other
/// to the writer. Ends at the end of stdin (rmcp then sees its input end).
async fn read_stdin(mut to_rmcp: tokio::io::DuplexStream, refusals: tokio::sync::mpsc::UnboundedSender<Vec<u8>>) {
    let mut stdin = BufReader::new(tokio::io::stdin());
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match refusal(&line) {
            None => {
                if !line.ends_with(b"\n") {
                    line.push(b'\n');
                }
                if to_rmcp.write_all(&line).await.is_err() {
                    return;
                }
            }
            Some(answer) => {
                if refusals.send(answer).is_err() {
                    return;
                }
            }
        }
    }
}

/// The JSON-RPC error line answering `line`, or `None` when the line is a message for rmcp.
fn refusal(line: &[u8]) -> Option<Vec<u8>> {
    let error = |id: Value, code: i64, message: &str| {
        let mut bytes = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}).to_string().into_bytes();
        bytes.push(b'\n');
        Some(bytes)
    };
    let value: Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(_) => return error(Value::Null, -32700, "parse error: the line is not JSON"),
    };
    let Some(object) = value.as_object() else {
        return error(Value::Null, -32600, "invalid request: a message is a JSON object (batches are not supported)");
    };
    let id = object.get("id").filter(|id| id.is_string() || id.is_number()).cloned().unwrap_or(Value::Null);
    let is_message = object.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
        && (object.get("method").is_some_and(Value::is_string) || object.contains_key("result") || object.contains_key("error"));
    if is_message { None } else { error(id, -32600, "invalid request: not a JSON-RPC 2.0 message") }
}

/// Writes rmcp's messages and the refusals to stdout, one whole line at a time.
async fn write_stdout(from_rmcp: tokio::io::DuplexStream, mut refusals: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>) {
    let mut stdout = tokio::io::stdout();
    let mut rmcp = BufReader::new(from_rmcp);
    let mut line = Vec::new();
    loop {
        let next = tokio::select! {
            read = rmcp.read_until(b'\n', &mut line) => match read {
                Ok(0) | Err(_) => {
                    // rmcp is done (its input ended after the reader's, so every refusal is
                    // queued by now): write what is still queued, then end.
                    while let Ok(refusal) = refusals.try_recv() {
                        if stdout.write_all(&refusal).await.is_err() {
                            return;
                        }
                    }
                    let _ = stdout.flush().await;
                    return;
                }
                Ok(_) => std::mem::take(&mut line),
            },
            Some(refusal) = refusals.recv() => refusal,
        };
        if stdout.write_all(&next).await.is_err() || stdout.flush().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn lines_that_are_not_messages_are_refused() {
        assert_eq!(refusal(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), None);
        assert_eq!(refusal(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#), None);
        assert_eq!(refusal(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#), None);
        let text = |b: &[u8]| String::from_utf8(refusal(b).expect("refused")).expect("utf-8");
        assert!(text(b"not json\n").contains(r#""id":null"#) && text(b"not json").contains("-32700"));
        assert!(text(b"[1, 2]").contains("-32600"));
        let t = text(br#"{"id": 7, "method": "ping"}"#);
        assert!(t.contains("-32600") && t.contains(r#""id":7"#), "{t}");
    }
}
