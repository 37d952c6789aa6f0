"""Secrets never leak (issue 6, item 5).

A distinctive random secret is used through `{{ secret('TW_LEAK_CANARY_TOKEN') }}` in a
connection header and in tool headers of a temporary tools.d that points at a real HTTP backend
on 127.0.0.1 (started here, because it must record the headers it receives and quote them back
in error pages, as careless backends do). Then `lint` (every format, a clean and a broken
catalog), `list`, `render`, `call` and `serve` (stdio through the official SDK at
TOOLWRIGHT_LOG=debug and trace; Streamable HTTP sessionful and stateless, text and JSON logs,
audit lines with argument values, a failed reload shown in /status) run, and nothing they print,
log, diagnose, return or refuse with may contain the secret or a fragment of it. The backend
must still receive the real secret (asserted, so the test can fail).

The secret comes from the environment or, with TOOLWRIGHT_SECRETS_DIR, from a file (the file
wins; the environment then holds a decoy, which must be neither sent nor shown). AWS
credentials from the standard chain get the same check against an endpoint that quotes them.

Two leaks this test found are fixed and covered below: a secret cut in half by the error
excerpt, and a secret a backend echoes in a successful answer.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Iterator

import anyio
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from conftest import run_http_server
from helpers import REQUEST_TIMEOUT_S, LocalHttpServer, QuietHandler, text_of

SECRET_NAME = "TW_LEAK_CANARY_TOKEN"
TIMEOUT_S = 30
# A leak is any run of this many characters of a secret (each such run holds at least three
# random characters, so it cannot occur by chance): a cut-off secret is still a leak.
FRAGMENT = 10
# Where the 500 page's excerpt is cut (src/backend/http.rs: 300 characters of the collapsed
# body, read from at most 8 KiB); the "late" pages put the secret across these edges.
EXCERPT_CHARS = 300
ERROR_BODY_BYTES = 8 * 1024


def canary() -> str:
    return "canary-" + secrets.token_hex(16)


# --------------------------------------------------------------------------- leak check


def fragments(secret: str) -> list[str]:
    return [secret[i : i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)]


def find_leaks(where: str, text: str | bytes | None, secrets_: list[str]) -> list[str]:
    """Where `text` holds a fragment of a secret, with context; empty when it holds none."""
    if text is None:
        return []
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    found = []
    for s in secrets_:
        for frag in fragments(s):
            at = text.find(frag)
            if at >= 0:
                context = text[max(0, at - 120) : at + len(frag) + 40]
                found.append(f"{where} leaks the secret (fragment {frag!r} of {s!r}) at offset {at}:\n…{context}…")
                break
    return found


class Leaks:
    """Collects every leak of a test, so one failure reports all of them."""

    def __init__(self, secrets_: list[str]) -> None:
        self.secrets = secrets_
        self.found: list[str] = []

    def check(self, where: str, text: str | bytes | None) -> None:
        self.found.extend(find_leaks(where, text, self.secrets))

    def assert_none(self) -> None:
        if self.found:
            pytest.fail(f"{len(self.found)} leak(s):\n\n" + "\n\n".join(self.found), pytrace=False)


# --------------------------------------------------------------------------- the backend


def late_page(auth: str, at: int, pad_char: str = "x") -> str:
    """A 500 page in which the echoed `Authorization: <value>` puts the secret across
    character `at` of the collapsed text (the secret starts 17 characters before it)."""
    prefix = "Authorization: " + auth.split(" ")[0] + " "  # "Authorization: Bearer "
    pad = at - 17 - len(prefix) - 1
    return pad_char * max(pad, 1) + " " + prefix + auth.split(" ", 1)[-1] + "\n"


class SecretBackend(LocalHttpServer):
    """A real HTTP server on 127.0.0.1 that records every request's headers and serves:
    /items/<id> (200 JSON), /echo-500 (500 HTML page quoting all request headers),
    /echo-500-late (500, the secret across the 300-character excerpt edge),
    /echo-500-deep (500, the secret across the 8 KiB read edge after 8 KiB of blanks),
    /echo-401 (401 JSON quoting the Authorization header),
    /echo-200 (200 JSON quoting all request headers)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str]]] = []
        backend = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 (a fake CloudWatch Logs endpoint, awsJson1_1)
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                path = self.path.split("?", 1)[0].rstrip("/")
                headers = {k.lower(): v for k, v in self.headers.items()}
                with backend.lock:
                    backend.requests.append((path, headers))
                token = self.headers.get("X-Amz-Security-Token", "")
                auth = self.headers.get("Authorization", "")
                if path == "/aws-signature":
                    # What AWS says when a signature does not match: the canonical request,
                    # which holds the session token.
                    error = {
                        "__type": "InvalidSignatureException",
                        "message": "The request signature we calculated does not match the signature you provided. "
                        f"The Canonical String for this request should have been 'POST\\n/\\n\\nx-amz-security-token:{token}\\n' "
                        f"and the Authorization header was '{auth}'",
                    }
                else:
                    error = {"__type": "InvalidParameterException", "message": f"bad request from {auth} with token {token}"}
                self._send(400, json.dumps(error).encode(), "application/x-amz-json-1.1", {"x-amzn-ErrorType": error["__type"]})

            def do_GET(self):  # noqa: N802
                path = self.path.split("?", 1)[0]
                headers = {k.lower(): v for k, v in self.headers.items()}
                with backend.lock:
                    backend.requests.append((path, headers))
                auth = self.headers.get("Authorization", "")
                if path.startswith("/items/"):
                    body = {"id": path[len("/items/") :], "name": "widget"}
                    self._json(200, body)
                elif path == "/echo-500":
                    lines = "".join(f"{k}: {v}\n" for k, v in self.headers.items())
                    page = f"<html><body><h1>500 Internal Server Error</h1><p>Request headers:</p><pre>\n{lines}</pre></body></html>"
                    self._send(500, page.encode(), "text/html; charset=utf-8")
                elif path == "/echo-500-late":
                    self._send(500, late_page(auth, EXCERPT_CHARS).encode(), "text/plain; charset=utf-8")
                elif path == "/echo-500-deep":
                    # Blanks collapse to one space, so the 8 KiB read edge lands inside the
                    # secret while the excerpt is short.
                    prefix = "Authorization: " + auth + "\n"
                    blanks = ERROR_BODY_BYTES - (len("Authorization: Bearer ") + 17)
                    self._send(500, (" " * blanks + prefix).encode(), "text/plain; charset=utf-8")
                elif path == "/echo-200":
                    # Like httpbin's /headers: a success that quotes the request headers.
                    self._json(200, {"headers": dict(self.headers.items())})
                elif path == "/echo-401":
                    body = {"error": "invalid_token", "error_description": f"token {auth!r} is not valid here", "received": auth}
                    self._json(401, body)
                else:
                    self._send(404, b'{"error": "no route"}', "application/json")

        super().__init__(Handler)

    def mark(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, mark: int) -> list[tuple[str, dict[str, str]]]:
        """Requests received after `mark`, with lower-case header names."""
        with self.lock:
            return list(self.requests[mark:])


