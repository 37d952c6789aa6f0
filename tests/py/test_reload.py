"""Hot reload as clients see it (issue 5): notifications over stdio and HTTP, the last good
catalog kept on errors, Kubernetes-style symlink swaps, file deletion and addition, and
reloads under load. Every wait is bounded; only 127.0.0.1 is used."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.request
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import anyio
import httpx
import mcp.types as types
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from conftest import HttpServer, _env, _stop, _wait_healthy, free_port, tools_yaml

WAIT_S = 15.0


def tool_doc(name: str, description: str = "A reloadable tool.") -> str:
    return f"""\
kind: tool
name: {name}
description: {description}
input:
  type: object
  properties:
    id: {{type: integer, minimum: 1}}
  required: [id]
action:
  http:
    connection: local
    url: /items/{{{{ id }}}}
"""


def write_catalog(root: Path, base_url: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    files = tools_yaml(base_url)
    (root / "connections.yaml").write_text(files["connections.yaml"])
    (root / "items.yaml").write_text(files["items.yaml"].split("\n---\n")[0] + "\n")


@contextmanager
def serve_http(toolwright_bin: str, tools_dir: Path, *extra: str):
    port = free_port()
    log_path = tools_dir.parent / f"serve-{port}.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [toolwright_bin, "serve", "--tools", str(tools_dir), "--http", f"127.0.0.1:{port}", *extra],
        stdout=log, stderr=subprocess.STDOUT, env=_env(),
    )
    server = HttpServer(proc=proc, port=port, log_path=log_path)
    try:
        _wait_healthy(server)
        yield server
    finally:
        _stop(proc)
        log.close()


def status(server: HttpServer) -> dict:
    with urllib.request.urlopen(f"{server.base}/status", timeout=5) as r:
        return json.loads(r.read())


def wait_for(predicate, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Notifications:
    def __init__(self) -> None:
        self.count = 0
        self.event = anyio.Event()

    async def handler(self, message) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self.count += 1
            self.event.set()


async def open_session(stack: AsyncExitStack, transport: str, notes: Notifications, *, toolwright_bin=None, tools_dir=None, url=None):
    if transport == "stdio":
        params = StdioServerParameters(command=toolwright_bin, args=["serve", "--tools", str(tools_dir)], env={"TOOLWRIGHT_LOG": "warn", "NO_COLOR": "1"})
        read, write = await stack.enter_async_context(stdio_client(params))
    else:
        read, write = await stack.enter_async_context(streamable_http_client(url))
    session = await stack.enter_async_context(ClientSession(read, write, message_handler=notes.handler, read_timeout_seconds=15))
    await session.initialize()
    return session


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_client_receives_list_changed_and_lists_new_tool(transport, toolwright_bin, backend, tmp_path):
    root = tmp_path / "tools.d"
    write_catalog(root, backend.base_url)
    notes = Notifications()
    with anyio.fail_after(40):
        async with AsyncExitStack() as stack:
            if transport == "http":
                server = stack.enter_context(serve_http(toolwright_bin, root))
                session = await open_session(stack, "http", notes, url=server.url)
            else:
                session = await open_session(stack, "stdio", notes, toolwright_bin=toolwright_bin, tools_dir=root)
            names = {t.name for t in (await session.list_tools()).tools}
            assert names == {"get_item"}
            # Give the server's GET stream (HTTP) time to open before the change.
            await anyio.sleep(0.5)
            (root / "new.yaml").write_text(tool_doc("brand_new"))
            with anyio.fail_after(WAIT_S):
                await notes.event.wait()
            names = {t.name for t in (await session.list_tools()).tools}
            assert names == {"get_item", "brand_new"}
            # Rewriting a file with the same bytes changes nothing and notifies nobody.
            (root / "new.yaml").write_text(tool_doc("brand_new"))
            await anyio.sleep(1.0)
            assert notes.count == 1


def test_invalid_edit_keeps_old_catalog_then_fix_reloads(toolwright_bin, backend, tmp_path):
    root = tmp_path / "tools.d"
    write_catalog(root, backend.base_url)
    with serve_http(toolwright_bin, root, "--stateless") as server:
        before = status(server)
        (root / "broken.yaml").write_text(tool_doc("broken").replace("description:", "descripton:"))
        failed = wait_for(lambda: status(server).get("last_failed_reload"), "a failed reload in /status")
        diags = failed["diagnostics"]
        assert any(d["code"] == "unknown-field" and d["file"].endswith("broken.yaml") and d["line"] == 3 for d in diags), diags
        # The log shows the diagnostic as lint renders it: file:line:column.
        wait_for(lambda: "broken.yaml:3:1" in server.log(), "the diagnostic in the log")
        assert "error[unknown-field]" in server.log()
        now = status(server)
        assert now["catalog_hash"] == before["catalog_hash"] and now["generation"] == before["generation"]
        # Calls keep working on the old catalog.
        r = call(server, "get_item", {"id": 3})
        assert r["result"].get("isError") is not True, r
        # Back to the files of the catalog in force: no reload runs, and the failure, which no
        # longer describes the files, is cleared (it used to stay in /status).
        (root / "broken.yaml").unlink()
        wait_for(lambda: status(server).get("last_failed_reload") is None, "the failure cleared")
        assert status(server)["generation"] == before["generation"]
        (root / "broken.yaml").write_text(tool_doc("broken").replace("description:", "descripton:"))
        wait_for(lambda: status(server).get("last_failed_reload"), "a failed reload again")
        (root / "broken.yaml").write_text(tool_doc("broken"))
        wait_for(lambda: status(server)["generation"] == before["generation"] + 1, "the fixed file to reload")
        assert "broken" in list_names(server)
        assert status(server).get("last_failed_reload") is None


def test_kubernetes_configmap_symlink_swap_reloads_exactly_once(toolwright_bin, backend, tmp_path):
    root = tmp_path / "tools.d"
    root.mkdir()
    first = root / "..2026_11_23_10_00_00.000000001"
    write_catalog(first, backend.base_url)
    os.symlink(first.name, root / "..data")
    for name in ("connections.yaml", "items.yaml"):
        os.symlink(f"..data/{name}", root / name)
    with serve_http(toolwright_bin, root, "--stateless") as server:
        assert list_names(server) == {"get_item"}
        before = status(server)
        # What the kubelet does: a new timestamped directory, a new symlink, one atomic rename.
        second = root / "..2026_11_23_10_05_00.000000002"
        write_catalog(second, backend.base_url)
        (second / "items.yaml").write_text((second / "items.yaml").read_text() + "---\n" + tool_doc("from_configmap"))
        os.symlink(second.name, root / "..data_tmp")
        os.rename(root / "..data_tmp", root / "..data")
        shutil.rmtree(first)
        wait_for(lambda: "from_configmap" in list_names(server), "the new ConfigMap content")
        time.sleep(1.0)  # let any later events settle: they must not cause another reload
        after = status(server)
        assert after["reloads_ok"] - before["reloads_ok"] == 1, after
        assert after["reloads_failed"] == 0, after


def test_deleting_a_file_removes_its_tools_and_adding_adds_them(toolwright_bin, backend, tmp_path):
    root = tmp_path / "tools.d"
    write_catalog(root, backend.base_url)
    (root / "extra.yaml").write_text(tool_doc("extra_one") + "---\n" + tool_doc("extra_two"))
    with serve_http(toolwright_bin, root, "--stateless") as server:
        assert list_names(server) == {"get_item", "extra_one", "extra_two"}
        (root / "extra.yaml").unlink()
        wait_for(lambda: list_names(server) == {"get_item"}, "the deleted file's tools to go")
        (root / "later.yml").write_text(tool_doc("later"))
        wait_for(lambda: list_names(server) == {"get_item", "later"}, "the added file's tools to appear")


def rpc(server: HttpServer, method: str, params: dict, client: httpx.Client | None = None) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json", "mcp-protocol-version": "2025-11-25"}
    c = client or httpx.Client(timeout=10)
    try:
        r = c.post(server.url, json=body, headers=headers)
    finally:
        if client is None:
            c.close()
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()


def call(server, name, args, client=None):
    return rpc(server, "tools/call", {"name": name, "arguments": args}, client)


def list_names(server, client=None) -> set[str]:
    return {t["name"] for t in rpc(server, "tools/list", {}, client)["result"]["tools"]}


def test_reload_under_load_never_fails_a_call_or_shows_a_partial_catalog(toolwright_bin, backend, tmp_path):
    root = tmp_path / "tools.d"
    write_catalog(root, backend.base_url)
    base_docs = "".join(tool_doc(f"stable_{i}") + "---\n" for i in range(20))
    (root / "stable.yaml").write_text(base_docs.rstrip("-\n") + "\n")
    expected_base = {"get_item"} | {f"stable_{i}" for i in range(20)}
    stop = threading.Event()
    failures: list[str] = []
    counts = {"calls": 0, "lists": 0}

    with serve_http(toolwright_bin, root, "--stateless") as server:
        def caller():
            with httpx.Client(timeout=10) as c:
                # Bounded: stops when told, or after 60 s whatever happens.
                deadline = time.monotonic() + 60
                while not stop.is_set() and time.monotonic() < deadline:
                    r = call(server, "get_item", {"id": 7}, c)
                    res = r.get("result", {})
                    if "error" in r or res.get("isError"):
                        failures.append(json.dumps(r)[:300])
                    counts["calls"] += 1

        def lister():
            with httpx.Client(timeout=10) as c:
                deadline = time.monotonic() + 60
                while not stop.is_set() and time.monotonic() < deadline:
                    names = list_names(server, c)
                    if not expected_base <= names or len(names) not in (len(expected_base), len(expected_base) + 1):
                        failures.append(f"partial catalog: {sorted(names)}")
                    counts["lists"] += 1

        threads = [threading.Thread(target=caller) for _ in range(3)] + [threading.Thread(target=lister)]
        for t in threads:
            t.start()
        try:
            for i in range(200):
                if i % 2 == 0:
                    (root / "churn.yaml").write_text(tool_doc("churn", f"Version {i}."))
                else:
                    (root / "churn.yaml").write_text("kind: tool\nname: churn\n  bad: [indent\n")
                time.sleep(0.02)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        assert not failures, failures[:5]
        assert counts["calls"] > 50 and counts["lists"] > 10, counts
        st = status(server)
        assert st["reloads_ok"] >= 1 and st["reloads_failed"] >= 1, st
