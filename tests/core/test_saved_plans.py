"""Saved plans: review a plan, then apply exactly that plan, or nothing if anything drifted."""

from __future__ import annotations

import json

from tests.conftest import Cli
from tests.core.test_cli import files, users, write

__all__ = ["files"]  # the fixture


def test_a_reviewed_plan_is_applied_as_it_was_reviewed(files: Cli) -> None:
    result = files("plan", "src->dst", "--out", "plan.json")
    assert result.returncode == 0, result.stderr
    saved = json.loads((files.cwd / "plan.json").read_text())
    assert saved["provision_plan"] == 2
    assert len(saved["changes"]) == 12 + 2  # 12 user and 2 group creates
    assert not (files.cwd / "dst.json").exists()
    code, report = files.json("apply", "plan.json")
    assert code == 0, report
    assert report["users"]["created"] == 12
    assert len(users(files.cwd / "dst.json")) == 12


def test_a_plan_whose_source_drifted_is_refused_and_says_what_drifted(files: Cli) -> None:
    assert files("run", "src->dst").returncode == 0
    source = json.loads((files.cwd / "src.json").read_text())
    source["Users"][3]["title"] = "Lead"
    write(files.cwd / "src.json", source)
    assert files("plan", "src->dst", "--out", "plan.json").returncode == 0
    source["Users"][4]["title"] = "Also lead"  # changed after the review
    write(files.cwd / "src.json", source)
    before = (files.cwd / "dst.json").read_text()
    code, report = files.json("apply", "plan.json")
    assert code == 1
    assert report["status"] == "aborted"
    assert "the source's users or groups" in report["reason"]
    assert "now also planned: update user person4 (title)" in report["reason"]
    assert "Nothing was written" in report["reason"]
    assert (files.cwd / "dst.json").read_text() == before


def test_a_plan_is_refused_once_another_run_applied_it(files: Cli) -> None:
    assert files("plan", "src->dst", "--out", "plan.json").returncode == 0
    assert files("run", "src->dst").returncode == 0
    code, report = files.json("apply", "plan.json")
    assert code == 1
    assert "the target's users or groups" in report["reason"]


def test_a_file_that_is_no_saved_plan_is_a_usage_error(files: Cli) -> None:
    (files.cwd / "plan.json").write_text('{"changes": []}')
    result = files("apply", "plan.json")
    assert result.returncode == 2
    assert "is not a saved plan" in result.stderr


def test_a_plan_saved_by_an_older_version_is_refused_as_such(files: Cli) -> None:
    """Version 1 encoded its fingerprint another way: its plans are refused by version, not
    reported as if everything had drifted."""
    assert files("plan", "src->dst", "--out", "plan.json").returncode == 0
    saved = json.loads((files.cwd / "plan.json").read_text())
    saved["provision_plan"] = 1
    (files.cwd / "plan.json").write_text(json.dumps(saved))
    result = files("apply", "plan.json")
    assert result.returncode == 2
    assert "is not a saved plan of this version (provision_plan = 2)" in result.stderr
    assert not (files.cwd / "dst.json").exists()
