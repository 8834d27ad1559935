"""The straightforward sync beside provision's, on the same data and stand-ins: the speed-up.

    python benchmarks/baseline.py --users 1000 --groups 10 --latency-ms 20

The baseline is what a hand-written script does: page ListUsers, call AdminListGroupsForUser
for every user, then one SCIM request per user, per group and per membership, one at a time
(retrying a 429 after Retry-After, or it would not finish). provision reads at the floor and
writes through Bulk within the budgets. Both run against moto's Cognito and a fresh OCI
emulator of the same tier and latency, with the emulator's rate limits on.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from provision.testing import sync
from provision_cognito import CognitoSettings, CognitoSource
from provision_cognito.standin import CognitoStandIn
from provision_oci import OciSettings, OciTarget
from provision_oci.emulator import OciEmulator

CLIENT, SECRET = "bench", "bench-secret"


def seed(cognito: CognitoStandIn, users: int, groups: int, per_user: int) -> str:
    pool = cognito.create_pool()
    rng = random.Random(3)
    names = [f"user{i:06}" for i in range(users)]
    members: dict[str, list[str]] = {f"group{g:03}": [] for g in range(groups)}
    for name in names:
        for g in rng.sample(sorted(members), k=min(per_user, groups)):
            members[g].append(name)
    cognito.seed(
        pool,
        [(n, {"email": f"{n}@example.org", "given_name": "G", "family_name": n}) for n in names],
        members,
    )
    cognito.reset()
    return pool


def baseline(cognito: CognitoStandIn, pool: str, domain: OciEmulator) -> Counter[str]:
    """The hand-written script: sequential, one request per object and per membership."""
    calls: Counter[str] = Counter()
    idp = cognito.client()
    users: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = idp.list_users(
            UserPoolId=pool, Limit=60, **({"PaginationToken": token} if token else {})
        )
        calls["cognito ListUsers"] += 1
        users += page["Users"]
        token = page.get("PaginationToken")
        if not token:
            break
    memberships: dict[str, list[str]] = {}
    for user in users:
        next_token = None
        while True:
            answer = idp.admin_list_groups_for_user(
                UserPoolId=pool,
                Username=user["Username"],
                Limit=60,
                **({"NextToken": next_token} if next_token else {}),
            )
            calls["cognito AdminListGroupsForUser"] += 1
            for group in answer["Groups"]:
                memberships.setdefault(group["GroupName"], []).append(user["Username"])
            next_token = answer.get("NextToken")
            if not next_token:
                break
    http = httpx.Client(base_url=domain.url, timeout=60)

    def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
        while True:
            response = http.request(method, path, **kwargs)
            calls[
                f"oci {method} {path.split('/')[3] if path.startswith('/admin') else 'token'}"
            ] += 1
            if response.status_code != 429:
                response.raise_for_status()
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))

    bearer = send(
        "POST",
        "/oauth2/v1/token",
        auth=(CLIENT, SECRET),
        data={"grant_type": "client_credentials", "scope": "urn:opc:idm:__myscopes__"},
    ).json()
    headers = {"Authorization": f"Bearer {bearer['access_token']}"}
    ids: dict[str, str] = {}
    for user in users:
        attrs = {a["Name"]: a["Value"] for a in user["Attributes"]}
        ids[user["Username"]] = send(
            "POST",
            "/admin/v1/Users",
            headers=headers,
            json={
                "schemas": [
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User",
                ],
                "userName": user["Username"],
                "externalId": attrs["sub"],
                "name": {"givenName": attrs["given_name"], "familyName": attrs["family_name"]},
                "emails": [{"value": attrs["email"], "type": "work", "primary": True}],
                "urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User": {
                    "bypassNotification": True
                },
            },
        ).json()["id"]
    for group, names in memberships.items():
        gid = send(
            "POST",
            "/admin/v1/Groups",
            headers=headers,
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": group,
                "externalId": group,
            },
        ).json()["id"]
        for name in names:
            send(
                "PATCH",
                f"/admin/v1/Groups/{gid}",
                headers=headers,
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {
                            "op": "add",
                            "path": "members",
                            "value": [{"value": ids[name], "type": "User"}],
                        }
                    ],
                },
            )
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--per-user", type=int, default=3)
    parser.add_argument("--tier", default="premium")
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    results = {}
    with CognitoStandIn() as cognito:
        pool = seed(cognito, args.users, args.groups, args.per_user)
        for name in ("baseline", "provision"):
            cognito.reset()
            with (
                OciEmulator(
                    tier=args.tier,
                    latency_ms=args.latency_ms,
                    client_id=CLIENT,
                    client_secret=SECRET,
                ) as domain,
                tempfile.TemporaryDirectory() as tmp,
            ):
                started = time.monotonic()
                if name == "baseline":
                    calls = baseline(cognito, pool, domain)
                else:
                    source = CognitoSource(
                        CognitoSettings(
                            region=cognito.region,
                            user_pool_id=pool,
                            endpoint_url=cognito.url,
                            access_key_id="AKIABENCH",
                            secret_access_key="bench",
                        )
                    )
                    target = OciTarget(
                        OciSettings(
                            domain_url=domain.url,
                            client_id=CLIENT,
                            client_secret=SECRET,
                            tier=args.tier,
                        )
                    )
                    report = sync(source, target, Path(tmp) / "s.db")
                    assert report.status == "succeeded", report.errors
                    calls = Counter({f"cognito {k}": v for k, v in cognito.calls().items()})
                    calls.update({f"oci {k}": v for k, v in domain.counts().items()})
                elapsed = time.monotonic() - started
                held = (
                    len(domain.users()),
                    sum(len(g.get("members") or ()) for g in domain.groups()),
                )
                results[name] = (elapsed, calls, held, domain.throttled)
    print(f"$ python {' '.join(sys.argv)}")
    for name, (elapsed, calls, held, throttled) in results.items():
        cognito_calls = sum(v for k, v in calls.items() if k.startswith("cognito"))
        oci_calls = sum(v for k, v in calls.items() if k.startswith("oci"))
        print(
            f"{name:<10} {elapsed:7.1f} s  Cognito calls {cognito_calls:6}  OCI requests "
            f"{oci_calls:6}  429s {throttled:4}  held: {held[0]} users, {held[1]} memberships"
        )
    print(f"speed-up: {results['baseline'][0] / results['provision'][0]:.1f}x wall time")


if __name__ == "__main__":
    main()
