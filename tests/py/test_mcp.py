"""The MCP surface through the official Python SDK, over stdio and Streamable HTTP, against
the real binary and a real HTTP backend."""

from __future__ import annotations

import json
from urllib.parse import unquote

import anyio
import pytest
from mcp import MCPError

from conftest import BIG_COUNT, TEXT_BODY, TOOL_NAMES, item
from helpers import json_text, mcp_session, text_of

pytestmark = pytest.mark.anyio

TEST_TIMEOUT_S = 30


@pytest.fixture(params=["stdio", "http"])
def connect(request, toolwright_bin, tools_dir):
    """A factory of SDK sessions over the parametrized transport."""
    if request.param == "stdio":
        return lambda **kw: mcp_session("stdio", toolwright_bin=toolwright_bin, tools_dir=tools_dir, **kw)
    server = request.getfixturevalue("http_server")
    return lambda **kw: mcp_session("http", url=server.url, **kw)


async def test_initialize(connect):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            init = session.initialize_result
            assert init is not None
            assert init.server_info.name == "toolwright"
            assert init.server_info.version
            caps = init.capabilities
            assert caps.tools is not None
            assert caps.tools.list_changed is True
            assert caps.logging is not None
            assert init.protocol_version in ("2025-06-18", "2025-11-25")
            # ping and logging/setLevel are answered.
            await session.send_ping()
            await session.set_logging_level("warning")


async def test_list_tools(connect):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            listed = await session.list_tools()
    tools = {t.name: t for t in listed.tools}
    assert set(tools) == TOOL_NAMES
    for t in tools.values():
        assert t.description and t.description.strip(), t.name
        assert t.input_schema.get("type") == "object", t.name
    get_item = tools["get_item"]
    assert get_item.description == "Fetch one item by its numeric id."
    assert get_item.title == "One item"
    props = get_item.input_schema["properties"]
    assert props["id"]["type"] == "integer"
    assert props["id"]["description"] == "The item id."
    assert get_item.input_schema.get("required") == ["id"]
    assert get_item.annotations is not None and get_item.annotations.read_only_hint is True
    assert tools["echo_path"].input_schema["required"] == ["segment"]


async def test_call_success(connect, backend):
    before = backend.seen()
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            result = await session.call_tool("get_item", {"id": 42})
    assert result.is_error is not True, text_of(result)
    assert result.structured_content == item("42")
    # The text rendering is the same JSON, compact.
    assert json_text(result) == item("42")
    assert "/items/42" in backend.seen()[len(before):]


async def test_call_plain_text(connect):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            result = await session.call_tool("get_text", {})
    assert result.is_error is not True, text_of(result)
    assert TEXT_BODY.strip() in text_of(result)


async def test_path_value_is_one_encoded_segment(connect, backend):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            result = await session.call_tool("echo_path", {"segment": "../items/1?x=1#y"})
    assert result.is_error is not True, text_of(result)
    seen = result.structured_content["path"]
    # `../` cannot climb and `?`/`#` cannot start a query or fragment: all one segment.
    assert seen.startswith("/echo-path/"), seen
    segment = seen[len("/echo-path/"):]
    assert "/" not in segment and "?" not in segment and "#" not in segment, seen
    assert unquote(segment) == "../items/1?x=1#y", seen


@pytest.mark.parametrize(
    "args, needle",
    [
        ({"id": "forty-two"}, "id"),  # wrong type
        ({}, "id"),  # missing required
        ({"id": 0}, "id"),  # below minimum
        ({"id": 1, "colour": "red"}, "colour"),  # additionalProperties: false
    ],
    ids=["wrong-type", "missing", "below-minimum", "unknown-property"],
)
async def test_call_invalid_arguments(connect, backend, args, needle):
    before = backend.total()
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            result = await session.call_tool("get_item", args)
    assert result.is_error is True
    message = text_of(result)
    assert needle in message, message
    assert backend.total() == before, "invalid arguments must not reach the backend"


async def test_unknown_tool_is_a_protocol_error(connect):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            with pytest.raises(MCPError) as err:
                await session.call_tool("no_such_tool", {})
            assert "no_such_tool" in str(err.value)
            # A near name gets a suggestion.
            with pytest.raises(MCPError) as err:
                await session.call_tool("get_iteem", {"id": 1})
            assert "get_item" in str(err.value)
            # The session is still usable afterwards.
            ok = await session.call_tool("get_item", {"id": 5})
            assert ok.is_error is not True


async def test_backend_500_is_a_tool_error(connect):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            result = await session.call_tool("always_fails", {})
    assert result.is_error is True
    message = text_of(result)
    assert "500" in message, message
    assert "database exploded" in message, message


async def test_output_over_max_bytes_is_truncated(connect):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with connect() as session:
            result = await session.call_tool("list_big", {})
    assert result.is_error is not True, text_of(result)
    s = result.structured_content
    assert s is not None
    assert s.get("truncated") is True, json.dumps(s)[:300]
    assert s.get("total") == BIG_COUNT
    kept = s.get("kept")
    assert isinstance(kept, int) and 0 < kept < BIG_COUNT
    assert len(s["result"]) == kept
    assert s["result"][0]["id"] == 0 and s["result"][kept - 1]["id"] == kept - 1
    # What the model reads respects the cap (2000 bytes).
    assert len(text_of(result).encode()) <= 2000


# --------------------------------------------------------------------------- 2026-07-28


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_discover_list_and_call(transport, toolwright_bin, tools_dir, request):
    """The 2026-07-28 style: `server/discover`, then per-request metadata, no initialize."""
    if transport == "stdio":
        kw = {"toolwright_bin": toolwright_bin, "tools_dir": tools_dir}
    else:
        kw = {"url": request.getfixturevalue("http_server").url}
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session(transport, handshake="discover", **kw) as session:
            assert session.discover_result is not None
            assert session.server_info is not None and session.server_info.name == "toolwright"
            listed = await session.list_tools()
            assert {t.name for t in listed.tools} == TOOL_NAMES
            result = await session.call_tool("get_item", {"id": 9})
            assert result.is_error is not True, text_of(result)
            assert result.structured_content == item("9")


# --------------------------------------------------------------------------- stateless HTTP


async def test_stateless_list_and_call(stateless_server):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session("http", url=stateless_server.url) as session:
            assert session.initialize_result.server_info.name == "toolwright"
            listed = await session.list_tools()
            assert {t.name for t in listed.tools} == TOOL_NAMES
            result = await session.call_tool("get_item", {"id": 11})
            assert result.is_error is not True, text_of(result)
            assert result.structured_content == item("11")
            bad = await session.call_tool("get_item", {"id": "x"})
            assert bad.is_error is True and "id" in text_of(bad)
            with pytest.raises(MCPError):
                await session.call_tool("no_such_tool", {})


async def test_stateless_discover_list_and_call(stateless_server):
    with anyio.fail_after(TEST_TIMEOUT_S):
        async with mcp_session("http", url=stateless_server.url, handshake="discover") as session:
            listed = await session.list_tools()
            assert {t.name for t in listed.tools} == TOOL_NAMES
            result = await session.call_tool("get_item", {"id": 12})
            assert result.is_error is not True, text_of(result)
            assert result.structured_content == item("12")
