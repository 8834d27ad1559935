"""``provision demo`` shows the whole flow and leaves nothing behind."""

from __future__ import annotations

import re

from tests.conftest import Cli


def test_the_demo_runs_test_plan_run_change_and_a_noop(cli: Cli) -> None:
    result = cli("demo", "--users", "60", "--dir", "work")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for heading in (
        "provision test pool",
        "provision plan 'pool->domain'",
        "provision run 'pool->domain'",
        "Changes in the pool, then run again",
        "A third run: nothing to do",
    ):
        assert f"== {heading}" in out
    assert out.count("succeeded run pool -> domain") == 3
    assert "renamed" in out
    assert "deleted user" in out
    third = out.split("A third run")[1]
    assert re.search(r"users +59 +0 +0 +0 +0 +59 +0", third)  # read 59, all unchanged
    history = cli("-c", "work/provision.toml", "runs")
    assert history.stdout.count("succeeded") == 4  # the plan and the three runs


def test_the_demo_cleans_up_its_temporary_directory(cli: Cli) -> None:
    import tempfile
    from pathlib import Path

    before = set(Path(tempfile.gettempdir()).glob("provision-*"))
    result = cli("demo", "--users", "20")
    assert result.returncode == 0, result.stderr
    assert set(Path(tempfile.gettempdir()).glob("provision-*")) == before
