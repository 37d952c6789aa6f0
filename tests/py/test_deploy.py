"""The deploy files (issue 19): deploy/Containerfile and the kustomize base and stateless overlay
under deploy/kubernetes/.

The manifests are rendered with the real `kubectl kustomize` (these tests are skipped, saying so,
when kubectl is not installed) and read as data. Beyond the checks on that data, the real binary
is started as the rendered pod would start it: the container's args and environment, with
Kubernetes' `$(VAR)` expansion and the downward-API namespace; its ConfigMap and Secret volumes
written as the kubelet writes them (`..data` pointing at a timestamped directory, one symlink per
key) under a temporary directory that stands for the pod's `/`; only `--http` is moved from
0.0.0.0 to 127.0.0.1 and a free port. Updates of a ConfigMap or Secret are the kubelet's swap of
`..data`. The Containerfile is parsed, and its CMD started the same way.

Every wait is bounded, every process is stopped in teardown, and only 127.0.0.1 is used.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from conftest import REPO, _env, _stop, free_port
from helpers import LocalHttpServer, QuietHandler

DEPLOY = REPO / "deploy"
BASE = DEPLOY / "kubernetes" / "base"
STATELESS = DEPLOY / "kubernetes" / "overlays" / "stateless"
KUBECTL = shutil.which("kubectl")

WAIT_S = 20.0
TIMEOUT = httpx.Timeout(10.0)
ACCEPT = "application/json, text/event-stream"
PROTOCOL = "2025-11-25"
# A token as `openssl rand -hex 32` makes one.
TOKEN = "5f0c3e9a1b7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e"
# The Host header the kubelet's HTTP probes send: the pod's IP and the probe's port.
PROBE_HOST = "10.244.1.17:8080"


needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed: the kustomize base and overlay cannot be rendered"
)


# --------------------------------------------------------------------------- rendering


def render(path: Path) -> list[dict]:
    r = subprocess.run([KUBECTL, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"kubectl kustomize {path} failed:\n{r.stderr}"
    return [d for d in yaml.safe_load_all(r.stdout) if d]


@pytest.fixture(scope="module")
def base_docs() -> list[dict]:
    return render(BASE)


@pytest.fixture(scope="module")
def stateless_docs() -> list[dict]:
    return render(STATELESS)


def find(docs: list[dict], kind: str, name: str | None = None) -> dict:
    found = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[d['metadata']['name'] for d in found]}"
    return found[0]


def pod_spec(docs: list[dict]) -> dict:
    return find(docs, "Deployment")["spec"]["template"]["spec"]


def the_container(docs: list[dict]) -> dict:
    containers = pod_spec(docs)["containers"]
    assert len(containers) == 1, [c["name"] for c in containers]
    return containers[0]


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' expansion of `$(VAR)` in args and env values (`$$` is a literal `$`; an
    unknown variable is left as written)."""

    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, text)


def container_env(docs: list[dict]) -> dict[str, str]:
    """The container's environment as the kubelet builds it (values and the namespace)."""
    deployment = find(docs, "Deployment")
    env: dict[str, str] = {}
    for e in the_container(docs).get("env", []):
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
        else:
            field = e["valueFrom"]["fieldRef"]["fieldPath"]
            assert field == "metadata.namespace", f"env {e['name']}: only the namespace is supported here"
            env[e["name"]] = deployment["metadata"]["namespace"]
    return env


def container_args(docs: list[dict]) -> list[str]:
    container = the_container(docs)
    assert "command" not in container, "the image's entrypoint (the toolwright binary) must run"
    env = container_env(docs)
    return [expand(a, env) for a in container["args"]]


