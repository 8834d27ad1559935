"""An initial sync into the OCI emulator, then a no-op re-run: wall time vs the budgets' floor.

    python benchmarks/oci_sync.py --users 10000 --groups 100 --tier premium --latency-ms 20

The floor is the time the tier's budgets need for the requests the sync must make: the Bulk
calls (5 a second and 200 a minute, token buckets starting full, as the emulator enforces them)
and the others calls of the reads. It is computed by spending those budgets on a simulated
clock, so it assumes nothing about this machine's speed.
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import tempfile
import time
from pathlib import Path

from table import print_rows  # benchmarks/table.py: run as scripts, from any directory

from provision.ratelimit import RateLimiter
from provision.testing import MemoryConnector, Sample, SampleUser, sync
from provision_oci import OciSettings, OciTarget
from provision_oci.emulator import OciEmulator
from provision_oci.settings import TIERS


def floor(calls: int, per_second: float, per_minute: float) -> float:
    """Seconds ``calls`` requests take within a budget whose buckets start full."""
    clock = [0.0]
    budget = RateLimiter(
        per_second,
        per_minute,
        clock=lambda: clock[0],
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    for _ in range(calls):
        budget.acquire()
    return clock[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--per-user", type=int, default=3)
    parser.add_argument("--tier", default="premium", choices=sorted(TIERS))
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()
    rng = random.Random(7)
    users = tuple(
        SampleUser(f"user{i:06}", "Given", f"Family{i}", f"user{i:06}@example.org")
        for i in range(args.users)
    )
    names = [f"group{g:04}" for g in range(args.groups)]
    members: dict[str, list[str]] = {n: [] for n in names}
    for user in users:
        for g in rng.sample(names, k=min(args.per_user, len(names))):
            members[g].append(user.user_name)
    source = MemoryConnector.holding(Sample(users, {g: tuple(m) for g, m in members.items()}))
    with (
        tempfile.TemporaryDirectory() as tmp,
        OciEmulator(
            tier=args.tier, latency_ms=args.latency_ms, client_id="bench", client_secret="bench"
        ) as domain,
    ):
        settings = OciSettings(
            domain_url=domain.url, client_id="bench", client_secret="bench", tier=args.tier
        )
        state = Path(tmp) / "state.db"
        started = time.monotonic()
        first = sync(source, OciTarget(settings), state)
        initial = time.monotonic() - started
        counts = dict(domain.counts())
        domain.reset_counts()
        cpu_before = domain.cpu_seconds
        started = time.monotonic()
        second = sync(source, OciTarget(settings), state)
        rerun = time.monotonic() - started
        rerun_cpu = domain.cpu_seconds - cpu_before
        rerun_counts = dict(domain.counts())
        throttled, mails = domain.throttled, domain.welcome_mails
    bulk_calls = counts.get("POST Bulk", 0)
    others = sum(v for k, v in counts.items() if k not in ("POST Bulk", "POST token"))
    bulk_floor = floor(bulk_calls, *TIERS[args.tier]["bulk"])
    others_floor = floor(others, *TIERS[args.tier]["others"])
    least = max(bulk_floor, others_floor)
    per_group = [len(m) for m in members.values()]
    ideal_bulk = math.ceil(args.users / 50) + math.ceil(args.groups / 50)
    writes = {
        k: v for k, v in rerun_counts.items() if k.split()[0] in ("POST", "PUT", "PATCH", "DELETE")
    }
    writes.pop("POST token", None)
    reads = sum(
        v for k, v in rerun_counts.items() if k.startswith("GET ") or k.endswith("/.search")
    )
    rows = [
        ("users / groups / memberships", f"{args.users} / {args.groups} / {sum(per_group)}"),
        ("tier, latency", f"{args.tier}, {args.latency_ms:g} ms"),
        (
            "initial sync status",
            f"{first.status} ({first.users['created']} users, "
            f"{first.groups['created']} groups, {first.memberships['added']} memberships)",
        ),
        ("requests", ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))),
        ("Bulk calls (ideal: 50 per call)", f"{bulk_calls} ({ideal_bulk})"),
        ("floor: bulk / others budget, s", f"{bulk_floor:.1f} / {others_floor:.1f}"),
        ("initial sync, s (x floor)", f"{initial:.1f} ({initial / least:.2f}x)"),
        ("429s received, welcome mails", f"{throttled}, {mails}"),
        (
            "no-op re-run: writes, s",
            f"{sum(writes.values())} ({second.writes} in the report), {rerun:.1f}",
        ),
        ("no-op re-run: read requests", f"{reads}"),
        ("no-op re-run: emulator CPU, s", f"{rerun_cpu:.1f}"),
        (
            "peak RSS, MB (emulator included)",
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}",
        ),
    ]
    print_rows(rows)


if __name__ == "__main__":
    main()
