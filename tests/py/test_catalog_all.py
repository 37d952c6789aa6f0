"""The bundled catalog as a whole (catalog/README.md's promise): every folder lints clean on its own
(a team copies one folder), the folders combine with each other and with tools.d (connection and tool
names never clash), every tool has examples, a description and honest annotations, the README lists
every tool, and `serve` starts on all of them at once."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "catalog"
FOLDERS = sorted(p for p in CATALOG.iterdir() if p.is_dir())


def tools_args(folders) -> list[str]:
    return [a for f in folders for a in ("--tools", str(f))]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_each_folder_lints_clean_on_its_own(toolwright_bin, folder):
    p = subprocess.run([toolwright_bin, "lint", str(folder), "--deny-warnings"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_all_folders_and_tools_d_combine(toolwright_bin):
    folders = [*FOLDERS, ROOT / "tests" / "fixtures" / "tools.d"]
    p = subprocess.run([toolwright_bin, "lint", *map(str, folders), "--deny-warnings"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    listed = subprocess.run([toolwright_bin, "list", *tools_args(folders), "--format", "json"], capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 0, listed.stderr
    tools = json.loads(listed.stdout)
    names = [t["name"] for t in tools]
    assert len(names) == len(set(names)), names
    per_folder = {}
    for f in FOLDERS:
        one = subprocess.run([toolwright_bin, "list", "--tools", str(f), "--format", "json"], capture_output=True, text=True, timeout=60)
        assert one.returncode == 0, one.stderr
        per_folder[f.name] = [t["name"] for t in json.loads(one.stdout)]
        # Tool names carry the folder's system as a prefix, so folders cannot clash.
        prefix = {"aws": "aws_"}.get(f.name, f.name + "_")
        assert all(n.startswith(prefix) for n in per_folder[f.name]), (f.name, per_folder[f.name])
    assert sum(map(len, per_folder.values())) + 3 == len(names), (per_folder, names)

    # Every tool is in the README's table of its folder.
    readme = (CATALOG / "README.md").read_text()
    for folder, tool_names in per_folder.items():
        section = readme.split(f"## `{folder}/`", 1)[1].split("\n## ", 1)[0]
        for n in tool_names:
            assert f"`{n}`" in section, f"catalog/README.md's {folder}/ section does not list {n}"


def test_every_tool_has_examples_and_annotations():
    for spec in CATALOG.glob("*/*.yaml"):
        text = spec.read_text()
        assert text.startswith("# yaml-language-server: $schema=../../schemas/toolwright.schema.json"), spec
        for doc in re.split(r"^---$", text, flags=re.M):
            if re.search(r"^kind: tool$", doc, re.M):
                name = re.search(r"^name: (\S+)", doc, re.M).group(1)
                assert re.search(r"^examples:", doc, re.M), f"{spec.name}: {name} has no examples"
                assert re.search(r"^annotations: \{.*read_only: (true|false)", doc, re.M), f"{spec.name}: {name} says nothing of read_only"
                if re.search(r"read_only: false", doc):
                    assert re.search(r"destructive: (true|false)", doc), f"{spec.name}: {name} writes but says nothing of destructive"


def test_serve_starts_on_every_folder_at_once(toolwright_bin):
    folders = [*FOLDERS, ROOT / "tests" / "fixtures" / "tools.d"]
    p = subprocess.run([toolwright_bin, "serve", *tools_args(folders), "--no-watch"], input="", capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    loaded = re.search(r"catalog loaded tools=(\d+)", p.stderr)
    listed = subprocess.run([toolwright_bin, "list", *tools_args(folders), "--format", "json"], capture_output=True, text=True,
                            timeout=60)
    assert loaded and int(loaded.group(1)) == len(json.loads(listed.stdout)) > 3 * len(FOLDERS), p.stderr
