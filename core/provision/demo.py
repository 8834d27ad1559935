"""Sample data and a workspace for ``provision demo``: a realistic directory, then changes.

Until the Cognito and OCI stand-ins are wired in, the demo syncs between two ``file``
endpoints: a source directory seeded like a real user pool, and a target directory.
"""

from __future__ import annotations

import json
import random
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

CONFIG = """\
# What `provision demo` used. Secrets never go in this file: give them as
# PROVISION_<TABLE>_<KEY> environment variables (e.g. PROVISION_OCI_CLIENT_SECRET).

[pool]
connector = "file"
path = "pool.json"

[domain]
connector = "file"
path = "domain.json"

[sync]
on_delete = "deactivate"
state = "provision-state.db"
"""


def sample_pool(users: int = 300, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """A user pool as SCIM JSON: names, emails, phones, some disabled, overlapping groups."""
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    for i in range(users):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        login = f"{given}.{family}{i}".lower().replace(" ", "").replace("-", "")
        person: dict[str, Any] = {
            "id": f"{rng.getrandbits(128):032x}",
            "userName": login,
            "name": {"givenName": given, "familyName": family},
            "displayName": f"{given} {family}",
            "emails": [{"value": f"{login}@example.org", "type": "work", "primary": True}],
            "phoneNumbers": [{"value": f"+1555{rng.randrange(10**7):07d}", "type": "mobile"}],
            "active": rng.random() > 0.05,
            "locale": rng.choice(("en-US", "en-GB", "fr-FR", "de-DE")),
        }
        people.append(person)
    groups = []
    for name in GROUPS:
        members = rng.sample(people, k=rng.randrange(3, max(4, users // 4)))
        groups.append(
            {
                "id": name,
                "displayName": name,
                "members": [{"value": p["id"]} for p in members],
            }
        )
    return {"Users": people, "Groups": groups}


def prepare(workdir: Path, users: int = 300) -> Path:
    """Write the configuration and the seeded pool into ``workdir``; return the config path."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "pool.json").write_text(json.dumps(sample_pool(users), indent=1))
    config = workdir / "provision.toml"
    config.write_text(CONFIG)
    return config


def change_pool(workdir: Path) -> list[str]:
    """Edit one user, remove one from a group, delete one; say what was done."""
    path = workdir / "pool.json"
    pool = json.loads(path.read_text())
    edited, removed_from, deleted = pool["Users"][0], pool["Groups"][0], pool["Users"][1]
    edited["name"]["givenName"] = "Renamed"
    edited["displayName"] = f"Renamed {edited['name']['familyName']}"
    member = next(m["value"] for m in removed_from["members"] if m["value"] != deleted["id"])
    removed_from["members"] = [m for m in removed_from["members"] if m["value"] != member]
    pool["Users"] = [u for u in pool["Users"] if u["id"] != deleted["id"]]
    for group in pool["Groups"]:
        group["members"] = [m for m in group["members"] if m["value"] != deleted["id"]]
    path.write_text(json.dumps(pool, indent=1))
    gone = next(u["userName"] for u in pool["Users"] if u["id"] == member)
    return [
        f"renamed {edited['userName']} to {edited['displayName']!r}",
        f"removed {gone} from group {removed_from['displayName']}",
        f"deleted user {deleted['userName']}",
    ]
