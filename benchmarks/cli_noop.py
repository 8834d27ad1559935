"""A no-op run through the CLI against the OCI emulator: requests, seconds, the emulator's share.

    python benchmarks/cli_noop.py --users 10000 --groups 100

The source is a file endpoint (SCIM JSON, no rate limit), so the figures are the target's: a
first `provision run 'file->oci'` loads the domain, a second one finds nothing to do. Reported
for the second: its requests (reads only, by the emulator's count), wall seconds of the
command, the emulator's CPU seconds handling them (it runs in this process), and the CLI's
own CPU seconds (its process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from table import print_rows  # benchmarks/table.py: run as scripts, from any directory

from provision_oci.emulator import OciEmulator


def pool(users: int, groups: int, seed: int = 7) -> dict[str, list[dict[str, object]]]:
    rng = random.Random(seed)
    people = [
        {
            "id": f"u{i:06}",
            "externalId": f"u{i:06}",
            "userName": f"user{i:06}@example.org",
            "name": {"givenName": "Given", "familyName": f"Family{i}"},
            "displayName": f"Given Family{i}",
            "emails": [{"value": f"user{i:06}@example.org", "type": "work", "primary": True}],
            "active": True,
        }
        for i in range(users)
    ]
    members: list[list[str]] = [[] for _ in range(groups)]
    for person in people:
        for g in rng.sample(range(groups), k=min(3, groups)):
            members[g].append(str(person["id"]))
    teams = [
        {
            "externalId": f"group{g:04}",
            "displayName": f"group{g:04}",
            "members": [{"value": m} for m in ids],
        }
        for g, ids in enumerate(members)
    ]
    return {"Users": people, "Groups": teams}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--tier", default="premium")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        OciEmulator(tier=args.tier, client_id="bench", client_secret="bench") as domain,
    ):
        where = Path(tmp)
        (where / "pool.json").write_text(json.dumps(pool(args.users, args.groups)))
        (where / "provision.toml").write_text(
            f'[file]\npath = "pool.json"\n\n[oci]\ndomain_url = "{domain.url}"\n'
            f'client_id = "bench"\ntier = "{args.tier}"\n'
        )
        env = {**os.environ, "PROVISION_OCI_CLIENT_SECRET": "bench"}
        command = [sys.executable, "-m", "provision", "run", "file->oci", "--json"]

        def run() -> tuple[dict[str, object], float, float]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.monotonic()
            done = subprocess.run(command, cwd=where, env=env, capture_output=True, text=True)
            wall = time.monotonic() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                sys.exit(f"provision run failed ({done.returncode}): {done.stderr[-2000:]}")
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            return json.loads(done.stdout), wall, cpu

        first, initial, _ = run()
        domain.reset_counts()
        emulator_before = domain.cpu_seconds
        second, wall, cli_cpu = run()
        emulator_cpu = domain.cpu_seconds - emulator_before
        counts = dict(domain.counts())
    counts.pop("POST token", None)
    writes = sum(v for k, v in counts.items() if not k.startswith("GET "))
    rows = [
        ("users / groups", f"{args.users} / {args.groups} ({args.tier} tier, no latency)"),
        ("initial run: status, s", f"{first['status']}, {initial:.1f}"),
        ("no-op run: status, writes seen", f"{second['status']}, {writes}"),
        (
            "  users, groups unchanged",
            f"{second['users']['unchanged']}, {second['groups']['unchanged']}",
        ),
        ("no-op run: requests", ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))),
        ("no-op run: wall s", f"{wall:.1f}"),
        ("  emulator CPU s (its share)", f"{emulator_cpu:.1f} ({emulator_cpu / wall:.0%})"),
        ("  provision CPU s", f"{cli_cpu:.1f}"),
    ]
    print_rows(rows)


if __name__ == "__main__":
    main()
