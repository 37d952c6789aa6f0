"""Connection `auth.kubernetes` (in-cluster and kubeconfig), `auth.eks` and `tls.server_name`
against fake Kubernetes API servers over real TLS (tests/py/kube_fake.py: HTTPS on 127.0.0.1 with
a CA made by openssl; the paths, list options, `Status` errors and authentication it mirrors are
in its docstring).

- in-cluster: the server from KUBERNETES_SERVICE_HOST/PORT, the token and CA from the service
  account directory (TOOLWRIGHT_KUBERNETES_SA_DIR); the token file rotates between two calls of
  one server process and the API server sees both tokens;
- kubeconfig: a user with `token`, one with `tokenFile`, one with a client certificate and key
  against a server that requires mutual TLS; a wrong CA is refused; an `exec` user is a clear tool
  error naming the connection, the file and the field;
- `tls.server_name`: a server whose certificate is issued for `kubernetes.default.svc` only is
  refused at https://127.0.0.1:PORT, and accepted with the name set (in the spec, or as the
  kubeconfig's `tls-server-name`);
- EKS, against the `moto` fixture (moto with Signature V4 checks on): the fake API server decodes
  the `k8s-aws-v1.` token as aws-iam-authenticator does, checks it is a GetCallerIdentity URL of
  the STS endpoint presigned for 60 seconds with `x-k8s-aws-id` among its signed headers, and
  checks its signature for the cluster name it serves (`prod`) with the secret of the key named in
  `X-Amz-Credential`. moto 5.2.6 does not check presigned query signatures (its IAM check reads
  only the `Authorization` header: with its checks on, a presigned GET answers 500), so the fake
  checks that signature itself (SigV4 as documented: canonical request, string to sign, derived
  key) and then asks moto for GetCallerIdentity, sending `x-k8s-aws-id`, signed in the header with
  the same SigV4 code and the key of the token's credential: moto checks that signature (with
  botocore) and answers 200 with the caller's ARN, which proves the fake's SigV4 code right. A token
  made with a wrong secret differs and is refused.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import anyio
import pytest

import kube_fake
from conftest import _env, run_http_server
from helpers import json_text, mcp_session

TOOL = """\
---
kind: tool
name: pods
description: The pods of the payments namespace.
input: {type: object}
action:
  http:
    connection: cluster
    url: /api/v1/namespaces/payments/pods
    query: {labelSelector: app=checkout}
    response:
      jq: '[.items[].metadata.name]'
