"""Client helpers: an official-SDK MCP session over stdio or Streamable HTTP, and small
accessors for tool results."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from contextlib import AsyncExitStack, asynccontextmanager
from typing import AsyncIterator

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

# Bound on every single request the SDK sends; whole tests are bounded with anyio.fail_after.
REQUEST_TIMEOUT_S = 15.0


class QuietHandler(BaseHTTPRequestHandler):
    """A keep-alive HTTP/1.1 handler that logs nothing, with helpers to answer."""

    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")


class LocalHttpServer:
    """A real HTTP server on 127.0.0.1 (a free port) answering from a daemon thread with
    `handler`; `start()` begins serving, `stop()` ends it (bounded)."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@asynccontextmanager
async def mcp_session(
    transport: str,
    *,
    toolwright_bin: str | None = None,
    tools_dir: str | None = None,
    url: str | None = None,
    handshake: str = "initialize",
) -> AsyncIterator[ClientSession]:
    """An SDK `ClientSession` that has completed its handshake.

    transport: "stdio" spawns `toolwright serve --tools DIR --no-watch`; "http" connects to `url`.
    handshake: "initialize" (the 2025 revisions) or "discover" (2026-07-28, `server/discover`).
    """
    async with AsyncExitStack() as stack:
        if transport == "stdio":
            assert toolwright_bin and tools_dir
            params = StdioServerParameters(
                command=toolwright_bin,
                args=["serve", "--tools", tools_dir, "--no-watch"],
                env={"TOOLWRIGHT_LOG": "warn", "NO_COLOR": "1"},
            )
            read, write = await stack.enter_async_context(stdio_client(params))
        elif transport == "http":
            assert url
            read, write = await stack.enter_async_context(streamable_http_client(url))
        else:
            raise ValueError(transport)
        session = await stack.enter_async_context(
            ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S)
        )
        if handshake == "initialize":
            await session.initialize()
        elif handshake == "discover":
            await session.discover()
        else:
            raise ValueError(handshake)
        yield session


def text_of(result) -> str:
    """The concatenated text blocks of a CallToolResult."""
    return "\n".join(getattr(block, "text", "") for block in result.content if getattr(block, "type", None) == "text")


def json_text(result):
    return json.loads(text_of(result))
