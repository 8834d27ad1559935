"""The kit's failures say what differs, and its diagnosis catches plugin mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import provision.testing

BROKEN_SOURCE = """
import pytest

from provision import hookimpl
from provision.testing import SAMPLE, MemoryConnector, SourceContract


class Misspelt(MemoryConnector):
    @hookimpl
    def provision_request_stat(self):
        return self.stats


class TestForgetful(SourceContract):
    @pytest.fixture
    def source(self):
        connector = MemoryConnector.holding(SAMPLE)
        connector.remove("key-linus")
        return connector


class TestMisspelt(SourceContract):
    @pytest.fixture
    def source(self):
        return Misspelt.holding(SAMPLE)
"""


def run_pytest(tmp_path: Path, test: str) -> str:
    """Run the kit on a broken source in a pytest of its own; its output."""
    (tmp_path / "test_forgetful.py").write_text(BROKEN_SOURCE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", test],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


def test_pytest_rewrites_the_kit_s_asserts() -> None:
    loader = provision.testing.__spec__.loader
    assert type(loader).__name__ == "AssertionRewritingHook", (
        "provision.testing is not rewritten: is the pytest11 entry point installed? "
        "(pip install -e . again after changing entrypoints.txt)"
    )


def test_a_failing_kit_test_names_what_differs(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, "TestForgetful and test_users_match_the_sample")
    assert "the userNames read differ from the sample's: missing ['linus']" in out
    assert "Right contains one more item: 'linus'" in out  # pytest's rewritten comparison


def test_the_kit_diagnoses_plugin_mistakes(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, "TestMisspelt and test_the_connector_class_has_no_plugin_mistakes")
    assert "Misspelt.provision_request_stat: is not a provision hook" in out
    assert "did you mean provision_request_stats?" in out
