"""The guide's connector, assembled from docs/writing-a-connector.md, passes the kit and syncs.

The package is built from the guide's snippets alone into a temporary directory and made
visible by path (``sys.path`` here, ``PYTHONPATH`` for subprocesses): nothing is installed
into the environment running the tests.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provision.plugins import discover
from provision.testing import SAMPLE, SourceContract
from tests.conftest import Cli
from tests.guide import assemble

SECRET = "s3cr3t-signing-key-never-shown"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The assembled package, importable and discoverable while this module runs."""
    where = assemble(tmp_path_factory.mktemp("guide"))
    sys.path.insert(0, str(where))
    importlib.invalidate_caches()
    yield where
    sys.path.remove(str(where))
    sys.modules.pop("provision_example", None)
    importlib.invalidate_caches()


def env(package: Path, **more: str) -> dict[str, str]:
    return {"PYTHONPATH": str(package), **more}


def seed(path: Path) -> None:
    """The CSV the guide's own test writes: one row per user of SAMPLE."""
    groups = {
        u.user_name: [g for g, ms in SAMPLE.groups.items() if u.user_name in ms]
        for u in SAMPLE.users
    }
    rows = [
        f"id-{u.user_name},{u.user_name},{u.given_name},{u.family_name},{u.email},"
        f"{str(u.active).lower()},{';'.join(groups[u.user_name])}"
        for u in SAMPLE.users
    ]
    path.write_text("id,username,given_name,family_name,email,active,groups\n" + "\n".join(rows))


def test_the_connector_is_discovered_with_its_distribution(package: Path) -> None:
    registry = discover()
    info = registry.get("csv")
    assert (info.distribution, info.version) == ("provision-example", "1.0.0")
    assert info.cls.__module__ == "provision_example"
    assert "file" in registry.connectors  # and the built-in one still is


def test_the_guide_s_own_contract_tests_pass(package: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=package,
        env={**_clean_env(), **env(package)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = len([n for n in dir(SourceContract) if n.startswith("test_")])
    assert re.search(rf"\b{expected} passed\b", result.stdout), result.stdout


def test_the_guide_s_source_leaves_out_empty_groups_as_it_declares(
    package: Path, tmp_path: Path
) -> None:
    from provision_example import CsvSettings, CsvSource

    class Check(SourceContract):
        empty_groups = False

    path = tmp_path / "people.csv"
    seed(path)
    Check().test_groups_and_members_match_the_sample(CsvSource(CsvSettings(path=path)))
    with pytest.raises(AssertionError, match=r"missing \['alumni'\]"):
        SourceContract().test_groups_and_members_match_the_sample(CsvSource(CsvSettings(path=path)))


def test_it_runs_end_to_end_from_the_cli_and_its_secret_is_never_shown(
    package: Path, cli: Cli
) -> None:
    seed(cli.cwd / "people.csv")
    (cli.cwd / "provision.toml").write_text(
        '[people]\nconnector = "csv"\npath = "people.csv"\n\n'
        '[directory]\nconnector = "file"\npath = "directory.json"\n'
    )
    secret = env(package, PROVISION_PEOPLE_SIGNING_KEY=SECRET)
    listed = cli("connectors", "--check", env=secret)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "provision-example" in listed.stdout
    assert "ok   csv" in listed.stdout
    result = cli("--debug", "run", "people->directory", "--report", "report.json", env=secret)
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    assert (cli.cwd / "directory.json").exists()
    for text in (result.stdout, result.stderr, (cli.cwd / "report.json").read_text()):
        assert SECRET not in text
    for state_file in cli.cwd.glob("provision-state.db*"):
        assert SECRET.encode() not in state_file.read_bytes()
    bad = cli("run", "people->directory", env={**secret, "PROVISION_PEOPLE_DELIMITER": ";;"})
    assert bad.returncode == 2
    assert "[people] key 'delimiter'" in bad.stderr
    assert SECRET not in bad.stderr


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PROVISION_", "PYTEST_"))}
