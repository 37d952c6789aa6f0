"""Approval gates (`confirm:`): before a gated action runs, the user is asked.

- The official Python SDK over stdio (2025 revisions) answers `elicitation/create`: approved, the
  action runs; declined or answered no, nothing reaches the backend; a client without
  elicitation gets a tool error and nothing runs.
- A raw 2026-07-28 MCP Tasks client sees the task in `input_required` with the question in
  `inputRequests`, and answers it with `tasks/update`.
- The canary: a sequence that deploys, watches an error rate that the test flips, and rolls
  back in `on_fail` only when the user approves: declined, the rollback never arrives.

The backend is a real HTTP server on 127.0.0.1 that records every request.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import AsyncExitStack, asynccontextmanager
from urllib.parse import urlparse

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from conftest import run_http_server
from helpers import LocalHttpServer, QuietHandler, text_of
from test_tasks import poll_until, rpc, task_rpc

REQUEST_TIMEOUT_S = 15.0


class OpsBackend(LocalHttpServer):
    """`POST /restart`, `/deploy`, `/rollback` record themselves; `GET /errors` answers the
    current error rate, which the test sets."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.error_rate = 0.0
        backend = self

        class Handler(QuietHandler):
            def _record(self) -> str:
                path = urlparse(self.path).path
                with backend.lock:
                    backend.requests.append(f"{self.command} {path}")
                return path

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                path = self._record()
                self._json(200, {"ok": True, "did": path.strip("/")})

            def do_GET(self):  # noqa: N802
                self._record()
                with backend.lock:
                    rate = backend.error_rate
                self._json(200, {"error_rate": rate})

        super().__init__(Handler)

    def seen(self, what: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r == what)


def catalog(base_url: str) -> dict[str, str]:
    return {
        "connections.yaml": f"""\
kind: connection
name: ops
http:
  base_url: {base_url}
  allow_private_networks: true
""",
        "restart.yaml": """\
kind: tool
name: restart_service
description: Restarts a service after the user approves.
annotations: {read_only: false, destructive: true}
input:
  type: object
  properties:
    service: {type: string, pattern: "^[a-z][a-z0-9-]*$"}
  required: [service]
confirm: {message: "Restart {{ service }} now?"}
action:
  http:
    connection: ops
    method: POST
    url: /restart
    body: {service: "{{ service }}"}
---
kind: tool
name: restart_service_task
description: Restarts a service after the user approves, as a task.
annotations: {read_only: false, destructive: true}
input:
  type: object
  properties:
    service: {type: string, pattern: "^[a-z][a-z0-9-]*$"}
  required: [service]
timeout: 2m
task: {poll_interval: 1s}
confirm: {message: "Restart {{ service }} now (task)?"}
action:
  http:
    connection: ops
    method: POST
    url: /restart
    body: {service: "{{ service }}"}
""",
        "watch.yaml": """\
kind: tool
name: watch_errors
description: Watches the error rate for half a minute, as a task.
annotations: {read_only: true}
input: {type: object}
timeout: 1m
task: {poll_interval: 1s}
action:
  watch:
    every: 1s
    for: 30s
    check: {http: {connection: ops, url: /errors}}
    fail_when: '.error_rate > 2'
""",
        "canary.yaml": """\
kind: tool
name: canary_deploy
description: Deploys a version to the canary, watches its error rate, and rolls back after the user approves.
annotations: {read_only: false, destructive: true}
input:
  type: object
  properties:
    service: {type: string, pattern: "^[a-z][a-z0-9-]*$"}
    version: {type: string, pattern: "^v[0-9]+$"}
  required: [service, version]
timeout: 1m
action:
  steps:
    run:
      - id: deploy
        http: {connection: ops, method: POST, url: /deploy, body: {service: "{{ service }}", version: "{{ version }}"}}
      - id: monitor
        watch:
          every: 1s
          for: 6s
          check: {http: {connection: ops, url: /errors}}
          fail_when: '.error_rate > 2'
    on_fail:
      http: {connection: ops, method: POST, url: /rollback, body: {service: "{{ service }}"}}
      confirm: {message: "The canary of {{ service }} failed ({{ failed.step }}). Roll back?"}
""",
    }


@pytest.fixture
def ops(tmp_path):
    backend = OpsBackend().start()
    root = tmp_path / "tools.d"
    root.mkdir()
    for name, text in catalog(backend.base_url).items():
        (root / name).write_text(text)
    try:
        yield backend, str(root)
    finally:
        backend.stop()