@pytest.fixture(scope="module")
def secret_backend() -> Iterator[SecretBackend]:
    b = SecretBackend().start()
    try:
        yield b
    finally:
        b.stop()


def assert_received(requests: list[tuple[str, dict[str, str]]], secret: str, paths: set[str] | None = None) -> None:
    """Every request (to `paths`, if given) carried the real secret in both headers."""
    seen = [(p, h) for p, h in requests if paths is None or p in paths or any(p.startswith(x) for x in paths)]
    assert seen, f"the backend received no request (wanted {paths})"
    for path, headers in seen:
        assert headers.get("authorization") == f"Bearer {secret}", (path, "connection header", headers.get("authorization"))
        assert headers.get("x-tool-token") == secret, (path, "tool header", headers.get("x-tool-token"))


# --------------------------------------------------------------------------- tools.d

# Tools whose backend quotes the credential in its error page, at the start of the page.
TOOL_NAMES = ["get_item", "echo_500", "echo_401"]
# Tools whose page puts the credential across the edges where toolwright cuts an error page.
EDGE_TOOLS = ["echo_500_late", "echo_500_deep"]
# Tools whose call succeeds.
SUCCEEDING = {"get_item", "echo_200"}

TOOL = """\
kind: tool
name: {name}
description: {description}
input:
  type: object
  properties:
    id: {{type: integer, minimum: 1, maximum: 1000}}
  additionalProperties: false
timeout: 10s
action:
  http:
    connection: secured
    method: GET
    url: {url}
    headers:
      X-Tool-Token: "{{{{ secret('{secret}') }}}}"
      X-Request-Id: "req-{{{{ id }}}}"
examples:
  - args: {{id: 7}}
"""

