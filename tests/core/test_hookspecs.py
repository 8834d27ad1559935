"""Meta-tests: every hook is documented, has an example, and is exercised by a test."""

from __future__ import annotations

import inspect
import re

import pytest

from provision.hookspecs import REQUIRED_HOOKS, ConnectorSpec
from tests.conftest import ROOT

HOOKS = sorted(name for name in vars(ConnectorSpec) if name.startswith("provision_"))


def test_the_contract_has_test_full_read_and_write_hooks() -> None:
    assert {"provision_test", "provision_full_read", "provision_write"} <= set(HOOKS)
    assert {h for hooks in REQUIRED_HOOKS.values() for h in hooks} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_an_example(hook: str) -> None:
    doc = inspect.getdoc(getattr(ConnectorSpec, hook)) or ""
    summary = doc.splitlines()[0] if doc else ""
    assert summary.endswith("."), f"{hook} needs a one-line summary"
    assert "**Example**::" in doc, f"{hook} needs an example"
    assert "@hookimpl" in doc.split("**Example**::")[1]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_called_by_a_test(hook: str) -> None:
    here = ROOT / "tests" / "core" / "test_hookspecs.py"
    callers = [
        path
        for path in (ROOT / "tests").rglob("test_*.py")
        if path != here and re.search(rf"\b{hook}\b", path.read_text())
    ]
    kit = "".join(p.read_text() for p in (ROOT / "core" / "provision" / "testing").glob("*.py"))
    assert callers or re.search(rf"hook\.{hook}\(", kit), f"no test calls {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_in_the_connector_guide(hook: str) -> None:
    guide = (ROOT / "docs" / "writing-a-connector.md").read_text()
    assert hook in guide
