"""Limits and observability (issue 6): a burst beyond a tool's concurrency limit fails fast
with a retry hint while the rest succeed; a per-minute limit; `/metrics` parses as
Prometheus text and its counters move with calls and reloads. Only 127.0.0.1 is used."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from test_reload import call, serve_http, wait_for

SLOW_S = 3.0


@pytest.fixture(scope="module")
def slow_backend():
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            if self.path.startswith("/slow"):
                time.sleep(SLOW_S)
            body = json.dumps({"ok": True, "path": self.path}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def catalog(root: Path, base_url: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tools.yaml").write_text(f"""\
kind: connection
name: local
http: {{base_url: "{base_url}", allow_private_networks: true}}
---
kind: tool
name: slow_one
description: A slow call limited to two at once.
input: {{type: object}}
limits: {{concurrency: 2}}
action:
  http: {{connection: local, url: /slow}}
---
kind: tool
name: rationed
description: A fast call limited to three per minute.
input: {{type: object}}
limits: {{per_minute: 3}}
action:
  http: {{connection: local, url: /fast}}
---
kind: tool
name: free
description: A fast call without limits.
input: {{type: object}}
action:
  http: {{connection: local, url: /fast}}
""")


def metrics(server) -> dict:
    with urllib.request.urlopen(f"{server.base}/metrics", timeout=5) as r:
        assert r.headers["content-type"].startswith("text/plain"), r.headers["content-type"]
        text = r.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def test_burst_beyond_concurrency_limit_fails_fast_with_retry_hint(toolwright_bin, slow_backend, tmp_path):
    root = tmp_path / "tools.d"
    catalog(root, slow_backend)
    with serve_http(toolwright_bin, root, "--stateless") as server:
        def one(_):
            t0 = time.monotonic()
            with httpx.Client(timeout=20) as c:
                r = call(server, "slow_one", {}, c)
            return r["result"], time.monotonic() - t0

        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(one, range(6)))
        ok = [r for r, _ in results if not r.get("isError")]
        refused = [(r, took) for r, took in results if r.get("isError")]
        assert len(ok) == 2, results
        assert len(refused) == 4, results
        for r, took in refused:
            text = r["content"][0]["text"]
            assert "allows 2 calls at once" in text and "retry" in text, text
            assert took < SLOW_S / 2, f"a refused call took {took:.2f}s instead of failing fast"


def test_per_minute_limit_says_when_to_retry(toolwright_bin, slow_backend, tmp_path):
    root = tmp_path / "tools.d"
    catalog(root, slow_backend)
    with serve_http(toolwright_bin, root, "--stateless") as server:
        with httpx.Client(timeout=10) as c:
            results = [call(server, "rationed", {}, c)["result"] for _ in range(4)]
        assert [bool(r.get("isError")) for r in results] == [False, False, False, True], results
        text = results[3]["content"][0]["text"]
        assert "3 calls per minute" in text and "retry in" in text, text


def test_metrics_parse_and_move_with_calls_and_reloads(toolwright_bin, slow_backend, tmp_path):
    root = tmp_path / "tools.d"
    catalog(root, slow_backend)
    with serve_http(toolwright_bin, root, "--stateless") as server:
        before = metrics(server)
        assert before[("toolwright_catalog_tools", ())] == 3
        with httpx.Client(timeout=10) as c:
            for _ in range(5):
                assert not call(server, "free", {}, c)["result"].get("isError")
        after = metrics(server)
        key = ("toolwright_tool_calls_total", (("outcome", "ok"), ("tool", "free")))
        assert after.get(key, 0) - before.get(key, 0) == 5, after
        count = ("toolwright_tool_call_duration_seconds_count", (("tool", "free"),))
        assert after[count] >= 5
        assert ("toolwright_calls_in_flight", ()) in after
        # A good reload and a bad one move the reload counters.
        (root / "more.yaml").write_text("kind: tool\nname: more\ndescription: x\ninput: {type: object}\naction:\n  http: {connection: local, url: /fast}\n")
        wait_for(lambda: metrics(server).get(("toolwright_reloads_total", (("outcome", "ok"),)), 0) >= 1, "an ok reload in /metrics")
        (root / "broken.yaml").write_text("kind: tool\nname: [\n")
        wait_for(lambda: metrics(server).get(("toolwright_reloads_total", (("outcome", "failed"),)), 0) >= 1, "a failed reload in /metrics")
        assert metrics(server)[("toolwright_catalog_tools", ())] == 4


def test_audit_line_names_arguments_but_not_values(toolwright_bin, slow_backend, tmp_path):
    root = tmp_path / "tools.d"
    catalog(root, slow_backend)
    with serve_http(toolwright_bin, root, "--stateless", "--log-format", "json") as server:
        with httpx.Client(timeout=10) as c:
            call(server, "free", {"secret_looking_value": "hunter2-value"}, c)
        line = wait_for(lambda: next((l for l in server.log().splitlines() if '"toolwright::audit"' in l), None), "an audit line")
        entry = json.loads(line)
        assert entry["tool"] == "free" and entry["outcome"] in ("ok", "error"), entry
        assert "secret_looking_value" in entry["arguments"], entry
        assert "hunter2-value" not in server.log()