"""
# What the model receives: the jq output, a list, under `result`.
CHECKOUT_PODS = {"result": ["checkout-7c9f8b6d5-x2k4q", "checkout-7c9f8b6d5-p9m3z", "checkout-5d8c7b9f4-q7w2e"]}


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    return kube_fake.make_pki(tmp_path_factory.mktemp("kube-pki"))


@pytest.fixture(scope="module")
def cluster(pki):
    """Three fake API servers sharing one state: `api` (certificate for 127.0.0.1, tokens or a
    client certificate), `mtls` (requires a client certificate), `svc` (certificate issued for
    kubernetes.default.svc only)."""
    fake = kube_fake.FakeKube()
    servers = {name: kube_fake.start(fake, name, pki, cert, require)
               for name, cert, require in (("api", "apiserver", False), ("mtls", "apiserver", True), ("svc", "svc", False))}
    try:
        yield fake, {name: url for name, (url, _) in servers.items()}
    finally:
        for _, server in servers.values():
            kube_fake.stop(server)


def write_tools(d: Path, connection_http: str, extra: str = "") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "cluster.yaml").write_text(f"kind: connection\nname: cluster\nhttp:\n{connection_http}" + TOOL + extra)
    return d


def call(toolwright_bin: str, tools: Path, tool: str = "pods", env: dict | None = None, command: str = "call") -> subprocess.CompletedProcess:
    return subprocess.run([toolwright_bin, command, tool, "--tools", str(tools)], capture_output=True, text=True, timeout=60,
                          env={**_env(), **(env or {})})


def kubeconfig(path: Path, server: str, user: dict, cluster_extra: dict | None = None, context: str = "prod") -> Path:
    """A kubeconfig with one cluster, one user and one context (JSON is YAML)."""
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": context, "preferences": {},
        "clusters": [{"name": "prod-cluster", "cluster": {"server": server, **(cluster_extra or {})}}],
        "users": [{"name": "prod-user", "user": user}],
        "contexts": [{"name": context, "context": {"cluster": "prod-cluster", "user": "prod-user", "namespace": "payments"}}],
    }))
    return path


# --------------------------------------------------------------------------- in-cluster

@pytest.mark.anyio
async def test_in_cluster_service_account_and_a_rotated_token(toolwright_bin, pki, cluster, tmp_path):
    fake, urls = cluster
    fake.clear()
    sa = tmp_path / "serviceaccount"
    sa.mkdir()
    (sa / "ca.crt").write_text((pki / "ca.pem").read_text())
    (sa / "token").write_text("sa-token-one\n")
    fake.tokens.update({"sa-token-one", "sa-token-two"})
    tools = write_tools(tmp_path / "tools", "  allow_private_networks: true\n  auth: {kubernetes: in_cluster}\n")
    port = urllib.parse.urlsplit(urls["api"]).port
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port), "TOOLWRIGHT_KUBERNETES_SA_DIR": str(sa)}
    with run_http_server(toolwright_bin, str(tools), env=env) as server:
        with anyio.fail_after(60):
            async with mcp_session("http", url=server.url) as session:
                first = await session.call_tool("pods", {})
                assert not first.is_error, first
                assert json_text(first) == CHECKOUT_PODS
                # The kubelet rotates the projected token: a new file is swapped in.
                (sa / "token.new").write_text("sa-token-two\n")
                (sa / "token.new").rename(sa / "token")
                second = await session.call_tool("pods", {})
                assert not second.is_error, second
    seen = [(s.path, s.query.get("labelSelector"), s.authorization) for s in fake.requests("api")]
    assert seen == [("/api/v1/namespaces/payments/pods", "app=checkout", "Bearer sa-token-one"),
                    ("/api/v1/namespaces/payments/pods", "app=checkout", "Bearer sa-token-two")], seen


def test_in_cluster_without_the_service_variables_is_a_clear_error(toolwright_bin, tmp_path):
    tools = write_tools(tmp_path / "tools", "  allow_private_networks: true\n  auth: {kubernetes: in_cluster}\n")
    env = {k: v for k, v in _env().items() if not k.startswith("KUBERNETES_")}
    p = subprocess.run([toolwright_bin, "call", "pods", "--tools", str(tools)], capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "connection `cluster`" in p.stderr and "KUBERNETES_SERVICE_HOST" in p.stderr and "panicked" not in p.stderr, p.stderr


# --------------------------------------------------------------------------- kubeconfig

def test_kubeconfig_with_a_token(toolwright_bin, pki, cluster, tmp_path):
    fake, urls = cluster
    fake.clear()
    fake.tokens.add("kubeconfig-token-value")
    kubeconfig(tmp_path / "kubeconfig", urls["api"], {"token": "kubeconfig-token-value"},
               {"certificate-authority-data": base64.b64encode((pki / "ca.pem").read_bytes()).decode()})
    # The path is relative to the spec file's directory.
    tools = write_tools(tmp_path / "tools", "  allow_private_networks: true\n  auth: {kubernetes: {kubeconfig: ../kubeconfig}}\n")
    p = call(toolwright_bin, tools)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == CHECKOUT_PODS
    assert [s.authorization for s in fake.requests("api")] == ["Bearer kubeconfig-token-value"]
    # `render` names the kubeconfig and never shows the token.
    p = call(toolwright_bin, tools, command="render")
    assert p.returncode == 0, p.stderr
    rendered = json.loads(p.stdout)
    assert "kubeconfig-token-value" not in p.stdout, p.stdout
    assert rendered["auth"]["kubernetes"]["kubeconfig"].endswith("kubeconfig"), rendered
    assert rendered["url"].startswith("https://kubernetes.invalid/api/v1/namespaces/payments/pods"), rendered


def test_kubeconfig_with_a_token_file_read_again_when_it_changes(toolwright_bin, pki, cluster, tmp_path):
    fake, urls = cluster
    fake.clear()
    fake.tokens.add("file-token-one")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("file-token-one\n")
    # `tokenFile` and `certificate-authority` are relative to the kubeconfig's directory.
    (tmp_path / "ca.pem").write_text((pki / "ca.pem").read_text())
    kubeconfig(tmp_path / "kubeconfig", urls["api"], {"tokenFile": "secrets/token"}, {"certificate-authority": "ca.pem"})
    tools = write_tools(tmp_path / "tools", f"  allow_private_networks: true\n  auth: {{kubernetes: {{kubeconfig: {tmp_path}/kubeconfig, context: prod}}}}\n")
    p = call(toolwright_bin, tools)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == CHECKOUT_PODS
    assert [s.authorization for s in fake.requests("api")] == ["Bearer file-token-one"]


def test_kubeconfig_with_a_client_certificate_against_a_server_that_requires_mtls(toolwright_bin, pki, cluster, tmp_path):
    fake, urls = cluster
    fake.clear()
    b64 = lambda name: base64.b64encode((pki / name).read_bytes()).decode()  # noqa: E731
    kubeconfig(tmp_path / "kubeconfig", urls["mtls"], {"client-certificate-data": b64("alice.pem"), "client-key": str(pki / "alice.key")},
               {"certificate-authority": str(pki / "ca.pem")})
    tools = write_tools(tmp_path / "tools", "  allow_private_networks: true\n  auth: {kubernetes: {kubeconfig: ../kubeconfig}}\n")
    p = call(toolwright_bin, tools)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == CHECKOUT_PODS
    seen = fake.requests("mtls")
    assert [(s.client_cn, s.authorization, s.user) for s in seen] == [("alice", "", "alice")], seen
    # Without the client certificate the server refuses the handshake.
    kubeconfig(tmp_path / "kubeconfig", urls["mtls"], {}, {"certificate-authority": str(pki / "ca.pem")})
    p = call(toolwright_bin, tools)
    assert p.returncode == 1 and "127.0.0.1" in p.stderr, p.stderr


def test_a_server_of_another_ca_is_refused(toolwright_bin, pki, cluster, tmp_path):
    fake, urls = cluster
    fake.clear()
    fake.tokens.add("kubeconfig-token-value")
    kubeconfig(tmp_path / "kubeconfig", urls["api"], {"token": "kubeconfig-token-value"},
               {"certificate-authority": str(pki / "other-ca.pem")})
    tools = write_tools(tmp_path / "tools", "  allow_private_networks: true\n  auth: {kubernetes: {kubeconfig: ../kubeconfig}}\n")
    p = call(toolwright_bin, tools)
    assert p.returncode == 1, (p.returncode, p.stdout)
    assert "TLS certificate was refused" in p.stderr and "UnknownIssuer" in p.stderr, p.stderr
    assert fake.requests("api") == [], "nothing reaches a server whose certificate is not trusted"
    assert "kubeconfig-token-value" not in p.stderr


@pytest.fixture
def exec_kubeconfig(tmp_path) -> Path:
    return kubeconfig(tmp_path / "eks-kubeconfig", "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com", {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
        "args": ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod"]}})


def test_exec_plugins_are_refused_with_the_connection_file_and_field(toolwright_bin, exec_kubeconfig, tmp_path):
    tools = write_tools(tmp_path / "tools", f"  auth: {{kubernetes: {{kubeconfig: {exec_kubeconfig}}}}}\n")
    lint = subprocess.run([toolwright_bin, "lint", str(tools)], capture_output=True, text=True, timeout=60, env=_env())
    assert lint.returncode == 0, "the compile does not read the kubeconfig: " + lint.stdout
    p = call(toolwright_bin, tools)
    assert p.returncode == 1, (p.returncode, p.stdout)
    assert "connection `cluster`" in p.stderr and str(exec_kubeconfig) in p.stderr, p.stderr
    assert "uses `exec`: exec plugins are not supported; use a token, tokenFile or client certificate" in p.stderr, p.stderr
    assert "panicked" not in p.stderr


# --------------------------------------------------------------------------- tls.server_name

def test_server_name_accepts_a_certificate_issued_for_another_name(toolwright_bin, pki, cluster, tmp_path):
    fake, urls = cluster
    fake.clear()
    fake.tokens.add("kubeconfig-token-value")
    ca = str(pki / "ca.pem")
    kubeconfig(tmp_path / "kubeconfig", urls["svc"], {"token": "kubeconfig-token-value"}, {"certificate-authority": ca})
    # Without a server name: the certificate is not issued for 127.0.0.1.
    plain = write_tools(tmp_path / "plain", "  allow_private_networks: true\n  auth: {kubernetes: {kubeconfig: ../kubeconfig}}\n")
    p = call(toolwright_bin, plain)
    assert p.returncode == 1, p.stdout
    assert "TLS certificate was refused" in p.stderr and 'not valid for name "127.0.0.1"' in p.stderr, p.stderr
    assert fake.requests("svc") == []
    # `tls.server_name` in the spec.
    named = write_tools(tmp_path / "named", "  allow_private_networks: true\n  tls: {server_name: kubernetes.default.svc}\n"
                        "  auth: {kubernetes: {kubeconfig: ../kubeconfig}}\n")
    p = call(toolwright_bin, named)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == CHECKOUT_PODS
    # The kubeconfig's `tls-server-name`.
    kubeconfig(tmp_path / "kubeconfig", urls["svc"], {"token": "kubeconfig-token-value"},
               {"certificate-authority": ca, "tls-server-name": "kubernetes.default.svc"})
    p = call(toolwright_bin, plain)
    assert p.returncode == 0, p.stderr
    # A plain https connection (no Kubernetes) with its own CA file: the same.
    generic = tmp_path / "generic"
    generic.mkdir()
    (generic / "token").write_text("kubeconfig-token-value\n")
    (generic / "api.yaml").write_text(
        f"kind: connection\nname: cluster\nhttp:\n  base_url: {urls['svc']}\n  allow_private_networks: true\n"
        f"  auth: {{bearer_file: token}}\n  tls: {{ca_file: {ca}, server_name: kubernetes.default.svc}}\n" + TOOL)
    p = call(toolwright_bin, generic)
    assert p.returncode == 0, p.stderr
    assert [s.user for s in fake.requests("svc")] == ["token:kubeconfig-token-value"] * 3


# --------------------------------------------------------------------------- EKS

def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _encode(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def sigv4(secret: str, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], signed: list[str],
          amz_date: str, scope: str, payload: bytes) -> str:
    """The Signature Version 4 signature, as AWS documents it (canonical request, string to sign,
    signing key derived from the secret, date, region and service)."""
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(query))
    canonical_headers = "".join(f"{h}:{headers[h].strip()}\n" for h in signed)
    request = "\n".join([method, path, canonical_query, canonical_headers, ";".join(signed), hashlib.sha256(payload).hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    date, region, service, _ = scope.split("/")
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class EksAuthenticator:
    """What aws-iam-authenticator does with a token on the API server's side, for the cluster
    `prod`: decode, check the presigned URL, check its signature, ask STS (moto) who it is."""

    def __init__(self, moto_url: str, secrets: dict[str, str], cluster: str = "prod") -> None:
        self.moto_url = moto_url
        self.secrets = secrets
        self.cluster = cluster
        self.tokens: list[str] = []
        self.refusals: list[str] = []
        self.identities: list[str] = []

    def refuse(self, why: str) -> None:
        self.refusals.append(why)

    def __call__(self, token: str) -> str | None:
        self.tokens.append(token)
        encoded = token[len("k8s-aws-v1."):]
        if "=" in encoded:
            return self.refuse("padding")
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        q = dict(query)
        if f"{parts.scheme}://{parts.netloc}" != self.moto_url or parts.path != "/":
            return self.refuse(f"not the STS endpoint: {url}")
        if (q.get("Action"), q.get("Version"), q.get("X-Amz-Algorithm"), q.get("X-Amz-Expires")) != \
                ("GetCallerIdentity", "2011-06-15", "AWS4-HMAC-SHA256", "60"):
            return self.refuse(f"not a presigned GetCallerIdentity: {q}")
        signed = q.get("X-Amz-SignedHeaders", "").split(";")
        if "x-k8s-aws-id" not in signed or "host" not in signed:
            return self.refuse(f"x-k8s-aws-id is not signed: {signed}")
        amz_date = q["X-Amz-Date"]
        signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        if abs((datetime.datetime.now(datetime.timezone.utc) - signed_at).total_seconds()) > 15 * 60:
            return self.refuse("expired")
        key_id, date, region, service, terminal = q["X-Amz-Credential"].split("/")
        if (region, service, terminal) != ("us-east-1", "sts", "aws4_request") or key_id not in self.secrets:
            return self.refuse(f"credential scope {q['X-Amz-Credential']}")
        scope = f"{date}/{region}/{service}/{terminal}"
        # The header's value is the cluster this server is: a token for another cluster fails here.
        headers = {"host": parts.netloc, "x-k8s-aws-id": self.cluster}
        unsigned = [(k, v) for k, v in query if k != "X-Amz-Signature"]
        want = sigv4(self.secrets[key_id], "GET", "/", unsigned, headers, sorted(signed), amz_date, scope, b"")
        if not hmac.compare_digest(want, q.get("X-Amz-Signature", "")):
            return self.refuse("signature")
        # Who is it? GetCallerIdentity at moto, signed in the header with the token's key (moto checks it).
        now = datetime.datetime.now(datetime.timezone.utc)
        now_date, now_time = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8", "host": parts.netloc,
                   "x-amz-date": now_time, "x-k8s-aws-id": self.cluster}
        names = sorted(headers)
        scope = f"{now_date}/us-east-1/sts/aws4_request"
        signature = sigv4(self.secrets[key_id], "POST", "/", [], headers, names, now_time, scope, body)
        request = urllib.request.Request(self.moto_url + "/", data=body, method="POST", headers={
            **{k: v for k, v in headers.items() if k != "host"},
            "Authorization": f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
            arn = re.search(r"<Arn>([^<]+)</Arn>", answer.read().decode()).group(1)
        self.identities.append(arn)
        return arn


EKS_SPECS = """\
kind: connection
name: aws-test
aws: {{region: us-east-1, endpoint_url: "{moto}"}}
---
kind: connection
name: cluster
http:
  base_url: {api}
  allow_private_networks: true
  tls: {{ca_file: {ca}}}
  auth:
    eks: {{cluster: prod, connection: aws-test}}
