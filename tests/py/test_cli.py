"""`toolwright call` and `toolwright render` from the shell, against the real backend."""

from __future__ import annotations

import json
import subprocess
import time

from conftest import BIG_COUNT, _env, item

TIMEOUT_S = 30


def run(toolwright_bin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [toolwright_bin, *args], capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, env=_env()
    )


# --------------------------------------------------------------------------- call


def test_call_success(toolwright_bin, tools_dir, backend):
    before = backend.seen()
    p = run(toolwright_bin, "call", "get_item", "--args", '{"id": 3}', "--tools", tools_dir)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == item("3")
    assert backend.seen()[len(before):] == ["/items/3"]


def test_call_truncated_output_says_so(toolwright_bin, tools_dir):
    p = run(toolwright_bin, "call", "list_big", "--tools", tools_dir)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["truncated"] is True and out["total"] == BIG_COUNT and 0 < out["kept"] < BIG_COUNT


def test_call_invalid_arguments_exit_1(toolwright_bin, tools_dir, backend):
    before = backend.total()
    p = run(toolwright_bin, "call", "get_item", "--args", '{"id": "x"}', "--tools", tools_dir)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "id" in p.stderr
    assert p.stdout == ""
    assert backend.total() == before


def test_call_backend_500_exit_1(toolwright_bin, tools_dir):
    p = run(toolwright_bin, "call", "always_fails", "--tools", tools_dir)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "500" in p.stderr
    assert "database exploded" in p.stderr


def test_call_unknown_tool_fails_with_suggestion(toolwright_bin, tools_dir):
    p = run(toolwright_bin, "call", "get_iteem", "--args", '{"id": 1}', "--tools", tools_dir)
    assert p.returncode == 1, p.returncode  # the caller's mistake, like refused arguments (usage errors are 2)
    assert "get_iteem" in p.stderr and "get_item" in p.stderr, p.stderr


def test_call_args_not_json_is_usage_error(toolwright_bin, tools_dir, backend):
    before = backend.total()
    p = run(toolwright_bin, "call", "get_item", "--args", "{id: 3", "--tools", tools_dir)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "--args" in p.stderr
    p = run(toolwright_bin, "call", "get_item", "--args", "[1, 2]", "--tools", tools_dir)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert backend.total() == before


# --------------------------------------------------------------------------- render


def test_render_shows_the_url_and_sends_nothing(toolwright_bin, tools_dir, backend):
    before = backend.total()
    p = run(toolwright_bin, "render", "get_item", "--args", '{"id": 3}', "--tools", tools_dir)
    assert p.returncode == 0, p.stderr
    assert f"{backend.base_url}/items/3" in p.stdout, p.stdout
    json.loads(p.stdout)  # the rendering is JSON
    assert "GET" in p.stdout
    p = run(toolwright_bin, "render", "echo_path", "--args", '{"segment": "../admin"}', "--tools", tools_dir)
    assert p.returncode == 0, p.stderr
    assert f"{backend.base_url}/echo-path/..%2Fadmin" in p.stdout, p.stdout
    assert backend.total() == before, "render must not send anything"


def test_render_invalid_arguments_exit_1(toolwright_bin, tools_dir, backend):
    before = backend.total()
    p = run(toolwright_bin, "render", "get_item", "--args", '{"id": 0}', "--tools", tools_dir)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "id" in p.stderr
    assert backend.total() == before


def test_render_unknown_tool_fails(toolwright_bin, tools_dir):
    p = run(toolwright_bin, "render", "nope", "--tools", tools_dir)
    assert p.returncode == 1, p.returncode
    assert "nope" in p.stderr


# --------------------------------------------------------------------------- serve


def test_serve_refuses_a_broken_catalog_with_78(toolwright_bin, tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: tool\nname: broken\ndescription: x\nlog_group: nope\n")
    p = subprocess.run(
        [toolwright_bin, "serve", "--tools", str(tmp_path), "--no-watch"],
        capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, env=_env(),
    )
    assert p.returncode == 78, (p.returncode, p.stderr)
    assert "bad.yaml" in p.stderr
    assert p.stdout == "", "nothing may reach stdout (it carries the protocol on stdio)"


def test_stdio_answers_lines_that_are_not_messages_and_goes_on(toolwright_bin, tools_dir):
    """JSON-RPC wants -32700 (id null) for a line that is not JSON and -32600 for JSON that is
    not a message; the server then goes on serving (it used to stay silent)."""
    lines = [
        "this is not json",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
        "[1, 2]",
        json.dumps({"id": 9, "method": "ping"}),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
    ]
    proc = subprocess.run([toolwright_bin, "serve", "--tools", tools_dir, "--no-watch"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=30)
    answers = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    by_id = {json.dumps(a.get("id")): a for a in answers}
    assert any(a.get("id") is None and a["error"]["code"] == -32700 for a in answers), answers
    assert any(a.get("id") is None and a["error"]["code"] == -32600 for a in answers), answers
    assert by_id["9"]["error"]["code"] == -32600, answers
    assert "result" in by_id["1"] and "result" in by_id["2"], answers


def test_stdio_at_a_terminal_says_it_waits_for_a_client_and_ends_cleanly(toolwright_bin, tools_dir):
    """Started by hand, `serve` used to print only `catalog loaded` and wait silently; at the end
    of input it printed `error: connection closed: initialize request` and exited 2. stdin and
    stderr are a terminal here, as for a person; NO_COLOR is set, and honoured by the log lines."""
    import os
    import pty
    import select

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen([toolwright_bin, "serve", "--tools", tools_dir, "--no-watch"], stdin=terminal,
                                stdout=subprocess.PIPE, stderr=terminal, env={**_env(), "NO_COLOR": "1"})
        os.close(terminal)
        terminal = -1
        time.sleep(1.5)  # the catalog loads, the server says what it waits for
        os.write(controller, b"\x04")  # Ctrl-D: end of input
        proc.wait(timeout=10)
        err = b""
        while select.select([controller], [], [], 0.5)[0]:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the other side is closed
                break
            if not chunk:
                break
            err += chunk
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    stderr = err.decode(errors="replace")
    assert "waiting for an MCP client" in stderr and "Ctrl-D" in stderr, stderr
    assert proc.returncode == 0, (proc.returncode, stderr)
    assert "error" not in stderr.lower(), stderr
    # https://no-color.org: the log lines had colour codes at a terminal even with NO_COLOR.
    assert "\x1b[" not in stderr, stderr
