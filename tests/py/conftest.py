"""Fixtures for the end-to-end tests: the real toolwright binary, a real HTTP backend on
127.0.0.1, a temporary tools.d that points at it, and `toolwright serve --http` processes.

Every subprocess is killed in teardown and every wait is bounded. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from helpers import LocalHttpServer, QuietHandler

REPO = Path(__file__).resolve().parents[2]
HEALTH_TIMEOUT_S = 20.0


# --------------------------------------------------------------------------- the binary


def _default_bin() -> Path:
    if os.environ.get("TOOLWRIGHT_BIN"):
        return Path(os.environ["TOOLWRIGHT_BIN"])
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        return Path(target) / "debug" / "toolwright"
    return REPO / "target" / "debug" / "toolwright"


@pytest.fixture(scope="session")
def toolwright_bin() -> str:
    path = _default_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(
            f"toolwright binary not found at {path}: build it with `cargo build` "
            "or point TOOLWRIGHT_BIN at it",
            pytrace=False,
        )
    return str(path)


# --------------------------------------------------------------------------- ports


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the backend

BIG_COUNT = 500
TEXT_BODY = "status: all good\nqueue depth: 3\n"
FAIL_BODY = "database exploded: connection pool exhausted on db-7"


def item(item_id: str) -> dict:
    n = int(item_id) if item_id.isdigit() else item_id
    return {"id": n, "name": f"item-{item_id}", "tags": ["red", "blue"]}


def big_rows() -> list[dict]:
    # About 100 bytes each in compact JSON.
    return [
        {"id": i, "name": f"row-{i:04d}", "note": "x" * 50, "ok": i % 2 == 0}
        for i in range(BIG_COUNT)
    ]


class Backend(LocalHttpServer):
    """A real HTTP server on 127.0.0.1 that counts the requests it serves."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.paths: list[str] = []
        backend = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802 (stdlib naming)
                raw = self.path
                path = raw.split("?", 1)[0]
                with backend.lock:
                    backend.paths.append(raw)
                    backend.hits[path.split("/")[1] if "/" in path else path] += 1
                if path.startswith("/items/"):
                    self._json(200, item(path[len("/items/"):]))
                elif path == "/big":
                    self._json(200, big_rows())
                elif path == "/fail":
                    self._send(500, FAIL_BODY.encode(), "text/plain; charset=utf-8")
                elif path.startswith("/echo-path/"):
                    self._json(200, {"path": raw})
                elif path == "/text":
                    self._send(200, TEXT_BODY.encode(), "text/plain; charset=utf-8")
                else:
                    self._json(404, {"error": f"no route {path}"})

        super().__init__(Handler)

    def total(self) -> int:
        with self.lock:
            return sum(self.hits.values())

    def seen(self) -> list[str]:
        with self.lock:
            return list(self.paths)


@pytest.fixture(scope="session")
def backend() -> Iterator[Backend]:
    b = Backend().start()
    try:
        yield b
    finally:
        b.stop()


# --------------------------------------------------------------------------- tools.d

TOOL_NAMES = {"get_item", "list_big", "always_fails", "echo_path", "get_text"}


def local_connection_yaml(base_url: str) -> str:
    """The `local` connection: a test backend on 127.0.0.1."""
    return f"""\
kind: connection
name: local
description: The test backend on 127.0.0.1.
http:
  base_url: {base_url}
  allow_private_networks: true
  timeout: 5s
"""


def tools_yaml(base_url: str) -> dict[str, str]:
    return {
        "connections.yaml": local_connection_yaml(base_url),
        "items.yaml": """\
kind: tool
name: get_item
title: One item
description: Fetch one item by its numeric id.
annotations: {read_only: true}
input:
  type: object
  properties:
    id:
      type: integer
      description: The item id.
      minimum: 1
      maximum: 1000000
  required: [id]
  additionalProperties: false
timeout: 10s
action:
  http:
    connection: local
    method: GET
    url: /items/{{ id }}
examples:
  - args: {id: 1}
---
kind: tool
name: list_big
description: List every row of the big table (500 rows), capped at 2000 bytes.
input:
  type: object
  properties: {}
  additionalProperties: false
output:
  max_bytes: 2000
action:
  http:
    connection: local
    method: GET
    url: /big
---
kind: tool
name: always_fails
description: Call an endpoint that always answers 500.
input:
  type: object
  properties: {}
  additionalProperties: false
action:
  http:
    connection: local
    method: GET
    url: /fail
---
kind: tool
name: echo_path
description: Echo the request path the backend saw for one path segment.
input:
  type: object
  properties:
    segment:
      type: string
      description: One path segment; it is percent-encoded, never interpreted.
      minLength: 1
      maxLength: 200
  required: [segment]
  additionalProperties: false
action:
  http:
    connection: local
    method: GET
    url: /echo-path/{{ segment }}
---
kind: tool
name: get_text
description: Fetch a plain-text status page.
input:
  type: object
  properties: {}
  additionalProperties: false
action:
  http:
    connection: local
    method: GET
    url: /text
""",
    }


