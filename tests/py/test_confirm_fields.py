"""Approval gates that ask for values (`confirm.fields`), through every way of asking.

- The official Python SDK over stdio (2025 revisions) answers `elicitation/create`: the form it gets
  is the gate's fields; an accepted answer reaches the backend as `confirm.<field>` (defaults filled
  in); an answer that does not fit the form, or a declined one, runs nothing.
- A raw 2026-07-28 MCP Tasks client sees the same form under `inputRequests` and answers it with
  `tasks/update`.
- A 2026-07-28 client without MCP Tasks gets an InputRequiredResult (SEP-2322) and retries with
  `inputResponses` and the `requestState`: the SDK's `Client` drives the rounds itself; raw HTTP
  checks a tampered, foreign or reused state, and a client that declared no elicitation.

The backend is a real HTTP server on 127.0.0.1 that records every request with its headers and body.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlparse

import anyio
import httpx
import pytest
from mcp import Client, ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from conftest import run_http_server
from helpers import LocalHttpServer, QuietHandler, text_of
from test_tasks import NEW, poll_until, task_rpc
from test_tasks import rpc as tasks_rpc

REQUEST_TIMEOUT_S = 15.0


class RollbackBackend(LocalHttpServer):
    """`POST /rollback/NAME` records its change-ticket header and JSON body."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[dict] = []
        backend = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null") if length else None
                with backend.lock:
                    backend.calls.append(
                        {"path": urlparse(self.path).path, "ticket": self.headers.get("X-Change-Ticket"), "body": body}
                    )
                self._json(200, {"ok": True, "ticket": self.headers.get("X-Change-Ticket"), "body": body})

        super().__init__(Handler)

    def seen(self) -> list[dict]:
        with self.lock:
            return list(self.calls)


GATE = """\
  message: "Roll back {{ service }}?"
  fields:
    ticket: {type: string, title: Change ticket, minLength: 3, maxLength: 20}
    reason: {type: string, enum: [incident, regression], default: incident}
    batch: {type: integer, minimum: 1, maximum: 5, default: 2}
    notify: {type: boolean, default: true}
  required: [ticket]
"""


def catalog(base_url: str) -> dict[str, str]:
    action = """\
action:
  http:
    connection: ops
    method: POST
    url: "/rollback/{{ service }}"
    headers: {X-Change-Ticket: "{{ confirm.ticket }}"}
    body: {reason: "{{ confirm.reason }}", batch: "{{ confirm.batch }}", notify: "{{ confirm.notify }}"}
"""
    tool = """\
kind: tool
name: {name}
description: Rolls a service back with the change ticket and reason the user gives.
annotations: {{read_only: false, destructive: true}}
input:
  type: object
  properties:
    service: {{type: string, pattern: "^[a-z][a-z0-9-]*$"}}
  required: [service]
timeout: {timeout}
{task}confirm:
"""
    return {
        "connections.yaml": f"kind: connection\nname: ops\nhttp:\n  base_url: {base_url}\n  allow_private_networks: true\n",
        "rollback.yaml": tool.format(name="rollback", timeout="30s", task="") + GATE + action,
        "rollback_task.yaml": tool.format(name="rollback_task", timeout="1m", task="task: {poll_interval: 1s}\n") + GATE + action,
        "rollback_quick.yaml": tool.format(name="rollback_quick", timeout="2s", task="") + GATE + action,
    }


@pytest.fixture
def ops(tmp_path):
    backend = RollbackBackend().start()
    root = tmp_path / "tools.d"
    root.mkdir()
    for name, text in catalog(backend.base_url).items():
        (root / name).write_text(text)
    try:
        yield backend, str(root)
    finally:
        backend.stop()


@asynccontextmanager
async def stdio_session(toolwright_bin: str, tools_dir: str, answer):
    asked: list = []

    async def on_elicit(context, params):
        asked.append(params)
        return answer(params)

    params = StdioServerParameters(
        command=toolwright_bin, args=["serve", "--tools", tools_dir, "--no-watch"], env={"TOOLWRIGHT_LOG": "warn", "NO_COLOR": "1"}
    )
    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(stdio_client(params))
        session = await stack.enter_async_context(
            ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S, elicitation_callback=on_elicit)
        )
        await session.initialize()
        yield session, asked


def accept(content):
    return lambda _params: types.ElicitResult(action="accept", content=content)


