"""The kit's in-memory connector, its sample directory, and `sync` between two connectors."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from scim2_models import Email, Group, GroupMember, Name, User

from provision import engine
from provision.contract import (
    Change,
    Check,
    Kind,
    Outcome,
    RequestStats,
    Role,
    Unreadable,
)
from provision.hookspecs import hookimpl
from provision.memory import Directory
from provision.plugins import Endpoint
from provision.report import Report
from provision.settings import SyncSettings
from provision.state import State


@dataclass(frozen=True)
class SampleUser:
    user_name: str
    given_name: str
    family_name: str
    email: str
    active: bool = True

    def to_scim(self, key: str | None = None) -> User[Any]:
        return User(
            external_id=key,
            user_name=self.user_name,
            name=Name(given_name=self.given_name, family_name=self.family_name),
            display_name=f"{self.given_name} {self.family_name}",
            emails=[Email(value=self.email, type="work", primary=True)],
            active=self.active,
        )


@dataclass(frozen=True)
class Sample:
    """A small directory every contract test knows: users, and groups by member userName."""

    users: tuple[SampleUser, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def prefixed(self, prefix: str) -> Sample:
        """The same directory with every name prefixed, to share a target with others."""
        users = tuple(
            SampleUser(
                prefix + u.user_name, u.given_name, u.family_name, f"{prefix}{u.email}", u.active
            )
            for u in self.users
        )
        groups = {prefix + g: tuple(prefix + m for m in ms) for g, ms in self.groups.items()}
        return Sample(users, groups)


SAMPLE = Sample(
    users=(
        SampleUser("ada", "Ada", "Lovelace", "ada@example.org"),
        SampleUser("grace", "Grace", "Hopper", "grace@example.org"),
        SampleUser("linus", "Linus", "Torvalds", "linus@example.org", active=False),
    ),
    groups={"engineers": ("ada", "grace"), "admins": ("grace",), "alumni": ()},
)
"""What a source under `SourceContract` must hold (seed exactly these)."""


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemoryConnector:
    """Users and groups in memory, as source or target; with switches to make it fail."""

    roles = frozenset({Role.SOURCE, Role.TARGET})
    Settings = MemorySettings

    def __init__(self, settings: MemorySettings | None = None) -> None:
        self.directory = Directory(where="memory")
        self.stats = RequestStats()
        self.fail_read_after: int | None = None
        """Raise after yielding this many objects (a source that breaks halfway)."""
        self.fail_keys: set[str] = set()
        """Changes for these source keys fail."""
        self.writes: list[Change] = []
        """Every change received, in order."""

    @classmethod
    def holding(cls, sample: Sample) -> MemoryConnector:
        """A source holding ``sample``, keyed by ``key-<userName>`` and group names."""
        connector = cls()
        for user in sample.users:
            connector.add(user.to_scim(f"key-{user.user_name}"))
        for name, members in sample.groups.items():
            connector.add(
                Group(
                    external_id=name,
                    display_name=name,
                    members=[GroupMember(value=f"key-{m}") for m in members] or None,
                )
            )
        return connector

    def add(self, resource: User[Any] | Group) -> str:
        """Store ``resource`` as is (its ``id`` defaults to its ``external_id``)."""
        data = resource.model_dump(mode="json")
        data["id"] = data.get("id") or data.get("externalId") or str(uuid.uuid4())
        kind = Kind.USER if isinstance(resource, User) else Kind.GROUP
        self.directory.objects[kind][data["id"]] = data
        return str(data["id"])

    def remove(self, key: str) -> None:
        """Remove the object stored under ``key``, and its memberships."""
        for store in self.directory.objects.values():
            store.pop(key, None)
        for group in self.directory.groups.values():
            members = [m for m in group.get("members") or () if m.get("value") != key]
            group["members"] = members or None

    @hookimpl
    def provision_test(self) -> list[Check]:
        return [Check("memory", True, f"{len(self.directory.users)} users")]

    @hookimpl
    def provision_full_read(self, role: Role) -> Iterator[User[Any] | Group | Unreadable]:
        self.stats.count("read")
        for n, obj in enumerate(self.directory.read(role)):
            if self.fail_read_after is not None and n >= self.fail_read_after:
                raise ConnectionError(f"the memory source broke after {n} objects")
            yield obj

    @hookimpl
    def provision_write(self, changes: Iterable[Change]) -> Iterator[Outcome]:
        for change in changes:
            self.writes.append(change)
            self.stats.count(f"{change.action.value}_{change.kind.value}")
            if change.key in self.fail_keys:
                yield Outcome.failed(change, f"{change.key} is set to fail")
            else:
                yield self.directory.apply(change)

    @hookimpl
    def provision_request_stats(self) -> RequestStats:
        return self.stats


def sync(
    source: object,
    target: object,
    state: Path | State,
    *,
    dry_run: bool = False,
    allow_deletes: bool = False,
    **settings: Any,
) -> Report:
    """Run the engine from one connector instance to another; ``settings`` go to [sync]."""
    own = not isinstance(state, State)
    store = State(state) if isinstance(state, Path) else state
    try:
        return engine.run(
            Endpoint.wrap(source, "source"),
            Endpoint.wrap(target, "target"),
            SyncSettings(**settings),
            store,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
        )
    finally:
        if own:
            store.close()