@functools.lru_cache(maxsize=None)
def serve_flags(toolwright_bin: str) -> dict[str, bool]:
    """Every option of the real binary's `serve`, and whether it takes a value."""
    out = subprocess.run([toolwright_bin, "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    flags = {m.group(1): m.group(2) is not None for m in re.finditer(r"^\s+--([a-z0-9-]+)( <[^>]+>)?", out.stdout, re.M)}
    assert "http" in flags and "tools" in flags, out.stdout
    return flags


def parse_serve(toolwright_bin: str, args: list[str]) -> list[tuple[str, str | None]]:
    """`serve` args as (flag, value) pairs, each checked against the binary's `serve --help`."""
    assert args and args[0] == "serve", args
    flags = serve_flags(toolwright_bin)
    out: list[tuple[str, str | None]] = []
    i = 1
    while i < len(args):
        arg = args[i]
        assert arg.startswith("--"), f"`{arg}` is not an option"
        name, eq, value = arg[2:].partition("=")
        assert name in flags, f"`--{name}` is not an option of `toolwright serve`"
        if flags[name] and not eq:
            i += 1
            assert i < len(args), f"`--{name}` needs a value"
            value = args[i]
        assert flags[name] == (value != "" or bool(eq)), f"`--{name}` takes {'a' if flags[name] else 'no'} value"
        out.append((name, value if flags[name] else None))
        i += 1
    return out


def flag(pairs: list[tuple[str, str | None]], name: str) -> str | None:
    values = [v for n, v in pairs if n == name]
    assert len(values) <= 1, f"--{name} given {len(values)} times"
    return values[0] if values else None


def container_port(container: dict, port) -> int:
    """A probe's or Service's port (a number or a port name) as the container's port number."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    assert named, f"no container port named {port!r}"
    return named[0]


def mib(quantity: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?", str(quantity))
    assert m, quantity
    scale = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "k": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]
    return float(m.group(1)) * scale / 1024**2


def secret_data(secret: dict) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    data.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return data


def volume_data(docs: list[dict], volume: dict) -> tuple[dict[str, bytes], int]:
    """What the kubelet writes for a ConfigMap or Secret volume: the keys' bytes and the mode."""
    if "configMap" in volume:
        source = volume["configMap"]
        cm = find(docs, "ConfigMap", source["name"])
        data = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
    elif "secret" in volume:
        source = volume["secret"]
        data = secret_data(find(docs, "Secret", source["secretName"]))
    else:
        raise AssertionError(f"volume {volume['name']}: only ConfigMap and Secret volumes are laid out here")
    assert "items" not in source, f"volume {volume['name']}: `items` would hide keys from the directory"
    return data, source.get("defaultMode", 0o644)


# --------------------------------------------------------------------------- the pod, run locally


class Volume:
    """A ConfigMap or Secret volume laid out as the kubelet's atomic writer does: the keys in a
    timestamped directory, `..data` pointing at it, `KEY -> ..data/KEY` for each key; an update
    writes a new directory and renames a new `..data` over the old one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.version = 0

    def write(self, data: dict[str, bytes], mode: int) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.version += 1
        old = os.readlink(self.path / "..data") if (self.path / "..data").is_symlink() else None
        fresh = self.path / f"..2026_12_07_10_00_{self.version:02d}.{self.version:09d}"
        fresh.mkdir()
        for key, value in data.items():
            (fresh / key).write_bytes(value)
            os.chmod(fresh / key, mode)
        os.symlink(fresh.name, self.path / "..data_tmp")
        os.rename(self.path / "..data_tmp", self.path / "..data")
        for key in data:
            if not (self.path / key).is_symlink():
                os.symlink(f"..data/{key}", self.path / key)
        for entry in self.path.iterdir():
            if not entry.name.startswith("..") and entry.name not in data:
                entry.unlink()
        if old:
            shutil.rmtree(self.path / old)


class Pod:
    """The rendered Deployment's container, run as a local process."""

    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path, volumes: dict[str, Volume], args: list[str]):
        self.proc, self.port, self.log_path, self.volumes, self.args = proc, port, log_path, volumes, args

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def pod_paths(docs: list[dict], root: Path) -> dict[str, Path]:
    """Each volume name's directory under `root` (the pod's `/`), from the mounts."""
    mounts = the_container(docs).get("volumeMounts", [])
    assert all("subPath" not in m and "subPathExpr" not in m for m in mounts), "a subPath mount never sees an update"
    return {m["name"]: root / m["mountPath"].lstrip("/") for m in mounts}


def volume_of(docs: list[dict], kind: str, name: str) -> str:
    """The name of the pod's volume that holds the ConfigMap or Secret `name`."""
    key, ref = {"ConfigMap": ("configMap", "name"), "Secret": ("secret", "secretName")}[kind]
    found = [v["name"] for v in pod_spec(docs)["volumes"] if v.get(key, {}).get(ref) == name]
    assert len(found) == 1, f"{kind} {name} is mounted {len(found)} times"
    return found[0]


def local_path(docs: list[dict], root: Path, value: str) -> str:
    """A path of the pod as it is under `root`; it must lie in a mounted volume (the image holds
    only the binary and the default tools.d, which the ConfigMap covers)."""
    for m in the_container(docs).get("volumeMounts", []):
        mount = m["mountPath"].rstrip("/")
        if value == mount or value.startswith(mount + "/"):
            return str(root / value.lstrip("/"))
    raise AssertionError(f"{value} is not in a mounted volume")


@contextlib.contextmanager
def run_pod(toolwright_bin: str, docs: list[dict], tmp_path: Path) -> Iterator[Pod]:
    spec = pod_spec(docs)
    root = tmp_path / "pod"
    volumes: dict[str, Volume] = {}
    by_name = {v["name"]: v for v in spec.get("volumes", [])}
    for name, path in pod_paths(docs, root).items():
        data, mode = volume_data(docs, by_name[name])
        volumes[name] = Volume(path)
        volumes[name].write(data, mode)
    env = {k: (local_path(docs, root, v) if v.startswith("/") else v) for k, v in container_env(docs).items()}
    pairs = parse_serve(toolwright_bin, container_args(docs))
    http = flag(pairs, "http")
    assert http and http.startswith("0.0.0.0:"), f"--http {http}: the pod must listen on all its addresses"
    log_path = tmp_path / "pod.log"
    proc = None
    try:
        for attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            args = ["serve"]
            for name, value in pairs:
                if name == "http":
                    value = f"127.0.0.1:{port}"
                elif value is not None and value.startswith("/"):
                    value = local_path(docs, root, value)
                args.append(f"--{name}" if value is None else f"--{name}={value}")
            with open(log_path, "ab") as log:
                proc = subprocess.Popen(
                    [toolwright_bin, *args], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env={**_env(), **env}
                )
            pod = Pod(proc, port, log_path, volumes, args)
            probe = the_container(docs)["readinessProbe"]["httpGet"]["path"]
            if wait_until(lambda: proc.poll() is not None or status_of(pod, probe) == 200, WAIT_S) and proc.poll() is None:
                break
            _stop(proc)
            if "cannot bind" not in pod.log() or attempt == 2:
                raise AssertionError(f"the pod's command did not become ready (exit {proc.returncode}):\n{pod.log()}")
        yield pod
    finally:
        if proc is not None:
            _stop(proc)


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def http_status(url: str, host: str | None = None, token: str | None = None) -> int:
    """The status of a GET, or 0 when nothing answers."""
    headers = {"Host": host} if host else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        return httpx.get(url, headers=headers, timeout=TIMEOUT, trust_env=False).status_code
    except httpx.HTTPError:
        return 0


def status_of(pod: Pod, path: str, host: str = PROBE_HOST, token: str | None = None) -> int:
    return http_status(pod.base + path, host, token)


def mcp_post(pod: Pod, body: dict, *, host: str, token: str | None, session: str | None = None) -> httpx.Response:
    headers = {"Host": host, "Accept": ACCEPT, "Content-Type": "application/json", "Mcp-Protocol-Version": PROTOCOL}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if session:
        headers["Mcp-Session-Id"] = session
    with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
        r = client.post(pod.base + "/mcp", content=json.dumps(body), headers=headers)
        r.read()
        return r


def message(r: httpx.Response) -> dict:
    """The JSON-RPC answer of a JSON or SSE response."""
    assert r.status_code == 200, (r.status_code, r.text[:500])
    if r.headers.get("content-type", "").startswith("application/json"):
        return r.json()
    for line in r.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no JSON-RPC message in {r.text[:500]!r}")


def initialize(pod: Pod, host: str, token: str | None) -> httpx.Response:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "deploy-test", "version": "0"}},
    }
    return mcp_post(pod, body, host=host, token=token)


