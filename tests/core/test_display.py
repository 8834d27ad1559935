"""What the CLI shows in logs and pipes: never silent for long, whatever the machine's speed."""

from __future__ import annotations

import pytest

from provision.display import LineProgress


def test_a_long_phase_prints_a_timestamped_line_every_ten_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = [0.0]
    progress = LineProgress(clock=lambda: now[0], stamp=lambda: f"t={now[0]:.0f}")
    with progress:
        progress.phase("read cognito", total=100)
        for _ in range(30):  # 30 objects, 1 s apart: lines at 10, 20 and 30 s
            now[0] += 1
            progress.advance()
        progress.phase("plan")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "t=10 read cognito: 10 of 100 so far",
        "t=20 read cognito: 20 of 100 so far",
        "t=30 read cognito: 30 of 100 so far",
        "t=30 read cognito: 30 done",
        "t=30 plan: 0 done",
    ]


def test_a_quick_phase_prints_only_its_end(capsys: pytest.CaptureFixture[str]) -> None:
    progress = LineProgress(clock=lambda: 0.0, stamp=lambda: "t")
    with progress:
        progress.phase("write users", total=3)
        progress.advance(3)
    assert capsys.readouterr().err.splitlines() == ["t write users: 3 done"]
