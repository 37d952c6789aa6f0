"""Tasks: calls of `task:` tools that outlast their request, served to real clients.

- The official Python SDK over stdio and Streamable HTTP polls with the built-in tools
  `get_task_status` and `cancel_task` (it does not declare the MCP Tasks extension).
- A raw 2026-07-28 HTTP client that declares `io.modelcontextprotocol/tasks` gets a task handle
  and uses `tasks/get` and `tasks/cancel`; the same client without the declaration never does.
- Two callers under token auth cannot see each other's tasks; `--max-tasks` refuses clearly; a
  reload never touches a running task; a stopped server ends its tasks as failed.

The backend is a real HTTP server on 127.0.0.1 whose `/slow` answers after the asked delay.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import anyio
import httpx
import pytest

from conftest import run_http_server
from helpers import LocalHttpServer, QuietHandler, mcp_session, text_of

NEW = "2026-07-28"
TASKS_EXT = "io.modelcontextprotocol/tasks"
TIMEOUT = httpx.Timeout(15.0)


class SlowBackend(LocalHttpServer):
    """`GET /slow?ms=N&tag=T` answers `{"slept": N, "tag": T}` after N ms; `/broken` answers 500.
    It records each request's tag when it starts and when it finishes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.finished: list[str] = []
        backend = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                url = urlparse(self.path)
                q = parse_qs(url.query)
                tag = q.get("tag", [""])[0]
                with backend.lock:
                    backend.started.append(tag)
                if url.path == "/slow":
                    ms = int(q.get("ms", ["0"])[0])
                    time.sleep(min(ms, 30_000) / 1000)
                    try:
                        self._json(200, {"slept": ms, "tag": tag})
                    except OSError:
                        return
                elif url.path == "/broken":
                    self._send(500, b"the job runner is down", "text/plain")
                else:
                    self._json(404, {"error": "no route"})
                with backend.lock:
                    backend.finished.append(tag)

        super().__init__(Handler)


def catalog(base_url: str) -> dict[str, str]:
    def tool(name: str, path: str, task: str, timeout: str = "40s") -> str:
        return f"""\
kind: tool
name: {name}
description: Runs the {name} job on the local job runner and returns what it answered.
annotations: {{read_only: true}}
input:
  type: object
  properties:
    ms: {{type: integer, minimum: 0, maximum: 30000, default: 0}}
    tag: {{type: string, pattern: "^[a-z0-9-]*$", default: ""}}
timeout: {timeout}
task: {task}
action:
  http:
    connection: jobs
    method: GET
    url: {path}
    query: {{ms: "{{{{ ms }}}}", tag: "{{{{ tag }}}}"}}
"""

    return {
        "connections.yaml": f"""\
kind: connection
name: jobs
http:
  base_url: {base_url}
  allow_private_networks: true
""",
        "jobs.yaml": "---\n".join(
            [
                tool("slow_job", "/slow", "{after: 0s, ttl: 10m, poll_interval: 1s}"),
                tool("quick_job", "/slow", "{after: 5s, poll_interval: 1s}"),
                tool("broken_job", "/broken", "{poll_interval: 1s}"),
                tool("tasks_only_job", "/slow", "{poll_interval: 1s, required: true}"),
            ]
        ),
        "plain.yaml": """\
kind: tool
name: plain_job
description: Runs the plain job inline, never as a task.
input:
  type: object
  properties:
    ms: {type: integer, minimum: 0, maximum: 30000, default: 0}
action:
  http:
    connection: jobs
    method: GET
    url: /slow
    query: {ms: "{{ ms }}"}
""",
    }


@pytest.fixture(scope="module")
def slow_backend():
    b = SlowBackend().start()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture(scope="module")
