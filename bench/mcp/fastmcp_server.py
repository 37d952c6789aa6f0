#!/usr/bin/env python3
"""The FastMCP peer of the MCP benchmark: the same N tools as bench/gen_specs.py generates for
toolwright and MCP Toolbox, each a hand-written-style async function that makes the same HTTP
call (GET {base}/{collection}/{id}?limit=..[&filter=..]) with one shared httpx client, served
over Streamable HTTP in FastMCP's stateless mode with JSON responses (its fastest setting).

    bench/.venv-fastmcp/bin/python bench/mcp/fastmcp_server.py --tools 1000 --port P --backend http://127.0.0.1:B

Runs on 127.0.0.1 only. Needs `fastmcp<3` (2.x) in the interpreter's environment.
"""

import argparse
import os
import sys
from typing import Annotated, Literal, Optional

import httpx
import uvicorn
from fastmcp import FastMCP
from pydantic import Field

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import gen_specs  # noqa: E402

# One tool, as a person would write it for FastMCP. `{...}` parts are filled per tool below;
# the generated catalog only varies the names, bounds, patterns and the optional filter.
TEMPLATE = '''
async def {name}(
    id: Annotated[str, Field(description={id_desc!r}, pattern={pattern!r})],
    limit: Annotated[int, Field(description="Maximum number of related records to include.", ge={lo}, le={hi})] = {default},
{filter_param}) -> dict:
    params = {{"limit": str(limit)}}
{filter_use}    response = await client.get(f"{{BASE}}/{noun}/{{id}}", params=params, headers={{"Accept": "application/json"}})
    response.raise_for_status()
    return response.json()
'''


def define_tool(mcp, m, namespace):
    f = m["filter"]
    if f:
        choices = ", ".join(repr(v) for v in f["values"])
        filter_param = (
            f"    {f['name']}: Annotated[Optional[Literal[{choices}]], "
            f"Field(description='Only records with this {f['name']}.')] = None,\n"
        )
        filter_use = f"    if {f['name']} is not None:\n        params[{f['name']!r}] = {f['name']}\n"
    else:
        filter_param = ""
        filter_use = ""
    src = TEMPLATE.format(
        name=m["name"],
        id_desc=f"Identifier of the {m['noun'][:-1]}.",
        pattern=m["id_pattern"],
        lo=m["limit"]["min"],
        hi=m["limit"]["max"],
        default=m["limit"]["default"],
        noun=m["noun"],
        filter_param=filter_param,
        filter_use=filter_use,
    )
    exec(src, namespace)  # noqa: S102 - the source is generated above from fixed data
    fn = namespace[m["name"]]
    mcp.tool(name=m["name"], title=m["title"], description=m["description"],
             annotations={"readOnlyHint": True, "openWorldHint": False})(fn)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tools", type=int, default=1000)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--backend", required=True, help="base URL of the HTTP backend (http://127.0.0.1:PORT)")
    a = ap.parse_args()
    if not a.backend.startswith("http://127.0.0.1:"):
        ap.error("the backend must be on 127.0.0.1")

    mcp = FastMCP("fastmcp-bench")
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    client = httpx.AsyncClient(timeout=10.0, limits=limits)
    namespace = {"Annotated": Annotated, "Literal": Literal, "Optional": Optional, "Field": Field,
                 "client": client, "BASE": a.backend}
    for i in range(1, a.tools + 1):
        define_tool(mcp, gen_specs.tool_model(i), namespace)

    app = mcp.http_app(path="/mcp", stateless_http=True, json_response=True)
    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
