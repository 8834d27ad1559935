"""``provision demo``: the real job between local stand-ins, from nothing but this repository.

It starts moto's Cognito and the OCI identity-domain emulator on 127.0.0.1 (free ports),
seeds a sample user pool, writes the ``provision.toml`` it uses (secrets excluded: they are
handed over as environment variables, as they should be in production), and the CLI then runs
``test``, ``plan`` and ``run``, changes the pool through Cognito's API, and runs again.
Needs the ``demo`` extra (moto, scim2-server).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GIVEN = (
    "Ada",
    "Grace",
    "Alan",
    "Barbara",
    "Edsger",
    "Frances",
    "Donald",
    "Margaret",
    "Ken",
    "Radia",
    "Linus",
    "Hedy",
    "Tim",
    "Katherine",
    "Dennis",
    "Shafi",
    "John",
    "Sophie",
    "Niklaus",
    "Lynn",
    "Guido",
    "Anita",
    "Bjarne",
    "Jean",
)
FAMILY = (
    "Lovelace",
    "Hopper",
    "Turing",
    "Liskov",
    "Dijkstra",
    "Allen",
    "Knuth",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Torvalds",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
    "Ritchie",
    "Goldwasser",
    "McCarthy",
    "Wilson",
    "Wirth",
    "Conway",
    "van Rossum",
    "Borg",
    "Stroustrup",
    "Sammet",
)
GROUPS = (
    "engineering",
    "platform",
    "security",
    "data",
    "design",
    "support",
    "sales",
    "finance",
    "people",
    "leadership",
    "on-call",
    "contractors",
)
DEPARTMENTS = ("R&D", "Operations", "Sales", "Finance", "People")

OCI_CLIENT = "provision-demo"
SECRETS = {
    "PROVISION_COGNITO_SECRET_ACCESS_KEY": "demo-secret-access-key",
    "PROVISION_OCI_CLIENT_SECRET": "demo-client-secret",
}

CONFIG = """\
# The configuration `provision demo` used. Secrets are not in this file: they come from
# PROVISION_COGNITO_SECRET_ACCESS_KEY and PROVISION_OCI_CLIENT_SECRET in the environment.

[cognito]
region = "{region}"
user_pool_id = "{pool}"
access_key_id = "AKIADEMOSTANDIN"
endpoint_url = "{cognito_url}"        # the local stand-in; leave out for AWS
sts_endpoint_url = "{cognito_url}"

[oci]
domain_url = "{oci_url}"              # https://idcs-….identity.oraclecloud.com in production
client_id = "{client}"
tier = "premium"

[sync]
on_delete = "deactivate"
state = "provision-state.db"
"""


class DemoUnavailable(Exception):
    """The demo extra is not installed."""


@dataclass
class Sandbox:
    """The running stand-ins and the files of one demo."""

    workdir: Path
    config: Path
    cognito: Any
    domain: Any
    pool: str
    usernames: list[str]
    groups: dict[str, list[str]]


def people(users: int, seed: int = 7) -> list[tuple[str, dict[str, str], bool]]:
    """A pool's worth of (username, attributes, enabled), varied like a real one."""
    rng = random.Random(seed)
    out = []
    for i in range(users):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        login = f"{given}.{family}{i}".lower().replace(" ", "").replace("-", "")
        attributes = {
            "email": f"{login}@example.org",
            "email_verified": "true",
            "given_name": given,
            "family_name": family,
            "phone_number": f"+1555{rng.randrange(10**7):07d}",
            "locale": rng.choice(("en-US", "en-GB", "fr-FR", "de-DE")),
            "custom:department": rng.choice(DEPARTMENTS),
        }
        out.append((login, attributes, rng.random() > 0.05))
    return out


@contextlib.contextmanager
def sandbox(workdir: Path, users: int = 300) -> Iterator[Sandbox]:
    """Start both stand-ins, seed the pool, write the configuration; stop everything after."""
    try:
        from provision_cognito.standin import CognitoStandIn
        from provision_oci.emulator import OciEmulator
    except ImportError as err:
        raise DemoUnavailable(
            f"provision demo needs the demo extra ({err.name} is missing): pip install -e '.[demo]'"
        ) from None
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # never look for a cloud
    workdir.mkdir(parents=True, exist_ok=True)
    with (
        CognitoStandIn() as cognito,
        OciEmulator(
            tier="premium",
            client_id=OCI_CLIENT,
            client_secret=SECRETS["PROVISION_OCI_CLIENT_SECRET"],
        ) as domain,
    ):
        pool = cognito.create_pool(name="demo-pool", custom=["department"])
        rng = random.Random(11)
        sample = people(users)
        names = [name for name, _, _ in sample]
        groups = {g: rng.sample(names, k=rng.randrange(5, max(6, users // 4))) for g in GROUPS}
        enabled = {name: on for name, _, on in sample}
        cognito.seed(pool, [(n, a) for n, a, _ in sample], groups, enabled=enabled.__getitem__)
        for stale in ("provision-state.db", "provision-state.db-wal", "provision-state.db-shm"):
            # a previous demo's links name objects of stand-ins that are gone, and its pair
            # joins their pool and domain: this state would be refused, not reused
            (workdir / stale).unlink(missing_ok=True)
        config = workdir / "provision.toml"
        config.write_text(
            CONFIG.format(
                region=cognito.region,
                pool=pool,
                cognito_url=cognito.url,
                oci_url=domain.url,
                client=OCI_CLIENT,
            )
        )
        yield Sandbox(workdir, config, cognito, domain, pool, names, groups)


def change_pool(box: Sandbox) -> list[str]:
    """Edit one user, remove one from a group, delete one: through Cognito's own API."""
    idp = box.cognito.client()
    edited, deleted = box.usernames[0], box.usernames[1]
    group, members = next(iter(box.groups.items()))
    removed = next(m for m in members if m not in (edited, deleted))
    idp.admin_update_user_attributes(
        UserPoolId=box.pool,
        Username=edited,
        UserAttributes=[{"Name": "given_name", "Value": "Renamed"}],
    )
    idp.admin_remove_user_from_group(UserPoolId=box.pool, Username=removed, GroupName=group)
    idp.admin_delete_user(UserPoolId=box.pool, Username=deleted)
    box.cognito.reset()  # the demo's own admin calls are not the sync's
    return [
        f"AdminUpdateUserAttributes: {edited} now has given_name 'Renamed'",
        f"AdminRemoveUserFromGroup: {removed} left {group}",
        f"AdminDeleteUser: {deleted}",
    ]
