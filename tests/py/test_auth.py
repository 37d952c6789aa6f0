"""Authentication on the Streamable HTTP transport: static bearer tokens from a file and OAuth
2.1 resource-server mode (RS256/ES256 JWTs checked against a JWKS), the Protected Resource
Metadata endpoint, 401s with `WWW-Authenticate`, and per-tool scopes in `tools/list` and
`tools/call`. Everything runs against the real binary and a real HTTP backend on 127.0.0.1;
keys are generated here with `cryptography` and tokens signed with PyJWT."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
import uuid
from contextlib import AsyncExitStack, asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import AsyncIterator, Iterator

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from conftest import HttpServer, _env, item, run_http_server, tools_yaml
from helpers import REQUEST_TIMEOUT_S, mcp_session, text_of

TEST_TIMEOUT_S = 30
TIMEOUT = httpx.Timeout(10.0)
ACCEPT = "application/json, text/event-stream"

ISSUER = "https://issuer.test"
AUDIENCE = "https://toolwright.test/mcp"
SCOPE = "incidents:write"
OPEN_TOOL = "get_item"
SCOPED_TOOL = "open_incident"

# Static tokens: a reader without scopes and a writer with the scope. Never in any log.
READER_TOKEN = "rdr-" + uuid.uuid4().hex
WRITER_TOKEN = "wrt-" + uuid.uuid4().hex
WRONG_TOKEN = "nope-" + uuid.uuid4().hex

SCOPED_YAML = f"""\
kind: tool
name: {SCOPED_TOOL}
description: Open an incident (needs the {SCOPE} scope).
input:
  type: object
  properties:
    id: {{type: integer, minimum: 1}}
  required: [id]
  additionalProperties: false
auth:
  scopes: [{SCOPE}]
action:
  http:
    connection: local
    method: GET
    url: /items/{{{{ id }}}}
"""

# A prompt, a resource and a resource template behind the same scope (and a prompt without one that
# embeds the scoped resource): to a caller without the scope they do not exist.
SCOPED_PROMPT = "incident_brief"
SCOPED_URI = "incident://current"
SCOPED_TEMPLATE = "incidents://{id}/timeline"
SCOPED_SURFACE_YAML = f"""\
kind: prompt
name: {SCOPED_PROMPT}
description: Brief the on-call engineer on one incident (needs the {SCOPE} scope).
arguments:
  type: object
  properties:
    id: {{type: string, enum: ["7", "8"]}}
  required: [id]
messages:
  - role: user
    text: Brief me on incident {{{{ id }}}}.
  - role: user
    resource: "incidents://{{{{ id }}}}/timeline"
auth: {{scopes: [{SCOPE}]}}
---
kind: prompt
name: current_brief
description: The current incident, embedded (the prompt is open, the resource is not).
messages:
  - role: user
    resource: {SCOPED_URI}
---
kind: resource
uri: {SCOPED_URI}
name: incident-current
description: The incident in progress, read from the backend.
action:
  http: {{connection: local, url: /items/99}}
auth: {{scopes: [{SCOPE}]}}
---
kind: resource
uri: runbook://open
name: runbook-open
text: Anyone may read this.
---
kind: resource_template
uri_template: "{SCOPED_TEMPLATE}"
name: incident-timeline
input:
  type: object
  properties:
    id: {{type: string, enum: ["7", "8"]}}
  required: [id]
action:
  http: {{connection: local, url: "/items/{{{{ id }}}}"}}
