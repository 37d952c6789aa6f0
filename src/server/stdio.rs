//! MCP on stdin/stdout.

use std::sync::Arc;

use rmcp::ServiceExt;

use super::handler::Handler;
use super::state::ServerState;
use super::tidy::tidying;

/// Serves MCP on stdin/stdout until the client closes the stream. Run it on a single-threaded
/// runtime: every request is then served on the thread whose memory [`tidying`] returns.
pub async fn serve_stdio(shared: Arc<ServerState>) -> anyhow::Result<()> {
    tidying(async {
        let service = Handler::new(shared).serve(rmcp::transport::stdio()).await?;
        service.waiting().await?;
        Ok(())
    })
    .await
}