def tasks_dir(slow_backend, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("tasks") / "tools.d"
    root.mkdir()
    for name, text in catalog(slow_backend.base_url).items():
        (root / name).write_text(text)
    return str(root)


# --------------------------------------------------------------------------- raw HTTP helpers


def meta(tasks: bool) -> dict:
    caps = {"extensions": {TASKS_EXT: {}}} if tasks else {}
    return {
        "io.modelcontextprotocol/protocolVersion": NEW,
        "io.modelcontextprotocol/clientCapabilities": caps,
        "io.modelcontextprotocol/clientInfo": {"name": "raw-tasks-test", "version": "0"},
    }


def rpc(url: str, method: str, params: dict, *, tasks: bool, token: str | None = None, name: str | None = None) -> dict:
    """One 2026-07-28 request on its own connection; the JSON-RPC answer (JSON or SSE)."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta(tasks)}}
    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": NEW,
        "Mcp-Method": method,
    }
    if name is not None:
        headers["Mcp-Name"] = name
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        r = client.post(url, content=json.dumps(body), headers=headers)
    if r.status_code == 400:  # SEP-2575: a missing capability is also an HTTP 400, with the JSON-RPC error
        return r.json()
    assert r.status_code == 200, (r.status_code, r.text[:500])
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        msgs = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:") and line[5:].strip()]
        answers = [m for m in msgs if "id" in m]
        assert len(answers) == 1, msgs
        return answers[0]
    return r.json()


def call(url: str, tool: str, args: dict, *, tasks: bool, token: str | None = None) -> dict:
    return rpc(url, "tools/call", {"name": tool, "arguments": args}, tasks=tasks, token=token, name=tool)


def task_rpc(url: str, method: str, task_id: str, *, tasks: bool = True, token: str | None = None) -> dict:
    return rpc(url, method, {"taskId": task_id}, tasks=tasks, token=token, name=task_id)


def poll_until(fetch, done, what: str, limit_s: float = 20.0):
    deadline = time.monotonic() + limit_s
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {limit_s} s; last: {value}")
        time.sleep(0.2)


# --------------------------------------------------------------------------- SDK clients (poll tools)


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_sdk_client_polls_a_task_with_the_builtin_tools(transport, toolwright_bin, tasks_dir, slow_backend):
    with run_http_server(toolwright_bin, tasks_dir) as server:
        kwargs = {"toolwright_bin": toolwright_bin, "tools_dir": tasks_dir} if transport == "stdio" else {"url": server.url}
        with anyio.fail_after(60):
            async with mcp_session(transport, **kwargs) as session:
                names = {t.name for t in (await session.list_tools()).tools}
                assert {"get_task_status", "cancel_task", "slow_job", "plain_job"} <= names

                handle = await session.call_tool("slow_job", {"ms": 1500, "tag": f"sdk-{transport}"})
                assert not handle.is_error, text_of(handle)
                started = handle.structured_content
                assert started["status"] == "working"
                assert started["poll_with"] == "get_task_status"
                assert started["tool"] == "slow_job"
                task_id = started["task_id"]
                assert len(task_id) == 32 and int(task_id, 16) >= 0
                assert "get_task_status" in text_of(handle) and task_id in text_of(handle)

                deadline = time.monotonic() + 20
                while True:
                    status = await session.call_tool("get_task_status", {"task_id": task_id})
                    s = status.structured_content
                    if s["status"] != "working":
                        break
                    assert time.monotonic() < deadline, s
                    await anyio.sleep(0.3)
                assert s["status"] == "completed", s
                assert not status.is_error
                assert s["result"]["is_error"] is False
                assert s["result"]["structured"] == {"slept": 1500, "tag": f"sdk-{transport}"}
                assert '"slept":1500' in text_of(status)

                # A task whose result is a tool error reads as one through get_task_status.
                broken = await session.call_tool("broken_job", {})
                broken_id = broken.structured_content["task_id"]
                deadline = time.monotonic() + 20
                while True:
                    status = await session.call_tool("get_task_status", {"task_id": broken_id})
                    if status.structured_content["status"] != "working":
                        break
                    assert time.monotonic() < deadline
                    await anyio.sleep(0.3)
                assert status.structured_content["status"] == "completed"
                assert status.is_error
                assert "HTTP 500" in text_of(status)

                # Unknown ids and bad arguments are tool errors that say what to do.
                unknown = await session.call_tool("get_task_status", {"task_id": "0" * 32})
                assert unknown.is_error and "unknown task id" in text_of(unknown)
                bad = await session.call_tool("cancel_task", {"id": "x"})
                assert bad.is_error and "task_id" in text_of(bad)


@pytest.mark.anyio
async def test_sdk_client_cancels_a_task(toolwright_bin, tasks_dir, slow_backend):
    with run_http_server(toolwright_bin, tasks_dir) as server:
        with anyio.fail_after(60):
            async with mcp_session("http", url=server.url) as session:
                handle = await session.call_tool("slow_job", {"ms": 20000, "tag": "to-cancel"})
                task_id = handle.structured_content["task_id"]
                cancelled = await session.call_tool("cancel_task", {"task_id": task_id})
                assert not cancelled.is_error
                assert cancelled.structured_content["status"] == "cancelled"
                status = await session.call_tool("get_task_status", {"task_id": task_id})
                assert status.structured_content["status"] == "cancelled"
                assert "cancelled" in text_of(status)
                # Cancelling again changes nothing and is not an error.
                again = await session.call_tool("cancel_task", {"task_id": task_id})
                assert not again.is_error and again.structured_content["status"] == "cancelled"


@pytest.mark.anyio
async def test_a_call_that_ends_within_after_is_answered_inline(toolwright_bin, tasks_dir, slow_backend):
    with run_http_server(toolwright_bin, tasks_dir) as server:
        with anyio.fail_after(30):
            async with mcp_session("http", url=server.url) as session:
                result = await session.call_tool("quick_job", {"ms": 100, "tag": "inline"})
                assert not result.is_error
                assert result.structured_content == {"slept": 100, "tag": "inline"}
                plain = await session.call_tool("plain_job", {"ms": 0})
                assert plain.structured_content == {"slept": 0, "tag": ""}


# --------------------------------------------------------------------------- MCP Tasks (2026-07-28)


def test_mcp_tasks_client_gets_a_handle_and_polls_tasks_get(toolwright_bin, tasks_dir, slow_backend):
    with run_http_server(toolwright_bin, tasks_dir, "--stateless") as server:
        answer = call(server.url, "slow_job", {"ms": 1200, "tag": "mcp-task"}, tasks=True)
        result = answer["result"]
        assert result["resultType"] == "task", result
        assert result["status"] == "working"
        assert result["pollIntervalMs"] == 1000
        assert result["ttlMs"] >= 600_000
        assert result["createdAt"] and result["lastUpdatedAt"]
        task_id = result["taskId"]

        done = poll_until(
            lambda: task_rpc(server.url, "tasks/get", task_id)["result"],
            lambda r: r["status"] != "working",
            "the task to end",
        )
        assert done["resultType"] == "complete"
        assert done["status"] == "completed", done
        assert done["result"]["structuredContent"] == {"slept": 1200, "tag": "mcp-task"}
        assert done["result"].get("isError") in (None, False)

        # A tool error is a completed task whose result says isError.
        broken = call(server.url, "broken_job", {}, tasks=True)["result"]
        ended = poll_until(lambda: task_rpc(server.url, "tasks/get", broken["taskId"])["result"],
                           lambda r: r["status"] != "working", "the broken task to end")
        assert ended["status"] == "completed" and ended["result"]["isError"] is True

        # Cancel: acknowledged with an empty result, then the task reads cancelled.
        slow = call(server.url, "slow_job", {"ms": 20000, "tag": "mcp-cancel"}, tasks=True)["result"]
        ack = task_rpc(server.url, "tasks/cancel", slow["taskId"])
        assert ack["result"].get("resultType") == "complete", ack
        got = task_rpc(server.url, "tasks/get", slow["taskId"])["result"]
        assert got["status"] == "cancelled"

        # Unknown ids: -32602, for get and cancel.
        for method in ("tasks/get", "tasks/cancel"):
            err = task_rpc(server.url, method, "f" * 32)
            assert err["error"]["code"] == -32602, err

        # tasks/get from a client that did not declare the extension: -32021.
        err = task_rpc(server.url, "tasks/get", task_id, tasks=False)
        assert err["error"]["code"] == -32021, err


def test_a_client_without_the_extension_never_gets_a_task_handle(toolwright_bin, tasks_dir, slow_backend):
    with run_http_server(toolwright_bin, tasks_dir, "--stateless") as server:
        answer = call(server.url, "slow_job", {"ms": 300, "tag": "no-ext"}, tasks=False)
        result = answer["result"]
        assert result.get("resultType", "complete") == "complete", result
        assert "taskId" not in result
        handle = result["structuredContent"]
        assert handle["status"] == "working" and handle["poll_with"] == "get_task_status"
        # A tool with `task.required` is refused to it: -32021, naming the extension it needs.
        refused = call(server.url, "tasks_only_job", {"ms": 0}, tasks=False)
        assert refused["error"]["code"] == -32021, refused
        assert TASKS_EXT in json.dumps(refused["error"]["data"])
        assert call(server.url, "tasks_only_job", {"ms": 0}, tasks=True)["result"]["resultType"] == "task"
        # It polls with the built-in tool, as an SDK client does.
        done = poll_until(
            lambda: call(server.url, "get_task_status", {"task_id": handle["task_id"]}, tasks=False)["result"],
            lambda r: r["structuredContent"]["status"] != "working",
            "the task to end",
        )
        assert done["structuredContent"]["result"]["structured"] == {"slept": 300, "tag": "no-ext"}
        # The MCP Tasks client may read the same task with tasks/get: one registry.
        got = task_rpc(server.url, "tasks/get", handle["task_id"])["result"]
        assert got["status"] == "completed"


# --------------------------------------------------------------------------- ownership, limits


TOKENS = {"alice": "alice-token-0123456789abcdef", "bob": "bob-token-0123456789abcdef"}


def test_tasks_belong_to_the_caller_that_started_them(toolwright_bin, tasks_dir, slow_backend, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("".join(f"{name} {token}\n" for name, token in TOKENS.items()))
    with run_http_server(toolwright_bin, tasks_dir, "--stateless", "--auth-tokens", str(tokens)) as server:
        mine = call(server.url, "slow_job", {"ms": 3000, "tag": "alice"}, tasks=True, token=TOKENS["alice"])["result"]
        task_id = mine["taskId"]
        # Bob gets exactly what an unknown id gets, by MCP Tasks and by the built-in tools.
        for method in ("tasks/get", "tasks/cancel"):
            theirs = task_rpc(server.url, method, task_id, token=TOKENS["bob"])
            unknown = task_rpc(server.url, method, "a" * 32, token=TOKENS["bob"])
            assert theirs["error"]["code"] == unknown["error"]["code"] == -32602
            assert theirs["error"]["message"].replace(task_id, "ID") == unknown["error"]["message"].replace("a" * 32, "ID")
        for tool in ("get_task_status", "cancel_task"):
            theirs = call(server.url, tool, {"task_id": task_id}, tasks=False, token=TOKENS["bob"])["result"]
            unknown = call(server.url, tool, {"task_id": "a" * 32}, tasks=False, token=TOKENS["bob"])["result"]
            assert theirs["isError"] and unknown["isError"]
            assert text_of_raw(theirs).replace(task_id, "ID") == text_of_raw(unknown).replace("a" * 32, "ID")
        # Bob's cancel did nothing; Alice still reads her task, and it ends.
        done = poll_until(lambda: task_rpc(server.url, "tasks/get", task_id, token=TOKENS["alice"])["result"],
                          lambda r: r["status"] != "working", "alice's task to end")
        assert done["status"] == "completed"
        assert done["result"]["structuredContent"]["tag"] == "alice"


def text_of_raw(result: dict) -> str:
    return "\n".join(b.get("text", "") for b in result.get("content", []) if b.get("type") == "text")


def test_max_tasks_refuses_beyond_the_limit_clearly(toolwright_bin, tasks_dir, slow_backend):
    with run_http_server(toolwright_bin, tasks_dir, "--stateless", "--max-tasks", "1") as server:
        first = call(server.url, "slow_job", {"ms": 3000, "tag": "first"}, tasks=True)["result"]
        assert first["resultType"] == "task"
        second = call(server.url, "slow_job", {"ms": 0, "tag": "second"}, tasks=True)["result"]
        assert second["isError"] is True
        assert "--max-tasks 1" in text_of_raw(second)
        status = httpx.get(f"http://127.0.0.1:{server.port}/status", timeout=TIMEOUT, trust_env=False).json()
        assert status["tasks"]["running"] == 1 and status["tasks"]["max"] == 1
        assert status["tasks"]["list"][0]["tool"] == "slow_job"
        assert first["taskId"] not in json.dumps(status)
        metrics = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=TIMEOUT, trust_env=False).text
        assert "toolwright_tasks_running 1" in metrics
        task_rpc(server.url, "tasks/cancel", first["taskId"])
        metrics = poll_until(
            lambda: httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=TIMEOUT, trust_env=False).text,
            lambda m: 'toolwright_tasks_ended_total{outcome="cancelled"} 1' in m,
            "the cancelled task to be counted",
        )
        assert "toolwright_tasks_running 0" in metrics
        # The slot is free again.
        third = call(server.url, "slow_job", {"ms": 0, "tag": "third"}, tasks=True)["result"]
        assert third["resultType"] == "task"


def test_running_tasks_do_not_hold_the_in_flight_slots(toolwright_bin, tasks_dir, slow_backend):
    # --max-in-flight bounds calls that answer within a request; tasks are bounded by --max-tasks,
    # so long-running tasks never starve interactive calls of their slots.
    with run_http_server(toolwright_bin, tasks_dir, "--stateless", "--max-in-flight", "1", "--max-tasks", "3") as server:
        handles = [call(server.url, "slow_job", {"ms": 3000, "tag": f"t{i}"}, tasks=True)["result"] for i in range(3)]
        assert all(h["resultType"] == "task" for h in handles), handles
        # The one in-flight slot is free for an inline call.
        plain = call(server.url, "plain_job", {"ms": 0}, tasks=True)["result"]
        assert plain.get("isError") is not True, plain
        over = call(server.url, "slow_job", {"ms": 0, "tag": "over"}, tasks=True)["result"]
        assert over["isError"] is True and "--max-tasks 3" in text_of_raw(over), over
        for h in handles:
            task_rpc(server.url, "tasks/cancel", h["taskId"])


# --------------------------------------------------------------------------- reload, stop


def test_a_reload_never_touches_a_running_task(toolwright_bin, slow_backend, tmp_path):
    root = tmp_path / "tools.d"
    root.mkdir()
    for name, text in catalog(slow_backend.base_url).items():
        (root / name).write_text(text)
    with run_http_server(toolwright_bin, str(root), "--stateless") as server:
        task = call(server.url, "slow_job", {"ms": 2500, "tag": "reload"}, tasks=True)["result"]
        # The tool goes away (and the connection with it) while its task runs.
        (root / "jobs.yaml").write_text(catalog(slow_backend.base_url)["jobs.yaml"].split("---\n")[1])
        server.proc.send_signal(signal.SIGHUP)
        poll_until(
            lambda: {t["name"] for t in rpc(server.url, "tools/list", {}, tasks=False)["result"]["tools"]},
            lambda names: "slow_job" not in names,
            "the reload to drop slow_job",
        )
        done = poll_until(lambda: task_rpc(server.url, "tasks/get", task["taskId"])["result"],
                          lambda r: r["status"] != "working", "the task to end after the reload")
        assert done["status"] == "completed", done
        assert done["result"]["structuredContent"] == {"slept": 2500, "tag": "reload"}


def test_a_stopped_server_ends_its_running_tasks_as_failed(toolwright_bin, tasks_dir, slow_backend):
    with run_http_server(toolwright_bin, tasks_dir, "--stateless") as server:
        task = call(server.url, "slow_job", {"ms": 20000, "tag": "stopped"}, tasks=True)["result"]
        poll_until(lambda: server.log(), lambda log: "task started" in log, "the audit line of the start")
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=20)
        lines = [l for l in server.log().splitlines() if "task ended" in l]
        assert len(lines) == 1, server.log()
        assert task["taskId"] in lines[0] and re.search(r'outcome="?failed', lines[0]), lines[0]