auth: {{scopes: [{SCOPE}]}}
"""


# --------------------------------------------------------------------------- keys and tokens


class Keys:
    """An RSA and an EC signing key, and the JWKS that publishes their public halves."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.rsa_kid = "rsa-" + uuid.uuid4().hex[:8]
        self.ec_kid = "ec-" + uuid.uuid4().hex[:8]

    def jwks(self) -> dict:
        r = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        r.update(kid=self.rsa_kid, use="sig", alg="RS256")
        e = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        e.update(kid=self.ec_kid, use="sig", alg="ES256")
        return {"keys": [r, e]}

    def mint(self, *, alg: str = "RS256", kid: str | None = None, key=None, drop: tuple[str, ...] = (), **claims) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice@example.com", "iat": now, "exp": now + 300}
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        if key is None:
            key = self.rsa if alg.startswith(("RS", "PS")) else self.ec
        if kid is None:
            kid = self.rsa_kid if alg.startswith(("RS", "PS")) else self.ec_kid
        return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def auth_files(tmp_path_factory, backend, keys) -> dict[str, str]:
    """A tools.d with one open and one scoped tool, a tokens file and a JWKS file."""
    root = tmp_path_factory.mktemp("auth")
    tools = root / "tools.d"
    tools.mkdir()
    files = tools_yaml(backend.base_url)
    (tools / "connections.yaml").write_text(files["connections.yaml"])
    (tools / "items.yaml").write_text(files["items.yaml"].split("\n---\n")[0] + "\n")
    (tools / "incidents.yaml").write_text(SCOPED_YAML)
    (tools / "incident-surface.yaml").write_text(SCOPED_SURFACE_YAML)
    tokens = root / "tokens"
    tokens.write_text(
        "# name token scopes\n"
        f"reader {READER_TOKEN}\n"
        f"writer {WRITER_TOKEN} {SCOPE},other:scope   # the on-call bot\n"
    )
    jwks = root / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks()))
    return {"tools": str(tools), "tokens": str(tokens), "jwks": str(jwks), "root": str(root)}


def auth_args(files: dict[str, str], jwks: str | None = None) -> list[str]:
    return [
        "--auth-tokens", files["tokens"],
        "--oauth-issuer", ISSUER,
        "--oauth-audience", AUDIENCE,
        "--oauth-jwks", jwks or files["jwks"],
    ]


@pytest.fixture(scope="module", params=["stateless", "sessionful"])
def server(request, toolwright_bin, auth_files) -> Iterator[HttpServer]:
    extra = auth_args(auth_files) + (["--stateless"] if request.param == "stateless" else [])
    with run_http_server(toolwright_bin, auth_files["tools"], *extra) as s:
        s.mode = request.param  # type: ignore[attr-defined]
        yield s


# --------------------------------------------------------------------------- clients


def initialize_body(request_id: int = 1) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "auth-test", "version": "0"}},
    }


def read_jsonrpc(response: httpx.Response) -> dict:
    """The first JSON-RPC message of a JSON or SSE response body."""
    ctype = response.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        return response.json()
    assert ctype.startswith("text/event-stream"), (response.status_code, ctype, response.text[:300])
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no data in SSE body: {response.text[:500]!r}")


def post(url: str, body: dict, token: str | None = None, **headers: str) -> httpx.Response:
    """One POST on its own connection (refusals close the connection)."""
    h = {"Accept": ACCEPT, "Content-Type": "application/json"}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        r = client.post(url, content=json.dumps(body), headers=h)
        r.read()
        return r


def get(url: str, token: str | None = None) -> httpx.Response:
    h = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url, headers=h, timeout=TIMEOUT, trust_env=False)


@asynccontextmanager
async def session_with(url: str, token: str, handshake: str = "initialize") -> AsyncIterator[ClientSession]:
    """An official-SDK session whose every HTTP request carries the bearer token.

    handshake: "initialize" (the 2025 revisions) or "discover" (2026-07-28, per-request)."""
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}))
        read, write = await stack.enter_async_context(streamable_http_client(url, http_client=client))
        session = await stack.enter_async_context(ClientSession(read, write, read_timeout_seconds=REQUEST_TIMEOUT_S))
        if handshake == "initialize":
            await session.initialize()
        else:
            await session.discover()
        yield session


def assert_401(r: httpx.Response, server: HttpServer, error: str | None) -> str:
    """Checks a 401 and its challenge; returns the challenge."""
    assert r.status_code == 401, (r.status_code, r.text[:300])
    challenge = r.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer "), challenge
    assert f'resource_metadata="{server.base}/.well-known/oauth-protected-resource/mcp"' in challenge, challenge
    if error is None:
        assert "error=" not in challenge, challenge
    else:
        assert f'error="{error}"' in challenge, challenge
    return challenge


# --------------------------------------------------------------------------- 401s


def test_no_token_is_401_with_resource_metadata(server):
    r = post(server.url, initialize_body())
    assert_401(r, server, None)
    # Another scheme is no bearer token either.
    r = post(server.url, initialize_body(), Authorization="Basic dXNlcjpwYXNz")
    assert_401(r, server, None)