"""


def test_eks_token_presigned_with_the_aws_connection(toolwright_bin, pki, cluster, moto, tmp_path):
    fake, urls = cluster
    fake.clear()
    moto_url, key = moto
    authenticator = EksAuthenticator(moto_url, {key["id"]: key["secret"]})
    fake.eks_check = authenticator
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "eks.yaml").write_text(EKS_SPECS.format(moto=moto_url, api=urls["api"], ca=pki / "ca.pem") + TOOL)
    env = {"AWS_ACCESS_KEY_ID": key["id"], "AWS_SECRET_ACCESS_KEY": key["secret"], "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent/toolwright", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/toolwright"}
    p = call(toolwright_bin, tools, env=env)
    assert p.returncode == 0, (p.stderr, authenticator.refusals)
    assert json.loads(p.stdout) == CHECKOUT_PODS
    assert authenticator.refusals == [] and authenticator.identities == ["arn:aws:iam::123456789012:user/toolwright"], authenticator.__dict__
    assert fake.requests("api")[0].user == "arn:aws:iam::123456789012:user/toolwright"
    good = authenticator.tokens[-1]
    # What the docstring says of moto: the presigned GET itself is not something it can check.
    encoded = good[len("k8s-aws-v1."):]
    presigned = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(presigned, headers={"x-k8s-aws-id": "prod"}), timeout=10)
    assert refused.value.code == 500, "moto now answers presigned requests: GET the token's URL there instead"
    # `render` shows the kind, never a token.
    p = call(toolwright_bin, tools, env=env, command="render")
    assert json.loads(p.stdout)["auth"] == {"eks": {"cluster": "prod", "region": None, "connection": "aws-test"}}, p.stdout
    # A wrong secret makes another token, which the server refuses: a tool error, no secret shown.
    p = call(toolwright_bin, tools, env={**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    assert p.returncode == 1, (p.returncode, p.stdout)
    assert "401" in p.stderr and "not-the-secret" not in p.stderr and "k8s-aws-v1" not in p.stderr, p.stderr
    assert authenticator.tokens[-1] != good and authenticator.refusals == ["signature"], authenticator.refusals
    # A token for this key but another cluster name is refused too (the cluster is signed).
    other = EksAuthenticator(moto_url, {key["id"]: key["secret"]}, cluster="staging")
    assert other(good) is None and other.refusals == ["signature"]
