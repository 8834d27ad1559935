"""An initial sync into the OCI emulator, then a no-op re-run: wall time vs the budgets' floor.

    python benchmarks/oci_sync.py --users 10000 --groups 100 --tier premium --latency-ms 20

The floor is the time a budget needs for the requests the sync must make: the Bulk calls and
the others calls of the reads, spent on a simulated clock from token buckets starting full (so
it assumes nothing about this machine's speed). Two floors: at the tier's limits (5 Bulk calls
a second and 200 a minute, as the emulator enforces them) and at the client's budget (the
limits times its margin, 0.9 by default), which is what the client can reach without a 429.

The source is a `MemoryConnector` (no Cognito): its read time is printed as the source read.
The initial sync's time is split into the source read, the OCI read (both run at once), the
plan (between the reads and the first write) and the writes, which are split again into
waiting on the Bulk budget and the rest (requests in flight, building them, the engine).
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from table import print_rows  # benchmarks/table.py: run as scripts, from any directory

from provision import Change, Outcome, hookimpl
from provision.ratelimit import RateLimiter
from provision.testing import MemoryConnector, Sample, SampleUser, sync
from provision_oci import OciSettings, OciTarget
from provision_oci.emulator import OciEmulator
from provision_oci.settings import TIERS


class Spans:
    """When each timed generator started and ended, by name."""

    def __init__(self) -> None:
        self.spans: dict[str, list[float]] = {}
        self.recording = True
        """False: the re-run is not timed."""

    def timed(self, name: str, items: Iterable[Any]) -> Iterator[Any]:
        if not self.recording:
            yield from items
            return
        span = self.spans.setdefault(name, [math.inf, 0.0])
        span[0] = min(span[0], time.monotonic())
        yield from items
        span[1] = time.monotonic()

    def seconds(self, name: str) -> float:
        start, end = self.spans.get(name, [0.0, 0.0])
        return max(0.0, end - start)


SPANS = Spans()


class TimedSource(MemoryConnector):
    @hookimpl
    def provision_full_read(self, role: Any) -> Iterator[Any]:
        return SPANS.timed("source read", super().provision_full_read(role))


class TimedTarget(OciTarget):
    @hookimpl
    def provision_full_read(self, attributes: frozenset[str]) -> Iterator[Any]:
        return SPANS.timed("OCI read", super().provision_full_read(attributes))

    @hookimpl
    def provision_write(self, changes: Iterable[Change]) -> Iterator[Outcome]:
        return SPANS.timed("writes", super().provision_write(changes))


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
    source = TimedSource.holding(Sample(users, {g: tuple(m) for g, m in members.items()}))
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
        target = TimedTarget(settings)
        bulk_budget = target.client.limiters["bulk"]
        waited_before = bulk_budget.waited
        started = time.monotonic()
        first = sync(source, target, state)
        initial = time.monotonic() - started
        bulk_waited = bulk_budget.waited - waited_before
        SPANS.recording = False
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
    bulk_floor = floor(bulk_calls, *settings.limits("bulk"))
    others_floor = floor(others, *settings.limits("others"))
    least = max(bulk_floor, others_floor)
    client_floor = max(
        floor(bulk_calls, *settings.budget("bulk")), floor(others, *settings.budget("others"))
    )
    reads = max(SPANS.seconds("source read"), SPANS.seconds("OCI read"))
    read_end = max(SPANS.spans.get(k, [0, 0])[1] for k in ("source read", "OCI read"))
    plan = max(0.0, SPANS.spans.get("writes", [read_end])[0] - read_end)
    write_s = SPANS.seconds("writes")
    per_group = [len(m) for m in members.values()]
    ideal_bulk = math.ceil(args.users / 50) + math.ceil(args.groups / 50)
    writes = {
        k: v for k, v in rerun_counts.items() if k.split()[0] in ("POST", "PUT", "PATCH", "DELETE")
    }
    writes.pop("POST token", None)
    rerun_reads = sum(
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
        ("floor: bulk / others limits, s", f"{bulk_floor:.1f} / {others_floor:.1f}"),
        (
            "floor at the client's budget, s",
            f"{client_floor:.1f} (margin {settings.budget_margin:g}: bulk "
            f"{'/'.join(f'{v:g}' for v in settings.budget('bulk'))} a second/minute)",
        ),
        (
            "initial sync, s (x floor)",
            f"{initial:.1f} ({initial / least:.2f}x the limits', "
            f"{initial / client_floor:.2f}x the budget's)",
        ),
        (
            "  reads: source (memory) / OCI, s",
            f"{SPANS.seconds('source read'):.2f} / {SPANS.seconds('OCI read'):.2f} (at once)",
        ),
        ("  plan, s", f"{plan:.2f}"),
        (
            "  writes, s (waiting on Bulk budget)",
            f"{write_s:.2f} ({bulk_waited:.2f})",
        ),
        ("  rest (engine, state), s", f"{initial - reads - plan - write_s:.2f}"),
        ("429s received, welcome mails", f"{throttled}, {mails}"),
        (
            "no-op re-run: writes, s",
            f"{sum(writes.values())} ({second.writes} in the report), {rerun:.1f}",
        ),
        ("no-op re-run: read requests", f"{rerun_reads}"),
        ("no-op re-run: emulator CPU, s", f"{rerun_cpu:.1f}"),
        (
            "peak RSS, MB (emulator included)",
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}",
        ),
    ]
    print_rows(rows)


if __name__ == "__main__":
    main()