def test_wrong_static_token_is_401(server):
    challenge = assert_401(post(server.url, initialize_body(), WRONG_TOKEN), server, "invalid_token")
    assert WRONG_TOKEN not in challenge


def test_expired_jwt_is_401(server, keys):
    now = int(time.time())
    token = keys.mint(iat=now - 3600, exp=now - 600)
    challenge = assert_401(post(server.url, initialize_body(), token), server, "invalid_token")
    assert "expired" in challenge


def test_wrong_audience_is_401(server, keys):
    challenge = assert_401(post(server.url, initialize_body(), keys.mint(aud="https://other.test/mcp")), server, "invalid_token")
    assert "aud" in challenge
    # No audience at all is no better.
    assert_401(post(server.url, initialize_body(), keys.mint(drop=("aud",))), server, "invalid_token")


def test_wrong_issuer_is_401(server, keys):
    challenge = assert_401(post(server.url, initialize_body(), keys.mint(iss="https://evil.test")), server, "invalid_token")
    assert "iss" in challenge
    assert_401(post(server.url, initialize_body(), keys.mint(drop=("iss",))), server, "invalid_token")


def test_jwt_signed_by_an_unknown_key_is_401(server, keys):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert_401(post(server.url, initialize_body(), keys.mint(key=stranger)), server, "invalid_token")
    # An HS256 token made with the public key as the secret (algorithm confusion) is refused.
    hs = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300}, "x" * 32, algorithm="HS256", headers={"kid": keys.rsa_kid})
    assert_401(post(server.url, initialize_body(), hs), server, "invalid_token")


def test_probes_and_metadata_are_open_status_and_metrics_are_not(server):
    assert get(f"{server.base}/healthz").status_code == 200
    assert get(f"{server.base}/readyz").status_code == 200
    for path in ("/status", "/metrics"):
        assert get(f"{server.base}{path}").status_code == 401, path
        assert get(f"{server.base}{path}", READER_TOKEN).status_code == 200, path


def test_protected_resource_metadata(server):
    for path in ("/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"):
        r = get(f"{server.base}{path}")
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"].startswith("application/json")
        doc = r.json()
        assert doc["resource"] == server.url
        assert doc["authorization_servers"] == [ISSUER]
        assert doc["bearer_methods_supported"] == ["header"]
        assert doc["scopes_supported"] == [SCOPE]


# --------------------------------------------------------------------------- scopes


async def list_and_call(url: str, token: str, handshake: str = "initialize") -> tuple[set[str], object, object]:
    """Tool names listed, the open tool's result, and the scoped tool's result (or error)."""
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with session_with(url, token, handshake) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            open_result = await session.call_tool(OPEN_TOOL, {"id": 7})
            try:
                scoped = await session.call_tool(SCOPED_TOOL, {"id": 8})
            except MCPError as e:
                scoped = e
            # The session stays usable after a refusal (ping is not part of 2026-07-28).
            if handshake == "initialize":
                await session.send_ping()
    return names, open_result, scoped


@pytest.mark.anyio
@pytest.mark.parametrize("who", ["jwt-rs256", "jwt-es256", "static"])
async def test_without_the_scope_the_tool_is_hidden_and_refused(server, keys, backend, who):
    token = {
        "jwt-rs256": keys.mint(scope="incidents:read profile"),
        "jwt-es256": keys.mint(alg="ES256", scp=["incidents:read"]),
        "static": READER_TOKEN,
    }[who]
    before = len(backend.seen())
    names, open_result, scoped = await list_and_call(server.url, token)
    assert names == {OPEN_TOOL}
    assert open_result.is_error is not True, text_of(open_result)
    assert open_result.structured_content == item("7")
    # Refused exactly like an unknown tool: a protocol error that does not reveal the tool.
    assert isinstance(scoped, MCPError), scoped
    assert f"unknown tool `{SCOPED_TOOL}`" in str(scoped)
    assert SCOPE not in str(scoped)
    assert "/items/8" not in backend.seen()[before:]


async def outcome(call) -> object:
    """What an awaited request gave: its result, or its MCPError as (code, message)."""
    try:
        return await call
    except MCPError as e:
        return (e.error.code, e.error.message)


