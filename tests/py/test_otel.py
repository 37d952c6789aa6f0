"""OpenTelemetry traces over OTLP/HTTP (`serve --otlp-endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`).

A real OTLP/HTTP receiver on 127.0.0.1 collects what toolwright exports and decodes it with the
OpenTelemetry protobuf definitions; a real HTTP backend records the headers it receives; calls go
through the official MCP Python SDK. Checked: a span per tools/call continues the client's trace
(HTTP `traceparent`, and `params._meta.traceparent` first), its backend child span, `traceparent`
on the backend request, no argument value anywhere in the export, flush on SIGTERM and on stdin
close, and calls that stay fast while the collector is unreachable. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import threading
import time
from contextlib import AsyncExitStack
from typing import Callable, Iterator

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from conftest import free_port, local_connection_yaml, run_http_server
from helpers import REQUEST_TIMEOUT_S, LocalHttpServer, QuietHandler

TEST_TIMEOUT_S = 30.0
SPAN_WAIT_S = 15.0

# Argument values that must never reach the collector (a path segment and a query value).
SECRET_ITEM = "item-SECRETPATH-93b1"
SECRET_QUERY = "SECRETQUERY-5c2e"

OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_SAMPLER",
    "OTEL_BSP_SCHEDULE_DELAY",
)


# --------------------------------------------------------------------------- the collector


class Collector(LocalHttpServer):
    """An OTLP/HTTP receiver: keeps every POST to /v1/traces and answers 200."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []
        self.content_types: list[str] = []
        collector = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/traces":
                    with collector.lock:
                        collector.bodies.append(body)
                        collector.content_types.append(self.headers.get("Content-Type", ""))
                    status = 200
                else:
                    status = 404
                # An empty ExportTraceServiceResponse is an empty protobuf message.
                self._send(status, b"", "application/x-protobuf")

        super().__init__(Handler)
        self.start()

    def raw(self) -> bytes:
        with self.lock:
            return b"".join(self.bodies)

    def spans(self) -> list[tuple[dict, Span]]:
        """(resource attributes, span) of everything received so far."""
        with self.lock:
            bodies = list(self.bodies)
        out = []
        for body in bodies:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for rs in request.resource_spans:
                resource = attrs(rs.resource)
                for ss in rs.scope_spans:
                    out.extend((resource, span) for span in ss.spans)
        return out

    def wait_for(self, predicate: Callable[[list[Span]], bool], timeout: float = SPAN_WAIT_S) -> list[Span]:
        deadline = time.monotonic() + timeout
        while True:
            spans = [s for _, s in self.spans()]
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                names = [s.name for s in spans]
                raise AssertionError(f"the expected spans did not arrive within {timeout}s; got {names}")
            time.sleep(0.05)


def attrs(item) -> dict:
    out = {}
    for kv in item.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


def named(spans: list[Span], name: str) -> list[Span]:
    return [s for s in spans if s.name == name]


# --------------------------------------------------------------------------- the backend


class Backend(LocalHttpServer):
    """A real HTTP backend on 127.0.0.1 that records the headers of every request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str]]] = []
        backend = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                with backend.lock:
                    backend.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                path = self.path.split("?", 1)[0]
                status, body = (200, {"ok": True}) if path != "/fail" else (500, {"error": "backend broke"})
                self._json(status, body)

        super().__init__(Handler)
        self.start()

    def headers_for(self, prefix: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p.startswith(prefix)]


TOOLS = """\
kind: tool
name: lookup
description: Look one item up, with a search term.
input:
  type: object
  properties:
    item: {{type: string, minLength: 1, maxLength: 100}}
    q: {{type: string, maxLength: 100}}
  required: [item, q]
  additionalProperties: false
action:
  http:
    connection: local
    method: GET
    url: /items/{{{{ item }}}}
    query: {{q: "{{{{ q }}}}"}}
---
kind: tool
name: status
description: The backend's status (a literal URL).
input: {{type: object, properties: {{}}, additionalProperties: false}}
action:
  http: {{connection: local, method: GET, url: /status}}
---
kind: tool
name: broken
description: An endpoint that always answers 500.
input: {{type: object, properties: {{}}, additionalProperties: false}}
action:
  http: {{connection: local, method: GET, url: /fail}}
