"""Plan a no-op sync of N users in memory: CPU seconds and peak RSS of the engine.

    python benchmarks/engine_plan.py --users 1000000

Both sides are in-memory connectors that build each scim2-models User as the engine pulls it
(as a real connector streams its API pages, with `provision.construct.build` as ours do), ~1%
as many groups, ~3 memberships per user; the target holds the same users with its own ids, so
the plan is empty. By default the state file is empty, so the plan finds every object by
externalId and links it (a first plan against a populated target); with ``--linked`` the state
already links them all (every later run's no-op plan).

Reported: the whole plan, the part spent building scim2-models objects (measured by building
the same objects alone), the engine's own share, the cost per object of each step (measured
again, alone, on up to 100,000 objects of each side), and the process's peak RSS (a high-water
mark, which planning the same objects again does not raise). A plan of fewer than 100,000
users is timed several times (at most 10) and the fastest kept, and so is the building alone:
at a fraction of a second, one run is mostly noise. ``--runs N`` times N plans of any size: on
a machine whose speed moves, the fastest is the figure of the code.

The process runs on one core (``--all-cores`` lets it run on all): the engine reads both sides
in two threads, and when both are busy with the CPU (as in memory; a real read mostly waits on
the network) the operating system moves them between cores at each hand-over of the GIL, which
costs up to a fifth more CPU on this benchmark. A fixed reference workload is timed before and
after the plan: this machine's speed moves by a third within an hour, so figures taken at
different times compare only beside it.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from hashlib import blake2b
from pathlib import Path
from typing import Any

from scim2_models import Email, Group, Name, User
from table import print_rows  # benchmarks/table.py: run as scripts, from any directory

from provision import Check, Kind, Role, hookimpl, mapping
from provision.construct import build, members
from provision.records import Spool
from provision.state import State
from provision.testing import MemorySettings, sync

PAIR = "source->target"
"""The key `provision.testing.sync` keeps this pair's links under (it names the ends so)."""


class Generated:
    """A side of N users and N/100 groups, built on the fly; ``target`` gives them ids."""

    roles = frozenset({Role.SOURCE, Role.TARGET})
    Settings = MemorySettings

    def __init__(self, users: int, target: bool, groups: list[list[int]]) -> None:
        self.users, self.target, self.groups = users, target, groups

    @hookimpl
    def provision_test(self) -> list[Check]:
        return [Check("generated", True, "")]

    @hookimpl
    def provision_full_read(self) -> Iterator[Any]:
        return objects(self.users, self.target, self.groups)

    @hookimpl
    def provision_write(self, changes: Any) -> Iterator[Any]:
        raise AssertionError("a plan writes nothing")


def objects(users: int, target: bool, groups: list[list[int]]) -> Iterator[Any]:
    """One side's objects; ``groups`` (from `memberships`) names each group's users."""
    keys = []
    for i in range(users):
        n, s = f"{i:08}", str(i)  # formatted once: the data's own cost stays small
        key = ("id-" if target else "sub-") + n
        keys.append(key)  # a target names members by id, a source by key: strings it holds
        yield build(
            User,
            id=key if target else None,
            external_id="sub-" + n,
            user_name="user" + n + "@example.org",
            name=build(Name, given_name="Given", family_name="Family" + s),
            display_name="Given Family" + s,
            emails=[build(Email, value="user" + n + "@example.org", type="work", primary=True)],
            active=True,
        )
    for g, ids in enumerate(groups):
        yield build(
            Group,
            id=f"gid-{g:06}" if target else None,
            external_id=f"group{g:06}",
            display_name=f"group{g:06}",
            members=members([keys[i] for i in ids]) or None,
        )


def memberships(users: int, groups: int, seed: int) -> list[list[int]]:
    """Each user in 3 distinct groups drawn at random (seeded): one draw of 60 bits a user.
    Drawn once, before the clock starts, for both sides: who is in which group is the data
    both APIs hold, not work a connector or the engine does."""
    rng = random.Random(seed)
    members: list[list[int]] = [[] for _ in range(groups)]
    half = groups // 2
    for i in range(users):
        if groups < 4:
            chosen: Any = range(min(3, groups))
        else:
            r = rng.getrandbits(60)
            g0 = r % groups
            chosen = (
                g0,
                (g0 + 1 + (r >> 20) % (half - 1)) % groups,  # 1 .. half-1 after g0
                (g0 + half + (r >> 40) % (half - 1)) % groups,  # half .. groups-2 after g0
            )
        for g in chosen:
            members[g].append(i)
    return members