async def surface(url: str, token: str, handshake: str = "initialize") -> dict[str, object]:
    """Everything a caller can learn about the scoped prompt, resource and template, and what it
    gets for names and URIs that do not exist at all."""
    from mcp import types

    with anyio.fail_after(TEST_TIMEOUT_S):
        async with session_with(url, token, handshake) as session:
            prompt_ref = types.PromptReference(type="ref/prompt", name=SCOPED_PROMPT)
            template_ref = types.ResourceTemplateReference(type="ref/resource", uri=SCOPED_TEMPLATE)
            return {
                "prompts": {p.name for p in (await session.list_prompts()).prompts},
                "resources": {str(r.uri) for r in (await session.list_resources()).resources},
                "templates": {t.uri_template for t in (await session.list_resource_templates()).resource_templates},
                "get": await outcome(session.get_prompt(SCOPED_PROMPT, {"id": "7"})),
                "get_unknown": await outcome(session.get_prompt("no_such_prompt", {"id": "7"})),
                "get_embedding": await outcome(session.get_prompt("current_brief")),
                "read": await outcome(session.read_resource(SCOPED_URI)),
                "read_template": await outcome(session.read_resource("incidents://7/timeline")),
                "read_unknown": await outcome(session.read_resource("incident://nothing")),
                "read_unknown_template": await outcome(session.read_resource("incidents://7/nothing")),
                "complete_prompt": await outcome(session.complete(prompt_ref, {"name": "id", "value": ""})),
                "complete_unknown_prompt": await outcome(
                    session.complete(types.PromptReference(type="ref/prompt", name="no_such_prompt"), {"name": "id", "value": ""})
                ),
                "complete_template": await outcome(session.complete(template_ref, {"name": "id", "value": ""})),
                "complete_unknown_template": await outcome(
                    session.complete(types.ResourceTemplateReference(type="ref/resource", uri="incidents://{id}/nothing"), {"name": "id", "value": ""})
                ),
            }


def unknown_alike(hidden: object, unknown: object, hidden_name: str, unknown_name: str) -> None:
    """A hidden item's error is the unknown one's, word for word but for the name asked for."""
    assert isinstance(hidden, tuple) and isinstance(unknown, tuple), (hidden, unknown)
    assert hidden[0] == unknown[0], (hidden, unknown)
    assert hidden[1].replace(hidden_name, "NAME") == unknown[1].replace(unknown_name, "NAME"), (hidden, unknown)
    assert SCOPE not in hidden[1]


@pytest.mark.anyio
@pytest.mark.parametrize("who", ["jwt", "static"])
async def test_without_the_scope_prompts_and_resources_do_not_exist(server, keys, backend, who):
    token = keys.mint(scope="incidents:read") if who == "jwt" else READER_TOKEN
    before = len(backend.seen())
    seen = await surface(server.url, token)
    assert seen["prompts"] == {"current_brief"}, seen
    assert seen["resources"] == {"runbook://open"}, seen
    assert seen["templates"] == set(), seen
    unknown_alike(seen["get"], seen["get_unknown"], SCOPED_PROMPT, "no_such_prompt")
    assert seen["get"][0] == -32602
    # The open prompt embeds the scoped resource: for this caller it is not there.
    unknown_alike(seen["get_embedding"], seen["read_unknown"], SCOPED_URI, "incident://nothing")
    unknown_alike(seen["read"], seen["read_unknown"], SCOPED_URI, "incident://nothing")
    assert seen["read"][0] == -32002
    unknown_alike(seen["read_template"], seen["read_unknown_template"], "incidents://7/timeline", "incidents://7/nothing")
    unknown_alike(seen["complete_prompt"], seen["complete_unknown_prompt"], SCOPED_PROMPT, "no_such_prompt")
    unknown_alike(seen["complete_template"], seen["complete_unknown_template"], SCOPED_TEMPLATE, "incidents://{id}/nothing")
    # Nothing reached the backend.
    assert backend.seen()[before:] == [], backend.seen()[before:]
    # The refusals are audited, with the missing scope, and the token never is.
    log = server.log()
    assert "forbidden" in log and SCOPE in log
    assert READER_TOKEN not in log