TOOLS = {
    "get_item": ("Fetch one item.", "/items/{{ id }}"),
    "echo_500": ("A backend that fails and quotes every request header.", "/echo-500"),
    "echo_401": ("A backend that refuses the credential and quotes it.", "/echo-401"),
    "echo_500_late": ("A failing backend whose page puts the credential at the excerpt edge.", "/echo-500-late"),
    "echo_500_deep": ("A failing backend whose page puts the credential at the read edge.", "/echo-500-deep"),
    "echo_200": ("A backend that succeeds and quotes the request headers (like httpbin /headers).", "/echo-200"),
}


def tools_files(base_url: str, names: list[str]) -> dict[str, str]:
    docs = [TOOL.format(name=n, description=TOOLS[n][0], url=TOOLS[n][1], secret=SECRET_NAME) for n in names]
    return {
        "connections.yaml": f"""\
kind: connection
name: secured
description: The test backend, with a bearer token from a secret.
http:
  base_url: {base_url}
  allow_private_networks: true
  timeout: 5s
  headers:
    Authorization: "Bearer {{{{ secret('{SECRET_NAME}') }}}}"
""",
        "tools.yaml": "---\n".join(docs),
    }


# A broken spec that mentions the secret header in several ways lint must explain.
BROKEN_SPEC = f"""\
kind: tool
name: broken_secret_user
description: Uses the secret where it is not allowed, and badly where it is.
input:
  type: object
  properties:
    q: {{type: string}}
action:
  http:
    connection: secured
    method: GET
    url: "/search/{{{{ secret('{SECRET_NAME}') }}}}"
    query: {{token: "{{{{ secret('{SECRET_NAME}') }}}}"}}
    headers:
      Authorization: "Bearer {{{{ secret('{SECRET_NAME}') }}}} {{{{ undeclared_arg }}}}"
      X-Broken: "{{{{ secret('{SECRET_NAME}') "
    body: {{token: "{{{{ secret('{SECRET_NAME}') }}}}"}}
    unknown_field: true
examples:
  - args: {{q: 5}}
"""


def write_tools(d: Path, base_url: str, names: list[str] = TOOL_NAMES, broken: bool = False) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for name, text in tools_files(base_url, names).items():
        (d / name).write_text(text)
    if broken:
        (d / "broken.yaml").write_text(BROKEN_SPEC)
    return d


# --------------------------------------------------------------------------- where the secret comes from


@dataclass
class SecretSetup:
    """The environment a toolwright process runs with, the value the backend must receive,
    and the leaks found so far (of the value and of any decoy)."""

    env: dict[str, str]
    value: str
    leaks: Leaks

    def check_process(self, where: str, p: subprocess.CompletedProcess) -> None:
        self.leaks.check(f"{where}: stdout", p.stdout)
        self.leaks.check(f"{where}: stderr", p.stderr)


@pytest.fixture(params=["env", "file"])
def secret_setup(request, tmp_path, monkeypatch) -> SecretSetup:
    value = canary()
    env = {"NO_COLOR": "1", "TOOLWRIGHT_LOG": "debug"}
    if request.param == "env":
        env[SECRET_NAME] = value
        forbidden = [value]
    else:
        secrets_dir = tmp_path / "secrets"
        secrets_dir.mkdir()
        (secrets_dir / SECRET_NAME).write_text(value + "\n")
        decoy = canary()
        env[SECRET_NAME] = decoy  # the file wins; the decoy must be neither sent nor shown
        env["TOOLWRIGHT_SECRETS_DIR"] = str(secrets_dir)
        forbidden = [value, decoy]
    # Also into os.environ, because conftest's run_http_server copies os.environ.
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return SecretSetup(env={**os.environ, **env}, value=value, leaks=Leaks(forbidden))


def run(toolwright_bin: str, setup: SecretSetup, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [toolwright_bin, *args], capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, env=setup.env
    )


# --------------------------------------------------------------------------- lint


