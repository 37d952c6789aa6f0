"""Rich content: an HTTP answer whose type is an image or audio becomes an MCP image or audio
content block (a Grafana panel render as a tool), and `response.content: resource` returns the
answer as an embedded resource; a `steps` tool's `content` returns several steps' blocks in one
result. Checked with the official Python SDK against a real HTTP server
on 127.0.0.1."""

from __future__ import annotations

import base64
import struct
import zlib

import anyio
import pytest

from helpers import LocalHttpServer, QuietHandler, mcp_session, text_of


def png_1x1() -> bytes:
    """A valid 1x1 red PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = png_1x1()
WAV = b"RIFF$\x00\x00\x00WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8) + b"data\x00\x00\x00\x00"
RUNBOOK = "# Checkout runbook\n\n1. Check the 5xx rate.\n"


class MediaBackend(LocalHttpServer):
    def __init__(self) -> None:
        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                path = self.path.split("?", 1)[0]
                if path == "/render/panel.png":
                    self._send(200, PNG, "image/png")
                elif path == "/alerts/chime.wav":
                    self._send(200, WAV, "audio/wav")
                elif path == "/runbooks/checkout.md":
                    self._send(200, RUNBOOK.encode(), "text/markdown; charset=utf-8")
                elif path == "/exports/dump.bin":
                    self._send(200, b"\x00\x01\x02\xff", "application/octet-stream")
                else:
                    self._json(404, {"error": "no route"})

        super().__init__(Handler)


def tool(name: str, url: str, extra: str = "") -> str:
    return f"""\
kind: tool
name: {name}
description: Fetches {url} from the media backend.
annotations: {{read_only: true}}
input: {{type: object}}
action:
  http:
    connection: media
    url: {url}
{extra}"""


# A steps tool whose result is several steps' content: the panel (an image beside its text), the alert
# sound (audio), the runbook (an embedded resource beside its text); the skipped step adds nothing.
INCIDENT_VIEW = """\
kind: tool
name: incident_view
description: The latency panel, the alert sound and the runbook of an incident, in one result.
annotations: {read_only: true}
input:
  type: object
  properties:
    sound: {type: boolean, default: false}
action:
  steps:
    run:
      - id: panel
        http: {connection: media, url: /render/panel.png}
      - id: sound
        when: .args.sound
        http: {connection: media, url: /alerts/chime.wav}
      - id: runbook
        http: {connection: media, url: /runbooks/checkout.md, response: {content: resource}}
    content: [runbook, sound, panel]
"""


@pytest.fixture(scope="module")
def media_tools(tmp_path_factory):
    backend = MediaBackend().start()
    root = tmp_path_factory.mktemp("media") / "tools.d"
    root.mkdir()
    (root / "connections.yaml").write_text(
        f"kind: connection\nname: media\nhttp:\n  base_url: {backend.base_url}\n  allow_private_networks: true\n"
    )
    (root / "tools.yaml").write_text(
        "---\n".join(
            [
                tool("panel_png", "/render/panel.png"),
                tool("alert_sound", "/alerts/chime.wav"),
                tool("runbook", "/runbooks/checkout.md?v=2", "    response: {content: resource}\n"),
                tool("export_dump", "/exports/dump.bin", "    response: {content: resource}\n"),
                INCIDENT_VIEW,
            ]
        )
    )
    try:
        yield str(root), backend.base_url
    finally:
        backend.stop()


@pytest.mark.anyio
async def test_image_audio_and_embedded_resources(toolwright_bin, media_tools):
    tools, base_url = media_tools
    with anyio.fail_after(30):
        async with mcp_session("stdio", toolwright_bin=toolwright_bin, tools_dir=tools) as session:
            image = await session.call_tool("panel_png", {})
            assert image.is_error is not True, text_of(image)
            blocks = {b.type: b for b in image.content}
            assert blocks["image"].mime_type == "image/png"
            assert base64.b64decode(blocks["image"].data) == PNG
            assert f"image/png, {len(PNG)} bytes" in text_of(image)

            audio = await session.call_tool("alert_sound", {})
            blocks = {b.type: b for b in audio.content}
            assert blocks["audio"].mime_type == "audio/wav"
            assert base64.b64decode(blocks["audio"].data) == WAV

            runbook = await session.call_tool("runbook", {})
            blocks = {b.type: b for b in runbook.content}
            resource = blocks["resource"].resource
            assert str(resource.uri) == f"{base_url}/runbooks/checkout.md", "the URI has no query"
            assert resource.mime_type == "text/markdown"
            assert resource.text == RUNBOOK

            dump = await session.call_tool("export_dump", {})
            resource = {b.type: b for b in dump.content}["resource"].resource
            assert resource.mime_type == "application/octet-stream"
            assert base64.b64decode(resource.blob) == b"\x00\x01\x02\xff"


@pytest.mark.anyio
async def test_a_steps_result_holds_each_listed_steps_blocks_in_order(toolwright_bin, media_tools):
    tools, base_url = media_tools
    with anyio.fail_after(30):
        async with mcp_session("stdio", toolwright_bin=toolwright_bin, tools_dir=tools) as session:
            quiet = await session.call_tool("incident_view", {})
            assert quiet.is_error is not True, text_of(quiet)
            assert [b.type for b in quiet.content] == ["text", "resource", "text", "image"]
            assert "attached as the resource" in quiet.content[0].text
            assert quiet.content[1].resource.text == RUNBOOK
            assert quiet.content[2].text == f"an image (image/png, {len(PNG)} bytes)"
            assert base64.b64decode(quiet.content[3].data) == PNG
            # structuredContent is still the steps answer; the skipped step is null there.
            assert quiet.structured_content["steps"]["sound"] is None
            assert quiet.structured_content["steps"]["panel"].startswith("an image")

            loud = await session.call_tool("incident_view", {"sound": True})
            assert [b.type for b in loud.content] == ["text", "resource", "text", "audio", "text", "image"]
            assert base64.b64decode(loud.content[3].data) == WAV
