"""Run every benchmark and write docs/benchmarks.md with what they printed.

    python benchmarks/report.py            # the full set (about 20 minutes on 2 cores)
    python benchmarks/report.py --quick    # small sizes, to try the scripts (about 2 minutes)

Each benchmark runs in a process of its own (peak RSS is per process) and prints the command
that reproduces it, so the page says how every figure was made.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs" / "benchmarks.md"

FULL = [
    (
        "Source: reading a Cognito pool (moto over HTTP, UserList budget 30/s)",
        "cognito_read.py",
        [
            ["--users", "1000", "--groups", "10"],
            ["--users", "10000", "--groups", "100"],
            ["--users", "100000", "--groups", "1000"],
        ],
    ),
    (
        "Target: an initial sync into the OCI emulator, then a no-op re-run",
        "oci_sync.py",
        [
            ["--users", "2000", "--groups", "50", "--tier", "premium", "--latency-ms", "20"],
            ["--users", "10000", "--groups", "100", "--tier", "free", "--latency-ms", "20"],
            ["--users", "10000", "--groups", "100", "--tier", "premium", "--latency-ms", "20"],
        ],
    ),
    (
        "Target: a no-op run through the CLI (a file source, the OCI emulator)",
        "cli_noop.py",
        [["--users", "10000", "--groups", "100"]],
    ),
    (
        "The demo: `provision demo` (moto's Cognito, the OCI emulator), every run's 429s",
        "demo.py",
        [["--users", "10000"]],
    ),
    (
        "Target: removing 1,000 members from one OCI group (one change, as the engine sends it)",
        "oci_members.py",
        [["--members", "1000", "--latency-ms", "20"]],
    ),
    (
        "Engine: a no-op plan in memory (no I/O)",
        "engine_plan.py",
        [
            ["--users", "10000"],
            ["--users", "100000"],
            ["--users", "1000000", "--runs", "3"],
            ["--users", "1000000", "--linked", "--runs", "3"],
            ["--users", "1000000", "--all-cores"],
        ],
    ),
    (
        "Baseline: a hand-written sequential sync beside provision, same stand-ins",
        "baseline.py",
        [["--users", "1000", "--groups", "10", "--latency-ms", "20"]],
    ),
]


def _small(args: list[str]) -> list[str]:
    out = list(args)
    if "--users" in out:
        out[out.index("--users") + 1] = "300"
    if "--members" in out:
        out[out.index("--members") + 1] = "300"
    if "--groups" in out:
        out[out.index("--groups") + 1] = "5"
    return out


QUICK = [(title, script, [_small(runs[0])]) for title, script, runs in FULL]

NOTES = {
    "engine_plan.py": (
        "The benchmark holds itself to one core, the target's condition; `--all-cores` shows "
        "what the two reader threads cost when each hand-over of the GIL may move them between "
        "cores. This machine's speed moves by a third within an hour: compare CPU figures "
        "beside the reference workload timed before and after each plan. The version before "
        "`provision.construct` (commit 2420241: pydantic validation in the connectors, whole "
        "objects serialised to project them, per-attribute json digests, a SQLite spool) took "
        "509.7 s CPU and 1,997 MB for the 1,000,000-user plan on 2026-12-02 (`git worktree add "
        "/tmp/ab 2420241`, then `PYTHONPATH=/tmp/ab/core:/tmp/ab/connectors python "
        "/tmp/ab/benchmarks/engine_plan.py --users 1000000`)."
    ),
    "oci_members.py": (
        'The 1,000 removes travel as one PATCH of 1,000 `remove members[value eq "…"]` '
        "operations (`MEMBERS_PER_PATCH`), inside one Bulk request."
    ),
}
"""A paragraph printed after a section, for what its output cannot say."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--output", type=Path, default=DOCS)
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    sections = [
        "# Benchmarks\n",
        f"Written by `python benchmarks/report.py{' --quick' if args.quick else ''}` on "
        f"{datetime.now(UTC):%Y-%m-%d} ({platform.machine()}, {platform.python_version()}, "
        "2 cores). Every figure below comes from the output printed under it, with the command "
        "that produced it; the stand-ins (moto, the OCI emulator) run in the benchmark's own "
        "process, so CPU and memory figures include them unless they say otherwise.\n",
    ]
    for title, script, runs in plan:
        sections.append(f"## {title}\n")
        for extra in runs:
            command = [sys.executable, str(HERE / script), *extra]
            started = time.monotonic()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            output = (done.stdout + (done.stderr if done.returncode else "")).strip()
            output = output.replace(sys.executable, "python").replace(str(HERE.parent) + "/", "")
            print(output, f"\n({time.monotonic() - started:.0f} s)\n", flush=True)
            sections.append(f"```\n{output}\n```\n")
        if script in NOTES:
            sections.append(NOTES[script] + "\n")
    args.output.write_text("\n".join(sections))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