@pytest.fixture(scope="session")
def tools_dir(backend: Backend, toolwright_bin: str, tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("tools.d")
    for name, text in tools_yaml(backend.base_url).items():
        (d / name).write_text(text)
    lint = subprocess.run(
        [toolwright_bin, "lint", str(d)], capture_output=True, text=True, timeout=60, env=_env()
    )
    assert lint.returncode == 0, f"toolwright lint {d} failed:\n{lint.stdout}\n{lint.stderr}"
    return str(d)


# --------------------------------------------------------------------------- serve --http


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TOOLWRIGHT_LOG", "info,rmcp=warn")
    env["NO_COLOR"] = "1"
    return env


@dataclass
class HttpServer:
    proc: subprocess.Popen
    port: int
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _wait_healthy(server: HttpServer, timeout: float = HEALTH_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"toolwright serve exited with {server.proc.returncode}:\n{server.log()}")
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as e:  # noqa: BLE001 (not up yet)
            last = e
        time.sleep(0.1)
    raise RuntimeError(f"toolwright serve did not answer /healthz within {timeout}s ({last}):\n{server.log()}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def run_http_server(toolwright_bin: str, tools_dir: str, *extra: str, env: dict[str, str] | None = None) -> Iterator[HttpServer]:
    """Starts `toolwright serve --http 127.0.0.1:<free port>` (with `env` added to the
    environment) and stops it afterwards."""
    log = tempfile.NamedTemporaryFile(prefix="toolwright-serve-", suffix=".log", delete=False)
    log_path = Path(log.name)
    server = None
    try:
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            args = [toolwright_bin, "serve", "--http", f"127.0.0.1:{port}", "--tools", tools_dir, "--no-watch", *extra]
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env={**_env(), **(env or {})})
            server = HttpServer(proc, port, log_path, args)
            try:
                _wait_healthy(server)
                break
            except RuntimeError:
                _stop(proc)
                if "cannot bind" not in server.log() or _attempt == 2:
                    raise
        yield server
    finally:
        if server is not None:
            _stop(server.proc)
        log.close()
        if server is not None and os.environ.get("TOOLWRIGHT_KEEP_LOGS"):
            sys.stderr.write(f"serve log kept at {log_path}\n")
        else:
            log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def http_server(toolwright_bin: str, tools_dir: str) -> Iterator[HttpServer]:
    """A sessionful Streamable HTTP server shared by the MCP tests."""
    with run_http_server(toolwright_bin, tools_dir) as s:
        yield s


@pytest.fixture(scope="session")
def stateless_server(toolwright_bin: str, tools_dir: str) -> Iterator[HttpServer]:
    with run_http_server(toolwright_bin, tools_dir, "--stateless") as s:
        yield s


@pytest.fixture(scope="module")
def small_body_server(toolwright_bin: str, tools_dir: str) -> Iterator[HttpServer]:
    """A server with a 10,000-byte body cap, for the raw HTTP robustness tests."""
    with run_http_server(toolwright_bin, tools_dir, "--max-body-bytes", "10000") as s:
        yield s


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --------------------------------------------------------------------------- moto (AWS APIs)

MOTO_PYTHON = os.environ.get("TOOLWRIGHT_MOTO_PYTHON", str(Path(__file__).resolve().parents[2] / ".venv-moto" / "bin" / "python"))

CREATE_KEY = """
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="toolwright")
iam.put_user_policy(UserName="toolwright", PolicyName="all",
                    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="toolwright")["AccessKey"]
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
"""


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """moto's server with Signature V4 checks on, started once per test run, and an access key of
    an IAM user allowed everything (made with the 3 unauthenticated actions moto allows)."""
    if not Path(MOTO_PYTHON).exists():
        pytest.fail(f"moto is not installed at {MOTO_PYTHON}: run scripts/setup-moto.sh (test.sh does)")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "MOTO_ALLOW_NONEXISTENT_REGION": "false"}
    with open(log, "w") as fh:
        proc = subprocess.Popen([MOTO_PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto did not start: " + log.read_text()[-2000:])
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}"
        out = subprocess.run([MOTO_PYTHON, "-c", CREATE_KEY, url], capture_output=True, text=True, timeout=120, check=True)
        key = json.loads(out.stdout.strip().splitlines()[-1])
        yield url, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# --------------------------------------------------------------------------- Prometheus

PROMETHEUS_START_TIMEOUT_S = 60.0
# Samples of `up` per real target before the fixture is ready: a range query over them at a
# 1-second step then has at least 3 points.
PROMETHEUS_SAMPLES = 5


def prometheus_binary() -> str | None:
    """TOOLWRIGHT_PROMETHEUS (test.sh sets it from scripts/setup-prometheus.sh), else `prometheus`
    on PATH."""
    return os.environ.get("TOOLWRIGHT_PROMETHEUS") or shutil.which("prometheus")


@dataclass
class PrometheusServer:
    url: str  # http://127.0.0.1:<port>, the Prometheus HTTP API's base
    toolwright_target: str  # host:port of the `toolwright serve --http` it scrapes (job "toolwright")
    down_target: str  # host:port of a closed port it fails to scrape (job "closed-port")
    log_path: Path

    def api(self, path: str, **params) -> dict:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""


def _prometheus_config(self_target: str, toolwright_target: str, down_target: str) -> str:
    return f"""\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["{self_target}"]}}]
  - job_name: toolwright
    static_configs: [{{targets: ["{toolwright_target}"]}}]
  - job_name: closed-port
    static_configs: [{{targets: ["{down_target}"]}}]
"""


def _prometheus_ready(server: PrometheusServer) -> str | None:
    """None once every target was scraped (the two real ones up, the closed port down) and the two
    real ones have at least PROMETHEUS_SAMPLES samples of `up`; else what is still missing."""
    targets = server.api("/api/v1/targets", state="active")["data"]["activeTargets"]
    health = {t["labels"]["job"]: t["health"] for t in targets}
    if health != {"prometheus": "up", "toolwright": "up", "closed-port": "down"}:
        return f"target health {health}"
    counts = server.api("/api/v1/query", query='count_over_time(up{job=~"prometheus|toolwright"}[1m])')["data"]["result"]
    samples = {r["metric"]["job"]: int(r["value"][1]) for r in counts}
    if len(samples) < 2 or min(samples.values()) < PROMETHEUS_SAMPLES:
        return f"samples of up {samples}"
    return None


@pytest.fixture(scope="session")
def prometheus(toolwright_bin: str, tools_dir: str, tmp_path_factory) -> Iterator[PrometheusServer]:
    """A real Prometheus on 127.0.0.1 (a free port, a temporary TSDB), started once per test run,
    scraping every second itself, a `toolwright serve --http` (its /metrics) and a closed
    127.0.0.1 port (a target that is down). Yielded once both real targets are up with a few
    samples each."""
    binary = prometheus_binary()
    if not binary:
        pytest.fail(
            "prometheus is not installed: run scripts/setup-prometheus.sh (test.sh does) or point "
            "TOOLWRIGHT_PROMETHEUS at a prometheus binary",
            pytrace=False,
        )
    work = tmp_path_factory.mktemp("prometheus")
    # A port that is bound but never listens: connecting is refused, and nothing else can take it
    # while the fixture holds it.
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    down_target = f"127.0.0.1:{closed.getsockname()[1]}"
    proc = None
    try:
        with run_http_server(toolwright_bin, tools_dir) as serve:
            toolwright_target = f"127.0.0.1:{serve.port}"
            for attempt in range(3):  # a free port can be taken between probe and bind
                port = free_port()
                config = work / "prometheus.yml"
                config.write_text(_prometheus_config(f"127.0.0.1:{port}", toolwright_target, down_target))
                log_path = work / f"prometheus-{attempt}.log"
                server = PrometheusServer(f"http://127.0.0.1:{port}", toolwright_target, down_target, log_path)
                with open(log_path, "w") as fh:
                    proc = subprocess.Popen(
                        [binary, f"--config.file={config}", f"--storage.tsdb.path={work / f'data-{attempt}'}",
                         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                        stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, cwd=work,
                    )
                deadline = time.monotonic() + PROMETHEUS_START_TIMEOUT_S
                missing = "no answer yet"
                while time.monotonic() < deadline and proc.poll() is None:
                    try:
                        missing = _prometheus_ready(server)
                    except (OSError, ValueError, KeyError) as e:
                        missing = f"not answering ({e})"
                    if missing is None:
                        break
                    time.sleep(0.25)
                if missing is None:
                    break
                _stop(proc)
                if "address already in use" not in server.log() or attempt == 2:
                    raise RuntimeError(
                        f"Prometheus was not ready within {PROMETHEUS_START_TIMEOUT_S}s: {missing}\n{server.log()}"
                    )
            yield server
    finally:
        if proc is not None:
            _stop(proc)
        closed.close()
