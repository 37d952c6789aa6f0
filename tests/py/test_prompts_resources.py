"""Prompts, resources, resource templates and completions (issue 18, items 1-3) as MCP clients
see them, through the official Python SDK over stdio and Streamable HTTP: `prompts/list` and
`prompts/get` with argument validation, `resources/list` and `resources/read` of text, a file
served as a base64 blob and an action read through a local backend on 127.0.0.1, resource
templates listed and read with their variables validated, completions from an `enum` and from a
`complete` action, and the list-changed notifications of a reload (2025 sessions and a
2026-07-28 `subscriptions/listen`). Every wait is bounded; only 127.0.0.1 is used."""

from __future__ import annotations

import base64
import json
import os
import signal
import threading
import urllib.parse
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
import httpx
import mcp.types as types
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import PromptsListChanged, ResourcesListChanged, listen
from mcp.shared.exceptions import MCPError

from conftest import run_http_server
from helpers import LocalHttpServer, QuietHandler, mcp_session

pytestmark = pytest.mark.anyio

TEST_TIMEOUT_S = 40.0
SERVICES = ["checkout", "cart", "catalog", "payments", "search"]
MANY = [f"host-{i:03d}" for i in range(150)]
RUNBOOK = "# Checkout runbook\n\n1. Open the checkout dashboard.\n2. Look at the error budget.\n"
LOGO = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe binary"


class ServiceBackend(LocalHttpServer):
    """A real HTTP server on 127.0.0.1: service names (filtered by `q`), each service's
    dependencies, a long list of hosts and an endpoint that always fails."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: list[str] = []
        backend = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802 (stdlib naming)
                with backend.lock:
                    backend.paths.append(self.path)
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query)
                if url.path == "/services":
                    prefix = query.get("q", [""])[0]
                    self._json(200, {"items": [{"name": s} for s in SERVICES if s.startswith(prefix)]})
                elif url.path.startswith("/deps/"):
                    service = urllib.parse.unquote(url.path[len("/deps/"):])
                    page = query.get("page", ["1"])[0]
                    self._json(200, {"service": service, "page": int(page), "depends_on": ["postgres", "redis"]})
                elif url.path == "/hosts":
                    self._json(200, MANY)
                elif url.path == "/object":
                    self._json(200, {"not": "a list"})
                elif url.path == "/fail":
                    self._send(500, b"backend exploded", "text/plain")
                else:
                    self._json(404, {"error": url.path})

        super().__init__(Handler)

    def seen(self) -> list[str]:
        with self.lock:
            return list(self.paths)


@pytest.fixture(scope="module")
def services():
    b = ServiceBackend().start()
    try:
        yield b
    finally:
        b.stop()


def catalog_files(base_url: str) -> dict[str, str]:
    return {
        "connections.yaml": f"""\
kind: connection
name: svc
http:
  base_url: {base_url}
  allow_private_networks: true
  timeout: 5s
""",
        "prompts.yaml": """\
kind: prompt
name: triage
title: Triage a 5xx alert
description: Walks through a 5xx alert of one service.
arguments:
  type: object
  properties:
    service:
      type: string
      title: Service
      description: The service that alerts.
      pattern: '^[a-z-]+$'
      complete:
        http: {connection: svc, url: /services}
        jq: '.items[].name'
    env:
      type: string
      description: The environment.
      enum: [prod, staging, dev]
      default: prod
    minutes:
      type: integer
      minimum: 1
      default: 15
    host:
      type: string
      default: any
      complete:
        http: {connection: svc, url: /hosts}
  required: [service]
  additionalProperties: false
messages:
  - role: user
    text: "Triage the 5xx alert of {{ service }} in {{ env }} over the last {{ minutes }} minutes (host {{ host }})."
  - role: user
    resource: runbook://checkout
  - role: assistant
    resource: "deps://{{ service }}"
---
kind: prompt
name: hello
messages:
  - role: user
    text: Say hello.
---
kind: prompt
name: broken_complete
arguments:
  type: object
  properties:
    a:
      type: string
      default: x
      complete:
        http: {connection: svc, url: /object}
    b:
      type: string
      default: y
      complete:
        http: {connection: svc, url: /fail}
messages:
  - role: user
    text: "{{ a }} {{ b }}"
""",
        "resources.yaml": """\
