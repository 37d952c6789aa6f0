"""`toolwright lint --check-env` against real HTTP servers on 127.0.0.1: each http connection is
probed with one GET of its base URL sent as a tool's request would be (its secrets, its token file),
and each way it can fail is a diagnostic at the connection's `name` line. Secrets never appear in
the output. Plain `lint` sends nothing."""

from __future__ import annotations

import json
import subprocess
from http.server import BaseHTTPRequestHandler

import pytest

from conftest import _env, free_port
from helpers import LocalHttpServer

GOOD = "good-token-5f1e2d"
BAD = "bad-token-9a8b7c"


class Api(BaseHTTPRequestHandler):
    """A bearer-token API: 401 without the right token; 404 for paths it does not know (a base URL
    need not be a resource)."""

    seen: list[tuple[str, str | None]] = []

    def do_GET(self):  # noqa: N802
        Api.seen.append((self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {GOOD}":
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": "invalid token"}')
            return
        self.send_response(404 if self.path.startswith("/missing") else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def api():
    server = LocalHttpServer(Api).start()
    Api.seen = []
    yield server
    server.stop()


def spec(api_url: str, dead_url: str) -> str:
    def conn(name, base, extra=""):
        return (f"kind: connection\nname: {name}\nhttp:\n  base_url: {base}\n  allow_private_networks: true\n  timeout: 5s\n{extra}---\n")
    return (
        conn("good", api_url, "  headers: {Authorization: \"Bearer {{ secret('GOOD_TOKEN') }}\"}\n")
        + conn("good-404", api_url + "/missing", "  headers: {Authorization: \"Bearer {{ secret('GOOD_TOKEN') }}\"}\n")
        + conn("refused", api_url, "  headers: {Authorization: \"Bearer {{ secret('BAD_TOKEN') }}\"}\n")
        + conn("unset", api_url, "  headers: {Authorization: \"Bearer {{ secret('NOT_SET_ANYWHERE') }}\"}\n")
        + conn("no-token-file", api_url, "  auth: {bearer_file: no-such-token}\n")
        + conn("dead", dead_url)
        + "kind: tool\nname: ping\ndescription: Ping.\ninput: {type: object}\naction:\n  http: {connection: good, url: /ping}\n"
    )


def lint(toolwright_bin, tools, *extra):
    env = {**_env(), "GOOD_TOKEN": GOOD, "BAD_TOKEN": BAD}
    return subprocess.run([toolwright_bin, "lint", str(tools), "--format", "json", *extra], capture_output=True, text=True,
                          timeout=60, env=env)


def test_check_env_probes_every_http_connection(toolwright_bin, api, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    text = spec(api.base_url, dead)
    (tmp_path / "tools.yaml").write_text(text)

    plain = lint(toolwright_bin, tmp_path)
    assert plain.returncode == 0 and json.loads(plain.stdout) == [], plain.stdout + plain.stderr
    assert Api.seen == [], "plain lint sends nothing"

    p = lint(toolwright_bin, tmp_path, "--check-env")
    assert p.returncode == 1, p.stdout + p.stderr
    found = {(d["code"], d["line"]): d["message"] for d in json.loads(p.stdout)}
    # The line of each connection's `name`.
    line = {l.removeprefix("name: "): n for n, l in enumerate(text.splitlines(), 1) if l.startswith("name: ")}
    assert set(found) == {
        ("env-refused", line["refused"]),
        ("env-credentials", line["unset"]),
        ("env-credentials", line["no-token-file"]),
        ("env-unreachable", line["dead"]),
    }, found
    assert "HTTP 401" in found[("env-refused", line["refused"])]
    assert "NOT_SET_ANYWHERE" in found[("env-credentials", line["unset"])]
    assert "no-such-token" in found[("env-credentials", line["no-token-file"])]
    assert "refused" in found[("env-unreachable", line["dead"])].lower() or "connect" in found[("env-unreachable", line["dead"])]
    # The probes were sent as tools' requests are: with each connection's credentials.
    assert ("/", f"Bearer {GOOD}") in Api.seen and ("/missing/", f"Bearer {GOOD}") in Api.seen, Api.seen
    assert ("/", f"Bearer {BAD}") in Api.seen, Api.seen
    for secret in (GOOD, BAD):
        assert secret not in p.stdout and secret not in p.stderr


def test_check_env_is_skipped_when_the_specs_have_errors(toolwright_bin, api, tmp_path):
    (tmp_path / "tools.yaml").write_text(spec(api.base_url, api.base_url) + "kind: tool\nname: broken\n")
    p = lint(toolwright_bin, tmp_path, "--check-env")
    assert p.returncode == 1
    assert not any(d["code"].startswith("env-") for d in json.loads(p.stdout)), p.stdout
    assert Api.seen == [], "nothing is sent for a catalog with errors"