"""


@pytest.fixture(scope="module")
def otel_backend() -> Iterator[Backend]:
    b = Backend()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def otel_tools(otel_backend: Backend, toolwright_bin: str, tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("otel-tools.d")
    (d / "connections.yaml").write_text(local_connection_yaml(otel_backend.base_url))
    (d / "tools.yaml").write_text(TOOLS.format())
    lint = subprocess.run([toolwright_bin, "lint", str(d)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, f"lint failed:\n{lint.stdout}\n{lint.stderr}"
    return str(d)


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def otel_env(monkeypatch) -> Callable[..., None]:
    """Clears the OTEL_* variables of the outer environment; sets the ones a test gives."""
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)

    def setenv(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)

    return setenv


def new_traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


@contextlib.asynccontextmanager
async def http_session(url: str, headers: dict[str, str] | None = None):
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(create_mcp_http_client(headers=headers or {}))
        read, write = await stack.enter_async_context(streamable_http_client(url, http_client=client))
        session = await stack.enter_async_context(ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S))
        await session.initialize()
        yield session


def wait_exit(proc: subprocess.Popen, timeout: float) -> float:
    started = time.monotonic()
    proc.wait(timeout=timeout)
    return time.monotonic() - started


# --------------------------------------------------------------------------- tests


@pytest.mark.anyio
async def test_a_call_continues_the_clients_trace_down_to_the_backend(toolwright_bin, otel_tools, otel_backend, collector, otel_env):
    otel_env(OTEL_BSP_SCHEDULE_DELAY="100")
    traceparent, trace_id, client_span_id = new_traceparent()
    with run_http_server(toolwright_bin, otel_tools, "--otlp-endpoint", collector.base_url) as server:
        with anyio.fail_after(TEST_TIMEOUT_S):
            async with http_session(server.url, {"traceparent": traceparent}) as session:
                result = await session.call_tool("lookup", {"item": SECRET_ITEM, "q": SECRET_QUERY})
                assert not result.is_error, result
                broken = await session.call_tool("broken", {})
                assert broken.is_error
                status = await session.call_tool("status", {})
                assert not status.is_error
        spans = collector.wait_for(lambda s: {"tools/call lookup", "tools/call broken", "tools/call status"} <= {x.name for x in s}
                                   and len(named(s, "GET")) >= 3)

    [call] = named(spans, "tools/call lookup")
    a = attrs(call)
    assert call.trace_id.hex() == trace_id
    assert call.parent_span_id.hex() == client_span_id
    assert call.kind == Span.SPAN_KIND_SERVER
    assert a["mcp.method.name"] == "tools/call"
    assert a["gen_ai.tool.name"] == "lookup"
    assert a["gen_ai.operation.name"] == "execute_tool"
    assert a["network.transport"] == "tcp"
    assert a["mcp.session.id"], a
    assert a["mcp.protocol.version"], a
    assert sorted(a["toolwright.arguments"].split(",")) == ["item", "q"]
    assert a["toolwright.outcome"] == "ok"
    assert "error.type" not in a
    assert call.status.code != Status.STATUS_CODE_ERROR

    [child] = [s for s in named(spans, "GET") if s.parent_span_id == call.span_id]
    c = attrs(child)
    assert child.trace_id.hex() == trace_id
    assert child.kind == Span.SPAN_KIND_CLIENT
    assert c["http.request.method"] == "GET"
    assert c["server.address"] == "127.0.0.1"
    assert c["server.port"] == int(otel_backend.base_url.rsplit(":", 1)[1])
    assert c["http.response.status_code"] == 200
    assert "url.path" not in c, "a templated path holds argument values"

    # The backend got the trace context, with the backend span as its parent.
    [headers] = otel_backend.headers_for(f"/items/{SECRET_ITEM}")
    version, sent_trace, sent_parent, flags = headers["traceparent"].split("-")
    assert (version, sent_trace, sent_parent, flags) == ("00", trace_id, child.span_id.hex(), "01")

    # A literal URL is recorded; a failed tool and its backend span say how they failed.
    [status_call] = named(spans, "tools/call status")
    [status_child] = [s for s in named(spans, "GET") if s.parent_span_id == status_call.span_id]
    assert attrs(status_child)["url.path"] == "/status"
    [failed] = named(spans, "tools/call broken")
    assert attrs(failed)["error.type"] == "tool_error"
    assert failed.status.code == Status.STATUS_CODE_ERROR
    [failed_child] = [s for s in named(spans, "GET") if s.parent_span_id == failed.span_id]
    assert attrs(failed_child)["error.type"] == "500"
    assert attrs(failed_child)["http.response.status_code"] == 500
    assert failed_child.status.code == Status.STATUS_CODE_ERROR

    # Nothing the caller sent as a value reaches the collector.
    raw = collector.raw()
    assert SECRET_ITEM.encode() not in raw
    assert SECRET_QUERY.encode() not in raw
    assert set(collector.content_types) == {"application/x-protobuf"}
    resources = {r.get("service.name") for r, _ in collector.spans()}
    assert resources == {"toolwright"}


@pytest.mark.anyio
async def test_meta_traceparent_is_the_parent_and_the_header_a_link(toolwright_bin, otel_tools, otel_backend, collector, otel_env):
    otel_env(OTEL_BSP_SCHEDULE_DELAY="100")
    header_tp, header_trace, header_span = new_traceparent()
    meta_tp, meta_trace, meta_span = new_traceparent()
    with run_http_server(toolwright_bin, otel_tools, "--otlp-endpoint", collector.base_url, "--stateless") as server:
        with anyio.fail_after(TEST_TIMEOUT_S):
            async with http_session(server.url, {"traceparent": header_tp}) as session:
                result = await session.call_tool("status", {}, meta={"traceparent": meta_tp})
                assert not result.is_error, result
        spans = collector.wait_for(lambda s: bool(named(s, "tools/call status")))
    [call] = named(spans, "tools/call status")
    assert (call.trace_id.hex(), call.parent_span_id.hex()) == (meta_trace, meta_span)
    assert [(link.trace_id.hex(), link.span_id.hex()) for link in call.links] == [(header_trace, header_span)]
    assert "mcp.session.id" not in attrs(call)  # stateless: no session


@pytest.mark.anyio
async def test_the_last_spans_are_flushed_on_sigterm(toolwright_bin, otel_tools, collector, otel_env):
    # A batch every 10 minutes: only the shutdown flush can deliver the span in time.
    otel_env(OTEL_BSP_SCHEDULE_DELAY="600000")
    with run_http_server(toolwright_bin, otel_tools, "--otlp-endpoint", collector.base_url) as server:
        with anyio.fail_after(TEST_TIMEOUT_S):
            async with http_session(server.url) as session:
                assert not (await session.call_tool("status", {})).is_error
        time.sleep(0.3)
        assert not collector.spans(), "exported before shutdown; the test proves nothing"
        server.proc.terminate()
        took = wait_exit(server.proc, 10)
        assert server.proc.returncode == 0, server.log()
    assert took < 5, f"shutdown took {took:.1f}s"
    spans = collector.wait_for(lambda s: bool(named(s, "tools/call status")), timeout=2)
    [call] = named(spans, "tools/call status")
    assert len(call.trace_id) == 16 and call.parent_span_id == b""  # a new trace: the client sent none


@pytest.mark.anyio
async def test_stdio_honours_the_environment_and_flushes_when_stdin_closes(toolwright_bin, otel_tools, collector, otel_env):
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector.base_url,
        "OTEL_SERVICE_NAME": "tw-under-test",
        "OTEL_BSP_SCHEDULE_DELAY": "600000",
        "TOOLWRIGHT_LOG": "warn",
        "NO_COLOR": "1",
    }
    params = StdioServerParameters(command=toolwright_bin, args=["serve", "--tools", otel_tools, "--no-watch"], env=env)
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with AsyncExitStack() as stack:
            read, write = await stack.enter_async_context(stdio_client(params))
            session = await stack.enter_async_context(ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S))
            await session.initialize()
            assert not (await session.call_tool("status", {})).is_error
            assert not collector.spans()
        # Leaving the block closed stdin and waited for the process.
    spans = collector.wait_for(lambda s: bool(named(s, "tools/call status")), timeout=5)
    [call] = named(spans, "tools/call status")
    assert attrs(call)["network.transport"] == "pipe"
    assert {r.get("service.name") for r, _ in collector.spans()} == {"tw-under-test"}


@pytest.mark.anyio
async def test_an_unreachable_collector_does_not_slow_calls(toolwright_bin, otel_tools, otel_env):
    otel_env(OTEL_BSP_SCHEDULE_DELAY="50")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with run_http_server(toolwright_bin, otel_tools, "--otlp-endpoint", closed) as server:
        with anyio.fail_after(TEST_TIMEOUT_S):
            async with http_session(server.url) as session:
                latencies = []
                for _ in range(20):
                    started = time.monotonic()
                    result = await session.call_tool("status", {})
                    latencies.append(time.monotonic() - started)
                    assert not result.is_error, result
                    await anyio.sleep(0.05)
        assert max(latencies) < 1.0, latencies
        # The failure is logged, once, however many exports fail.
        deadline = time.monotonic() + 10
        while "OTLP export failed" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        log = server.log()
        assert log.count("OTLP export failed") == 1, log
        server.proc.terminate()
        took = wait_exit(server.proc, 10)
    assert took < 5, f"shutdown with an unreachable collector took {took:.1f}s"


@pytest.mark.anyio
async def test_without_flag_or_environment_nothing_is_traced(toolwright_bin, otel_tools, otel_backend, otel_env):
    traceparent, _, _ = new_traceparent()
    with run_http_server(toolwright_bin, otel_tools) as server:
        with anyio.fail_after(TEST_TIMEOUT_S):
            async with http_session(server.url, {"traceparent": traceparent}) as session:
                item = f"untraced-{secrets.token_hex(4)}"
                assert not (await session.call_tool("lookup", {"item": item, "q": "x"})).is_error
    [headers] = otel_backend.headers_for(f"/items/{item}")
    assert "traceparent" not in headers


def test_a_bad_endpoint_is_a_usage_error(toolwright_bin, otel_tools, otel_env):
    run = subprocess.run(
        [toolwright_bin, "serve", "--tools", otel_tools, "--no-watch", "--otlp-endpoint", "grpc://127.0.0.1:4317"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
    )
    assert run.returncode == 2, run
    assert "--otlp-endpoint" in run.stderr and "http" in run.stderr
