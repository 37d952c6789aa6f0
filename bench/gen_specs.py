#!/usr/bin/env python3
"""Generate a catalog of N realistic toolwright HTTP tool specs (and, optionally, the same
N tools in MCP Toolbox 1.12's flat YAML format) for the lint benchmark (issue 2).

    bench/gen_specs.py N OUTDIR [--toolbox FILE] [--per-file 10] [--port 18080]

OUTDIR receives `connections.yaml` (one `kind: connection` with an `http` block) and
`tools_NNNN.yaml` files holding `--per-file` tools each as multi-document YAML.
Every tool has a description, an `input` schema with 2-3 typed properties (a string with
an enum or a pattern, an integer with minimum/maximum/default), a GET `action.http` with a
path template and a query parameter, and one example. The output is deterministic for a
given N (no randomness), so runs are comparable.

With `--toolbox FILE` the same N tools are written to FILE as Toolbox documents
(`kind: source` / `kind: tool`, `type: http`, `pathParams`/`queryParams`).
Standard library only.
"""

import argparse
import os
import sys

# A small vocabulary to make the specs look like a real SRE catalog rather than copies.
DOMAINS = [
    ("orders", "customer orders"),
    ("invoices", "billing invoices"),
    ("deployments", "service deployments"),
    ("incidents", "open incidents"),
    ("alerts", "monitoring alerts"),
    ("hosts", "fleet hosts"),
    ("queues", "message queues"),
    ("buckets", "storage buckets"),
    ("certificates", "TLS certificates"),
    ("releases", "release trains"),
    ("tenants", "customer tenants"),
    ("jobs", "batch jobs"),
]
VERBS = [
    ("get", "Get one of the {what} by id, with its current status"),
    ("inspect", "Inspect one of the {what} and return its key fields"),
    ("describe", "Describe one of the {what}: owner, state and last change"),
    ("check", "Check the health of one of the {what}"),
]
REGIONS = ["eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2", "sa-east-1"]
STATES = ["open", "closed", "pending", "failed", "done"]
ID_PATTERNS = [
    ("^[a-z][a-z0-9-]{2,40}$", "checkout-7"),
    ("^[A-Z]{2,4}-[0-9]{1,6}$", "OPS-1234"),
    ("^[0-9a-f]{8}$", "deadbeef"),
]
SOURCE = "bench-api"


