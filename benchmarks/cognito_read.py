"""Read a seeded pool from moto's Cognito over HTTP: calls vs the floor, time vs the quota floor.

    python benchmarks/cognito_read.py --users 10000 --groups 100 --per-user 3

The floor in calls is max(1, ceil(U/60)) + max(1, ceil(G/60)) + sum(max(1, ceil(m_g/60)));
the floor in time is the UserList calls (ListUsers + ListUsersInGroup) at the UserList budget
(30 a second by default, burst included) and the group calls at theirs.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import time

from table import print_rows  # benchmarks/table.py: run as scripts, from any directory

from provision import Role
from provision.plugins import Endpoint
from provision_cognito import CognitoSettings, CognitoSource
from provision_cognito.standin import CognitoStandIn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--per-user", type=int, default=3, help="memberships per user")
    parser.add_argument("--rps", type=float, default=30, help="UserList budget")
    args = parser.parse_args()
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    rng = random.Random(1)
    with CognitoStandIn() as standin:
        pool = standin.create_pool()
        names = [f"user{i:07}" for i in range(args.users)]
        users = (
            (n, {"email": f"{n}@example.org", "given_name": "G", "family_name": n}) for n in names
        )
        groups: dict[str, list[str]] = {f"group{g:05}": [] for g in range(args.groups)}
        keys = list(groups)
        for n in names:
            for g in rng.sample(keys, k=min(args.per_user, len(keys))):
                groups[g].append(n)
        started = time.monotonic()
        standin.seed(pool, users, groups)
        seeded = time.monotonic() - started
        standin.reset()
        connector = CognitoSource(
            CognitoSettings(
                region=standin.region,
                user_pool_id=pool,
                endpoint_url=standin.url,
                access_key_id="AKIABENCH",
                secret_access_key="bench",
                user_list_rps=args.rps,
            )
        )
        endpoint = Endpoint.wrap(connector, "cognito")
        started = time.monotonic()
        cpu = time.process_time()
        count = sum(
            1 for _ in endpoint.hook.provision_full_read(role=Role.SOURCE, attributes=frozenset())
        )
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu
        calls = standin.calls()
    sizes = [len(m) for m in groups.values()]
    user_list = max(1, math.ceil(args.users / 60)) + sum(max(1, math.ceil(m / 60)) for m in sizes)
    group_calls = max(1, math.ceil(args.groups / 60))
    floor_calls = user_list + group_calls
    floor_time = max(0.0, (user_list - args.rps) / args.rps) + max(0.0, (group_calls - 5) / 5)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("users / groups / memberships", f"{args.users} / {args.groups} / {sum(sizes)}"),
        ("objects read", f"{count}"),
        ("Cognito calls (floor)", f"{sum(calls.values())} ({floor_calls})"),
        ("  by operation", ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))),
        ("read time, s (quota floor)", f"{elapsed:.1f} ({floor_time:.1f} at {args.rps:g} rps)"),
        ("CPU, s (server in-process too)", f"{cpu:.1f}"),
        ("peak RSS, MB (server included)", f"{rss:.0f}"),
        ("seeding, s", f"{seeded:.1f}"),
    ]
    print_rows(rows)


if __name__ == "__main__":
    main()
