"""Connection `tls:` against a real HTTPS server on 127.0.0.1 (Python's ssl module) with its own
CA, made with the openssl command-line tool: a private CA in `ca_file` is trusted, a client
certificate is presented for mutual TLS, and a server signed by another CA is refused."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import _env


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-subj", f"/CN={name}", "-days", "2", cwd=d)


def make_cert(d: Path, ca: str, name: str, ext: str) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    (d / f"{name}.ext").write_text(ext)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server's naming)
        peer = self.connection.getpeercert()
        subject = dict(x[0] for x in peer["subject"]) if peer else {}
        body = json.dumps({"client": subject.get("commonName")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "ca", "server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    make_cert(d, "ca", "client", "extendedKeyUsage=clientAuth\n")
    return d


@pytest.fixture(scope="module")
def https_server(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    ctx.load_verify_locations(pki / "ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no answer
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def call(toolwright_bin: str, tools: Path, base: str, tls: str) -> subprocess.CompletedProcess:
    tools.mkdir(exist_ok=True)
    (tools / "api.yaml").write_text(
        f"kind: connection\nname: api\nhttp:\n  base_url: {base}\n  allow_private_networks: true\n  tls: {tls}\n---\n"
        "kind: tool\nname: whoami\ndescription: Who the server thinks we are.\ninput: {type: object}\n"
        "action:\n  http: {connection: api, url: /whoami}\n"
    )
    return subprocess.run([toolwright_bin, "call", "whoami", "--tools", str(tools)], capture_output=True, text=True, timeout=60, env=_env())


def test_private_ca_and_client_certificate(toolwright_bin, pki, https_server, tmp_path):
    p = call(toolwright_bin, tmp_path / "ok", https_server,
             f"{{ca_file: {pki}/ca.pem, client_cert_file: {pki}/client.pem, client_key_file: {pki}/client.key}}")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {"client": "client"}


def test_without_the_client_certificate_the_server_refuses(toolwright_bin, pki, https_server, tmp_path):
    p = call(toolwright_bin, tmp_path / "nocert", https_server, f"{{ca_file: {pki}/ca.pem}}")
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "error:" in p.stderr and "127.0.0.1" in p.stderr, p.stderr


def test_a_server_of_another_ca_is_refused(toolwright_bin, pki, https_server, tmp_path):
    p = call(toolwright_bin, tmp_path / "wrongca", https_server,
             f"{{ca_file: {pki}/other-ca.pem, client_cert_file: {pki}/client.pem, client_key_file: {pki}/client.key}}")
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "certificate" in p.stderr.lower() or "could not connect" in p.stderr, p.stderr


def test_an_unreadable_ca_file_is_a_clear_tool_error(toolwright_bin, pki, https_server, tmp_path):
    p = call(toolwright_bin, tmp_path / "noca", https_server, "{ca_file: missing-ca.pem}")
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "tls.ca_file" in p.stderr and "missing-ca.pem" in p.stderr, p.stderr