@pytest.mark.anyio
@pytest.mark.parametrize("handshake", ["initialize", "discover"])
async def test_with_the_scope_prompts_and_resources_are_listed_and_work(server, keys, handshake):
    token = WRITER_TOKEN if handshake == "initialize" else keys.mint(scope=f"profile {SCOPE}")
    seen = await surface(server.url, token, handshake)
    assert seen["prompts"] == {"current_brief", SCOPED_PROMPT}, seen
    assert seen["resources"] == {"runbook://open", SCOPED_URI}, seen
    assert seen["templates"] == {SCOPED_TEMPLATE}, seen
    got = seen["get"]
    assert not isinstance(got, tuple), got
    assert got.messages[0].content.text == "Brief me on incident 7."
    assert json.loads(got.messages[1].content.resource.text) == item("7")
    embedded = seen["get_embedding"]
    assert not isinstance(embedded, tuple), embedded
    assert json.loads(embedded.messages[0].content.resource.text) == item("99")
    assert json.loads(seen["read"].contents[0].text) == item("99")
    assert json.loads(seen["read_template"].contents[0].text) == item("7")
    assert seen["complete_prompt"].completion.values == ["7", "8"]
    assert seen["complete_template"].completion.values == ["7", "8"]
    # Not found: -32002, which rmcp answers as -32602 to a 2026-07-28 request (that revision's code).
    assert isinstance(seen["read_unknown"], tuple) and seen["read_unknown"][0] == (-32002 if handshake == "initialize" else -32602)


@pytest.mark.anyio
@pytest.mark.parametrize("who", ["jwt-scope", "jwt-scp", "static"])
async def test_with_the_scope_the_tool_is_listed_and_works(server, keys, backend, who):
    token = {
        "jwt-scope": keys.mint(scope=f"profile {SCOPE}"),
        "jwt-scp": keys.mint(alg="ES256", scp=[SCOPE]),
        "static": WRITER_TOKEN,
    }[who]
    before = len(backend.seen())
    names, open_result, scoped = await list_and_call(server.url, token)
    assert names == {OPEN_TOOL, SCOPED_TOOL}
    assert open_result.is_error is not True
    assert not isinstance(scoped, MCPError), scoped
    assert scoped.is_error is not True, text_of(scoped)
    assert scoped.structured_content == item("8")
    assert "/items/8" in backend.seen()[before:]


def new_session(server: HttpServer, token: str) -> str:
    r = post(server.url, initialize_body(), token)
    assert r.status_code == 200, r.text
    sid = r.headers["mcp-session-id"]
    post(server.url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, token, Mcp_Session_Id=sid)
    return sid


def call_raw(server: HttpServer, token: str, name: str, arguments: dict) -> dict:
    """One tools/call as raw JSON-RPC (in a new session when the server has sessions)."""
    headers = {"MCP_Protocol_Version": "2025-11-25"}
    if server.mode == "sessionful":
        headers["Mcp_Session_Id"] = new_session(server, token)
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}}
    return read_jsonrpc(post(server.url, body, token, **headers))


@pytest.mark.anyio
async def test_scopes_hold_for_2026_07_28_requests(server, keys):
    """The per-request revision (`server/discover`, no session) goes through the same checks."""
    names, open_result, scoped = await list_and_call(server.url, keys.mint(sub="per-request"), "discover")
    assert names == {OPEN_TOOL}
    assert open_result.is_error is not True
    assert isinstance(scoped, MCPError), scoped
    names, _, scoped = await list_and_call(server.url, WRITER_TOKEN, "discover")
    assert names == {OPEN_TOOL, SCOPED_TOOL}
    assert not isinstance(scoped, MCPError) and scoped.is_error is not True, scoped


def test_hint_for_a_misspelt_tool_never_names_a_hidden_one(server):
    """`open_incidnet` is one edit from the scoped tool: only a caller who may see it gets the hint."""
    msg = call_raw(server, READER_TOKEN, "open_incidnet", {"id": 1})
    assert "unknown tool `open_incidnet`" in msg["error"]["message"], msg
    assert SCOPED_TOOL not in msg["error"]["message"], msg
    msg = call_raw(server, WRITER_TOKEN, "open_incidnet", {"id": 1})
    assert SCOPED_TOOL in msg["error"]["message"], msg