kind: resource
uri: runbook://checkout
name: checkout-runbook
title: Checkout runbook
description: What to do when checkout alerts.
file: runbooks/checkout.md
---
kind: resource
uri: img://logo
name: logo
file: logo.png
---
kind: resource
uri: note://hello
name: hello
mime_type: text/markdown
text: "*hello* there"
---
kind: resource
uri: api://services
name: services
description: Every service, from the service API.
action:
  http: {connection: svc, url: /services}
---
kind: resource_template
uri_template: deps://{service}
name: deps
description: A service's dependencies, from the service API.
input:
  type: object
  properties:
    service:
      type: string
      pattern: '^[a-z-]+$'
      complete:
        http: {connection: svc, url: "/services?q={{ value }}"}
        jq: '[.items[].name]'
  required: [service]
action:
  http: {connection: svc, url: "/deps/{{ service }}"}
---
kind: resource_template
uri_template: page://{service}/{page}
name: page
mime_type: application/json
input:
  type: object
  properties:
    service: {type: string, enum: [checkout, cart]}
    page: {type: integer, minimum: 1}
action:
  http:
    connection: svc
    url: "/deps/{{ service }}"
    query: {page: "{{ page }}"}
---
kind: resource_template
uri_template: broken://{name}
name: broken
input:
  type: object
  properties:
    name: {type: string}
action:
  http: {connection: svc, url: "/fail?name={{ name }}"}