@asynccontextmanager
async def stdio_session(toolwright_bin: str, tools_dir: str, answer=None, logs: list | None = None):
    """An SDK session over stdio; `answer(message) -> ElicitResult` makes it a client that takes
    elicitation requests (and records each message), else it declares no elicitation."""
    asked: list[str] = []

    async def on_log(params):
        logs.append((params.level, params.data))

    async def on_elicit(context, params):
        asked.append(params.message)
        return answer(params.message)

    params = StdioServerParameters(
        command=toolwright_bin, args=["serve", "--tools", tools_dir, "--no-watch"], env={"TOOLWRIGHT_LOG": "warn", "NO_COLOR": "1"}
    )
    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(stdio_client(params))
        session = await stack.enter_async_context(
            ClientSession(
                read,
                write,
                read_timeout_seconds=REQUEST_TIMEOUT_S,
                elicitation_callback=on_elicit if answer else None,
                logging_callback=on_log if logs is not None else None,
            )
        )
        await session.initialize()
        yield session, asked


def approve(_message):
    return types.ElicitResult(action="accept", content={"confirm": True})


def say_no(_message):
    return types.ElicitResult(action="accept", content={"confirm": False})


def decline(_message):
    return types.ElicitResult(action="decline")


@pytest.mark.anyio
async def test_an_approved_call_runs_and_a_refused_one_runs_nothing(toolwright_bin, ops):
    backend, tools = ops
    with anyio.fail_after(60):
        async with stdio_session(toolwright_bin, tools, approve) as (session, asked):
            result = await session.call_tool("restart_service", {"service": "checkout"})
            assert result.is_error is not True, text_of(result)
            assert result.structured_content == {"ok": True, "did": "restart"}
            assert asked == ["Restart checkout now?"]
            assert backend.seen("POST /restart") == 1
        for answer, why in ((decline, "the user declined"), (say_no, "the user answered no")):
            async with stdio_session(toolwright_bin, tools, answer) as (session, asked):
                result = await session.call_tool("restart_service", {"service": "payments"})
                assert result.is_error is True
                assert why in text_of(result) and "nothing was run" in text_of(result), text_of(result)
                assert asked == ["Restart payments now?"]
        assert backend.seen("POST /restart") == 1


@pytest.mark.anyio
async def test_a_client_that_cannot_be_asked_gets_an_error_and_nothing_runs(toolwright_bin, ops):
    backend, tools = ops
    with anyio.fail_after(60):
        async with stdio_session(toolwright_bin, tools, None) as (session, _asked):
            result = await session.call_tool("restart_service", {"service": "checkout"})
            assert result.is_error is True
            assert "cannot be asked" in text_of(result) and "nothing was run" in text_of(result), text_of(result)
    assert backend.seen("POST /restart") == 0


def test_an_mcp_tasks_client_answers_the_question_with_tasks_update(toolwright_bin, ops):
    backend, tools = ops
    with run_http_server(toolwright_bin, tools, "--stateless") as server:
        for approved in (True, False):
            created = rpc(server.url, "tools/call", {"name": "restart_service_task", "arguments": {"service": "search"}},
                          tasks=True, name="restart_service_task")["result"]
            assert created["resultType"] == "task", created
            task_id = created["taskId"]
            waiting = poll_until(lambda: task_rpc(server.url, "tasks/get", task_id)["result"],
                                 lambda r: r["status"] != "working", "the question")
            assert waiting["status"] == "input_required", waiting
            (key, request), = waiting["inputRequests"].items()
            assert request["method"] == "elicitation/create"
            assert request["params"]["message"] == "Restart search now (task)?"
            assert request["params"]["requestedSchema"]["properties"]["confirm"]["type"] == "boolean"
            assert backend.seen("POST /restart") == (1 if not approved else 0)
            # An answer to a key that is not open is ignored; the task keeps waiting.
            ack = rpc(server.url, "tasks/update", {"taskId": task_id, "inputResponses": {"nope": {"action": "accept"}}},
                      tasks=True, name=task_id)
            assert ack["result"]["resultType"] == "complete"
            assert task_rpc(server.url, "tasks/get", task_id)["result"]["status"] == "input_required"
            answer = {"action": "accept", "content": {"confirm": True}} if approved else {"action": "decline"}
            rpc(server.url, "tasks/update", {"taskId": task_id, "inputResponses": {key: answer}}, tasks=True, name=task_id)
            done = poll_until(lambda: task_rpc(server.url, "tasks/get", task_id)["result"],
                              lambda r: r["status"] not in ("working", "input_required"), "the task to end")
            assert done["status"] == "completed"
            if approved:
                assert done["result"]["structuredContent"] == {"ok": True, "did": "restart"}
            else:
                assert done["result"]["isError"] is True
                assert "declined" in json.dumps(done["result"])
        assert backend.seen("POST /restart") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("approved", [True, False])