@pytest.mark.parametrize("server", ["sessionful"], indirect=True)
def test_every_request_of_a_session_needs_the_token(server, keys):
    sid = new_session(server, WRITER_TOKEN)
    listing = {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}
    proto = {"MCP_Protocol_Version": "2025-11-25", "Mcp_Session_Id": sid}
    ok = post(server.url, listing, WRITER_TOKEN, **proto)
    assert ok.status_code == 200, ok.text
    assert {t["name"] for t in read_jsonrpc(ok)["result"]["tools"]} == {OPEN_TOOL, SCOPED_TOOL}
    # The session id alone is not enough, nor is a bad token with it.
    assert_401(post(server.url, listing, None, **proto), server, None)
    assert_401(post(server.url, listing, WRONG_TOKEN, **proto), server, "invalid_token")
    # Another caller's valid token cannot use the session: it is "not found" for them.
    other = post(server.url, listing, READER_TOKEN, **proto)
    assert other.status_code == 404, (other.status_code, other.text)
    other = post(server.url, listing, keys.mint(sub="mallory", scope=SCOPE), **proto)
    assert other.status_code == 404, (other.status_code, other.text)
    # The owner still can, and can end it.
    assert post(server.url, listing, WRITER_TOKEN, **proto).status_code == 200
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        assert client.delete(server.url, headers={"Mcp-Session-Id": sid}).status_code == 401
        assert client.delete(server.url, headers={"Mcp-Session-Id": sid, "Authorization": f"Bearer {WRITER_TOKEN}"}).status_code in (200, 202, 204)


# --------------------------------------------------------------------------- logs, files, flags


@contextlib.contextmanager
def trace_logs() -> Iterator[None]:
    old = os.environ.get("TOOLWRIGHT_LOG")
    os.environ["TOOLWRIGHT_LOG"] = "trace"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TOOLWRIGHT_LOG", None)
        else:
            os.environ["TOOLWRIGHT_LOG"] = old


@pytest.mark.anyio
async def test_tokens_never_appear_in_the_server_log(toolwright_bin, auth_files, keys):
    good_jwt = keys.mint(scope=SCOPE, sub="log-checker")
    bad_jwt = keys.mint(aud="https://other.test/mcp")
    with trace_logs(), run_http_server(toolwright_bin, auth_files["tools"], *auth_args(auth_files)) as s:
        for token in (READER_TOKEN, WRITER_TOKEN, WRONG_TOKEN, good_jwt, bad_jwt):
            post(s.url, initialize_body(), token)
        await list_and_call(s.url, WRITER_TOKEN)
        await list_and_call(s.url, good_jwt)
        await list_and_call(s.url, READER_TOKEN)
        time.sleep(0.3)
        log = s.log()
    assert "writer" in log and "log-checker" in log, log[-2000:]  # names are logged (audit lines)
    for token in (READER_TOKEN, WRITER_TOKEN, WRONG_TOKEN, good_jwt, bad_jwt):
        assert token not in log
        # Not even a recognisable piece of it.
        assert token[-20:] not in log


def test_tokens_file_changes_take_effect_without_a_restart(toolwright_bin, auth_files, tmp_path):
    tokens = tmp_path / "tokens"
    first, second = "one-" + uuid.uuid4().hex, "two-" + uuid.uuid4().hex
    tokens.write_text(f"first {first}\n")
    with run_http_server(toolwright_bin, auth_files["tools"], "--stateless", "--auth-tokens", str(tokens)) as s:
        assert post(s.url, initialize_body(), first).status_code == 200
        assert post(s.url, initialize_body(), second).status_code == 401
        # Rotate: the second replaces the first. Requests look at the file at most once a second.
        tmp = tmp_path / "tokens.new"
        tmp.write_text(f"second {second} {SCOPE}\n")
        tmp.replace(tokens)
        deadline = time.monotonic() + 10
        while post(s.url, initialize_body(), second).status_code != 200:
            assert time.monotonic() < deadline, s.log()[-2000:]
            time.sleep(0.2)
        assert post(s.url, initialize_body(), first).status_code == 401
        # A broken file keeps the tokens in force and says why, by line, without the token.
        broken = "b" + uuid.uuid4().hex
        tmp.write_text(f"second {second}\nthird {broken} a b c\n")
        tmp.replace(tokens)
        time.sleep(1.3)
        assert post(s.url, initialize_body(), second).status_code == 200
        deadline = time.monotonic() + 10
        while "line 2" not in s.log():
            assert time.monotonic() < deadline, s.log()[-2000:]
            time.sleep(0.2)
        # An in-place rewrite followed by SIGHUP (which reloads the catalog and the tokens).
        tokens.write_text(f"first {first}\n")
        s.proc.send_signal(1)
        deadline = time.monotonic() + 10
        while post(s.url, initialize_body(), first).status_code != 200:
            assert time.monotonic() < deadline, s.log()[-2000:]
            time.sleep(0.2)
        log = s.log()
    for token in (first, second, broken):
        assert token not in log


