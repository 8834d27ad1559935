"""Interrupts are runs too: a stopped run is recorded, links what it wrote, and re-runs cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from provision import hookimpl
from provision.engine import run
from provision.interrupt import Interrupt
from provision.plugins import Endpoint
from provision.report import Report
from provision.settings import SyncSettings
from provision.state import State
from provision.testing import MemoryConnector, Sample, SampleUser, sync
from tests.conftest import ROOT

TWENTY = Sample(
    users=tuple(
        SampleUser(f"user{i}", f"Given{i}", f"Family{i}", f"user{i}@example.org") for i in range(20)
    ),
    groups={"all": tuple(f"user{i}" for i in range(20))},
)


def interrupted_run(source: object, target: object, state: Path, interrupt: Interrupt) -> Report:
    with State(state) as s:
        return run(
            Endpoint.wrap(source, "source"),
            Endpoint.wrap(target, "target"),
            SyncSettings(),
            s,
            interrupt=interrupt,
        )


class StopsAfter(MemoryConnector):
    """A target whose operator presses Ctrl-C after ``n`` changes were applied."""

    def __init__(self, n: int, interrupt: Interrupt) -> None:
        super().__init__()
        self.n, self.interrupt = n, interrupt

    @hookimpl
    def provision_write(self, changes: Any) -> Any:
        for outcome in super().provision_write(changes):
            yield outcome
            if len(self.writes) >= self.n:
                self.interrupt.stop(signal.SIGINT)


def test_an_interrupt_while_writing_records_what_was_written(tmp_path: Path) -> None:
    interrupt = Interrupt()
    source, target = MemoryConnector.holding(TWENTY), StopsAfter(5, interrupt)
    report = interrupted_run(source, target, tmp_path / "s.db", interrupt)
    assert report.status == "interrupted"
    assert report.exit_code == 130
    assert report.users["created"] == len(target.directory.users) == 5  # facts, not the plan
    assert report.planned["users"]["create"] == 20
    assert report.errors == []  # what was not attempted is not a failure: the next run does it
    assert "SIGINT" in report.reason
    assert "5 of 41 planned changes were written" in report.reason
    assert "Re-running is safe" in report.reason
    with State(tmp_path / "s.db") as s:
        assert len(s.links("source->target", "user")) == 5
        (row,) = s.runs()
        assert row.status == "interrupted"
    target.n = 10_000
    again = sync(source, target, tmp_path / "s.db")
    assert again.status == "succeeded", again.errors
    assert again.users["created"] == 15
    assert len(target.directory.users) == 20  # no duplicate


def test_an_interrupt_while_reading_writes_nothing(tmp_path: Path) -> None:
    interrupt = Interrupt()

    class Slow(MemoryConnector):
        @hookimpl
        def provision_full_read(self, role: Any) -> Any:
            for n, obj in enumerate(self.directory.read(role)):
                if n == 3:
                    interrupt.stop(signal.SIGTERM)
                yield obj

    target = MemoryConnector()
    report = interrupted_run(Slow.holding(TWENTY), target, tmp_path / "s.db", interrupt)
    assert report.status == "interrupted"
    assert "SIGTERM" in report.reason
    assert "nothing was written" in report.reason
    assert target.writes == []
    assert report.users["read"] == 0


def test_sigterm_to_the_cli_exits_143_with_its_report_and_history(tmp_path: Path) -> None:
    people = Sample(
        users=tuple(
            SampleUser(f"p{i:04}", "Given", f"Family{i}", f"p{i}@example.org") for i in range(3000)
        )
    )
    (tmp_path / "src.json").write_text(json.dumps(MemoryConnector.holding(people).directory.dump()))
    (tmp_path / "provision.toml").write_text(
        '[src]\nconnector = "file"\npath = "src.json"\n'
        '[dst]\nconnector = "file"\npath = "dst.json"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVISION_")}
    command = [sys.executable, "-m", "provision", "run", "src->dst", "--report", "r.json"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "provision-state.db").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # the run has started once it opened its state
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    report = json.loads((tmp_path / "r.json").read_text())
    if report["status"] != "interrupted":  # the run was quicker than the signal: rare, fine
        assert process.returncode == 0, stderr
        return
    assert process.returncode == 143, stdout + stderr
    assert "Re-running is safe" in report["reason"]
    history = subprocess.run(
        [sys.executable, "-m", "provision", "runs", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(history.stdout)[0]["status"] == "interrupted"
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr
    held = json.loads((tmp_path / "dst.json").read_text())["Users"]
    assert len(held) == len({u["userName"] for u in held}) == 3000


def test_a_second_signal_exits_at_once() -> None:
    script = (
        "import os, signal, time\n"
        "from provision.interrupt import Interrupt\n"
        "with Interrupt().handling() as stop:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    assert stop.is_set() and stop.exit_code == 130\n"
        "    print('first', flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(5)\n"
        "print('never')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "first\n", done.stderr
    assert done.returncode == 143


def test_handlers_are_restored_after_the_run() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with Interrupt().handling():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
    assert threading.current_thread() is threading.main_thread()