@pytest.mark.anyio
async def test_the_form_is_the_fields_and_the_answer_reaches_the_action(toolwright_bin, ops):
    backend, tools = ops
    with anyio.fail_after(60):
        async with stdio_session(toolwright_bin, tools, accept({"ticket": "CHG-1234", "batch": 4})) as (session, asked):
            result = await session.call_tool("rollback", {"service": "checkout"})
    assert result.is_error is not True, text_of(result)
    (params,) = asked
    assert params.message == "Roll back checkout?"
    schema = params.requested_schema
    assert list(schema["properties"]) == ["ticket", "reason", "batch", "notify"]
    assert schema["required"] == ["ticket"]
    assert schema["properties"]["reason"] == {"type": "string", "enum": ["incident", "regression"], "default": "incident"}
    assert "confirm" not in schema["properties"], "a form with fields has no yes/no boolean"
    # The answers, with the defaults of the fields left out, in their places and types.
    assert backend.seen() == [
        {"path": "/rollback/checkout", "ticket": "CHG-1234", "body": {"reason": "incident", "batch": 4, "notify": True}}
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content", "why"),
    [
        ({"batch": 2}, "the required field `ticket` is missing"),
        ({"ticket": "CHG-1", "batch": 9}, "field `batch`"),
        ({"ticket": "CHG-1", "reason": "boredom"}, "field `reason`"),
        ({"ticket": "CHG-1", "extra": 1}, "the form has no field `extra`"),
        ({"ticket": "CHG-1\r\nX-Evil: 1"}, "field `ticket` is refused for"),
    ],
)
async def test_an_answer_that_does_not_fit_the_form_runs_nothing(toolwright_bin, ops, content, why):
    backend, tools = ops
    with anyio.fail_after(60):
        async with stdio_session(toolwright_bin, tools, accept(content)) as (session, _asked):
            result = await session.call_tool("rollback", {"service": "checkout"})
    assert result.is_error is True
    assert why in text_of(result) and "nothing was run" in text_of(result), text_of(result)
    assert backend.seen() == []


@pytest.mark.anyio
async def test_a_declined_form_runs_nothing(toolwright_bin, ops):
    backend, tools = ops
    with anyio.fail_after(60):
        async with stdio_session(toolwright_bin, tools, lambda _p: types.ElicitResult(action="decline")) as (session, _asked):
            result = await session.call_tool("rollback", {"service": "checkout"})
    assert result.is_error is True and "declined" in text_of(result), text_of(result)
    assert backend.seen() == []


def test_an_mcp_tasks_client_fills_in_the_form_with_tasks_update(toolwright_bin, ops):
    backend, tools = ops
    with run_http_server(toolwright_bin, tools, "--stateless") as server:
        created = tasks_rpc(server.url, "tools/call", {"name": "rollback_task", "arguments": {"service": "search"}},
                            tasks=True, name="rollback_task")["result"]
        task_id = created["taskId"]
        waiting = poll_until(lambda: task_rpc(server.url, "tasks/get", task_id)["result"],
                             lambda r: r["status"] != "working", "the question")
        assert waiting["status"] == "input_required", waiting
        (key, request), = waiting["inputRequests"].items()
        assert request["params"]["requestedSchema"]["required"] == ["ticket"]
        assert set(request["params"]["requestedSchema"]["properties"]) == {"ticket", "reason", "batch", "notify"}
        answer = {"action": "accept", "content": {"ticket": "CHG-77", "reason": "regression", "notify": False}}
        tasks_rpc(server.url, "tasks/update", {"taskId": task_id, "inputResponses": {key: answer}}, tasks=True, name=task_id)
        done = poll_until(lambda: task_rpc(server.url, "tasks/get", task_id)["result"],
                          lambda r: r["status"] not in ("working", "input_required"), "the task to end")
        assert done["status"] == "completed" and not done["result"].get("isError"), done
    assert backend.seen() == [
        {"path": "/rollback/search", "ticket": "CHG-77", "body": {"reason": "regression", "batch": 2, "notify": False}}
    ]


# --------------------------------------------------------------------------- 2026-07-28 without MCP Tasks