def test_lint_never_shows_the_secret(toolwright_bin, secret_backend, secret_setup, tmp_path):
    good = write_tools(tmp_path / "good" / "tools.d", secret_backend.base_url)
    bad = write_tools(tmp_path / "bad" / "tools.d", secret_backend.base_url, broken=True)
    mark = secret_backend.mark()
    for fmt in ["text", "json", "github", "sarif"]:
        p = run(toolwright_bin, secret_setup, "lint", str(good), "--format", fmt)
        assert p.returncode == 0, (fmt, p.stdout, p.stderr)
        secret_setup.check_process(f"lint --format {fmt} (clean)", p)

        p = run(toolwright_bin, secret_setup, "lint", str(bad), "--format", fmt, "--deny-warnings")
        assert p.returncode == 1, (fmt, p.returncode, p.stdout, p.stderr)
        secret_setup.check_process(f"lint --format {fmt} (broken)", p)
    # The diagnostics do talk about the misused secret (by name, never by value).
    p = run(toolwright_bin, secret_setup, "lint", str(bad), "--format", "json")
    diags = json.loads(p.stdout)
    codes = {d["code"] for d in diags if d["file"].endswith("broken.yaml")}
    assert {"unknown-field", "template-syntax"} & codes, diags
    assert any("secret" in d["message"] for d in diags), diags
    for path in [good, bad]:
        p = run(toolwright_bin, secret_setup, "list", "--tools", str(path), "--format", "json")
        secret_setup.check_process(f"list {path.parent.name}", p)
    secret_setup.leaks.assert_none()
    assert secret_backend.since(mark) == [], "lint and list send nothing"


# --------------------------------------------------------------------------- render


def test_render_redacts_the_secret(toolwright_bin, secret_backend, secret_setup, tmp_path):
    tools = write_tools(tmp_path / "tools.d", secret_backend.base_url)
    mark = secret_backend.mark()
    for name in TOOL_NAMES:
        p = run(toolwright_bin, secret_setup, "render", name, "--args", '{"id": 3}', "--tools", str(tools))
        assert p.returncode == 0, (name, p.stdout, p.stderr)
        secret_setup.check_process(f"render {name}", p)
        headers = json.loads(p.stdout)["headers"]
        assert headers["Authorization"] == "Bearer ***", headers
        assert headers["X-Tool-Token"] == "***", headers
        # Refused arguments: still nothing.
        for args in ['{"id": "x"}', '{"id": 3, "extra": 1}']:
            p = run(toolwright_bin, secret_setup, "render", name, "--args", args, "--tools", str(tools))
            assert p.returncode == 1, (name, args, p.stdout, p.stderr)
            secret_setup.check_process(f"render {name} {args}", p)
    p = run(toolwright_bin, secret_setup, "render", "no_such_tool", "--args", "{}", "--tools", str(tools))
    assert p.returncode != 0
    secret_setup.check_process("render no_such_tool", p)
    secret_setup.leaks.assert_none()
    assert secret_backend.since(mark) == [], "render sends nothing"


# --------------------------------------------------------------------------- call


def call_tools(toolwright_bin: str, backend: SecretBackend, setup: SecretSetup, tools: Path, names: list[str]) -> None:
    for name in names:
        mark = backend.mark()
        p = run(toolwright_bin, setup, "call", name, "--args", '{"id": 3}', "--tools", str(tools))
        if name in SUCCEEDING:
            assert p.returncode == 0, (p.stdout, p.stderr)
            json.loads(p.stdout)
        else:
            assert p.returncode == 1, (name, p.returncode, p.stdout, p.stderr)
            status = "401" if name == "echo_401" else "500"
            assert status in p.stderr, (name, p.stderr)
        setup.check_process(f"call {name}", p)
        # The backend got the real secret (so the error pages did quote it: any absence from
        # the output is toolwright's doing).
        assert_received(backend.since(mark), setup.value)


def test_call_sends_the_secret_and_never_shows_it(toolwright_bin, secret_backend, secret_setup, tmp_path):
    tools = write_tools(tmp_path / "tools.d", secret_backend.base_url)
    call_tools(toolwright_bin, secret_backend, secret_setup, tools, TOOL_NAMES)
    secret_setup.leaks.assert_none()


# --------------------------------------------------------------------------- serve


