"""``provision demo``: the real job between the local stand-ins, leaving nothing behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import Cli


def test_the_demo_tests_plans_runs_changes_and_ends_with_a_noop(cli: Cli) -> None:
    result = cli("demo", "--users", "60", "--dir", "work")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for heading in (
        "provision test cognito",
        "provision test oci",
        "provision plan 'cognito->oci'",
        "provision run 'cognito->oci'",
        "Change the pool, then run again",
        "Run once more: nothing to do",
    ):
        assert f"== {heading}" in out
    assert "FAIL" not in out
    assert out.count("succeeded run cognito -> oci") == 3
    second = out.split("Change the pool")[1].split("Run once more")[0]
    assert re.search(r"users +59 +0 +1 +1 +0 +58 +0", second)  # renamed one, deactivated one
    removed = re.search(r"memberships +\d+ +\+0 +-(\d+)", second)
    assert removed  # the one taken out of a group, and the deleted user's
    assert int(removed.group(1)) >= 1
    third = out.split("Run once more")[1]
    assert re.search(r"users +59 +0 +0 +0 +0 +59 +0", third)
    assert "POST Bulk" not in third
    assert "The domain sent 0 welcome mails" in out
    config = (cli.cwd / "work" / "provision.toml").read_text()
    assert "demo-client-secret" not in config
    assert "demo-secret-access-key" not in config
    assert "demo-client-secret" not in out + result.stderr
    for url in re.findall(r"http://127\.0\.0\.1:(\d+)", out):  # nothing left listening
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(url))) != 0
    history = cli("-c", "work/provision.toml", "runs")
    assert history.stdout.count("succeeded") == 4  # the plan and the three runs


def test_the_demo_cleans_up_its_temporary_directory(cli: Cli, tmp_path: Path) -> None:
    temp = tmp_path / "temp"  # its own: another run's demo on this machine stays out of it
    temp.mkdir()
    result = cli("demo", "--users", "20", env={"TMPDIR": str(temp)})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    used = re.search(r"The configuration: (\S+)/provision\.toml", output)
    assert used is not None, output
    assert Path(used[1]).parent == temp  # where the demo worked …
    assert not Path(used[1]).exists()  # … is gone
    assert list(temp.iterdir()) == []


def test_sigterm_stops_the_demo_and_removes_its_files(cli: Cli, tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**cli.env, "TMPDIR": str(scratch)}
    demo = subprocess.Popen(
        [sys.executable, "-m", "provision", "demo", "--users", "2000"],
        cwd=cli.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not list(scratch.glob("provision-*/provision.toml")) and time.monotonic() < deadline:
        time.sleep(0.05)  # the stand-ins run and the configuration is written
    assert list(scratch.glob("provision-*")), "the demo never started"
    os.kill(demo.pid, signal.SIGTERM)
    _, stderr = demo.communicate(timeout=120)
    assert demo.returncode == 143, stderr
    assert "interrupted" in stderr
    assert list(scratch.glob("provision-*")) == []