class JwksServer:
    """Serves a JWKS document on 127.0.0.1 and counts the fetches."""

    def __init__(self, doc: dict) -> None:
        self.doc = doc
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def do_GET(self):  # noqa: N802
                outer.fetches += 1
                body = json.dumps(outer.doc).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_jwks_from_a_url_follows_key_rotation(toolwright_bin, auth_files, keys):
    jwks = JwksServer(keys.jwks())
    try:
        with run_http_server(toolwright_bin, auth_files["tools"], "--stateless", *auth_args(auth_files, jwks=jwks.url)) as s:
            assert jwks.fetches == 1
            assert post(s.url, initialize_body(), keys.mint()).status_code == 200
            assert jwks.fetches == 1  # cached
            # The authorization server rotates to a new key: a token with its kid triggers one fetch.
            fresh = Keys()
            jwks.doc = fresh.jwks()
            assert post(s.url, initialize_body(), fresh.mint()).status_code == 200
            assert jwks.fetches == 2
            # Tokens with unknown kids do not make the server fetch again and again.
            for _ in range(3):
                assert post(s.url, initialize_body(), keys.mint(kid="gone")).status_code == 401
            assert jwks.fetches == 2
    finally:
        jwks.close()


def test_a_broken_tokens_file_stops_serve_and_never_shows_the_token(toolwright_bin, auth_files, tmp_path):
    secret = "sec-" + uuid.uuid4().hex
    tokens = tmp_path / "tokens"
    tokens.write_text(f"ok-name {secret}\nbad name {secret}2 extra,scope more\nshort tiny\n")
    r = subprocess.run(
        [toolwright_bin, "serve", "--tools", auth_files["tools"], "--no-watch", "--http", "127.0.0.1:0", "--auth-tokens", str(tokens)],
        capture_output=True, text=True, timeout=30, env=_env(), stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 78, (r.returncode, r.stderr)
    assert "line 2" in r.stderr and "line 3" in r.stderr, r.stderr
    assert secret not in r.stderr + r.stdout and "tiny" not in r.stderr


def test_auth_flags_need_http(toolwright_bin, auth_files):
    r = subprocess.run(
        [toolwright_bin, "serve", "--tools", auth_files["tools"], "--no-watch", "--auth-tokens", auth_files["tokens"]],
        capture_output=True, text=True, timeout=30, env=_env(), stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "--http" in r.stderr


@pytest.mark.anyio
async def test_stdio_is_not_authenticated(toolwright_bin, auth_files):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session("stdio", toolwright_bin=toolwright_bin, tools_dir=auth_files["tools"]) as session:
            names = {t.name for t in (await session.list_tools()).tools}
            result = await session.call_tool(SCOPED_TOOL, {"id": 3})
    assert names == {OPEN_TOOL, SCOPED_TOOL}
    assert result.is_error is not True, text_of(result)


def test_without_auth_http_serves_every_tool(toolwright_bin, auth_files):
    with run_http_server(toolwright_bin, auth_files["tools"], "--stateless") as s:
        msg = read_jsonrpc(post(s.url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, MCP_Protocol_Version="2025-11-25"))
        assert {t["name"] for t in msg["result"]["tools"]} == {OPEN_TOOL, SCOPED_TOOL}
        assert get(f"{s.base}/.well-known/oauth-protected-resource").status_code == 404
        assert "HTTP authentication is off" in s.log()