def request(pod: Pod, method: str, params: dict, *, host: str, token: str) -> dict:
    """One request, in a new session when the server keeps sessions."""
    r = initialize(pod, host, token)
    session = r.headers.get("mcp-session-id")
    assert message(r)["result"]["serverInfo"], r.text
    if session:
        mcp_post(pod, {"jsonrpc": "2.0", "method": "notifications/initialized"}, host=host, token=token, session=session)
    return message(mcp_post(pod, {"jsonrpc": "2.0", "id": 2, "method": method, "params": params}, host=host, token=token, session=session))


def service_hosts(docs: list[dict]) -> list[str]:
    """The names a client in the cluster reaches the Service by, with its port."""
    service = find(docs, "Service")
    name, ns = service["metadata"]["name"], service["metadata"]["namespace"]
    port = service["spec"]["ports"][0]["port"]
    return [f"{h}:{port}" for h in (name, f"{name}.{ns}", f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local")]


def with_token(docs: list[dict], line: str) -> list[dict]:
    """The rendered objects with `line` added to the file that --auth-tokens names (what an
    operator does to the Secret before clients connect)."""
    docs = json.loads(json.dumps(docs))
    secret, key = auth_secret_key(docs)
    data = secret_data(secret)
    secret.pop("data", None)
    secret["stringData"] = {k: v.decode() for k, v in data.items()}
    secret["stringData"][key] += line + "\n"
    return docs


def secrets_dir_secret(docs: list[dict]) -> dict:
    """The Secret mounted at TOOLWRIGHT_SECRETS_DIR, where secret('NAME') reads the file NAME."""
    path = container_env(docs).get("TOOLWRIGHT_SECRETS_DIR")
    assert path, "TOOLWRIGHT_SECRETS_DIR is set"
    mount = [m for m in the_container(docs)["volumeMounts"] if m["mountPath"] == path]
    assert len(mount) == 1, f"one volume is mounted at {path}"
    volume = next(v for v in pod_spec(docs)["volumes"] if v["name"] == mount[0]["name"])
    assert "secret" in volume, f"{path} is a Secret volume"
    return find(docs, "Secret", volume["secret"]["secretName"])


def auth_secret_key(docs: list[dict]) -> tuple[dict, str]:
    """The Secret and key that the --auth-tokens file is."""
    pairs = container_args(docs)
    tokens = [a.partition("=")[2] for a in pairs if a.startswith("--auth-tokens=")]
    assert tokens, "the base turns on bearer tokens (--auth-tokens=FILE)"
    path = Path(tokens[0])
    spec = pod_spec(docs)
    for m in the_container(docs)["volumeMounts"]:
        if path.parent == Path(m["mountPath"]):
            volume = next(v for v in spec["volumes"] if v["name"] == m["name"])
            assert "secret" in volume, "the tokens file comes from a Secret"
            return find(docs, "Secret", volume["secret"]["secretName"]), path.name
    raise AssertionError(f"{path} is not a file of a mounted volume")


# --------------------------------------------------------------------------- a fake status API


class StatusApi(LocalHttpServer):
    """Stands in for the example status service of the bundled catalog (the `status-api`
    connection and `get_service_status` in tools.d): `GET /api/services/<name>/status` with
    `Authorization: Bearer <STATUS_API_TOKEN>` answers `{name, version, health: {ok, checks},
    deployed_at}`, the shape the tool's `response.jq` reads. It records each request's path and
    Authorization header."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        api = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802 (stdlib naming)
                api.seen.append((self.path, self.headers.get("Authorization")))
                m = re.fullmatch(r"/api/services/([a-z0-9-]+)/status(\?.*)?", self.path)
                if not m:
                    self._json(404, {"error": "no such route"})
                    return
                self._json(200, {"name": m.group(1), "version": "4.2.1", "health": {"ok": True, "checks": []},
                                 "deployed_at": "2026-12-06T09:30:00Z"})

        super().__init__(Handler)


@pytest.fixture
def status_api() -> Iterator[StatusApi]:
    api = StatusApi().start()
    try:
        yield api
    finally:
        api.stop()


# --------------------------------------------------------------------------- the Containerfile


def containerfile_stages() -> list[list[tuple[str, str]]]:
    """The Containerfile's stages, each a list of (INSTRUCTION, arguments), continuations joined."""
    text = (DEPLOY / "Containerfile").read_text()
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    stages: list[list[tuple[str, str]]] = []
    for line in logical:
        word, _, rest = line.strip().partition(" ")
        if word.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word.upper(), rest.strip()))
    return stages