def tool_model(i):
    """The abstract tool i (1-based), shared by both output formats."""
    noun, what = DOMAINS[i % len(DOMAINS)]
    verb, desc = VERBS[(i // len(DOMAINS)) % len(VERBS)]
    pattern, example_id = ID_PATTERNS[i % len(ID_PATTERNS)]
    # Alternate the filter property between an enum string and nothing (2 or 3 properties).
    filt = None
    if i % 2 == 0:
        values = REGIONS if i % 4 == 0 else STATES
        filt = {
            "name": "region" if i % 4 == 0 else "state",
            "values": values,
            "example": values[i % len(values)],
        }
    lo, hi = 1, 100 + (i % 9) * 100
    default = min(25, hi)
    return {
        "name": f"tool_{i:05d}",
        "title": f"{verb.capitalize()} {noun[:-1] if noun.endswith('s') else noun} ({i})",
        "description": desc.format(what=what) + f" (catalog entry {i}).",
        "noun": noun,
        "id_pattern": pattern,
        "example_id": example_id,
        "limit": {"min": lo, "max": hi, "default": default},
        "filter": filt,
    }


def yq(s):
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    import json

    return json.dumps(s)


def toolwright_tool(m):
    lines = [
        "kind: tool",
        f"name: {m['name']}",
        f"title: {m['title']}",
        f"description: {yq(m['description'])}",
        "annotations: {read_only: true, open_world: false}",
        "input:",
        "  type: object",
        "  properties:",
        "    id:",
        "      type: string",
        f"      description: Identifier of the {m['noun'][:-1]}.",
        f"      pattern: {yq(m['id_pattern'])}",
        "    limit:",
        "      type: integer",
        "      description: Maximum number of related records to include.",
        f"      minimum: {m['limit']['min']}",
        f"      maximum: {m['limit']['max']}",
        f"      default: {m['limit']['default']}",
    ]
    f = m["filter"]
    if f:
        lines += [
            f"    {f['name']}:",
            "      type: string",
            f"      description: Only records with this {f['name']}.",
            f"      enum: [{', '.join(f['values'])}]",
            # The template reads it, so an optional filter needs a default (lint's
            # optional-without-default); Toolbox gets the same default.
            f"      default: {f['values'][0]}",
        ]
    lines += [
        "  required: [id]",
        "  additionalProperties: false",
        "timeout: 15s",
        "action:",
        "  http:",
        f"    connection: {SOURCE}",
        "    method: GET",
        f"    url: /{m['noun']}/{{{{ id }}}}",
    ]
    query = ['limit: "{{ limit }}"']
    if f:
        query.append(f"{f['name']}: \"{{{{ {f['name']} }}}}\"")
    lines.append("    query: {" + ", ".join(query) + "}")
    lines.append("    headers: {Accept: application/json}")
    args = [f"id: {yq(m['example_id'])}", f"limit: {m['limit']['default']}"]
    if f:
        args.append(f"{f['name']}: {f['example']}")
    lines += ["examples:", "  - args: {" + ", ".join(args) + "}"]
    return "\n".join(lines) + "\n"


# Static keys for the signed variant (`--sign`): the standard AWS chain reads them from the
# environment; the backend never checks them. Not a credential.
SIGNING_ENV = {"AWS_ACCESS_KEY_ID": "AKIDBENCHMARK0000000", "AWS_SECRET_ACCESS_KEY": "benchmark-only-not-a-secret",
               "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": "/nonexistent/toolwright-bench", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/toolwright-bench"}


def toolwright_connection(port, sign=False):
    text = (
        "kind: connection\n"
        f"name: {SOURCE}\n"
        "description: The local API the benchmark catalog points at.\n"
        "http:\n"
        f"  base_url: http://127.0.0.1:{port}\n"
        "  headers: {Accept: application/json}\n"
        "  timeout: 10s\n"
        "  allow_private_networks: true\n"
    )
    if sign:
        text += "  auth:\n    aws_sigv4: {service: execute-api, region: us-east-1}\n"
    return text


def toolbox_source(port):
    return (
        "kind: source\n"
        f"name: {SOURCE}\n"
        "type: http\n"
        f"baseUrl: http://127.0.0.1:{port}\n"
        "timeout: 10s\n"
        "headers:\n"
        "  Accept: application/json\n"
        "allowPrivateNetworks: true\n"
    )


def toolbox_tool(m):
    lines = [
        "kind: tool",
        f"name: {m['name']}",
        "type: http",
        f"source: {SOURCE}",
        "method: GET",
        f"path: /{m['noun']}/{{{{.id}}}}",
        f"description: {yq(m['description'])}",
        "annotations:",
        "  readOnlyHint: true",
        "  openWorldHint: false",
        "headers:",
        "  Accept: application/json",
        "pathParams:",
        "  - name: id",
        "    type: string",
        f"    description: Identifier of the {m['noun'][:-1]}.",
        # Toolbox has no `pattern`; allowedValues accepts regular expressions.
        f"    allowedValues: [{yq(m['id_pattern'])}]",
        "queryParams:",
        "  - name: limit",
        "    type: integer",
        "    description: Maximum number of related records to include.",
        f"    minValue: {m['limit']['min']}",
        f"    maxValue: {m['limit']['max']}",
        f"    default: {m['limit']['default']}",
    ]
    f = m["filter"]
    if f:
        lines += [
            f"  - name: {f['name']}",
            "    type: string",
            f"    description: Only records with this {f['name']}.",
            "    required: false",
            f"    default: {f['values'][0]}",
            f"    allowedValues: [{', '.join(f['values'])}]",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", type=int, help="number of tools")
    ap.add_argument("outdir", help="directory for the toolwright specs (created; must be empty or absent)")
    ap.add_argument("--toolbox", metavar="FILE", help="also write the same tools as an MCP Toolbox config")
    ap.add_argument("--per-file", type=int, default=10, help="tools per YAML file (default 10)")
    ap.add_argument("--port", type=int, default=18080, help="port of the (never contacted) backend")
    ap.add_argument("--sign", action="store_true", help="sign every request (auth.aws_sigv4; needs SIGNING_ENV when served)")
    a = ap.parse_args(argv)
    if a.n < 1 or a.per_file < 1:
        ap.error("N and --per-file must be positive")

    os.makedirs(a.outdir, exist_ok=True)
    if any(not name.startswith(".") for name in os.listdir(a.outdir)):
        ap.error(f"{a.outdir} is not empty")

    header = "# Generated by bench/gen_specs.py for the lint benchmark; do not edit.\n"
    with open(os.path.join(a.outdir, "connections.yaml"), "w") as fh:
        fh.write(header + toolwright_connection(a.port, a.sign))
    models = [tool_model(i) for i in range(1, a.n + 1)]
    for start in range(0, a.n, a.per_file):
        chunk = models[start : start + a.per_file]
        path = os.path.join(a.outdir, f"tools_{start // a.per_file + 1:05d}.yaml")
        with open(path, "w") as fh:
            fh.write(header + "---\n".join(toolwright_tool(m) for m in chunk))

    if a.toolbox:
        d = os.path.dirname(os.path.abspath(a.toolbox))
        os.makedirs(d, exist_ok=True)
        with open(a.toolbox, "w") as fh:
            fh.write(header)
            fh.write(toolbox_source(a.port))
            for m in models:
                fh.write("---\n")
                fh.write(toolbox_tool(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