def steps(users: int) -> dict[str, float]:
    """CPU µs per object of each step the engine takes, each timed alone over both sides."""
    gc.disable()  # as the engine does while it reads
    n = min(users, 100_000)
    groups = memberships(n, max(1, n // 100), 1)
    sample = [o for side in (False, True) for o in objects(n, side, groups)]
    projector = {  # one per class, as the engine keeps them
        User: mapping.projector(User, mapping.USER_ATTRIBUTES),
        Group: mapping.projector(Group, mapping.GROUP_ATTRIBUTES),
    }
    out = {}
    start = time.process_time()
    projections = [projector[o.__class__](o) for o in sample]
    out["project"] = time.process_time() - start
    start = time.process_time()
    for projection in projections:  # encode and hash, keeping nothing, as the engine does
        blake2b(mapping.encode(projection), digest_size=mapping.DIGEST_SIZE).digest()
    out["digest"] = time.process_time() - start
    puts = [  # what the engine has at hand when it puts (made here outside the clock)
        (Kind.USER if o.__class__ is User else Kind.GROUP, o.id or o.external_id, o.__class__, data)
        for o, data in zip(sample, map(mapping.encode, projections), strict=True)
    ]
    spool = Spool()
    put = spool.put_encoded
    start = time.process_time()
    for kind, key, cls, data in puts:
        put(kind, key, cls, data)
    spool.flush()
    out["spool"] = time.process_time() - start
    spool.close()
    gc.enable()
    return {k: v / len(sample) * 1e6 for k, v in out.items()}


def reference() -> float:
    """CPU seconds of a fixed workload of the engine's kind (half a million small objects
    made, held in a dict, looked up at random), in a process of its own: this one's peak RSS
    stays the plan's."""
    code = (
        "import random, time\n"
        "start = time.process_time()\n"
        "keys = [f'key-{i:08}' for i in range(500_000)]\n"
        "table = {key: [key] for key in keys}\n"
        "random.Random(7).shuffle(keys)\n"
        "assert sum(len(table[key]) for key in keys) == len(keys)\n"
        "print(time.process_time() - start)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def plan(users: int, groups: list[list[int]], linked: bool) -> tuple[float, float, Any]:
    """CPU and wall seconds of one no-op plan, and its report."""
    with tempfile.TemporaryDirectory() as tmp:
        state = State(Path(tmp) / "state.db")
        if linked:  # as a first run would have left it; not timed
            state.link_many(PAIR, "user", ((f"sub-{i:08}", f"id-{i:08}") for i in range(users)))
            links = ((f"group{g:06}", f"gid-{g:06}") for g in range(len(groups)))
            state.link_many(PAIR, "group", links)
        cpu, wall = time.process_time(), time.monotonic()
        source, target = Generated(users, False, groups), Generated(users, True, groups)
        report = sync(source, target, state, dry_run=True)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        state.close()
    return cpu, wall, report


def building(users: int, groups: list[list[int]]) -> float:
    """CPU seconds of building both sides' objects alone."""
    gc.disable()  # as the engine does while it reads, which is when connectors build
    start = time.process_time()
    for side in (False, True):
        for _ in objects(users, side, groups):
            pass
    done = time.process_time() - start
    gc.enable()
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--linked",
        action="store_true",
        help="the state file already links every object (a later run's no-op plan), instead "
        "of a first plan that finds them by externalId and links them",
    )
    parser.add_argument(
        "--runs",
        type=int,
        help="plans to time, the fastest kept (default: 1 from 100,000 users, up to 10 below)",
    )
    parser.add_argument(
        "--all-cores",
        action="store_true",
        help="let the process run on every core (by default it is held on one)",
    )
    args = parser.parse_args()
    pinned = not args.all_cores and hasattr(os, "sched_setaffinity")  # Linux
    if pinned:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    before = reference()
    groups = memberships(args.users, max(1, args.users // 100), 1)
    runs = args.runs or min(10, max(1, 100_000 // args.users))  # the fastest of several
    timed = [plan(args.users, groups, args.linked) for _ in range(runs)]
    cpu, wall, report = min(timed, key=lambda run: run[0])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    after = reference()
    build = min(building(args.users, groups) for _ in range(runs))
    assert report.users["unchanged"] == args.users, report.as_dict()
    assert report.writes == 0
    linked = report.situations["users"].get("linked", 0)
    assert linked == (args.users if args.linked else 0), report.situations
    per = steps(args.users)
    objects_per_side = args.users + report.groups["read"]
    construct = build / (2 * objects_per_side) * 1e6
    engine = (cpu - build) / (2 * objects_per_side) * 1e6
    rows = [
        ("cores", f"1 of {os.cpu_count()}" if pinned else f"all {os.cpu_count()}"),
        ("reference workload, CPU s (before, after)", f"{before:.2f}, {after:.2f}"),
        ("state", "every object linked" if args.linked else "empty: objects found by externalId"),
        (
            "users per side (groups, memberships)",
            f"{args.users} ({report.groups['read']}, {report.memberships['read']})",
        ),
        ("plans timed (the fastest is shown)", f"{runs}"),
        ("plan: CPU s (wall s)", f"{cpu:.1f} ({wall:.1f})"),
        ("  building scim2-models objects, CPU s", f"{build:.1f}"),
        ("  the engine's own share, CPU s", f"{cpu - build:.1f}"),
        ("per object, CPU µs: construct", f"{construct:.1f}"),
        ("  engine (all its steps)", f"{engine:.1f}"),
        ("    project", f"{per['project']:.1f}"),
        ("    digest", f"{per['digest']:.1f}"),
        ("    spool", f"{per['spool']:.1f}"),
        (
            "    match, plan, the rest",
            f"{engine - per['project'] - per['digest'] - per['spool']:.1f}",
        ),
        ("peak RSS, MB", f"{rss:.0f}"),
        ("changes planned", f"{report.writes}"),
    ]
    print_rows(rows)


if __name__ == "__main__":
    main()
