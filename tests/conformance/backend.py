#!/usr/bin/env python3
"""The HTTP backend of the conformance catalog (tests/conformance/tools.d): the work behind the
fixture tools the MCP conformance suite calls. Standard library only; listens on 127.0.0.1.

Usage: backend.py [--port N] [--max-seconds S] [--lifetime S] [--parent PID]
       backend.py --write-png PATH   (writes the PNG of /image.png, as tools.d/resources/static-binary.png)
  Prints `PORT <n>` on stdout once listening (port 0, the default, picks a free one), then serves
  until SIGTERM, until process PID is gone, or until --lifetime seconds have passed (default
  1800), so an abandoned backend always ends.

Endpoints (every answer is computed here from the request; toolwright's specs only shape it):
  GET /greet?name=N             200 text/plain  "Hello, N!"
  GET /sleep?seconds=S&label=L  sleeps S seconds (0 <= S <= --max-seconds), then 200 JSON
                                {label, seconds, slept_ms, started_at, finished_at}; the sleep
                                stops early when the client goes away (a cancelled task)
  GET /fail?seconds=S           sleeps S seconds (default 1), then 500 JSON {error, after_ms}
  GET /crash                    closes the connection without answering (a handler that died)
  GET /text                     200 text/plain, the simple text of tools-call-simple-text
  GET /image.png                200 image/png, a 1x1 red pixel encoded here (zlib, no file)
  GET /audio.wav                200 audio/wav, 0.1 s of a 440 Hz tone synthesised here (wave module)
  GET /embedded                 200 text/plain, the text of tools-call-embedded-resource
  GET /static-text              200 text/plain, the text of resources-read-text
  GET /example-resource         200 text/plain, the resource prompts-get-embedded-resource embeds
  GET /mixed-content            200 JSON {"test": "data", "value": 123}
  GET /mixed-content/summary    200 text/plain, the text block of tools-call-mixed-content
  GET /template-data?id=I       200 JSON {"id": I, "templateTest": true, "data": "Data for ID: I"}
  GET /words?prefix=P           200 JSON {"items": [...]}: the words of a fixed list that start with P
  GET /step?n=N&of=M            sleeps 50 ms, then 200 JSON {"step": N, "of": M, "at": time}
  POST /contacts                200 JSON {"saved": <the JSON body>, "fields": sorted keys}
  GET /healthz                  200 "ok"
Anything else is 404; a bad parameter is 400 with the reason.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import wave
import zlib
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, parse_qs, urlsplit

# How often a sleeping request checks whether its client is still there.
TICK_S = 0.05


class BadRequest(Exception):
    pass


def png_1x1_red() -> bytes:
    """A 1x1 red pixel PNG, built from its chunks (so nothing binary is committed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    idat = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, then one red pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def wav_tone(seconds: float = 0.1, hz: float = 440.0, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a sine tone."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


# The values `/words` completes from (completion-complete asks for arg1 starting with "test").
WORDS = ["paris", "park", "party", "test", "testing", "tested", "tester", "value", "valley"]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def number(query: dict[str, list[str]], name: str, default: float | None, lo: float, hi: float) -> float:
    """The query parameter `name` as a finite number in [lo, hi]."""
    values = query.get(name)
    if not values:
        if default is None:
            raise BadRequest(f"missing query parameter `{name}`")
        return default
    try:
        value = float(values[0])
    except ValueError:
        raise BadRequest(f"`{name}` must be a number, got {values[0]!r}") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise BadRequest(f"`{name}` must be between {lo:g} and {hi:g}, got {values[0]!r}")
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "conformance-backend"
    max_seconds = 120.0

    def log_message(self, fmt, *args):
        sys.stderr.write("backend: %s %s\n" % (self.address_string(), fmt % args))

    def send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, value) -> None:
        self.send(status, json.dumps(value).encode(), "application/json")

    def client_gone(self) -> bool:
        """Whether the client closed its end (toolwright drops the request when a task is cancelled)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def sleep(self, seconds: float) -> bool:
        """Sleeps `seconds` in ticks; False when the client went away first."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.client_gone():
                return False
            time.sleep(min(TICK_S, left))
        return True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        try:
            if url.path == "/healthz":
                self.send(200, b"ok", "text/plain")
            elif url.path == "/greet":
                name = query.get("name", [""])[0]
                if not name:
                    raise BadRequest("missing query parameter `name`")
                self.send(200, f"Hello, {name}!".encode(), "text/plain; charset=utf-8")
            elif url.path == "/sleep":
                seconds = number(query, "seconds", None, 0, self.max_seconds)
                label = query.get("label", [""])[0]
                started, started_at = time.monotonic(), now_iso()
                if not self.sleep(seconds):
                    sys.stderr.write(f"backend: /sleep {label!r} abandoned by the client after {time.monotonic() - started:.2f}s\n")
                    self.close_connection = True
                    return
                self.send_json(
                    200,
                    {
                        "label": label,
                        "seconds": int(seconds) if seconds.is_integer() else seconds,
                        "slept_ms": round((time.monotonic() - started) * 1000),
                        "started_at": started_at,
                        "finished_at": now_iso(),
                    },
                )
            elif url.path == "/fail":
                seconds = number(query, "seconds", 1.0, 0, self.max_seconds)
                started = time.monotonic()
                if not self.sleep(seconds):
                    self.close_connection = True
                    return
                after_ms = round((time.monotonic() - started) * 1000)
                self.send_json(500, {"error": f"the job failed after {after_ms} ms", "after_ms": after_ms})
            elif url.path == "/text":
                self.send(200, b"This is a simple text response for testing.", "text/plain; charset=utf-8")
            elif url.path == "/image.png":
                self.send(200, png_1x1_red(), "image/png")
            elif url.path == "/audio.wav":
                self.send(200, wav_tone(), "audio/wav")
            elif url.path == "/embedded":
                self.send(200, b"This is an embedded resource content.", "text/plain; charset=utf-8")
            elif url.path == "/static-text":
                self.send(200, b"This is the content of the static text resource.", "text/plain; charset=utf-8")
            elif url.path == "/example-resource":
                self.send(200, b"Embedded resource content for testing.", "text/plain; charset=utf-8")
            elif url.path == "/mixed-content":
                self.send_json(200, {"test": "data", "value": 123})
            elif url.path == "/mixed-content/summary":
                self.send(200, b"Multiple content types test:", "text/plain; charset=utf-8")
            elif url.path == "/template-data":
                ident = query.get("id", [""])[0]
                if not ident:
                    raise BadRequest("missing query parameter `id`")
                self.send_json(200, {"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"})
            elif url.path == "/words":
                prefix = query.get("prefix", [""])[0].lower()
                self.send_json(200, {"items": [w for w in WORDS if w.startswith(prefix)]})
            elif url.path == "/step":
                n = int(number(query, "n", None, 0, 1000))
                of = int(number(query, "of", None, 1, 1000))
                if not self.sleep(0.05):
                    self.close_connection = True
                    return
                self.send_json(200, {"step": n, "of": of, "at": now_iso()})
            elif url.path == "/crash":
                # No status line at all: the client sees the connection end mid-request.
                sys.stderr.write(f"backend: {self.address_string()} {self.requestline!r} dropped without an answer\n")
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            else:
                self.send_json(404, {"error": f"no endpoint {url.path}"})
        except BadRequest as e:
            self.send_json(400, {"error": str(e)})


    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > 65536:
            self.send_json(413, {"error": "body too large"})
            return
        raw = self.rfile.read(length) if length else b""
        if url.path == "/contacts":
            try:
                body = json.loads(raw or b"null")
            except ValueError as e:
                self.send_json(400, {"error": f"the body is not JSON: {e}"})
                return
            if not isinstance(body, dict):
                self.send_json(400, {"error": "the body must be a JSON object"})
                return
            self.send_json(200, {"saved": body, "fields": sorted(body)})
        else:
            self.send_json(404, {"error": f"no endpoint {url.path}"})

    def do_DELETE(self) -> None:
        url = urlsplit(self.path)
        # `DELETE /files/NAME`: nothing is stored; the answer says which file would be gone.
        if url.path.startswith("/files/") and len(url.path) > len("/files/"):
            self.send_json(200, {"deleted": unquote(url.path[len("/files/"):])})
        else:
            self.send_json(404, {"error": f"no endpoint {url.path}"})


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="the longest /sleep or /fail allowed")
    parser.add_argument("--lifetime", type=float, default=1800.0, help="stop after this many seconds whatever happens")
    parser.add_argument("--parent", type=int, default=0, help="stop when the process with this id is gone")
    parser.add_argument("--write-png", metavar="PATH", help="write the 1x1 red PNG of /image.png to PATH and exit")
    args = parser.parse_args()
    if args.write_png:
        with open(args.write_png, "wb") as f:
            f.write(png_1x1_red())
        return 0

    Handler.max_seconds = args.max_seconds
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(f"PORT {server.server_address[1]}", flush=True)
    deadline = time.monotonic() + args.lifetime
    while not stop.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline or (args.parent and not alive(args.parent)):
            break
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