def call(url: str, arguments: dict, *, name: str = "rollback", caps: dict | None = None, **extra) -> dict:
    """One raw 2026-07-28 `tools/call` (no MCP Tasks); the JSON-RPC answer."""
    caps = {"elicitation": {}} if caps is None else caps
    meta = {
        "io.modelcontextprotocol/protocolVersion": NEW,
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-mrtr-test", "version": "0"},
    }
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments, **extra, "_meta": meta}}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": NEW, "Mcp-Method": "tools/call", "Mcp-Name": name}
    with httpx.Client(timeout=REQUEST_TIMEOUT_S, trust_env=False) as client:
        r = client.post(url, content=json.dumps(body), headers=headers)
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        return [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:") and line[5:].strip() and '"id"' in line][-1]
    return r.json()


ANSWER = {"confirm": {"action": "accept", "content": {"ticket": "CHG-9"}}}


def test_a_2026_call_without_tasks_is_asked_with_an_input_required_result(toolwright_bin, ops):
    backend, tools = ops
    with run_http_server(toolwright_bin, tools, "--stateless") as server:
        first = call(server.url, {"service": "web"})["result"]
        assert first["resultType"] == "input_required", first
        request = first["inputRequests"]["confirm"]
        assert request["method"] == "elicitation/create"
        assert request["params"]["message"] == "Roll back web?"
        assert request["params"]["requestedSchema"]["required"] == ["ticket"]
        state = first["requestState"]
        assert backend.seen() == [], "nothing runs before the answer"

        # A retry without the answer is asked again; nothing runs.
        again = call(server.url, {"service": "web"}, requestState=state)["result"]
        assert again["resultType"] == "input_required" and backend.seen() == []

        # Tampered, for other arguments, or not a state at all: a JSON-RPC error, nothing runs.
        for args, bad in (({"service": "web"}, state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB")),
                          ({"service": "db"}, state), ({"service": "web"}, "not-a-state")):
            error = call(server.url, args, requestState=bad, inputResponses=ANSWER)["error"]
            assert error["code"] == -32602 and "integrity" in error["message"], error
        assert backend.seen() == []

        # An answer that does not fit the form runs nothing (a tool error that names the field).
        short = call(server.url, {"service": "web"}, requestState=call(server.url, {"service": "web"})["result"]["requestState"],
                     inputResponses={"confirm": {"action": "accept", "content": {"ticket": "C"}}})["result"]
        assert short["isError"] is True and "ticket" in short["content"][0]["text"], short
        assert backend.seen() == []

        done = call(server.url, {"service": "web"}, requestState=state, inputResponses=ANSWER)["result"]
        assert done.get("isError") is not True, done
        assert backend.seen() == [{"path": "/rollback/web", "ticket": "CHG-9", "body": {"reason": "incident", "batch": 2, "notify": True}}]
        # The same state again: refused, the action does not run twice.
        error = call(server.url, {"service": "web"}, requestState=state, inputResponses=ANSWER)["error"]
        assert "already used" in error["message"], error
        assert len(backend.seen()) == 1

        # A declined answer runs nothing.
        fresh = call(server.url, {"service": "web"})["result"]["requestState"]
        declined = call(server.url, {"service": "web"}, requestState=fresh, inputResponses={"confirm": {"action": "decline"}})["result"]
        assert declined["isError"] is True and "declined" in declined["content"][0]["text"]
        assert len(backend.seen()) == 1


def test_a_state_from_another_server_process_is_foreign(toolwright_bin, ops):
    backend, tools = ops
    with run_http_server(toolwright_bin, tools, "--stateless") as one:
        state = call(one.url, {"service": "web"})["result"]["requestState"]
    with run_http_server(toolwright_bin, tools, "--stateless") as other:
        error = call(other.url, {"service": "web"}, requestState=state, inputResponses=ANSWER)["error"]
    assert "integrity" in error["message"], error
    assert backend.seen() == []


def test_a_state_expires_with_the_tools_timeout(toolwright_bin, ops):
    backend, tools = ops
    with run_http_server(toolwright_bin, tools, "--stateless") as server:
        state = call(server.url, {"service": "web"}, name="rollback_quick")["result"]["requestState"]
        time.sleep(2.5)
        error = call(server.url, {"service": "web"}, name="rollback_quick", requestState=state, inputResponses=ANSWER)["error"]
    assert "expired" in error["message"], error
    assert backend.seen() == []


def test_a_2026_client_without_elicitation_cannot_be_asked(toolwright_bin, ops):
    backend, tools = ops
    with run_http_server(toolwright_bin, tools, "--stateless") as server:
        result = call(server.url, {"service": "web"}, caps={"sampling": {}})["result"]
    assert result.get("resultType") != "input_required"
    assert result["isError"] is True and "cannot be asked" in result["content"][0]["text"], result
    assert backend.seen() == []


@pytest.mark.anyio
async def test_the_sdk_client_drives_the_input_required_rounds_itself(toolwright_bin, ops):
    backend, tools = ops
    asked: list = []

    async def on_elicit(context, params):
        asked.append(params)
        return types.ElicitResult(action="accept", content={"ticket": "CHG-55", "reason": "regression"})

    with run_http_server(toolwright_bin, tools, "--stateless") as server:
        with anyio.fail_after(60):
            async with Client(server.url, mode=NEW, elicitation_callback=on_elicit, read_timeout_seconds=REQUEST_TIMEOUT_S) as client:
                result = await client.call_tool("rollback", {"service": "api"})
    assert result.is_error is not True, text_of(result)
    assert [p.message for p in asked] == ["Roll back api?"]
    assert backend.seen() == [{"path": "/rollback/api", "ticket": "CHG-55", "body": {"reason": "regression", "batch": 2, "notify": True}}]
