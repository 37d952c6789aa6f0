"""Raw HTTP against `toolwright serve --http` (httpx): malformed, mistyped, oversized and
rebinding requests are refused clearly, and the server keeps serving afterwards."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

TIMEOUT = httpx.Timeout(10.0)
ACCEPT = "application/json, text/event-stream"
MAX_BODY = 10_000  # the fixture's --max-body-bytes


def initialize_body(request_id: int = 1, padding: str = "") -> dict:
    info = {"name": "raw-httpx", "version": "0"}
    if padding:
        info["description"] = padding
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": info},
    }


def read_jsonrpc(response: httpx.Response) -> dict:
    """The first JSON-RPC message of a JSON or SSE response body."""
    ctype = response.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        return response.json()
    assert ctype.startswith("text/event-stream"), ctype
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no data in SSE body: {response.text[:500]!r}")


def post(url: str, content: bytes | str, **headers: str) -> httpx.Response:
    """One POST on its own connection.

    Never reuse a connection after a refused request: after answering 403/415 without reading
    the request body, the server sometimes (about 1 in 100 here) closes the kept-alive
    connection without a `Connection: close` header, and a POST reusing it then fails with
    "Server disconnected without sending a response" (reported to the lead). These tests check
    what the server answers and that it keeps serving, so each request gets a new connection."""
    h = {"Accept": ACCEPT, "Content-Type": "application/json"}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    # trust_env=False: no proxy settings from the environment; only 127.0.0.1 is contacted.
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        r = client.post(url, content=content, headers=h)
        r.read()
        return r


def assert_still_serves(url: str, **headers: str) -> None:
    """A valid initialize succeeds (then the session is closed)."""
    r = post(url, json.dumps(initialize_body(99)), **headers)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    msg = read_jsonrpc(r)
    assert msg.get("id") == 99, msg
    assert msg["result"]["serverInfo"]["name"] == "toolwright", msg
    sid = r.headers.get("mcp-session-id")
    if sid:
        with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
            client.delete(url, headers={"Mcp-Session-Id": sid})


def test_health_and_status(small_body_server):
    r = httpx.get(f"{small_body_server.base}/healthz", timeout=TIMEOUT, trust_env=False)
    assert r.status_code == 200
    r = httpx.get(f"{small_body_server.base}/status", timeout=TIMEOUT, trust_env=False)
    assert r.status_code == 200 and r.json()["tools"] == 5


@pytest.mark.parametrize("path", ["/status", "/metrics"])
def test_revealing_endpoints_refuse_foreign_host_and_origin(small_body_server, path):
    """The DNS-rebinding defence covers /status and /metrics as it covers /mcp (they used to
    answer any Host and Origin); the health probes stay open."""
    url = f"{small_body_server.base}{path}"
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        assert client.get(url).status_code == 200
        r = client.get(url, headers={"Host": "evil.example"})
        assert r.status_code == 403, (r.status_code, r.text)
        r = client.get(url, headers={"Host": f"evil.example:{small_body_server.port}"})
        assert r.status_code == 403, (r.status_code, r.text)
        r = client.get(url, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403, (r.status_code, r.text)
        assert client.get(url, headers={"Origin": f"http://127.0.0.1:{small_body_server.port}"}).status_code == 200
        for probe in ("/healthz", "/readyz"):
            r = client.get(f"{small_body_server.base}{probe}", headers={"Host": "evil.example"})
            assert r.status_code == 200, (probe, r.status_code)


def test_invalid_json_body(small_body_server):
    url = small_body_server.url
    r = post(url, b'{"jsonrpc": "2.0", "id": 1, "method": "initialize", ')
    if r.status_code == 200:
        msg = read_jsonrpc(r)
        assert msg.get("error", {}).get("code") == -32700, msg
    else:
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        assert r.text.strip(), "a 4xx needs a message a person can read"
        body = r.text.lower()
        assert any(w in body for w in ("json", "parse", "deserializ")), r.text
    assert_still_serves(url)


def test_wrong_content_type(small_body_server):
    url = small_body_server.url
    r = post(url, json.dumps(initialize_body()), Content_Type="text/plain")
    assert r.status_code in (400, 406, 415), (r.status_code, r.text)
    assert_still_serves(url)


def test_missing_accept(small_body_server):
    url = small_body_server.url
    r = post(url, json.dumps(initialize_body()), Accept="text/html")
    assert r.status_code in (400, 406), (r.status_code, r.text)
    assert_still_serves(url)


def test_oversized_body_is_413(small_body_server):
    url = small_body_server.url
    body = json.dumps(initialize_body(padding="x" * 20_000)).encode()
    assert len(body) > 2 * MAX_BODY
    r = post(url, body)
    assert r.status_code == 413, (r.status_code, r.text[:300])
    # Just under the cap is accepted.
    body = json.dumps(initialize_body(padding="x" * (MAX_BODY - 400))).encode()
    assert len(body) <= MAX_BODY
    r = post(url, body)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert_still_serves(url)


def test_foreign_host_is_refused(small_body_server):
    url = small_body_server.url
    r = post(url, json.dumps(initialize_body()), Host="evil.example")
    assert r.status_code == 403 or 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.status_code != 404
    r = post(url, json.dumps(initialize_body()), Host=f"evil.example:{small_body_server.port}")
    assert 400 <= r.status_code < 500 and r.status_code != 404, (r.status_code, r.text)
    assert_still_serves(url)


def test_foreign_origin_is_refused(small_body_server):
    url = small_body_server.url
    r = post(url, json.dumps(initialize_body()), Origin="http://evil.example")
    assert 400 <= r.status_code < 500 and r.status_code != 404, (r.status_code, r.text)
    # A loopback origin is fine.
    assert_still_serves(url, Origin=f"http://127.0.0.1:{small_body_server.port}")


def test_request_without_session_is_refused(small_body_server):
    url = small_body_server.url
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    r = post(url, json.dumps(body), Mcp_Protocol_Version="2025-11-25")
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    r = post(url, json.dumps(body), Mcp_Session_Id="no-such-session", Mcp_Protocol_Version="2025-11-25")
    assert r.status_code in (400, 404), (r.status_code, r.text)
    assert_still_serves(url)


@pytest.mark.parametrize("refusal", ["origin-403", "content-type-415"])
def test_refusal_keeps_or_announces_closing_the_connection(small_body_server, refusal):
    """After a refusal the connection is either still usable or announced as closing."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode()
    extra = b"Origin: http://evil.example\r\n" if refusal == "origin-403" else b""
    ctype = b"application/json" if refusal == "origin-403" else b"text/plain"
    head = (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: application/json, text/event-stream\r\n"
        b"Content-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (small_body_server.port, ctype, len(body), extra)
    )
    with socket.create_connection(("127.0.0.1", small_body_server.port), timeout=5) as s:
        s.sendall(head)  # the body follows only after the answer, as on a slow network
        first = _read_response_head(s)
        assert first.startswith(b"HTTP/1.1 4"), first
        if b"\r\nconnection: close" in first.lower():
            return
        time.sleep(0.3)  # the body arrives late: a server that waits for it must keep the connection
        s.sendall(body + b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        rest = _read_response_head(s)
        assert b"HTTP/1.1 200" in rest, f"the connection was closed without notice after: {first!r}"


def _read_response_head(s: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_sigterm_ends_open_streams_and_exits(toolwright_bin, tools_dir):
    """A stop signal ends the streams clients hold open (a 2026-07-28 `subscriptions/listen`
    and a 2025 session's GET stream) and the process exits at once, cleanly, instead of
    waiting for the clients to hang up."""
    import signal
    import threading

    from conftest import run_http_server

    with run_http_server(toolwright_bin, tools_dir) as server:
        listen = {
            "jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
            "params": {"notifications": {"toolsListChanged": True},
                       "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                 "io.modelcontextprotocol/clientCapabilities": {}}},
        }
        r = post(server.url, json.dumps(initialize_body(5)))
        sid = r.headers["mcp-session-id"]
        post(server.url, json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
             Mcp_Session_Id=sid, MCP_Protocol_Version="2025-11-25")
        ended = {}

        def hold(name, method, headers, body=None):
            h = {"Accept": ACCEPT, "Content-Type": "application/json", **headers}
            try:
                with httpx.Client(timeout=httpx.Timeout(20.0), trust_env=False) as client:
                    with client.stream(method, server.url, headers=h, content=body) as resp:
                        ended[name + "-status"] = resp.status_code
                        for _ in resp.iter_bytes():
                            pass
                ended[name] = "closed"
            except httpx.HTTPError as e:
                ended[name] = f"error: {e!r}"

        threads = [
            threading.Thread(target=hold, args=("listen", "POST", {"MCP-Protocol-Version": "2026-07-28",
                                                                   "Mcp-Method": "subscriptions/listen"}, json.dumps(listen))),
            threading.Thread(target=hold, args=("get", "GET", {"Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"})),
        ]
        for t in threads:
            t.daemon = True
            t.start()
        deadline = time.monotonic() + 10
        while len([k for k in ended if k.endswith("-status")]) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ended.get("listen-status") == 200 and ended.get("get-status") == 200, ended
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=8)
        took = time.monotonic() - started
        for t in threads:
            t.join(timeout=5)
        assert code == 0, server.log()[-2000:]
        assert took < 3, f"took {took:.1f} s to stop"
        assert "listen" in ended and "get" in ended, ended


def test_slow_and_idle_connections_are_closed_and_capped(toolwright_bin, tools_dir):
    """A client that sends half a request line used to keep its socket for ever, and a few
    hundred of them stopped real clients from being served. Now a connection that does not send
    a complete request head within --http-header-timeout is closed, and --max-connections caps
    what is open at once: a real client waits for a slot instead of being starved."""
    from conftest import run_http_server

    with run_http_server(toolwright_bin, tools_dir, "--http-header-timeout", "1s", "--max-connections", "3") as server:
        slow = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.sendall(b"GET /hea")
            slow.append(s)
        started = time.monotonic()
        r = httpx.get(f"{server.base}/healthz", timeout=10, trust_env=False)
        assert r.status_code == 200
        assert time.monotonic() - started < 6, "a real client waited for a slot"
        for s in slow:
            s.settimeout(5)
            closed_at = time.monotonic()
            try:
                while s.recv(4096):  # hyper may answer 408 before it closes
                    pass
            except ConnectionResetError:
                pass
            assert time.monotonic() - closed_at < 5, "the half-sent request's connection was closed"
            s.close()
        # An idle keep-alive connection is closed after the same time.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert b"200" in s.recv(4096)
            s.settimeout(5)
            started = time.monotonic()
            assert s.recv(4096) == b"", "the idle connection was closed"
            assert time.monotonic() - started < 5
        assert "connection limit reached" in server.log(), server.log()[-2000:]


def _meta() -> dict:
    return {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw-httpx", "version": "0"},
    }


@pytest.mark.parametrize(
    "method,params,name",
    [
        ("tools/call", {}, None),
        ("tools/call", {"name": "get_item", "arguments": 5}, "get_item"),
    ],
)
def test_malformed_params_are_invalid_params(small_body_server, method, params, name):
    """Params that do not fit a method the server implements are -32602 with the reason (rmcp
    answered -32601, method not found)."""
    body = {"jsonrpc": "2.0", "id": 5, "method": method, "params": {**params, "_meta": _meta()}}
    headers = {"MCP_Protocol_Version": "2026-07-28", "Mcp_Method": method}
    if name:
        headers["Mcp_Name"] = name
    msg = read_jsonrpc(post(small_body_server.url, json.dumps(body), **headers))
    assert msg["error"]["code"] == -32602, msg
    assert "invalid params" in msg["error"]["message"], msg


def test_unknown_log_level_is_invalid_params_in_a_2025_session(small_body_server):
    """`logging/setLevel` exists up to 2025-11-25 (2026-07-28 removed it: -32601 there, which the
    conformance suite checks); an unknown level is -32602 with the levels it takes."""
    r = post(small_body_server.url, json.dumps(initialize_body(4)))
    sid = r.headers["mcp-session-id"]
    post(small_body_server.url, json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
         MCP_Protocol_Version="2025-11-25", Mcp_Session_Id=sid)
    body = {"jsonrpc": "2.0", "id": 6, "method": "logging/setLevel", "params": {"level": "loud"}}
    msg = read_jsonrpc(post(small_body_server.url, json.dumps(body), MCP_Protocol_Version="2025-11-25", Mcp_Session_Id=sid))
    assert msg["error"]["code"] == -32602 and "debug" in msg["error"]["message"], msg
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        client.delete(small_body_server.url, headers={"Mcp-Session-Id": sid})


def test_session_delete_is_200(small_body_server):
    """The SDKs' clients expect 200 or 204 when they end a session (the Python SDK logged
    "Session termination failed: 202" on every close)."""
    r = post(small_body_server.url, json.dumps(initialize_body(3)))
    sid = r.headers["mcp-session-id"]
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        assert client.delete(small_body_server.url, headers={"Mcp-Session-Id": sid}).status_code == 200
