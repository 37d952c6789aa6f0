"""The `tools/call` and `tools/list` fast path (src/server/fast.rs) answers exactly as rmcp does.

The same raw requests go to servers with the fast path and to servers without it
(`TOOLWRIGHT_HTTP_FAST_PATH=0`), in both modes (default and `--stateless`); status, the
headers a client reads, and the body must be equal. The fast servers log each call they
answer themselves (at debug), so the test also proves which requests took the fast path:
the well-formed calls must, everything unusual must be left to rmcp."""

from __future__ import annotations

import json
import re
from typing import Iterator

import httpx
import pytest

from conftest import run_http_server

TIMEOUT = httpx.Timeout(10.0)
NEW = "2026-07-28"
OLD = "2025-11-25"
FAST_LINE = re.compile(r"tools/(call|list) on the fast path")
LOG = {"TOOLWRIGHT_LOG": "info,rmcp=warn,toolwright::server::fast=debug"}


def meta(version: str = NEW, **extra) -> dict:
    m = {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "0"},
    }
    m.update(extra)
    return m


def call_body(name: str, arguments=None, rid=7, style: str = NEW, params_extra: dict | None = None, meta_obj=None) -> dict:
    params: dict = {"name": name}
    if arguments is not None:
        params["arguments"] = arguments
    if style == NEW:
        params["_meta"] = meta() if meta_obj is None else meta_obj
    elif meta_obj is not None:
        params["_meta"] = meta_obj
    params.update(params_extra or {})
    return {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": params}


def headers_for(style: str, name: str | None = "get_item") -> list[tuple[str, str]]:
    h = [("Accept", "application/json, text/event-stream"), ("Content-Type", "application/json"), ("MCP-Protocol-Version", style)]
    if style == NEW:
        h.append(("Mcp-Method", "tools/call"))
        if name is not None:
            h.append(("Mcp-Name", name))
    return h


# (case id, style, headers, body, whether the fast path answers it when the mode allows)
def cases() -> list[tuple[str, str, list[tuple[str, str]], bytes, bool]]:
    out = []

    def add(cid, style, body, fast, headers=None, name="get_item"):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        out.append((cid, style, headers if headers is not None else headers_for(style, name), raw, fast))

    for style in (NEW, OLD):
        s = style[:4]
        add(f"{s}-ok", style, call_body("get_item", {"id": 1}, style=style), True)
        add(f"{s}-string-id", style, call_body("get_item", {"id": 2}, rid="req-\u00e9", style=style), True)
        add(f"{s}-bad-argument", style, call_body("get_item", {"id": 0}, style=style), True)
        add(f"{s}-unknown-argument", style, call_body("get_item", {"id": 1, "x": True}, style=style), True)
        add(f"{s}-backend-500", style, call_body("always_fails", {}, style=style), True, name="always_fails")
        add(f"{s}-truncated", style, call_body("list_big", {}, style=style), True, name="list_big")
        add(f"{s}-text", style, call_body("get_text", style=style), True, name="get_text")
        add(f"{s}-arguments-null", style, call_body("get_text", style=style, params_extra={"arguments": None}), True, name="get_text")
        add(f"{s}-unicode", style, call_body("echo_path", {"segment": "caf\u00e9/\u00fc ?#"}, style=style), True, name="echo_path")
        add(f"{s}-unknown-tool", style, call_body("get_itme", {"id": 1}, style=style), False, name="get_itme")
        add(f"{s}-extra-param", style, call_body("get_item", {"id": 1}, style=style, params_extra={"task": {"ttl": 1000}}), False)
        add(f"{s}-float-id", style, call_body("get_item", {"id": 1}, rid=1.5, style=style), False)
        add(f"{s}-null-id", style, call_body("get_item", {"id": 1}, rid=None, style=style), False)
        add(f"{s}-jsonrpc-1", style, {**call_body("get_item", {"id": 1}, style=style), "jsonrpc": "1.0"}, False)
        add(f"{s}-escaped-method", style, json.dumps(call_body("get_item", {"id": 1}, style=style)).replace("tools/call", "tools\\/call").encode(), False)
        add(f"{s}-not-json", style, b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_item"', False)
        add(f"{s}-duplicate-key", style, json.dumps(call_body("get_item", {"id": 1}, style=style))[:-1].encode() + b', "id": 8}', False)
        add(f"{s}-trailing-space", style, json.dumps(call_body("get_item", {"id": 3}, style=style)).encode() + b" \n", True)
        add(f"{s}-charset", style, call_body("get_item", {"id": 1}, style=style), True,
            headers=[(k, "application/json; charset=utf-8") if k == "Content-Type" else (k, v) for k, v in headers_for(style)])
        add(f"{s}-accept-q", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=[(k, "application/json;q=0.9, text/event-stream") if k == "Accept" else (k, v) for k, v in headers_for(style)])
        add(f"{s}-accept-json-only", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=[(k, "application/json") if k == "Accept" else (k, v) for k, v in headers_for(style)])
        add(f"{s}-origin", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=headers_for(style) + [("Origin", "http://localhost:5173")])
        add(f"{s}-foreign-origin", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=headers_for(style) + [("Origin", "https://evil.example")])
        add(f"{s}-foreign-host", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=headers_for(style) + [("Host", "evil.example")])
        add(f"{s}-progress", style, call_body("get_item", {"id": 1}, style=style, meta_obj=meta(style, progressToken="p1") if style == NEW else {"progressToken": "p1"}), False)
        add(f"{s}-param-header", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=headers_for(style) + [("Mcp-Param-Id", "1")])
        add(f"{s}-session-header", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=headers_for(style) + [("Mcp-Session-Id", "no-such-session")])
        add(f"{s}-two-versions", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=headers_for(style) + [("MCP-Protocol-Version", style)])
        add(f"{s}-no-version-header", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=[(k, v) for k, v in headers_for(style) if k != "MCP-Protocol-Version"])
        add(f"{s}-unknown-version", style, call_body("get_item", {"id": 1}, style=style), False,
            headers=[(k, "2024-01-01") if k == "MCP-Protocol-Version" else (k, v) for k, v in headers_for(style)])
        add(f"{s}-other-method", style, {"jsonrpc": "2.0", "id": 3, "method": "prompts/list", "params": {"_meta": meta()} if style == NEW else {}}, False,
            headers=[(k, "prompts/list") if k == "Mcp-Method" else (k, v) for k, v in headers_for(style, None)])
        list_headers = [(k, "tools/list") if k == "Mcp-Method" else (k, v) for k, v in headers_for(style, None)]
        list_params = {"_meta": meta()} if style == NEW else {}
        add(f"{s}-list", style, {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": list_params}, True, headers=list_headers)
        add(f"{s}-list-string-id", style, {"jsonrpc": "2.0", "id": "l\"1", "method": "tools/list", "params": list_params}, True, headers=list_headers)
        add(f"{s}-list-cursor", style, {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {**list_params, "cursor": "x"}}, False,
            headers=list_headers)
        add(f"{s}-list-progress", style, {"jsonrpc": "2.0", "id": 4, "method": "tools/list",
                                          "params": {"_meta": {**(meta() if style == NEW else {}), "progressToken": 3}}}, False, headers=list_headers)
        # Only 2026-07-28 has SEP-2243 headers; a 2025 request's Mcp-Name means nothing.
        add(f"{s}-list-name-header", style, {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": list_params}, style == OLD,
            headers=list_headers + [("Mcp-Name", "get_item")])
    # 2026-07-28 only: the metadata and the SEP-2243 headers.
    add("new-no-name-header", NEW, call_body("get_item", {"id": 1}), False, headers=headers_for(NEW, None))
    add("new-name-mismatch", NEW, call_body("get_item", {"id": 1}), False, headers=headers_for(NEW, "get_text"))
    add("new-name-base64", NEW, call_body("get_item", {"id": 1}), False, headers=headers_for(NEW, "=?base64?Z2V0X2l0ZW0=?="))
    add("new-method-mismatch", NEW, call_body("get_item", {"id": 1}), False,
        headers=[(k, "tools/list") if k == "Mcp-Method" else (k, v) for k, v in headers_for(NEW)])
    add("new-no-meta", NEW, call_body("get_item", {"id": 1}, meta_obj={}), False)
    add("new-no-capabilities", NEW, call_body("get_item", {"id": 1}, meta_obj={"io.modelcontextprotocol/protocolVersion": NEW}), False)
    add("new-meta-version-mismatch", NEW, call_body("get_item", {"id": 1}, meta_obj=meta(OLD)), False)
    add("new-traceparent", NEW, call_body("get_item", {"id": 1}, meta_obj=meta(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")), True)
    # 2025-11-25 with per-request metadata: rmcp checks it against the header.
    add("2025-meta-version", OLD, call_body("get_item", {"id": 1}, style=OLD, meta_obj=meta(OLD)), False)
    add("2025-list-no-params", OLD, {"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, True, headers=headers_for(OLD, None))
    add("new-list-no-meta", NEW, {"jsonrpc": "2.0", "id": 9, "method": "tools/list"}, False,
        headers=[(k, "tools/list") if k == "Mcp-Method" else (k, v) for k, v in headers_for(NEW, None)])
    return out


CASES = cases()


@pytest.fixture(scope="module", params=["default", "stateless"])
def pair(request, toolwright_bin: str, tools_dir: str) -> Iterator[tuple[str, object, object]]:
    extra = ("--stateless",) if request.param == "stateless" else ()
    with run_http_server(toolwright_bin, tools_dir, *extra, env=LOG) as fast, \
            run_http_server(toolwright_bin, tools_dir, *extra, env={**LOG, "TOOLWRIGHT_HTTP_FAST_PATH": "0"}) as slow:
        yield request.param, fast, slow


def send(url: str, headers: list[tuple[str, str]], body: bytes) -> httpx.Response:
    # A new connection per request: some cases are refusals (see test_http_robustness.post).
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        r = client.post(url, content=body, headers=httpx.Headers(headers))
        r.read()
        return r


def normal(r: httpx.Response) -> tuple:
    """What a client reads: status, the headers that matter, and the body (JSON-RPC
    messages parsed, SSE event ids aside)."""
    ctype = r.headers.get("content-type", "")
    if ctype.startswith("text/event-stream"):
        body = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:") and line[5:].strip()]
    else:
        body = r.content
    keep = ("content-type", "connection", "allow", "www-authenticate")
    return r.status_code, {k: r.headers.get(k) for k in keep}, "mcp-session-id" in r.headers, body


def fast_lines(server) -> int:
    return len(FAST_LINE.findall(server.log()))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fast_path_answers_as_rmcp_does(pair, case):
    mode, fast, slow = pair
    cid, style, headers, body, fast_ok = case
    before = fast_lines(fast)
    got = normal(send(fast.url, headers, body))
    want = normal(send(slow.url, headers, body))
    assert got == want, f"{mode} {cid}:\nfast path: {got}\nrmcp:      {want}"
    taken = fast_lines(fast) - before
    expected = fast_ok and (style == NEW or mode == "stateless")
    assert taken == (1 if expected else 0), f"{mode} {cid}: fast path taken {taken} times, expected {int(expected)}"
    assert fast_lines(slow) == 0


def test_tools_with_param_headers_are_left_to_rmcp(toolwright_bin, tools_dir, tmp_path):
    """A tool whose schema asks for `Mcp-Param-*` headers (`x-mcp-header`) is answered by
    rmcp, which checks those headers; the same call to a tool without them is not."""
    import shutil

    d = tmp_path / "tools.d"
    shutil.copytree(tools_dir, d)
    (d / "headers.yaml").write_text("""\
kind: tool
name: get_item_h
description: Fetch one item by its numeric id, the id also sent as a header.
input:
  type: object
  properties:
    id: {type: integer, minimum: 1, maximum: 1000000, x-mcp-header: Item-Id}
  required: [id]
  additionalProperties: false
action:
  http: {connection: local, method: GET, url: "/items/{{ id }}"}
""")
    with run_http_server(toolwright_bin, str(d), env=LOG) as fast, \
            run_http_server(toolwright_bin, str(d), env={**LOG, "TOOLWRIGHT_HTTP_FAST_PATH": "0"}) as slow:
        for name, extra, fast_ok in (("get_item_h", [("Mcp-Param-Item-Id", "5")], False),
                                     ("get_item_h", [], False),
                                     ("get_item", [], True)):
            headers = headers_for(NEW, name) + extra
            body = json.dumps(call_body(name, {"id": 5})).encode()
            before = fast_lines(fast)
            got, want = normal(send(fast.url, headers, body)), normal(send(slow.url, headers, body))
            assert got == want, f"{name} {extra}:\nfast path: {got}\nrmcp:      {want}"
            assert fast_lines(fast) - before == int(fast_ok), (name, extra)
