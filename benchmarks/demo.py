"""`provision demo` at a given size: its wall time, and each run's seconds, requests and 429s.

    python benchmarks/demo.py --users 10000

Runs the README's demo command (moto's Cognito and the OCI emulator, premium tier) in a
directory of its own, then reads every run's report back from the state file's history
(`provision runs --json`): the throttled answers are what each client counted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

from table import print_rows  # benchmarks/table.py: run as scripts, from any directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    args = parser.parse_args()
    provision = [sys.executable, "-m", "provision"]
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        demo = subprocess.run(
            [*provision, "demo", "--users", str(args.users), "--dir", tmp],
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - started
        if demo.returncode != 0:
            sys.exit(f"provision demo failed ({demo.returncode}): {demo.stderr[-2000:]}")
        listed = subprocess.run(
            [*provision, "runs", "--json"], cwd=tmp, capture_output=True, text=True, check=True
        )
    runs = list(reversed(json.loads(listed.stdout)))  # oldest first
    rows = [("users", f"{args.users}"), ("demo wall s (seeding and all)", f"{wall:.1f}")]
    throttled = 0
    for n, report in enumerate(runs, 1):
        what = "plan" if report["dry_run"] else "run"
        requests = sum(sum(r.values()) for r in report["requests"].values())
        throttles = sum(report["throttled"].values())
        throttled += throttles
        rows.append(
            (
                f"  {n}. {what}: status, s, requests, 429s",
                f"{report['status']}, {report['duration_s']:.1f}, {requests}, {throttles}",
            )
        )
    rows.append(("429s in all", f"{throttled}"))
    print_rows(rows)


if __name__ == "__main__":
    main()
