"""``provision demo``: the real job between two sandboxes, from nothing but this repository.

It starts the sandbox its source connector offers and the one its target connector offers
(``provision_sandbox``; by default moto's Cognito and the OCI identity-domain emulator) on
127.0.0.1, seeds the source with a sample directory, writes the ``provision.toml`` it uses
(secrets excluded: they are handed over as environment variables, as they should be in
production), and the CLI then runs ``test``, ``plan`` and ``run``, changes the source through
its own API, and runs again. It names no connector: any source whose sandbox can seed and
change a sample (a `provision.sandbox.SourceSandbox`) and any target with a sandbox will do.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from provision import api
from provision.config import Config, env_name
from provision.contract import Role
from provision.display import (
    BarProgress,
    LineProgress,
    err,
    heading,
    out,
    print_checks,
    print_plan,
    print_report,
)
from provision.plugins import ConnectorError, Registry, sandbox_of
from provision.sandbox import (
    SOURCE_MEMBERS,
    Person,
    Sample,
    Sandbox,
    SourceSandbox,
    missing,
    toml_table,
)

if TYPE_CHECKING:
    from provision.engine import Plan

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

SYNC = {"on_delete": "deactivate", "state": "provision-state.db"}


@dataclass
class Demo:
    """The running sandboxes and the files of one demo."""

    workdir: Path
    config: Path
    source_name: str
    target_name: str
    source: SourceSandbox
    target: Sandbox
    env: dict[str, str]
    """The sandboxes' secrets as ``PROVISION_<TABLE>_<KEY>`` variables: never in the file."""
    sample: Sample


def people(users: int, seed: int = 7) -> list[Person]:
    """A directory's worth of people, varied like a real one."""
    rng = random.Random(seed)
    out = []
    for i in range(users):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        login = f"{given}.{family}{i}".lower().replace(" ", "").replace("-", "")
        phone = f"+1555{rng.randrange(10**7):07d}"
        locale = rng.choice(("en-US", "en-GB", "fr-FR", "de-DE"))
        department = rng.choice(DEPARTMENTS)
        out.append(
            Person(
                username=login,
                given_name=given,
                family_name=family,
                email=f"{login}@example.org",
                phone_number=phone,
                locale=locale,
                department=department,
                enabled=rng.random() > 0.05,
            )
        )
    return out


def sample(users: int) -> Sample:
    """``users`` people and the twelve groups, each with a random share of them."""
    crowd = people(users)
    rng = random.Random(11)
    names = [p.username for p in crowd]
    groups = {g: rng.sample(names, k=rng.randrange(5, max(6, users // 4))) for g in GROUPS}
    return Sample(crowd, groups)


@contextlib.contextmanager
def start(
    registry: Registry, source: str, target: str, workdir: Path, users: int = 300
) -> Iterator[Demo]:
    """Start both sandboxes, seed the source, write the configuration; stop everything after.

    Raises `ConnectorError` when a connector cannot play its part, and
    `provision.sandbox.SandboxUnavailable` when a sandbox's extra is not installed.
    """
    if source == target:
        raise ConnectorError(f"the demo needs two connectors, not {source!r} twice")
    infos = {role: registry.get(name) for role, name in (("source", source), ("target", target))}
    for role, info in infos.items():
        if Role(role) not in info.roles:
            raise ConnectorError(f"connector {info.name!r} cannot be the demo's {role}")
    source_box = sandbox_of(infos["source"], registry=registry)
    lacks = missing(source_box, SOURCE_MEMBERS)
    if lacks:
        raise ConnectorError(
            f"connector {source!r}'s sandbox cannot be the demo's source: it has no "
            f"{', '.join(lacks)} (see provision.sandbox.SourceSandbox)"
        )
    target_box = sandbox_of(infos["target"], registry=registry)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("provision-state.db", "provision-state.db-wal", "provision-state.db-shm"):
        # a previous demo's links name objects of sandboxes that are gone, and its pair
        # joins their systems: that state would be refused, not reused
        (workdir / stale).unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        seeded = stack.enter_context(cast(SourceSandbox, source_box))
        stack.enter_context(target_box)
        directory = sample(users)
        seeded.seed(directory)
        boxes: dict[str, Sandbox] = {source: seeded, target: target_box}
        env = {
            env_name(name, key): value
            for name, box in boxes.items()
            for key, value in box.secrets().items()
        }
        config = workdir / "provision.toml"
        config.write_text(configuration(boxes, list(env)))
        yield Demo(workdir, config, source, target, seeded, target_box, env, directory)


def configuration(boxes: dict[str, Sandbox], secret_vars: list[str]) -> str:
    """The demo's ``provision.toml``: each sandbox's table, then ``[sync]``."""
    if secret_vars:
        *rest, last = secret_vars
        listed = f"{', '.join(rest)} and {last}" if rest else last
        header = (
            "# The configuration `provision demo` used. Secrets are not in this file: "
            f"they come from\n# {listed} in the environment.\n"
        )
    else:
        header = "# The configuration `provision demo` used.\n"
    tables = [toml_table(name, box.settings(), box.comments()) for name, box in boxes.items()]
    return "\n".join([header, *tables, toml_table("sync", SYNC)])


def change_source(demo: Demo) -> list[str]:
    """Edit one user, remove one from a group, delete one: through the source's own API."""
    people = [p.username for p in demo.sample.people]
    edited, deleted = people[0], people[1]
    group, members = next(iter(demo.sample.groups.items()))
    removed = next(m for m in members if m not in (edited, deleted))
    return [
        demo.source.rename_user(edited, "Renamed"),
        demo.source.remove_member(group, removed),
        demo.source.delete_user(deleted),
    ]


def show(box: Demo, config: Config, users: int) -> int:
    """The demo's story, printed: test, plan, run, change the source, run, run again.

    Returns 0, or the exit code of the first run that did not succeed.
    """
    source, target = box.source_name, box.target_name
    pair = f"'{source}->{target}'"
    heading(f"A pool of {users} users in {box.source.label} and {box.target.label}")
    heading(f"The configuration: {box.config}")
    out.print(box.config.read_text().rstrip())
    for name in (source, target):
        heading(f"provision test {name}")
        print_checks(api.connectivity(config, name))
    heading(f"provision plan {pair}")
    plans: list[Plan] = []
    report = api.sync(config, source, target, dry_run=True, on_plan=plans.append)
    for plan in plans:
        print_plan(plan, 6)
    print_report(report)
    steps = (
        (f"provision run {pair}", None),
        ("Change the pool, then run again", change_source),
        ("Run once more: nothing to do", None),
    )
    for title, step in steps:
        heading(title)
        if step is not None:
            for line in step(box):
                out.print(f"  {line}")
        progress = BarProgress() if err.is_terminal else LineProgress()
        with progress:
            report = api.sync(config, source, target, progress=progress)
        print_report(report)
        if report.status != "succeeded":
            return report.exit_code
    summary = box.source.summary() + box.target.summary()
    if summary:
        out.print("\n" + "\n".join(summary))
    return 0