async def call_everything(session: ClientSession, names: list[str]) -> list[str]:
    """Lists and calls every tool (and a few refusals); returns everything the client saw."""
    seen: list[str] = []
    listed = await session.list_tools()
    seen.append(json.dumps([t.model_dump(mode="json") for t in listed.tools]))
    assert {t.name for t in listed.tools} == set(names)
    for name in names:
        result = await session.call_tool(name, {"id": 3})
        seen.append(json.dumps(result.model_dump(mode="json")))
        assert (result.is_error is True) == (name not in SUCCEEDING), (name, text_of(result))
        refused = await session.call_tool(name, {"id": "not a number"})
        assert refused.is_error is True
        seen.append(json.dumps(refused.model_dump(mode="json")))
    try:
        await session.call_tool("no_such_tool", {})
    except MCPError as e:
        seen.append(str(e))
    else:
        pytest.fail("an unknown tool is a JSON-RPC error")
    return seen


@asynccontextmanager
async def stdio_session(toolwright_bin: str, tools_dir: Path, setup: SecretSetup, errlog) -> AsyncIterator[ClientSession]:
    # The SDK passes only a few safe variables to a server by default; the secret, its
    # directory and the log level are passed explicitly.
    keep = (SECRET_NAME, "TOOLWRIGHT_SECRETS_DIR", "TOOLWRIGHT_LOG", "NO_COLOR", "PATH", "HOME")
    env = {k: v for k, v in setup.env.items() if k in keep}
    params = StdioServerParameters(command=toolwright_bin, args=["serve", "--tools", str(tools_dir), "--no-watch"], env=env)
    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(stdio_client(params, errlog=errlog))
        session = await stack.enter_async_context(ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S))
        await session.initialize()
        yield session


async def serve_stdio(toolwright_bin: str, backend: SecretBackend, setup: SecretSetup, tools: Path, names: list[str]) -> None:
    mark = backend.mark()
    with tempfile.TemporaryFile("w+") as errlog:
        with anyio.fail_after(TIMEOUT_S):
            async with stdio_session(toolwright_bin, tools, setup, errlog) as session:
                await session.set_logging_level("debug")
                seen = await call_everything(session, names)
        errlog.seek(0)
        log = errlog.read()
    for i, text in enumerate(seen):
        setup.leaks.check(f"serve (stdio): client-visible item {i}", text)
    level = setup.env["TOOLWRIGHT_LOG"]
    setup.leaks.check(f"serve (stdio): stderr log at TOOLWRIGHT_LOG={level}", log)
    assert level.upper() in log, f"{level} logging is on:\n{log[:2000]}"
    assert_received(backend.since(mark), setup.value)


@pytest.mark.anyio
@pytest.mark.parametrize("log_level", ["debug", "trace"])
async def test_serve_stdio_never_shows_the_secret(toolwright_bin, secret_backend, secret_setup, tmp_path, log_level):
    # trace also turns on the HTTP client's and TLS stack's own logging.
    secret_setup.env["TOOLWRIGHT_LOG"] = log_level
    tools = write_tools(tmp_path / "tools.d", secret_backend.base_url)
    await serve_stdio(toolwright_bin, secret_backend, secret_setup, tools, TOOL_NAMES)
    secret_setup.leaks.assert_none()


async def http_session_calls(url: str, names: list[str]) -> list[str]:
    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(streamable_http_client(url))
        session = await stack.enter_async_context(ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S))
        await session.initialize()
        return await call_everything(session, names)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode("utf-8", "replace")


@pytest.mark.anyio
@pytest.mark.parametrize(
    "mode",
    [["--log-format", "text"], ["--stateless", "--log-format", "json", "--audit-argument-values"]],
    ids=["sessionful-text", "stateless-json"],
)
async def test_serve_http_never_shows_the_secret(toolwright_bin, secret_backend, secret_setup, tmp_path, mode):
    tools = write_tools(tmp_path / "tools.d", secret_backend.base_url)
    where = f"serve --http {' '.join(mode)}"
    mark = secret_backend.mark()
    with run_http_server(toolwright_bin, str(tools), *mode) as server:
        with anyio.fail_after(TIMEOUT_S):
            seen = await http_session_calls(server.url, TOOL_NAMES)
        assert_received(secret_backend.since(mark), secret_setup.value)

        # A reload that fails on a spec misusing the secret: the diagnostics in /status and
        # the log must not hold it either.
        (tools / "broken.yaml").write_text(BROKEN_SPEC)
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        status: dict = {}
        while time.monotonic() < deadline:
            status = json.loads(get(f"{server.base}/status"))
            if status.get("reloads_failed", 0) >= 1:
                break
            time.sleep(0.1)
        assert status.get("reloads_failed", 0) >= 1, status
        assert "broken.yaml" in json.dumps(status["last_failed_reload"]), status
        seen.append(json.dumps(status))
        for path in ["/healthz", "/readyz"]:
            seen.append(get(f"{server.base}{path}"))
        time.sleep(0.2)  # let the last log lines reach the file
        log = server.log()
    for i, text in enumerate(seen):
        secret_setup.leaks.check(f"{where}: client-visible item {i}", text)
    secret_setup.leaks.check(f"{where}: log at TOOLWRIGHT_LOG=debug", log)
    assert "DEBUG" in log or '"level":"DEBUG"' in log, log[-2000:]
    assert "reload" in log, log[-2000:]
    secret_setup.leaks.assert_none()


