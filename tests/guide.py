"""The example package of docs/writing-a-connector.md, assembled from the guide's text alone.

A fenced ``python`` or ``toml`` block whose first line is a comment naming a file of the
package (``# pyproject.toml``, ``# provision_example/__init__.py``, optionally followed by
``, continued …``) belongs to that file; the blocks are appended in the order the guide shows
them. Other blocks (``# provision.toml``, illustrations) are not part of the package.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.conftest import ROOT

GUIDE = ROOT / "docs" / "writing-a-connector.md"
BLOCK = re.compile(r"^```(?:python|toml)\n(.*?)^```", re.S | re.M)
TAG = re.compile(r"\A\s*# (pyproject\.toml|[\w.-]+/[\w./-]+\.py)\b")


def snippets(text: str) -> dict[str, list[str]]:
    """The guide's code by the file it belongs to, in order."""
    files: dict[str, list[str]] = {}
    for block in BLOCK.findall(text):
        tag = TAG.match(block)
        if tag:
            files.setdefault(tag.group(1), []).append(block)
    return files


def assemble(into: Path, text: str | None = None) -> Path:
    """Write the guide's package under ``into``, with the metadata an installer would write
    (a ``.dist-info`` with its entry points), so that putting ``into`` on ``sys.path`` (or
    ``PYTHONPATH``) makes it importable and discoverable without installing anything."""
    for name, blocks in snippets(text if text is not None else GUIDE.read_text()).items():
        path = into / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(blocks), encoding="utf-8")
    project = tomllib.loads((into / "pyproject.toml").read_text())["project"]
    info = into / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = project.get("entry-points", {})
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items())
            for group, eps in groups.items()
        )
    )
    return into
