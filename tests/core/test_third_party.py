"""A connector shipped in its own distribution is found through its entry point and used.

The distribution is ``tests/example_connector``; the test setup pip-installs it (not
editable, so its entry point is visible to this process at once).
"""

from __future__ import annotations

import csv
import importlib
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from provision.plugins import discover
from provision.testing import SAMPLE, SourceContract
from tests.conftest import ROOT, Cli

EXAMPLE = ROOT / "tests" / "example_connector"
SECRET = "s3cr3t-signing-key-never-shown"


@pytest.fixture(scope="session", autouse=True)
def example_distribution(
    tmp_path_factory: pytest.TempPathFactory,
) -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution("provision-example")
    except importlib.metadata.PackageNotFoundError:
        copy = tmp_path_factory.mktemp("dist") / "example_connector"
        shutil.copytree(EXAMPLE, copy)  # pip builds in place: keep the tree clean
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", str(copy)],
            check=True,
            timeout=300,
        )
        importlib.invalidate_caches()
        return importlib.metadata.distribution("provision-example")


def write_csv(path: Path) -> None:
    groups = {
        u: [g for g, ms in SAMPLE.groups.items() if u in ms]
        for u in (u.user_name for u in SAMPLE.users)
    }
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "username", "given_name", "family_name", "email", "active", "groups"])
        for u in SAMPLE.users:
            out.writerow(
                [
                    f"id-{u.user_name}",
                    u.user_name,
                    u.given_name,
                    u.family_name,
                    u.email,
                    str(u.active).lower(),
                    ";".join(groups[u.user_name]),
                ]
            )


def test_the_connector_is_discovered_with_its_distribution() -> None:
    registry = discover()
    info = registry.get("csv")
    assert (info.distribution, info.version) == ("provision-example", "1.0.0")
    assert info.cls.__module__ == "provision_example"
    assert "file" in registry.connectors  # and the built-in one still is


class TestExampleSource(SourceContract):
    # `alumni` has no members, so a CSV (which names groups only on member rows) cannot hold it.
    sample = type(SAMPLE)(SAMPLE.users, {g: m for g, m in SAMPLE.groups.items() if m})

    @pytest.fixture
    def source(self, tmp_path: Path) -> object:
        from provision_example import CsvSettings, CsvSource

        write_csv(tmp_path / "people.csv")
        return CsvSource(CsvSettings(path=tmp_path / "people.csv"))


def test_it_runs_end_to_end_from_the_cli_and_its_secret_is_never_shown(cli: Cli) -> None:
    write_csv(cli.cwd / "people.csv")
    (cli.cwd / "provision.toml").write_text(
        '[people]\nconnector = "csv"\npath = "people.csv"\n\n'
        '[directory]\nconnector = "file"\npath = "directory.json"\n'
    )
    env = {"PROVISION_PEOPLE_SIGNING_KEY": SECRET}
    listed = cli("connectors", env=env)
    assert "csv" in listed.stdout
    assert "provision-example" in listed.stdout
    result = cli("--debug", "run", "people->directory", "--report", "report.json", env=env)
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    assert (cli.cwd / "directory.json").exists()
    for text in (result.stdout, result.stderr, (cli.cwd / "report.json").read_text()):
        assert SECRET not in text
    for state_file in cli.cwd.glob("provision-state.db*"):
        assert SECRET.encode() not in state_file.read_bytes()
    bad = cli(
        "run",
        "people->directory",
        env={"PROVISION_PEOPLE_SIGNING_KEY": SECRET, "PROVISION_PEOPLE_DELIMITER": ";;"},
    )
    assert bad.returncode == 2
    assert "[people] key 'delimiter'" in bad.stderr
    assert SECRET not in bad.stderr