async def test_the_canary_rolls_back_only_when_the_user_approves(toolwright_bin, ops, approved):
    backend, tools = ops
    backend.error_rate = 0.5

    def flip_after_two_checks():
        deadline = time.monotonic() + 20
        while backend.seen("GET /errors") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        with backend.lock:
            backend.error_rate = 7.5

    flipper = threading.Thread(target=flip_after_two_checks, daemon=True)
    flipper.start()
    with anyio.fail_after(60):
        async with stdio_session(toolwright_bin, tools, approve if approved else decline) as (session, asked):
            result = await session.call_tool("canary_deploy", {"service": "checkout", "version": "v42"})
    flipper.join(timeout=5)
    text = text_of(result)
    assert result.is_error is True, text
    assert "breached" in text, text
    assert asked == ["The canary of checkout failed (monitor). Roll back?"]
    assert backend.seen("POST /deploy") == 1
    checks = backend.seen("GET /errors")
    assert checks >= 3
    if approved:
        assert backend.seen("POST /rollback") == 1, backend.requests
        assert "on_fail ran" in text, text
    else:
        assert backend.seen("POST /rollback") == 0, backend.requests
        assert "on_fail did not run" in text and "declined" in text, text
    time.sleep(1.5)
    assert backend.seen("GET /errors") == checks, "no check after the end"


@pytest.mark.anyio
async def test_a_watch_task_reports_its_checks_and_stops_at_once_when_cancelled(toolwright_bin, ops):
    """The task's status message moves with the watch ("check N/30: ..."), polling never reaches
    the backend, and cancel_task stops the checks at once."""
    backend, tools = ops
    with anyio.fail_after(60):
        async with stdio_session(toolwright_bin, tools, None) as (session, _asked):
            handle = await session.call_tool("watch_errors", {})
            task_id = handle.structured_content["task_id"]
            deadline = time.monotonic() + 20
            while True:
                status = (await session.call_tool("get_task_status", {"task_id": task_id})).structured_content
                if "check 3/30" in (status.get("status_message") or ""):
                    break
                assert time.monotonic() < deadline, status
                await anyio.sleep(0.1)
            assert status["status"] == "working"
            assert status["progress"]["total"] == 30
            # Polls are answered from the task: a burst of them sends nothing to the backend
            # beyond the once-a-second checks.
            before = backend.seen("GET /errors")
            for _ in range(20):
                await session.call_tool("get_task_status", {"task_id": task_id})
            assert backend.seen("GET /errors") - before <= 1
            cancelled = await session.call_tool("cancel_task", {"task_id": task_id})
            assert cancelled.structured_content["status"] == "cancelled"
            checks = backend.seen("GET /errors")
            await anyio.sleep(2.5)
            assert backend.seen("GET /errors") == checks, "no check after a cancel"


@pytest.mark.anyio
async def test_a_client_that_sets_a_log_level_hears_what_the_call_does(toolwright_bin, ops):
    """notifications/message at the level the client set: the steps, each request sent and
    answered, each check; a client that set no level hears nothing."""
    backend, tools = ops
    backend.error_rate = 0.5
    with anyio.fail_after(60):
        logs: list = []
        async with stdio_session(toolwright_bin, tools, approve, logs) as (session, _asked):
            await session.set_logging_level("debug")
            result = await session.call_tool("canary_deploy", {"service": "checkout", "version": "v42"})
            assert result.is_error is not True, text_of(result)
            await anyio.sleep(0.3)
        messages = [str(data) for _level, data in logs]
        assert "step 1 of 2: deploy" in messages, messages
        assert f"sending POST {backend.base_url}/deploy" in messages, messages
        assert any(m.startswith(f"POST {backend.base_url}/deploy answered in ") for m in messages), messages
        assert any(m.startswith("check 1/6") for m in messages), messages
        assert all("v42" not in m for m in messages), "no argument values in the log"

        quiet: list = []
        async with stdio_session(toolwright_bin, tools, approve, quiet) as (session, _asked):
            await session.set_logging_level("warning")
            await session.call_tool("canary_deploy", {"service": "checkout", "version": "v43"})
            await anyio.sleep(0.3)
        assert quiet == [], quiet