""",
    }


def write_catalog(root: Path, base_url: str) -> None:
    (root / "runbooks").mkdir(parents=True, exist_ok=True)
    (root / "runbooks" / "checkout.md").write_text(RUNBOOK)
    (root / "logo.png").write_bytes(LOGO)
    for name, text in catalog_files(base_url).items():
        (root / name).write_text(text)


@pytest.fixture(scope="module")
def catalog_dir(services, toolwright_bin, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("surface") / "tools.d"
    write_catalog(root, services.base_url)
    import subprocess

    lint = subprocess.run([toolwright_bin, "lint", str(root), "--deny-warnings"], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, f"lint failed:\n{lint.stdout}{lint.stderr}"
    return str(root)


@pytest.fixture(scope="module")
def surface_server(toolwright_bin, catalog_dir):
    with run_http_server(toolwright_bin, catalog_dir) as server:
        yield server


def session_kw(transport: str, toolwright_bin: str, catalog_dir: str, request) -> dict:
    if transport == "stdio":
        return {"toolwright_bin": toolwright_bin, "tools_dir": catalog_dir}
    return {"url": request.getfixturevalue("surface_server").url}


# --------------------------------------------------------------------------- prompts


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_prompts_list_and_get(transport, toolwright_bin, catalog_dir, services, request):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session(transport, **session_kw(transport, toolwright_bin, catalog_dir, request)) as session:
            caps = session.initialize_result.capabilities
            assert caps.prompts is not None and caps.prompts.list_changed is True
            assert caps.resources is not None and caps.resources.list_changed is True
            assert caps.completions is not None

            listed = await session.list_prompts()
            prompts = {p.name: p for p in listed.prompts}
            assert sorted(prompts) == ["broken_complete", "hello", "triage"]
            triage = prompts["triage"]
            assert triage.title == "Triage a 5xx alert"
            assert triage.description == "Walks through a 5xx alert of one service."
            args = [(a.name, a.required, a.description) for a in triage.arguments]
            assert args == [
                ("service", True, "The service that alerts."),
                ("env", False, "The environment."),
                ("minutes", False, None),
                ("host", False, None),
            ]
            assert next(a for a in triage.arguments if a.name == "service").title == "Service"
            assert not prompts["hello"].arguments

            before = len(services.seen())
            got = await session.get_prompt("triage", {"service": "checkout", "minutes": "30"})
            assert got.description == "Walks through a 5xx alert of one service."
            roles = [m.role for m in got.messages]
            assert roles == ["user", "user", "assistant"]
            first, runbook, deps = (m.content for m in got.messages)
            assert first.type == "text"
            assert first.text == "Triage the 5xx alert of checkout in prod over the last 30 minutes (host any)."
            assert runbook.type == "resource"
            assert str(runbook.resource.uri) == "runbook://checkout"
            assert runbook.resource.text == RUNBOOK
            assert runbook.resource.mime_type == "text/markdown"
            # The templated resource was read through the backend.
            assert deps.type == "resource"
            assert str(deps.resource.uri) == "deps://checkout"
            assert json.loads(deps.resource.text) == {"service": "checkout", "page": 1, "depends_on": ["postgres", "redis"]}
            assert deps.resource.mime_type == "application/json"
            assert "/deps/checkout" in services.seen()[before:]

            hello = await session.get_prompt("hello")
            assert [m.content.text for m in hello.messages] == ["Say hello."]


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_prompt_arguments_are_validated(transport, toolwright_bin, catalog_dir, services, request):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session(transport, **session_kw(transport, toolwright_bin, catalog_dir, request)) as session:
            before = len(services.seen())
            cases = [
                ({}, "missing required argument `service`"),
                ({"service": "checkout", "minutes": "thirty"}, "minutes"),
                ({"service": "checkout", "minutes": "0"}, "minutes"),
                ({"service": "checkout", "env": "qa"}, "env"),
                ({"service": "Check Out"}, "service"),
                ({"service": "checkout", "colour": "red"}, "unknown argument(s) `colour`"),
            ]
            for arguments, expected in cases:
                with pytest.raises(MCPError) as err:
                    await session.get_prompt("triage", arguments)
                assert err.value.error.code == types.INVALID_PARAMS, (arguments, err.value.error)
                assert expected in err.value.error.message, (arguments, err.value.error.message)
            with pytest.raises(MCPError) as err:
                await session.get_prompt("triag", {"service": "checkout"})
            assert err.value.error.code == types.INVALID_PARAMS
            assert "unknown prompt `triag`; did you mean `triage`?" in err.value.error.message
            # A refused argument costs no backend call.
            assert services.seen()[before:] == []


# --------------------------------------------------------------------------- resources


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_resources_list_and_read(transport, toolwright_bin, catalog_dir, services, request):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session(transport, **session_kw(transport, toolwright_bin, catalog_dir, request)) as session:
            listed = await session.list_resources()
            resources = {str(r.uri): r for r in listed.resources}
            assert sorted(resources) == ["api://services", "img://logo", "note://hello", "runbook://checkout"]
            runbook = resources["runbook://checkout"]
            assert (runbook.name, runbook.title, runbook.description) == ("checkout-runbook", "Checkout runbook", "What to do when checkout alerts.")
            assert runbook.mime_type == "text/markdown"
            assert runbook.size == len(RUNBOOK.encode())
            assert resources["img://logo"].mime_type == "image/png"
            assert resources["img://logo"].size == len(LOGO)
            assert resources["note://hello"].mime_type == "text/markdown"
            assert resources["api://services"].size is None

            text = (await session.read_resource("note://hello")).contents
            assert len(text) == 1 and text[0].text == "*hello* there" and text[0].mime_type == "text/markdown"
            assert str(text[0].uri) == "note://hello"

            book = (await session.read_resource("runbook://checkout")).contents[0]
            assert book.text == RUNBOOK

            logo = (await session.read_resource("img://logo")).contents[0]
            assert not hasattr(logo, "text") or getattr(logo, "text", None) is None
            assert base64.b64decode(logo.blob) == LOGO
            assert logo.mime_type == "image/png"

            before = len(services.seen())
            api = (await session.read_resource("api://services")).contents[0]
            assert json.loads(api.text) == {"items": [{"name": s} for s in SERVICES]}
            assert api.mime_type == "application/json"
            assert services.seen()[before:] == ["/services"]

            with pytest.raises(MCPError) as err:
                await session.read_resource("note://nothing-here")
            assert err.value.error.code == -32002
            assert err.value.error.data == {"uri": "note://nothing-here"}


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_resource_templates_list_and_read(transport, toolwright_bin, catalog_dir, services, request):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session(transport, **session_kw(transport, toolwright_bin, catalog_dir, request)) as session:
            listed = await session.list_resource_templates()
            templates = {t.name: t for t in listed.resource_templates}
            assert sorted(templates) == ["broken", "deps", "page"]
            assert templates["deps"].uri_template == "deps://{service}"
            assert templates["deps"].description == "A service's dependencies, from the service API."
            assert templates["page"].mime_type == "application/json"

            before = len(services.seen())
            deps = (await session.read_resource("deps://cart")).contents[0]
            assert json.loads(deps.text)["service"] == "cart"
            # Each variable is bound, percent-decoded, and read as its declared type.
            page = (await session.read_resource("page://checkout/2")).contents[0]
            assert json.loads(page.text) == {"service": "checkout", "page": 2, "depends_on": ["postgres", "redis"]}
            assert services.seen()[before:] == ["/deps/cart", "/deps/checkout?page=2"]

            for uri, expected in [
                ("deps://Not%20Valid", "service"),
                ("page://checkout/zero", "page"),
                ("page://checkout/0", "page"),
                ("page://orders/1", "service"),
            ]:
                with pytest.raises(MCPError) as err:
                    await session.read_resource(uri)
                assert err.value.error.code == types.INVALID_PARAMS, (uri, err.value.error)
                assert expected in err.value.error.message, (uri, err.value.error.message)
                assert err.value.error.data == {"uri": uri}
            assert services.seen()[before + 2:] == [], "refused variables cost no backend call"

            with pytest.raises(MCPError) as err:
                await session.read_resource("broken://x")
            assert err.value.error.code == types.INTERNAL_ERROR
            assert "500" in err.value.error.message and "backend exploded" in err.value.error.message

            with pytest.raises(MCPError) as err:
                await session.read_resource("deps://a/b")
            assert err.value.error.code == -32002


# --------------------------------------------------------------------------- completions


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_completions(transport, toolwright_bin, catalog_dir, services, request):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session(transport, **session_kw(transport, toolwright_bin, catalog_dir, request)) as session:
            triage = types.PromptReference(type="ref/prompt", name="triage")
            # From the schema's enum.
            env = (await session.complete(triage, {"name": "env", "value": "St"})).completion
            assert (env.values, env.total, env.has_more) == (["staging"], 1, False)
            every_env = (await session.complete(triage, {"name": "env", "value": ""})).completion
            assert every_env.values == ["prod", "staging", "dev"]
            # From a `complete` action (jq picks the names), filtered by prefix.
            service = (await session.complete(triage, {"name": "service", "value": "ca"})).completion
            assert (service.values, service.total, service.has_more) == (["cart", "catalog"], 2, False)
            # At most 100, with the total and hasMore.
            hosts = (await session.complete(triage, {"name": "host", "value": "host-"})).completion
            assert hosts.values == MANY[:100] and hosts.total == 150 and hosts.has_more is True
            # No completions for an argument without enum or complete.
            minutes = (await session.complete(triage, {"name": "minutes", "value": "1"})).completion
            assert minutes.values == []

            # A resource template variable: the typed value reaches the backend as `value`.
            before = len(services.seen())
            deps = types.ResourceTemplateReference(type="ref/resource", uri="deps://{service}")
            found = (await session.complete(deps, {"name": "service", "value": "pa"})).completion
            assert found.values == ["payments"]
            assert services.seen()[before:] == ["/services?q=pa"]
            page = types.ResourceTemplateReference(type="ref/resource", uri="page://{service}/{page}")
            assert (await session.complete(page, {"name": "service", "value": "c"})).completion.values == ["checkout", "cart"]

            with pytest.raises(MCPError) as err:
                await session.complete(triage, {"name": "colour", "value": ""})
            assert err.value.error.code == types.INVALID_PARAMS and "`colour` is not an argument" in err.value.error.message
            with pytest.raises(MCPError) as err:
                await session.complete(types.PromptReference(type="ref/prompt", name="nope"), {"name": "a", "value": ""})
            assert err.value.error.code == types.INVALID_PARAMS
            broken = types.PromptReference(type="ref/prompt", name="broken_complete")
            with pytest.raises(MCPError) as err:
                await session.complete(broken, {"name": "a", "value": ""})
            assert err.value.error.code == types.INTERNAL_ERROR and "not a list of strings" in err.value.error.message
            with pytest.raises(MCPError) as err:
                await session.complete(broken, {"name": "b", "value": ""})
            assert err.value.error.code == types.INTERNAL_ERROR and "500" in err.value.error.message


# --------------------------------------------------------------------------- 2026-07-28


def post_2026(url: str, method: str, params: dict | None = None) -> dict:
    """One 2026-07-28 request (no session): the revision in `_meta` and the header."""
    params = dict(params or {})
    params["_meta"] = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
               "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method}
    if "name" in params:
        headers["Mcp-Name"] = params["name"]
    elif "uri" in params:
        headers["Mcp-Name"] = params["uri"]
    with httpx.Client(timeout=10, trust_env=False) as client:
        r = client.post(url, content=json.dumps(body), headers=headers)
    text = r.text
    if r.headers.get("content-type", "").startswith("text/event-stream"):
        text = next(line[len("data:"):] for line in text.splitlines() if line.startswith("data:") and line.strip() != "data:")
    return json.loads(text)


def test_2026_lists_carry_caching_hints(surface_server):
    for method, key in [("prompts/list", "prompts"), ("resources/list", "resources"), ("resources/templates/list", "resourceTemplates")]:
        answer = post_2026(surface_server.url, method)
        result = answer.get("result")
        assert result is not None, answer
        assert result[key], (method, result)
        assert isinstance(result.get("ttlMs"), int) and result.get("cacheScope") in ("private", "public"), (method, result)
    read = post_2026(surface_server.url, "resources/read", {"uri": "note://hello"})["result"]
    assert read["contents"][0]["text"] == "*hello* there" and "ttlMs" in read and "cacheScope" in read


# --------------------------------------------------------------------------- reload


class Seen:
    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.changed = anyio.Event()

    async def handler(self, message) -> None:
        kind = {
            types.PromptListChangedNotification: "prompts",
            types.ResourceListChangedNotification: "resources",
            types.ToolListChangedNotification: "tools",
        }.get(type(message))
        if kind:
            self.kinds.append(kind)
            self.changed.set()


async def wait_for(predicate, what: str, timeout: float = 15.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.05)


async def test_reload_sends_list_changed_for_prompts_and_resources(toolwright_bin, services, tmp_path):
    """Edit the files, SIGHUP: a 2025 session hears `notifications/prompts/list_changed` and
    `notifications/resources/list_changed`, a 2026-07-28 `subscriptions/listen` stream the same,
    and the lists show the change; a reload that changes neither sends neither."""
    root = tmp_path / "tools.d"
    write_catalog(root, services.base_url)
    with anyio.fail_after(60):
        with run_http_server(toolwright_bin, str(root)) as server:
            seen = Seen()
            events: list[str] = []
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(streamable_http_client(server.url))
                old = await stack.enter_async_context(ClientSession(read, write, message_handler=seen.handler, read_timeout_seconds=15))
                await old.initialize()
                modern = await stack.enter_async_context(mcp_session("http", url=server.url, handshake="discover"))
                sub = await stack.enter_async_context(listen(modern, prompts_list_changed=True, resources_list_changed=True))

                async def collect():
                    async for event in sub:
                        if isinstance(event, PromptsListChanged):
                            events.append("prompts")
                        elif isinstance(event, ResourcesListChanged):
                            events.append("resources")

                async with anyio.create_task_group() as tg:
                    tg.start_soon(collect)

                    # A new prompt and a new resource.
                    (root / "more.yaml").write_text(
                        "kind: prompt\nname: added\nmessages:\n  - {role: user, text: Added.}\n---\n"
                        "kind: resource\nuri: note://added\nname: added\ntext: new\n"
                    )
                    os.kill(server.proc.pid, signal.SIGHUP)
                    await wait_for(lambda: {"prompts", "resources"} <= set(seen.kinds), "2025 notifications")
                    await wait_for(lambda: {"prompts", "resources"} <= set(events), "2026 events")
                    assert "added" in {p.name for p in (await old.list_prompts()).prompts}
                    assert "note://added" in {str(r.uri) for r in (await modern.list_resources()).resources}
                    assert (await old.read_resource("note://added")).contents[0].text == "new"

                    # A resource's file edited (same size): its contents change, the lists do not.
                    (root / "runbooks" / "checkout.md").write_text(RUNBOOK.upper())
                    count_before = (len(seen.kinds), len(events))
                    os.kill(server.proc.pid, signal.SIGHUP)
                    await wait_for(lambda: "tools" in seen.kinds[count_before[0]:], "the reload of the edited file")
                    assert (await old.read_resource("runbook://checkout")).contents[0].text == RUNBOOK.upper()
                    await anyio.sleep(0.5)
                    assert seen.kinds[count_before[0]:] == ["tools"], seen.kinds
                    assert events[count_before[1]:] == [], events

                    # Only a template removed: the resource list changed, the prompt list did not.
                    text = (root / "resources.yaml").read_text()
                    (root / "resources.yaml").write_text(text.split("---\nkind: resource_template\nuri_template: broken://")[0])
                    count_before = (len(seen.kinds), len(events))
                    os.kill(server.proc.pid, signal.SIGHUP)
                    await wait_for(lambda: "resources" in seen.kinds[count_before[0]:], "the resource list change")
                    await wait_for(lambda: "resources" in events[count_before[1]:], "the 2026 resource event")
                    await anyio.sleep(0.5)
                    assert "prompts" not in seen.kinds[count_before[0]:] and "prompts" not in events[count_before[1]:]
                    names = {t.name for t in (await old.list_resource_templates()).resource_templates}
                    assert names == {"deps", "page"}
                    tg.cancel_scope.cancel()