# --------------------------------------------------------------------------- cut error pages



def test_call_masks_a_secret_cut_by_the_excerpt(toolwright_bin, secret_backend, secret_setup, tmp_path):
    tools = write_tools(tmp_path / "tools.d", secret_backend.base_url, names=EDGE_TOOLS)
    call_tools(toolwright_bin, secret_backend, secret_setup, tools, EDGE_TOOLS)
    secret_setup.leaks.assert_none()


@pytest.mark.anyio
async def test_serve_masks_a_secret_cut_by_the_excerpt(toolwright_bin, secret_backend, secret_setup, tmp_path):
    tools = write_tools(tmp_path / "tools.d", secret_backend.base_url, names=EDGE_TOOLS)
    await serve_stdio(toolwright_bin, secret_backend, secret_setup, tools, EDGE_TOOLS)
    secret_setup.leaks.assert_none()


# --------------------------------------------------------------------------- echoed in a success



def test_call_masks_a_secret_echoed_in_a_success(toolwright_bin, secret_backend, secret_setup, tmp_path):
    tools = write_tools(tmp_path / "tools.d", secret_backend.base_url, names=["echo_200"])
    call_tools(toolwright_bin, secret_backend, secret_setup, tools, ["echo_200"])
    secret_setup.leaks.assert_none()


# --------------------------------------------------------------------------- AWS credentials


def aws_tools(base_url: str) -> dict[str, str]:
    files = {}
    for mode in ["signature", "parameter"]:
        files[f"{mode}.yaml"] = f"""\
kind: connection
name: aws-{mode}
aws: {{region: us-east-1, endpoint_url: "{base_url}/aws-{mode}"}}
---
kind: tool
name: logs_{mode}
description: Search logs through an AWS endpoint that quotes the credentials in its errors.
input:
  type: object
  properties: {{}}
  additionalProperties: false
timeout: 10s
action:
  logs_insights:
    connection: aws-{mode}
    log_groups: ["/ecs/checkout"]
    query: fields @message
    since: 1h
"""
    return files


def test_call_never_shows_aws_credentials(toolwright_bin, secret_backend, tmp_path):
    """The AWS chain's credentials are secrets too: an endpoint that quotes the session token
    and the signature in its errors must not get them into the tool error."""
    import base64
    import random
    import string

    key_id = "AKIA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=16))
    secret_key = base64.b64encode(os.urandom(30)).decode()
    session_token = "FwoGZXIvYXdzE" + base64.b64encode(os.urandom(240)).decode()
    leaks = Leaks([key_id, secret_key, session_token])
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret_key,
        AWS_SESSION_TOKEN=session_token,
        AWS_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        NO_COLOR="1",
        TOOLWRIGHT_LOG="debug",
    )
    tools = tmp_path / "tools.d"
    tools.mkdir()
    for name, text in aws_tools(secret_backend.base_url).items():
        (tools / name).write_text(text)
    for mode in ["signature", "parameter"]:
        mark = secret_backend.mark()
        p = subprocess.run(
            [toolwright_bin, "call", f"logs_{mode}", "--tools", str(tools)],
            capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, env=env,
        )
        assert p.returncode == 1, (mode, p.stdout, p.stderr)
        assert "refused" in p.stderr, (mode, p.stderr)
        leaks.check(f"call logs_{mode}: stdout", p.stdout)
        leaks.check(f"call logs_{mode}: stderr", p.stderr)
        sent = secret_backend.since(mark)
        assert sent and sent[0][0] == f"/aws-{mode}", sent
        headers = sent[0][1]
        assert headers.get("x-amz-security-token") == session_token, "the endpoint received the session token"
        assert key_id in headers.get("authorization", ""), "the request was signed with the access key"
    leaks.assert_none()
