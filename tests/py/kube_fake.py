"""A fake Kubernetes API server for the tests: HTTPS on 127.0.0.1 with certificates of its own CA
(made with the openssl command-line tool), serving recorded objects in the documented shapes of
the Kubernetes API (https://kubernetes.io/docs/reference/kubernetes-api/):

- paths: `GET /api/v1/namespaces/{ns}/pods` (PodList), `GET /api/v1/nodes` (NodeList),
  `GET /api/v1/namespaces/{ns}/events` (core/v1 EventList), `GET
  /apis/apps/v1/namespaces/{ns}/deployments/{name}` (a Deployment), each answer with `kind`,
  `apiVersion` and `metadata.resourceVersion`;
- list options: `labelSelector` (equality terms `key=value` joined by `,`), `fieldSelector`
  (`type`, `involvedObject.name`, `metadata.name`; `=` terms joined by `,`), and `limit` with
  `metadata.continue`: a list returns at most `limit` items and a `continue` token while more
  remain, and the next request sends it back as `continue` (this fake's pages are at most 2
  items, fewer than the tools' `limit`, so that every list follows its continue tokens);
- authentication as the API server does it: a client certificate of the cluster CA (its CN is the
  user), or `Authorization: Bearer <token>`, where an EKS token (`k8s-aws-v1.` + base64url of a
  presigned STS GetCallerIdentity URL, what aws-iam-authenticator accepts) is checked by
  `eks_check`; anything else is `401` with a `Status` object (`reason: Unauthorized`), an unknown
  object is `404` with `reason: NotFound`.

Every request is recorded (path, query, Authorization header, client certificate CN, which
server) so that tests can assert on what the server received.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d: Path, name: str) -> None:
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-subj", f"/CN={name}", "-days", "2", cwd=d)


def make_cert(d: Path, ca: str, name: str, subject: str, ext: str) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
    (d / f"{name}.ext").write_text(ext)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


def make_pki(d: Path) -> Path:
    """The cluster CA (`ca.pem`), another CA (`other-ca.pem`), the API server's certificate for
    127.0.0.1 (`apiserver`), one issued only for `kubernetes.default.svc` (`svc`), and a client
    certificate of the user `alice` in group `system:masters` (`alice`)."""
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "ca", "apiserver", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    make_cert(d, "ca", "svc", "/CN=kube-apiserver",
              "subjectAltName=DNS:kubernetes.default.svc,DNS:kubernetes.default\nextendedKeyUsage=serverAuth\n")
    make_cert(d, "ca", "alice", "/O=system:masters/CN=alice", "extendedKeyUsage=clientAuth\n")
    return d


# --------------------------------------------------------------------------- recorded objects

NOW = "2026-12-06T10:00:00Z"


def _container_status(name: str, ready: bool, restarts: int, state: dict, last: dict | None = None) -> dict:
    return {"name": name, "ready": ready, "restartCount": restarts, "state": state, "lastState": last or {},
            "image": f"registry.example.com/{name}:1.4.2", "imageID": "", "started": ready}


def _pod(ns: str, name: str, labels: dict, node: str, phase: str, statuses: list[dict]) -> dict:
    return {
        "metadata": {"name": name, "namespace": ns, "labels": labels, "uid": f"uid-{name}", "creationTimestamp": "2026-12-06T08:00:00Z"},
        "spec": {"nodeName": node, "containers": [{"name": s["name"], "image": s["image"]} for s in statuses]},
        "status": {"phase": phase, "startTime": "2026-12-06T08:00:05Z", "containerStatuses": statuses,
                   "conditions": [{"type": "Ready", "status": "True" if all(s["ready"] for s in statuses) else "False"}]},
    }


PODS = [
    _pod("payments", "checkout-7c9f8b6d5-x2k4q", {"app": "checkout", "pod-template-hash": "7c9f8b6d5"}, "node-a", "Running",
         [_container_status("app", True, 0, {"running": {"startedAt": "2026-12-06T08:00:10Z"}})]),
    _pod("payments", "checkout-7c9f8b6d5-p9m3z", {"app": "checkout", "pod-template-hash": "7c9f8b6d5"}, "node-b", "Running",
         [_container_status("app", False, 7, {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=app"}},
                            {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-12-06T09:58:00Z"}})]),
    _pod("payments", "checkout-5d8c7b9f4-q7w2e", {"app": "checkout", "pod-template-hash": "5d8c7b9f4"}, "node-a", "Pending",
         [_container_status("app", False, 0, {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}})]),
    _pod("payments", "payments-api-6f7d9c8b7-k3j4h", {"app": "payments-api"}, "node-a", "Running",
         [_container_status("api", True, 1, {"running": {"startedAt": "2026-12-06T08:00:10Z"}})]),
    _pod("staging", "checkout-8a7b6c5d4-z9y8x", {"app": "checkout"}, "node-a", "Running",
         [_container_status("app", True, 0, {"running": {"startedAt": "2026-12-06T08:00:10Z"}})]),
]


def _node(name: str, ready: str, pressure: dict[str, str], unschedulable: bool = False, taints: list | None = None) -> dict:
    conditions = [
        {"type": t, "status": pressure.get(t, "False"), "reason": f"Kubelet{'Has' if pressure.get(t) == 'True' else 'HasNo'}{t}",
         "message": f"kubelet has {'' if pressure.get(t) == 'True' else 'no '}{t}", "lastTransitionTime": "2026-12-06T09:30:00Z",
         "lastHeartbeatTime": NOW}
        for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    conditions.append({"type": "Ready", "status": ready, "reason": "KubeletReady" if ready == "True" else "KubeletNotReady",
                       "message": "kubelet is posting ready status" if ready == "True" else "PLEG is not healthy: pleg was last seen active 3m0s ago",
                       "lastTransitionTime": "2026-12-06T09:31:00Z", "lastHeartbeatTime": NOW})
    spec: dict = {"podCIDR": "10.244.0.0/24"}
    if unschedulable:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": spec,
        "status": {"conditions": conditions, "allocatable": {"cpu": "3920m", "memory": "15623480Ki", "pods": "110"},
                   "capacity": {"cpu": "4", "memory": "16331064Ki", "pods": "110"},
                   "nodeInfo": {"kubeletVersion": "v1.31.2", "osImage": "Ubuntu 24.04 LTS", "containerRuntimeVersion": "containerd://1.7.22"}},
    }


NODES = [
    _node("node-a", "True", {}),
    _node("node-b", "False", {"MemoryPressure": "True"}, unschedulable=True,
          taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule", "timeAdded": "2026-12-06T09:31:00Z"},
                  {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]),
]


def _event(ns: str, name: str, kind: str, obj: str, type_: str, reason: str, message: str, count: int, last: str, **extra) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": "2026-12-06T09:00:00Z"},
            "involvedObject": {"kind": kind, "name": obj, "namespace": ns, "apiVersion": "v1"},
            "type": type_, "reason": reason, "message": message, "count": count,
            "firstTimestamp": "2026-12-06T09:00:00Z", "lastTimestamp": last,
            "source": {"component": "kubelet", "host": "node-b"}, **extra}


EVENTS = [
    _event("payments", "checkout-7c9f8b6d5-p9m3z.1", "Pod", "checkout-7c9f8b6d5-p9m3z", "Warning", "BackOff",
           "Back-off restarting failed container app in pod checkout-7c9f8b6d5-p9m3z", 42, "2026-12-06T09:59:30Z"),
    _event("payments", "checkout-5d8c7b9f4-q7w2e.1", "Pod", "checkout-5d8c7b9f4-q7w2e", "Warning", "Failed",
           "Failed to pull image \"registry.example.com/app:1.5.0\": not found", 3, "2026-12-06T09:57:00Z"),
    _event("payments", "checkout-7c9f8b6d5-x2k4q.1", "Pod", "checkout-7c9f8b6d5-x2k4q", "Warning", "Unhealthy",
           "Readiness probe failed: HTTP probe failed with statuscode: 503", 1, None,
           eventTime="2026-12-06T09:40:00.000000Z", reportingComponent="kubelet",
           series={"count": 12, "lastObservedTime": "2026-12-06T09:58:30.000000Z"}),
    _event("payments", "checkout-7c9f8b6d5-x2k4q.2", "Pod", "checkout-7c9f8b6d5-x2k4q", "Normal", "Pulled",
           "Container image already present on machine", 1, "2026-12-06T09:59:59Z"),
    _event("staging", "checkout-8a7b6c5d4-z9y8x.1", "Pod", "checkout-8a7b6c5d4-z9y8x", "Warning", "BackOff",
           "Back-off restarting failed container", 5, "2026-12-06T09:50:00Z"),
]


def _deployment(ns: str, name: str, generation: int, observed: int, desired: int, status: dict, conditions: list[dict]) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "generation": generation, "resourceVersion": "9001", "uid": f"uid-{name}"},
        "spec": {"replicas": desired, "selector": {"matchLabels": {"app": name}},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": f"registry.example.com/{name}:1.5.0"}]}}},
        "status": {"observedGeneration": observed, **status, "conditions": conditions},
    }


def _condition(type_: str, status: str, reason: str, message: str) -> dict:
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastUpdateTime": "2026-12-06T09:55:00Z", "lastTransitionTime": "2026-12-06T09:50:00Z"}


DEPLOYMENTS = {
    ("payments", "checkout"): _deployment(
        "payments", "checkout", 5, 5, 3,
        {"replicas": 4, "updatedReplicas": 2, "readyReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1},
        [_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
         _condition("Progressing", "True", "ReplicaSetUpdated", 'ReplicaSet "checkout-5d8c7b9f4" is progressing.')]),
    ("payments", "payments-api"): _deployment(
        "payments", "payments-api", 8, 8, 2,
        {"replicas": 3, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2, "unavailableReplicas": 1},
        [_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
         _condition("Progressing", "False", "ProgressDeadlineExceeded", 'ReplicaSet "payments-api-7b8c9d" has timed out progressing.')]),
    ("payments", "ledger"): _deployment(
        "payments", "ledger", 3, 3, 2,
        {"replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2},
        [_condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
         _condition("Progressing", "True", "NewReplicaSetAvailable", 'ReplicaSet "ledger-6c5b4a" has successfully progressed.')]),
}

PAGE_SIZE = 2


def _status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def _selector_terms(text: str) -> list[tuple[str, str]]:
    terms = []
    for term in filter(None, text.split(",")):
        key, _, value = term.partition("=")
        terms.append((key, value))
    return terms


def _field(obj: dict, path: str):
    for part in path.split("."):
        obj = obj.get(part, {}) if isinstance(obj, dict) else {}
    return obj


@dataclass
class Seen:
    server: str
    path: str
    query: dict[str, str]
    authorization: str
    client_cn: str | None
    user: str | None


@dataclass
class FakeKube:
    """What the fake API servers accept and what they saw."""

    tokens: set[str] = field(default_factory=set)
    eks_check: Callable[[str], str | None] | None = None
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, server: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if server is None or s.server == server]

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()

    def authenticate(self, authorization: str, client_cn: str | None) -> str | None:
        if client_cn:
            return client_cn
        if not authorization.startswith("Bearer "):
            return None
        token = authorization[len("Bearer "):]
        if token.startswith("k8s-aws-v1.") and self.eks_check is not None:
            return self.eks_check(token)
        with self.lock:
            return f"token:{token}" if token in self.tokens else None


def _list(kind: str, items: list[dict], query: dict[str, str]) -> dict:
    start = int(query.get("continue") or 0)
    limit = int(query.get("limit") or 0)
    size = min(limit, PAGE_SIZE) if limit else len(items)
    page = items[start:start + size]
    more = start + size < len(items)
    return {"kind": kind, "apiVersion": "v1",
            "metadata": {"resourceVersion": "12345", **({"continue": str(start + size), "remainingItemCount": len(items) - start - size} if more else {})},
            "items": page}


def _route(path: str, query: dict[str, str]) -> tuple[int, dict]:
    parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
    labels = _selector_terms(query.get("labelSelector", ""))
    fields = _selector_terms(query.get("fieldSelector", ""))
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "pods":
        items = [p for p in PODS if p["metadata"]["namespace"] == parts[3]
                 and all(p["metadata"]["labels"].get(k) == v for k, v in labels)]
        return 200, _list("PodList", items, query)
    if parts == ["api", "v1", "nodes"]:
        items = [n for n in NODES if all(_field(n, k) == v for k, v in fields)]
        return 200, _list("NodeList", items, query)
    if parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 5 and parts[4] == "events":
        items = [e for e in EVENTS if e["metadata"]["namespace"] == parts[3] and all(_field(e, k) == v for k, v in fields)]
        return 200, _list("EventList", items, query)
    if parts[:4] == ["apis", "apps", "v1", "namespaces"] and len(parts) == 7 and parts[5] == "deployments":
        found = DEPLOYMENTS.get((parts[4], parts[6]))
        if found is None:
            return 404, _status(404, "NotFound", f'deployments.apps "{parts[6]}" not found')
        return 200, found
    return 404, _status(404, "NotFound", "the server could not find the requested resource")


def start(fake: FakeKube, name: str, pki: Path, cert: str, require_client_cert: bool) -> tuple[str, ThreadingHTTPServer]:
    """Starts one fake API server named `name` with the certificate `cert` of `pki`; with
    `require_client_cert` the TLS handshake fails without a client certificate of the CA."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):  # noqa: N802 (http.server's naming)
            url = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
            peer = self.connection.getpeercert()
            client_cn = dict(x[0] for x in peer["subject"]).get("commonName") if peer else None
            authorization = self.headers.get("Authorization", "")
            user = fake.authenticate(authorization, client_cn)
            with fake.lock:
                fake.seen.append(Seen(name, url.path, query, authorization, client_cn, user))
            if user is None:
                status, body = 401, _status(401, "Unauthorized", "Unauthorized")
            else:
                status, body = _route(url.path, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / f"{cert}.pem", pki / f"{cert}.key")
    ctx.load_verify_locations(pki / "ca.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return f"https://127.0.0.1:{server.server_address[1]}", server


def stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()
