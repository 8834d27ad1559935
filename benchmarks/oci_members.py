"""Removing many members from one group of the OCI emulator: requests and seconds.

    python benchmarks/oci_members.py --members 1000

The group and its members are seeded over HTTP first (not measured); then one
``REMOVE_MEMBERS`` change of ``--members`` users goes through the target's writer, as the
engine sends it, and the requests the domain received for it are counted.
"""

from __future__ import annotations

import argparse
import time

import httpx
from table import print_rows  # benchmarks/table.py: run as scripts, from any directory

from provision import Action, Change, Kind
from provision_oci import OciSettings, OciTarget
from provision_oci.emulator import OciEmulator

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def seed(domain: OciEmulator, members: int) -> tuple[str, list[str]]:
    """``members`` users in one group (Bulk requests of 50 users, then the group)."""
    headers = domain.admin_headers()
    ids: list[str] = []
    with httpx.Client(base_url=f"{domain.url}/admin/v1", headers=headers, timeout=120) as http:
        for start in range(0, members, 50):
            operations = [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": f"u{i}",
                    "data": {
                        "schemas": [USER],
                        "userName": f"member{i:06}",
                        "emails": [
                            {"value": f"member{i:06}@example.org", "type": "work", "primary": True}
                        ],
                    },
                }
                for i in range(start, min(members, start + 50))
            ]
            answer = http.post("/Bulk", json={"schemas": [BULK], "Operations": operations})
            done = answer.json()["Operations"]
            ids += [op["location"].rstrip("/").rsplit("/", 1)[-1] for op in done]
        group = {
            "schemas": [GROUP],
            "displayName": "crowd",
            "members": [{"value": i, "type": "User"} for i in ids],
        }
        created = http.post("/Groups", json=group)
        created.raise_for_status()
        return str(created.json()["id"]), ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--tier", default="premium")
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()
    with OciEmulator(
        tier=args.tier,
        latency_ms=args.latency_ms,
        client_id="bench",
        client_secret="bench",
        limits=False,
    ) as domain:
        group_id, ids = seed(domain, args.members)
        target = OciTarget(
            OciSettings(
                domain_url=domain.url, client_id="bench", client_secret="bench", tier=args.tier
            )
        )
        change = Change(
            Kind.MEMBERSHIP, Action.REMOVE_MEMBERS, "crowd", "crowd", group_id, members=tuple(ids)
        )
        domain.reset_counts()
        started = time.monotonic()
        (outcome,) = list(target.provision_write([change]))
        seconds = time.monotonic() - started
        counts = {k: v for k, v in domain.counts().items() if k != "POST token"}
        left = len(domain.groups()[0].get("members") or ())
        target.close()
    result = "succeeded" if outcome.ok else f"failed: {outcome.error}"
    print_rows(
        [
            ("members removed from one group", f"{args.members} ({result}, {left} left)"),
            ("tier, latency", f"{args.tier}, {args.latency_ms:g} ms"),
            ("requests", ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))),
            ("seconds", f"{seconds:.1f}"),
        ]
    )


if __name__ == "__main__":
    main()