def test_containerfile_builds_locked_and_runs_the_binary_as_a_non_root_user(toolwright_bin, tmp_path):
    stages = containerfile_stages()
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    builder, runtime = stages[0], stages[-1]
    builder_name = re.search(r"\bAS\s+(\S+)", builder[0][1], re.I)
    assert builder_name, "the builder stage is named"
    builds = [args for word, args in builder if word == "RUN" and "cargo build" in args]
    assert len(builds) == 1, builder
    assert re.search(r"(^|\s)--locked(\s|$)", builds[0]) and re.search(r"(^|\s)--release(\s|$)", builds[0]), builds[0]

    # The runtime stage installs nothing and holds the binary and tools.d; it runs as a numeric non-root user.
    words = [w for w, _ in runtime]
    assert "RUN" not in words, "the runtime image is assembled by COPY only"
    users = [a for w, a in runtime if w == "USER"]
    assert users and re.fullmatch(r"\d+(:\d+)?", users[-1]), f"USER must be numeric: {users}"
    assert all(int(part) != 0 for part in users[-1].split(":")), users
    copies = [a.split() for w, a in runtime if w == "COPY"]
    from_builder = [c for c in copies if c[0] == f"--from={builder_name.group(1)}"]
    assert len(from_builder) == 1, copies
    binary = from_builder[0][-1]
    entrypoint = json.loads(next(a for w, a in runtime if w == "ENTRYPOINT"))
    assert entrypoint == [binary], f"ENTRYPOINT {entrypoint} is the copied binary {binary}"
    context_copies = {c[-1].rstrip("/"): c[0].rstrip("/") for c in copies if not c[0].startswith("--")}

    # CMD is a valid `serve` that listens on the exposed port and serves the copied tools.d.
    cmd = json.loads(next(a for w, a in runtime if w == "CMD"))
    pairs = parse_serve(toolwright_bin, cmd)
    http, tools = flag(pairs, "http"), flag(pairs, "tools")
    exposed = [a for w, a in runtime if w == "EXPOSE"]
    assert http and http.startswith("0.0.0.0:") and exposed == [http.rsplit(":", 1)[1]], (http, exposed)
    assert tools in context_copies, f"--tools {tools} is not a directory the image copies: {context_copies}"

    # Started with CMD (only --http moved to 127.0.0.1), it answers. --tools reads the tests' copy of
    # the example catalog the image copies (no test reads the user's tools.d/).
    assert context_copies[tools] == "tools.d", context_copies
    port = free_port()
    args = list(cmd)
    args[args.index(http)] = f"127.0.0.1:{port}"
    args[args.index(tools)] = str(REPO / "tests" / "fixtures" / "tools.d")
    log = tmp_path / "cmd.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([toolwright_bin, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=_env())
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: proc.poll() is not None or http_status(base + "/readyz") == 200, WAIT_S)
        assert proc.poll() is None, f"CMD did not serve (exit {proc.returncode}):\n{log.read_text()}"
        assert http_status(base + "/readyz") == 200 and http_status(base + "/healthz") == 200, log.read_text()
    finally:
        _stop(proc)

    # The build context keeps what the Containerfile copies (.dockerignore lists what it lets in).
    ignore = [l.strip() for l in (REPO / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert ignore[0] == "*", "the context lets in only what is listed"
    allowed = {l[1:].rstrip("/") for l in ignore if l.startswith("!")}
    for source in list(context_copies.values()) + [p for w, a in builder if w == "COPY" for p in a.split()[:-1]]:
        assert source.rstrip("/") in allowed, f"COPY {source}: left out of the build context by .dockerignore"


# --------------------------------------------------------------------------- the base, as data


@needs_kubectl
def test_base_manifests_hold_the_contract(base_docs, toolwright_bin):
    kinds = sorted(d["kind"] for d in base_docs)
    for kind in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Service",
                 "PodDisruptionBudget"):
        assert kind in kinds, kinds
    deployment = find(base_docs, "Deployment")
    ns = deployment["metadata"]["namespace"]
    assert find(base_docs, "Namespace")["metadata"]["name"] == ns
    assert all(d["metadata"].get("namespace") == ns for d in base_docs
               if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding")), "every namespaced object in one namespace"
    assert deployment["spec"]["replicas"] == 1, "sessionful HTTP: one replica"
    spec, container = pod_spec(base_docs), the_container(base_docs)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()

    # The args are `serve` options of the real binary, and the catalog is watched.
    pairs = parse_serve(toolwright_bin, container_args(base_docs))
    names = [n for n, _ in pairs]
    assert "no-watch" not in names and "stateless" not in names, names
    port = int(flag(pairs, "http").rsplit(":", 1)[1])
    assert [p["containerPort"] for p in container["ports"]] == [port]

    # Probes: /readyz and /healthz on the port serve listens on; the Service sends there too.
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container_port(container, container[probe]["httpGet"]["port"]) == port, probe
    service = find(base_docs, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert [container_port(container, p["targetPort"]) for p in service["spec"]["ports"]] == [port]

    # The catalog: the ConfigMap's whole directory at --tools, no subPath anywhere, every file of
    # base/tools.d in it, and that directory lints clean with the real binary.
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert all("subPath" not in m and "subPathExpr" not in m for m in mounts.values()), mounts
    tools_volume = next(v for v in spec["volumes"] if mounts[v["name"]]["mountPath"] == flag(pairs, "tools"))
    configmap = find(base_docs, "ConfigMap", tools_volume["configMap"]["name"])
    assert "items" not in tools_volume["configMap"]
    assert sorted(configmap["data"]) == sorted(p.name for p in (BASE / "tools.d").iterdir()), "kustomization.yaml lists every spec"
    lint = subprocess.run([toolwright_bin, "lint", str(BASE / "tools.d"), "--deny-warnings"], capture_output=True, text=True,
                          timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    # Secrets: a Secret mounted at TOOLWRIGHT_SECRETS_DIR holds every secret('NAME') the specs read.
    keys = set(secret_data(secrets_dir_secret(base_docs)))
    read = {m for text in configmap["data"].values() for m in re.findall(r"secret\('([A-Za-z0-9_]+)'\)", text)}
    assert read and read <= keys, f"specs read {read}, the Secret has {keys}"
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", k) for k in keys), keys
    assert not container.get("envFrom"), "secrets come as files, not environment variables"
    auth_secret_key(base_docs)

    # Host checks: every name of the Service is an allowed host.
    allowed = flag(pairs, "allowed-hosts").split(",")
    for host in service_hosts(base_docs):
        assert host.rsplit(":", 1)[0] in allowed, (host, allowed)

    # Security context.
    pod_sc, sc = spec["securityContext"], container["securityContext"]
    assert pod_sc["runAsNonRoot"] is True and sc["runAsNonRoot"] is True
    assert pod_sc["runAsUser"] != 0 and sc.get("runAsUser", pod_sc["runAsUser"]) != 0
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add")
    assert sc.get("seccompProfile", pod_sc.get("seccompProfile"))["type"] == "RuntimeDefault"
    assert pod_sc["seccompProfile"]["type"] == "RuntimeDefault"
    assert not sc.get("privileged")

    # Resources from the measured memory (BENCHMARKS.md: 64 MiB under load, 76 MiB peak, 1,000
    # tools): the request covers the load, the limit a reload beside it plus a capped jq worker.
    resources = container["resources"]
    request, limit = mib(resources["requests"]["memory"]), mib(resources["limits"]["memory"])
    assert 64 <= request <= limit and limit >= 2 * 64, resources
    jq = float(flag(pairs, "jq-max-memory-mib") or 256)
    assert 76 + jq <= limit, f"a jq worker at its cap ({jq} MiB) beside the server must fit in the limit {limit} MiB"
    assert "cpu" in resources["requests"]

    # The PDB selects the pods and lets a drain evict the single replica.
    pdb = find(base_docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"].get("maxUnavailable", 0) >= 1 or pdb["spec"].get("minAvailable") == 0, pdb["spec"]

    # RBAC: the pods' service account may get and list pods, nodes, events and deployments, nothing else.
    account = find(base_docs, "ServiceAccount")
    assert spec["serviceAccountName"] == account["metadata"]["name"]
    assert spec.get("automountServiceAccountToken", True) and account.get("automountServiceAccountToken", True)
    role = find(base_docs, "ClusterRole")
    granted = {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}
    wanted = {(g, r, v) for g, r in (("", "pods"), ("", "nodes"), ("", "events"), ("apps", "deployments")) for v in ("get", "list")}
    assert granted == wanted, f"granted {sorted(granted)}"
    binding = find(base_docs, "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": ns}]


# --------------------------------------------------------------------------- the base, running


@needs_kubectl
def test_base_pod_serves_probes_hosts_auth_secrets_and_configmap_reloads(base_docs, toolwright_bin, status_api, tmp_path):
    docs = json.loads(json.dumps(base_docs))
    # The status API of the ConfigMap is a Service of the cluster; here it is the fake.
    configmap = find(docs, "ConfigMap")
    in_cluster = "base_url: http://status-api:8080/api"
    assert in_cluster in configmap["data"]["connections.yaml"]
    configmap["data"]["connections.yaml"] = configmap["data"]["connections.yaml"].replace(in_cluster, f"base_url: {status_api.base_url}/api")
    token_value = secret_data(secrets_dir_secret(docs))["STATUS_API_TOKEN"].decode()
    hosts = service_hosts(docs)
    container = the_container(docs)

    with run_pod(toolwright_bin, docs, tmp_path) as pod:
        # The probes answer the kubelet (its Host is the pod's address) on their paths.
        for probe in ("readinessProbe", "livenessProbe"):
            assert status_of(pod, container[probe]["httpGet"]["path"]) == 200, pod.log()
        # The Secret's tokens file holds no token yet: /mcp refuses every caller.
        assert initialize(pod, hosts[-1], None).status_code == 401
        assert initialize(pod, hosts[-1], TOKEN).status_code == 401

        # An operator adds a token to the Secret; the kubelet swaps it in; no restart.
        secret, key = auth_secret_key(docs)
        data = secret_data(secret)
        data[key] += f"deploy-test {TOKEN}\n".encode()
        pod.volumes[volume_of(docs, "Secret", secret["metadata"]["name"])].write(data, 0o440)
        assert wait_until(lambda: initialize(pod, hosts[-1], TOKEN).status_code == 200, WAIT_S), pod.log()

        # Every name of the Service passes the Host check; another name does not.
        for host in hosts:
            assert initialize(pod, host, TOKEN).status_code == 200, host
            assert status_of(pod, "/metrics", host, TOKEN) == 200, host
        assert initialize(pod, "evil.example:8080", TOKEN).status_code == 403
        assert status_of(pod, "/metrics", "evil.example:8080", TOKEN) == 403

        # A tool reads its credential from the mounted Secret through secret('STATUS_API_TOKEN').
        answer = request(pod, "tools/call", {"name": "get_service_status", "arguments": {"service": "checkout"}},
                         host=hosts[-1], token=TOKEN)
        assert not answer["result"].get("isError"), answer
        assert "4.2.1" in json.dumps(answer["result"]), answer
        assert status_api.seen and status_api.seen[-1] == ("/api/services/checkout/status?checks=false", f"Bearer {token_value}")

        # A ConfigMap update (the kubelet's ..data swap) reaches the catalog without a restart.
        names = {t["name"] for t in request(pod, "tools/list", {}, host=hosts[-1], token=TOKEN)["result"]["tools"]}
        assert "deploy_added" not in names and "get_service_status" in names, names
        data = {k: v.encode() for k, v in configmap["data"].items()}
        added = data["service_status.yaml"].decode().replace("name: get_service_status", "name: deploy_added")
        data["added.yaml"] = added.encode()
        pod.volumes[volume_of(docs, "ConfigMap", configmap["metadata"]["name"])].write(data, 0o644)
        listed = lambda: {t["name"] for t in request(pod, "tools/list", {}, host=hosts[-1], token=TOKEN)["result"]["tools"]}  # noqa: E731
        assert wait_until(lambda: "deploy_added" in listed(), WAIT_S), pod.log()
        assert pod.proc.poll() is None, "the same process serves the new catalog"


# --------------------------------------------------------------------------- the stateless overlay


@needs_kubectl
def test_stateless_overlay_runs_three_stateless_replicas(base_docs, stateless_docs, toolwright_bin, tmp_path):
    deployment = find(stateless_docs, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    assert container_args(stateless_docs) == container_args(base_docs) + ["--stateless"]
    parse_serve(toolwright_bin, container_args(stateless_docs))
    pdb = find(stateless_docs, "PodDisruptionBudget")["spec"]
    assert pdb.get("minAvailable") == 2 and "maxUnavailable" not in pdb, pdb
    # Everything else is the base's: the same RBAC, Secrets, Service, security context and probes.
    same = lambda d: d["kind"] not in ("Deployment", "PodDisruptionBudget")  # noqa: E731
    assert [d for d in stateless_docs if same(d)] == [d for d in base_docs if same(d)]
    base_container, container = the_container(base_docs), the_container(stateless_docs)
    assert {k: v for k, v in container.items() if k != "args"} == {k: v for k, v in base_container.items() if k != "args"}
    spread = pod_spec(stateless_docs).get("topologySpreadConstraints", [])
    assert any(c["topologyKey"] == "kubernetes.io/hostname" for c in spread), spread

    # Any replica answers any request: no session id, plain JSON, tools/list without a session.
    docs = with_token(stateless_docs, f"deploy-test {TOKEN}")
    host = service_hosts(docs)[-1]
    with run_pod(toolwright_bin, docs, tmp_path) as pod:
        r = initialize(pod, host, TOKEN)
        assert r.status_code == 200 and "mcp-session-id" not in r.headers, r.headers
        assert r.headers["content-type"].startswith("application/json")
        listed = message(mcp_post(pod, {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}, host=host, token=TOKEN))
        assert "get_service_status" in {t["name"] for t in listed["result"]["tools"]}


# --------------------------------------------------------------------------- kustomize behaviour


@needs_kubectl
def test_a_catalog_edit_changes_the_configmap_in_place_and_not_the_pods(toolwright_bin, tmp_path):
    """With a hashed ConfigMap name, a spec edit would roll the Deployment instead of reloading."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    before = render(copy / "kubernetes" / "base")
    spec = copy / "kubernetes" / "base" / "tools.d" / "service_status.yaml"
    spec.write_text(spec.read_text().replace("Get the current deployment status", "Get the deployment status now"))
    after = render(copy / "kubernetes" / "base")
    assert find(after, "ConfigMap")["data"] != find(before, "ConfigMap")["data"]
    assert find(after, "ConfigMap")["metadata"]["name"] == find(before, "ConfigMap")["metadata"]["name"]
    assert find(after, "Deployment") == find(before, "Deployment"), "the pod template must not change"


@needs_kubectl
def test_an_overlay_namespace_moves_every_object_and_the_role_binding(tmp_path):
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    overlay = copy / "kubernetes" / "overlays" / "sre"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("namespace: sre\nresources: [../stateless]\n")
    docs = render(overlay)
    assert find(docs, "Namespace")["metadata"]["name"] == "sre"
    assert all(d["metadata"]["namespace"] == "sre" for d in docs if d["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"))
    assert find(docs, "ClusterRoleBinding")["subjects"][0]["namespace"] == "sre"
    allowed = next(a for a in container_args(docs) if a.startswith("--allowed-hosts=")).partition("=")[2].split(",")
    assert "toolwright.sre.svc.cluster.local" in allowed and not any(".toolwright." in h or h.endswith(".toolwright") for h in allowed)
