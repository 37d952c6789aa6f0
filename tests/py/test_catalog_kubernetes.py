"""The bundled Kubernetes catalog (catalog/kubernetes) against the fake Kubernetes API server of
tests/py/kube_fake.py (HTTPS with its own CA; Kubernetes API paths, list options, `continue`
pagination, `Status` errors and Bearer authentication as its docstring says). The folder is copied
unchanged and reaches the fake through `kubernetes: in_cluster`: KUBERNETES_SERVICE_HOST/PORT point
at it and TOOLWRIGHT_KUBERNETES_SA_DIR at a service account directory with its CA and a token.
Every tool is called; the test checks what the model receives and what the API server received
(path, labelSelector / fieldSelector, limit and continue, the service account's token)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest

import kube_fake
from conftest import _env

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "catalog-sa-token"


@pytest.fixture(scope="module")
def kube(tmp_path_factory):
    d = tmp_path_factory.mktemp("kube-catalog")
    pki = kube_fake.make_pki(d)
    fake = kube_fake.FakeKube(tokens={TOKEN})
    url, server = kube_fake.start(fake, "api", pki, "apiserver", False)
    sa = d / "serviceaccount"
    sa.mkdir()
    shutil.copy(pki / "ca.pem", sa / "ca.crt")
    (sa / "token").write_text(TOKEN + "\n")
    tools = d / "kubernetes"
    shutil.copytree(ROOT / "catalog" / "kubernetes", tools)
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(urllib.parse.urlsplit(url).port),
           "TOOLWRIGHT_KUBERNETES_SA_DIR": str(sa)}
    try:
        yield fake, tools, env
    finally:
        kube_fake.stop(server)


def call(toolwright_bin, kube, tool: str, args: dict) -> subprocess.CompletedProcess:
    fake, tools, env = kube
    fake.clear()
    return subprocess.run([toolwright_bin, "call", tool, "--args", json.dumps(args), "--tools", str(tools)],
                          capture_output=True, text=True, timeout=60, env={**_env(), **env})


def ok(p: subprocess.CompletedProcess) -> dict:
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_the_folder_lints_clean_on_its_own_and_with_the_others(toolwright_bin):
    p = subprocess.run([toolwright_bin, "lint", str(ROOT / "catalog" / "kubernetes"), "--deny-warnings"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout
    p = subprocess.run([toolwright_bin, "lint", str(ROOT / "catalog" / "aws"), str(ROOT / "catalog" / "kubernetes"), str(ROOT / "tools.d")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout


def test_workload_pods(toolwright_bin, kube):
    fake = kube[0]
    out = ok(call(toolwright_bin, kube, "kubernetes_workload_pods", {"namespace": "payments", "value": "checkout"}))
    # Three pods over two pages (the fake's pages hold 2), most restarts first.
    assert out["pages"] == 2, out
    pods = out["items"]
    assert [p["name"] for p in pods][0] == "checkout-7c9f8b6d5-p9m3z", pods
    assert sorted(p["name"] for p in pods) == ["checkout-5d8c7b9f4-q7w2e", "checkout-7c9f8b6d5-p9m3z", "checkout-7c9f8b6d5-x2k4q"]
    crashing = pods[0]
    assert (crashing["restarts"], crashing["ready"], crashing["containers"], crashing["node"]) == (7, 0, 1, "node-b"), crashing
    status = crashing["statuses"][0]
    assert (status["state"], status["reason"]) == ("waiting", "CrashLoopBackOff"), status
    assert status["lastTermination"] == {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-12-06T09:58:00Z"}, status
    pending = next(p for p in pods if p["name"] == "checkout-5d8c7b9f4-q7w2e")
    assert pending["phase"] == "Pending" and pending["statuses"][0]["reason"] == "ImagePullBackOff", pending
    seen = fake.requests()
    assert [(s.path, s.query.get("labelSelector"), s.query.get("limit"), s.query.get("continue")) for s in seen] == [
        ("/api/v1/namespaces/payments/pods", "app=checkout", "200", None),
        ("/api/v1/namespaces/payments/pods", "app=checkout", "200", "2"),
    ], seen
    assert {s.authorization for s in seen} == {f"Bearer {TOKEN}"}
    # Another label key; a value that would add a selector term is refused before anything is sent.
    out = ok(call(toolwright_bin, kube, "kubernetes_workload_pods",
                  {"namespace": "payments", "label": "app.kubernetes.io/name", "value": "checkout"}))
    assert out["items"] == [] and fake.requests()[0].query["labelSelector"] == "app.kubernetes.io/name=checkout"
    p = call(toolwright_bin, kube, "kubernetes_workload_pods", {"namespace": "payments", "value": "checkout,tier!=web"})
    assert p.returncode != 0 and fake.requests() == [], p.stderr


def test_node_conditions(toolwright_bin, kube):
    fake = kube[0]
    out = ok(call(toolwright_bin, kube, "kubernetes_node_conditions", {}))
    nodes = {n["name"]: n for n in out["nodes"]}
    assert set(nodes) == {"node-a", "node-b"} and out["more"] is False, out
    assert (nodes["node-a"]["ready"], nodes["node-a"]["cordoned"], nodes["node-a"]["problems"]) == ("True", False, []), nodes["node-a"]
    sick = nodes["node-b"]
    assert (sick["ready"], sick["cordoned"]) == ("False", True), sick
    assert {(p["type"], p["status"], p["reason"]) for p in sick["problems"]} == {
        ("Ready", "False", "KubeletNotReady"), ("MemoryPressure", "True", "KubeletHasMemoryPressure")}, sick
    assert "PLEG is not healthy" in next(p["message"] for p in sick["problems"] if p["type"] == "Ready")
    assert sick["conditions"] == {"MemoryPressure": "True", "DiskPressure": "False", "PIDPressure": "False", "Ready": "False"}
    assert {t["key"] for t in sick["taints"]} == {"node.kubernetes.io/not-ready", "node.kubernetes.io/unschedulable"}
    assert sick["kubelet"] == "v1.31.2" and sick["allocatable"] == {"cpu": "3920m", "memory": "15623480Ki", "pods": "110"}
    assert [(s.path, s.query.get("fieldSelector")) for s in fake.requests()] == [("/api/v1/nodes", "")]
    out = ok(call(toolwright_bin, kube, "kubernetes_node_conditions", {"node": "node-b"}))
    assert [n["name"] for n in out["nodes"]] == ["node-b"], out
    assert fake.requests()[0].query["fieldSelector"] == "metadata.name=node-b"


def test_warning_events(toolwright_bin, kube):
    fake = kube[0]
    out = ok(call(toolwright_bin, kube, "kubernetes_warning_events", {"namespace": "payments"}))
    events = out["items"]
    # Warnings only (the Normal `Pulled` event is not asked for), the most recent first; a
    # series event (events.k8s.io) counts its series and is dated by its last observation.
    assert [(e["reason"], e["object"], e["count"]) for e in events] == [
        ("BackOff", "Pod/checkout-7c9f8b6d5-p9m3z", 42),
        ("Unhealthy", "Pod/checkout-7c9f8b6d5-x2k4q", 12),
        ("Failed", "Pod/checkout-5d8c7b9f4-q7w2e", 3),
    ], events
    assert events[1]["last"] == "2026-12-06T09:58:30.000000Z" and "Readiness probe failed" in events[1]["message"]
    seen = fake.requests()
    assert [(s.path, s.query.get("fieldSelector"), s.query.get("continue")) for s in seen] == [
        ("/api/v1/namespaces/payments/events", "type=Warning", None),
        ("/api/v1/namespaces/payments/events", "type=Warning", "2"),
    ], seen
    out = ok(call(toolwright_bin, kube, "kubernetes_warning_events", {"namespace": "payments", "object": "checkout-7c9f8b6d5-x2k4q"}))
    assert [e["reason"] for e in out["items"]] == ["Unhealthy"], out
    assert fake.requests()[0].query["fieldSelector"] == "type=Warning,involvedObject.name=checkout-7c9f8b6d5-x2k4q"


def test_deployment_rollout(toolwright_bin, kube):
    fake = kube[0]
    out = ok(call(toolwright_bin, kube, "kubernetes_deployment_rollout", {"namespace": "payments", "deployment": "checkout"}))
    assert (out["desired"], out["current"], out["updated"], out["ready"], out["available"], out["unavailable"]) == (3, 4, 2, 3, 3, 1), out
    assert (out["generation"], out["observedGeneration"]) == (5, 5)
    assert out["rollout"] == "in progress: 2 of 3 replicas updated", out
    assert out["images"] == ["registry.example.com/checkout:1.5.0"]
    assert {c["type"]: c["reason"] for c in out["conditions"]} == {"Available": "MinimumReplicasAvailable", "Progressing": "ReplicaSetUpdated"}
    assert [s.path for s in fake.requests()] == ["/apis/apps/v1/namespaces/payments/deployments/checkout"]
    out = ok(call(toolwright_bin, kube, "kubernetes_deployment_rollout", {"namespace": "payments", "deployment": "payments-api"}))
    assert out["rollout"] == "failed: progress deadline exceeded", out
    out = ok(call(toolwright_bin, kube, "kubernetes_deployment_rollout", {"namespace": "payments", "deployment": "ledger"}))
    assert out["rollout"] == "complete", out
    p = call(toolwright_bin, kube, "kubernetes_deployment_rollout", {"namespace": "payments", "deployment": "nope"})
    assert p.returncode == 1 and "404" in p.stderr and "not found" in p.stderr, p.stderr
