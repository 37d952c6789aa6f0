"""Resuming an SSE stream with `Last-Event-ID` (raw httpx against `serve --http`): a client
gets back what its own stream sent, byte for byte, and an event id cannot be forged to read
another stream's events (ids carry the stream's random id, not just a counter)."""

from __future__ import annotations

import json

import httpx

from test_http_robustness import TIMEOUT, initialize_body, post

V_OLD = "2025-11-25"


def sse_events(text: str) -> list[dict]:
    """The events of an SSE body: each a dict of its fields (`id`, `data`, `retry`)."""
    events, cur = [], {}
    for line in text.splitlines():
        if not line:
            if cur:
                events.append(cur)
            cur = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        cur[name] = cur.get(name, "") + value.removeprefix(" ")
    if cur:
        events.append(cur)
    return events


def open_session(url: str) -> str:
    r = post(url, json.dumps(initialize_body()))
    assert r.status_code == 200, r.text[:300]
    sid = r.headers["mcp-session-id"]
    r = post(url, json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
             Mcp_Session_Id=sid, MCP_Protocol_Version=V_OLD)
    assert r.status_code == 202, r.text[:300]
    return sid


def resume(url: str, last_event_id: str, sid: str | None) -> httpx.Response:
    h = {"Accept": "text/event-stream", "Last-Event-ID": last_event_id}
    if sid:
        h.update({"Mcp-Session-Id": sid, "MCP-Protocol-Version": V_OLD})
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        r = client.get(url, headers=h)
        r.read()
        return r


def test_a_stream_resumes_with_its_own_events_and_no_one_elses(http_server):
    url = http_server.url
    sid = open_session(url)
    call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "get_item", "arguments": {"id": 41}}}
    r = post(url, json.dumps(call), Mcp_Session_Id=sid, MCP_Protocol_Version=V_OLD)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text[:300]
    sent = sse_events(r.text)
    priming = [e for e in sent if "data" not in e or not e["data"].strip()]
    replies = [e for e in sent if e.get("data", "").strip()]
    assert priming and replies, sent
    first_id = priming[0]["id"]
    assert "/" in first_id, first_id  # <sequence>/<stream id>
    assert json.loads(replies[0]["data"])["id"] == 7

    # The owner resumes after the priming event: the reply again, same id, same JSON.
    again = sse_events(resume(url, first_id, sid).text)
    got = [e for e in again if e.get("data", "").strip()]
    assert [(e["id"], json.loads(e["data"])) for e in got] == [(e["id"], json.loads(e["data"])) for e in replies]

    # Another session, or no session at all, cannot read it with a counted or forged id.
    other = open_session(url)
    seq = first_id.split("/", 1)[0]
    for forged in (seq, f"{seq}/", f"{seq}/{other}:common", f"{int(seq) + 1}/x", "garbage"):
        for who in (other, None):
            r = resume(url, forged, who)
            assert r.status_code in (200, 400), (forged, r.status_code)
            leaked = [e for e in sse_events(r.text) if e.get("data", "").strip()]
            assert leaked == [], (forged, who, leaked)

    # The server keeps serving the owner afterwards.
    r = post(url, json.dumps({**call, "id": 8}), Mcp_Session_Id=sid, MCP_Protocol_Version=V_OLD)
    assert r.status_code == 200
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        client.delete(url, headers={"Mcp-Session-Id": sid})
        client.delete(url, headers={"Mcp-Session-Id": other})
