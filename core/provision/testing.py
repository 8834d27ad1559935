"""The connector author's kit: an in-memory connector and contract test suites.

Subclass `SourceContract` or `TargetContract` in your tests, give one fixture, and get the
suite that every connector shipped with provision passes::

    from provision.testing import SAMPLE, TargetContract

    class TestMyTarget(TargetContract):
        @pytest.fixture
        def target(self, my_server):
            return MyConnector(MyConnector.Settings(url=my_server.url))

A source fixture returns a connector whose source holds `SAMPLE` (seed it however your
system is seeded); a target fixture returns a connector writing to a fresh target.
`sync` runs the real engine between two connector instances.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from scim2_models import Email, Group, GroupMember, Name, PatchOp, PatchOperation, User

from provision import engine, mapping
from provision.config import SyncSettings
from provision.contract import (
    Action,
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
from provision.plugins import Endpoint, diagnose
from provision.report import Report
from provision.state import State

__all__ = [
    "SAMPLE",
    "MemoryConnector",
    "Sample",
    "SampleUser",
    "SourceContract",
    "TargetContract",
    "sync",
]


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


def _diagnosis(connector: object, role: Role) -> None:
    """What ``provision connectors --check`` finds in the connector's class."""
    cls = type(connector)
    roles = set(getattr(cls, "roles", ()) or ())
    assert role in roles, f"{cls.__name__}.roles is {roles or 'empty'}: it must include {role}"
    problems = diagnose(cls, roles)
    assert not problems, "plugin mistakes in the connector class:\n" + "\n".join(
        f"  {p}" for p in problems
    )


class _Held(dict[str, Any]):
    """A target's read by name; a missing name fails saying what was read instead."""

    def __missing__(self, name: str) -> Any:
        raise AssertionError(
            f"{name!r} is missing from the target's read, which holds {sorted(self)}"
        )


def _checks_pass(connector: object) -> None:
    checks = Endpoint.wrap(connector).hook.provision_test()
    assert checks, "provision_test returned no checks"
    strays = [c for c in checks if not isinstance(c, Check)]
    assert not strays, f"provision_test returns provision.Check objects only, not {strays}"
    failed = [f"{c.name}: {c.message} (hint: {c.hint})" for c in checks if not c.ok]
    assert not failed, f"checks failed: {failed}"


def _read(connector: object, role: Role) -> list[Any]:
    hook = Endpoint.wrap(connector).hook.provision_full_read
    return list(hook(role=role, attributes=mapping.wanted()))


def _by_name(objects: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for obj in objects:
        if isinstance(obj, User):
            out[obj.user_name or ""] = obj
        elif isinstance(obj, Group):
            out["group:" + (obj.display_name or "")] = obj
    return out


def _label(obj: User[Any] | Group) -> str:
    return (obj.user_name if isinstance(obj, User) else obj.display_name) or "(no name)"


def _primary_email(user: User[Any]) -> str | None:
    for email in user.emails or ():
        if email.primary:
            return email.value
    return None


class SourceContract:
    """What every source must do. Give a ``source`` fixture holding `SAMPLE`.

    A source that cannot hold a group without members (a CSV that names groups on member
    rows) sets ``empty_groups = False``: the kit then expects the sample without its empty
    groups (``alumni``).
    """

    sample: Sample = SAMPLE
    empty_groups: bool = True
    """Whether the source can hold a group with no members."""

    @property
    def expected(self) -> Sample:
        """What the source must read: the sample, less what it declares it cannot hold."""
        if self.empty_groups:
            return self.sample
        return Sample(self.sample.users, {g: m for g, m in self.sample.groups.items() if m})

    @pytest.fixture
    def source(self) -> object:
        raise NotImplementedError("give a `source` fixture: a connector holding SAMPLE")

    def test_the_connector_class_has_no_plugin_mistakes(self, source: object) -> None:
        _diagnosis(source, Role.SOURCE)

    def test_checks_pass(self, source: object) -> None:
        _checks_pass(source)

    def test_read_yields_scim_objects_only(self, source: object) -> None:
        objects = _read(source, Role.SOURCE)
        strays = [o for o in objects if not isinstance(o, User | Group)]
        assert not strays, f"not users or groups (or unreadable sample objects): {strays}"

    def test_keys_are_unique_and_stable(self, source: object) -> None:
        first = [(type(o).__name__, o.external_id) for o in _read(source, Role.SOURCE)]
        second = [(type(o).__name__, o.external_id) for o in _read(source, Role.SOURCE)]
        keyless = [_label(o) for o in _read(source, Role.SOURCE) if not o.external_id]
        assert not keyless, (
            f"every object needs external_id (its source key); these have none: {keyless}"
        )
        twice = sorted({k for k in first if first.count(k) > 1})
        assert not twice, f"source keys must be unique; read more than once: {twice}"
        assert sorted(first) == sorted(second), (
            "source keys changed between two reads: "
            f"only in the first {sorted(set(first) - set(second))}, "
            f"only in the second {sorted(set(second) - set(first))}"
        )

    def test_users_match_the_sample(self, source: object) -> None:
        users = {
            k: v
            for k, v in _by_name(_read(source, Role.SOURCE)).items()
            if not k.startswith("group:")
        }
        wanted = sorted(u.user_name for u in self.expected.users)
        assert sorted(users) == wanted, (
            "the userNames read differ from the sample's: missing "
            f"{sorted(set(wanted) - set(users))}, unexpected {sorted(set(users) - set(wanted))}"
        )
        for expected in self.expected.users:
            user = users[expected.user_name]
            got = (
                (user.name.given_name, user.name.family_name) if user.name else None,
                _primary_email(user),
                user.active,
            )
            want = ((expected.given_name, expected.family_name), expected.email, expected.active)
            assert got == want, (
                f"user {expected.user_name!r}: (name, primary email, active) read as {got}, "
                f"the sample has {want}"
            )

    def test_groups_and_members_match_the_sample(self, source: object) -> None:
        objects = _by_name(_read(source, Role.SOURCE))
        names = {u.external_id: name for name, u in objects.items() if isinstance(u, User)}
        groups = {name[6:]: g for name, g in objects.items() if isinstance(g, Group)}
        wanted = sorted(self.expected.groups)
        empty = "" if self.empty_groups else " (empty_groups = False: none without members)"
        assert sorted(groups) == wanted, (
            f"the groups read differ from the sample's{empty}: missing "
            f"{sorted(set(wanted) - set(groups))}, unexpected {sorted(set(groups) - set(wanted))}"
        )
        for name, expected in self.expected.groups.items():
            members = sorted(
                names.get(m.value, f"unknown key {m.value}") for m in groups[name].members or ()
            )
            assert members == sorted(expected), (
                f"members of group {name!r} read as {members} (by userName), the sample has "
                f"{sorted(expected)}; members are named by their users' source keys"
            )

    def test_full_sync_is_complete_then_a_noop(self, source: object, tmp_path: Path) -> None:
        target = MemoryConnector()
        first = sync(source, target, tmp_path / "state.db")
        assert first.status == "succeeded", f"the first sync: {first.status}, {first.errors}"
        counts = (first.users["created"], first.groups["created"], first.memberships["added"])
        sample = self.expected
        want = (len(sample.users), len(sample.groups), sum(len(m) for m in sample.groups.values()))
        assert counts == want, (
            f"the first sync created (users, groups, memberships) {counts}, not {want}: "
            f"{first.as_dict()}"
        )
        second = sync(source, target, tmp_path / "state.db")
        assert second.status == "succeeded", f"the second sync: {second.status}, {second.errors}"
        assert second.writes == 0, f"a second sync must write nothing: {second.as_dict()}"


class TargetContract:
    """What every target must do. Give a ``target`` fixture: a connector to a fresh target.

    The objects it creates have names unique to each test, so a target that already holds
    objects (an administrator, say) works too.
    """

    @pytest.fixture
    def target(self) -> object:
        raise NotImplementedError("give a `target` fixture: a connector to a fresh target")

    @pytest.fixture
    def sample(self) -> Sample:
        return SAMPLE.prefixed(f"kit{uuid.uuid4().hex[:8]}-")

    @staticmethod
    def write(target: object, changes: list[Change]) -> list[Outcome]:
        outcomes = list(Endpoint.wrap(target).hook.provision_write(changes=iter(changes)))
        assert sorted(id(o.change) for o in outcomes) == sorted(id(c) for c in changes), (
            "provision_write must yield exactly one outcome per change"
        )
        return outcomes

    @staticmethod
    def read(target: object) -> dict[str, Any]:
        """What the target reads, by userName and ``group:``displayName."""
        return _Held(_by_name(_read(target, Role.TARGET)))

    def create_users(self, target: object, sample: Sample) -> dict[str, str]:
        changes = [
            Change(
                Kind.USER,
                Action.CREATE,
                f"key-{u.user_name}",
                u.user_name,
                resource=u.to_scim(f"key-{u.user_name}"),
            )
            for u in sample.users
        ]
        outcomes = self.write(target, changes)
        failed = [f"{o.change.describe()}: {o.error}" for o in outcomes if not o.ok]
        assert not failed, f"creating the sample users failed: {failed}"
        no_id = [o.change.label for o in outcomes if not o.target_id]
        assert not no_id, f"a successful create must report target_id; these did not: {no_id}"
        return {o.change.label: str(o.target_id) for o in outcomes}

    def test_the_connector_class_has_no_plugin_mistakes(self, target: object) -> None:
        _diagnosis(target, Role.TARGET)

    def test_checks_pass(self, target: object) -> None:
        _checks_pass(target)

    def test_created_users_read_back_as_sent(self, target: object, sample: Sample) -> None:
        ids = self.create_users(target, sample)
        held = self.read(target)
        for expected in sample.users:
            user = held[expected.user_name]
            got = (
                user.id,
                user.external_id,
                (user.name.given_name, user.name.family_name) if user.name else None,
                _primary_email(user),
                user.active,
            )
            want = (
                ids[expected.user_name],
                f"key-{expected.user_name}",
                (expected.given_name, expected.family_name),
                expected.email,
                expected.active,
            )
            assert got == want, (
                f"user {expected.user_name!r} reads back as (id, externalId, name, primary "
                f"email, active) {got}; it was created as {want}"
            )

    def test_update_applies_the_patch(self, target: object, sample: Sample) -> None:
        ids = self.create_users(target, sample)
        ada = sample.users[0]
        name = Name(given_name="Augusta", family_name=ada.family_name)
        desired = ada.to_scim(f"key-{ada.user_name}")
        desired.name = name
        desired.id = ids[ada.user_name]
        patch = PatchOp[User[Any]](
            operations=[PatchOperation(op="replace", path="name", value=name.model_dump())]
        )
        change = Change(
            Kind.USER,
            Action.UPDATE,
            f"key-{ada.user_name}",
            ada.user_name,
            ids[ada.user_name],
            desired,
            patch,
        )
        (outcome,) = self.write(target, [change])
        assert outcome.ok, f"update of {ada.user_name}: {outcome.error}"
        user = self.read(target)[ada.user_name]
        given = user.name.given_name if user.name else None
        assert given == "Augusta", f"the patch set name.givenName 'Augusta'; it reads {given!r}"
        assert _primary_email(user) == ada.email, (
            f"the update changed the primary email to {_primary_email(user)!r}"
        )

    def test_deactivate_and_delete_users(self, target: object, sample: Sample) -> None:
        ids = self.create_users(target, sample)
        ada, grace = sample.users[0].user_name, sample.users[1].user_name
        outcomes = self.write(
            target,
            [
                Change(Kind.USER, Action.DEACTIVATE, f"key-{ada}", ada, ids[ada]),
                Change(Kind.USER, Action.DELETE, f"key-{grace}", grace, ids[grace]),
            ],
        )
        failed = [f"{o.change.describe()}: {o.error}" for o in outcomes if not o.ok]
        assert not failed, f"failed: {failed}"
        held = self.read(target)
        assert held[ada].active is False, f"{ada!r} was deactivated but reads as active"
        assert grace not in held, f"{grace!r} was deleted but is still read"

    def test_groups_and_memberships(self, target: object, sample: Sample) -> None:
        ids = self.create_users(target, sample)
        ada, grace, linus = (u.user_name for u in sample.users)
        name = next(iter(sample.groups))
        gid = self.create_group(target, name, [ids[ada]])
        outcomes = self.write(
            target,
            [
                Change(
                    Kind.MEMBERSHIP,
                    Action.ADD_MEMBERS,
                    name,
                    name,
                    gid,
                    members=(ids[grace], ids[linus]),
                ),
                Change(
                    Kind.MEMBERSHIP, Action.REMOVE_MEMBERS, name, name, gid, members=(ids[ada],)
                ),
            ],
        )
        failed = [f"{o.change.describe()}: {o.error}" for o in outcomes if not o.ok]
        assert not failed, f"membership changes failed: {failed}"
        held = self.read(target)["group:" + name]
        assert (held.id, held.external_id) == (gid, name), (
            f"group {name!r} reads back with (id, externalId) {(held.id, held.external_id)}, "
            f"not {(gid, name)}"
        )
        members = self.members_of(target, name, ids)
        assert members == sorted([grace, linus]), (
            f"members of {name!r} after adding {grace!r} and {linus!r} and removing {ada!r}"
        )
        (deleted,) = self.write(target, [Change(Kind.GROUP, Action.DELETE, name, name, gid)])
        assert deleted.ok, f"delete group {name}: {deleted.error}"
        assert "group:" + name not in self.read(target), f"group {name!r} is read after its delete"

    def test_a_failed_change_does_not_stop_the_others(self, target: object, sample: Sample) -> None:
        user = sample.users[0]
        missing = Change(Kind.USER, Action.DEACTIVATE, "key-gone", "gone", "no-such-id-000")
        create = Change(
            Kind.USER,
            Action.CREATE,
            f"key-{user.user_name}",
            user.user_name,
            resource=user.to_scim(f"key-{user.user_name}"),
        )
        bad, good = self.write(target, [missing, create])
        by_change = {id(o.change): o for o in (bad, good)}
        gone = by_change[id(missing)]
        assert not gone.ok, "deactivating a user that does not exist must fail"
        assert gone.error, "a failed outcome needs an error message for the operator"
        made = by_change[id(create)]
        assert made.ok, f"the create beside a failing change failed too: {made.error}"
        assert user.user_name in self.read(target), f"{user.user_name!r} was not created"

    def test_sync_converges_and_a_second_run_writes_nothing(
        self, target: object, sample: Sample, tmp_path: Path
    ) -> None:
        source = MemoryConnector.holding(sample)
        state = tmp_path / "state.db"
        first = sync(source, target, state)
        assert first.status == "succeeded", f"the first sync: {first.status}, {first.errors}"
        assert first.users["created"] == len(sample.users), (
            f"the first sync created {first.users['created']} users, not {len(sample.users)}"
        )
        second = sync(source, target, state)
        assert second.status == "succeeded", f"the second sync: {second.status}, {second.errors}"
        assert second.writes == 0, f"a second sync must write nothing: {second.as_dict()}"
        leaver = sample.users[0].user_name
        source.remove(f"key-{leaver}")
        third = sync(source, target, state, max_delete_percent=100)
        assert third.users["deactivated"] == 1, (
            f"{leaver!r} left the source; the third sync must deactivate it: {third.as_dict()}"
        )
        assert self.read(target)[leaver].active is False, f"{leaver!r} still reads as active"

    # The write contract, case by case (see the provision_write hookspec).

    def create_group(self, target: object, name: str, member_ids: Iterable[str]) -> str:
        """Create group ``name`` (source key: the name) with these members; its id."""
        group = Group(
            external_id=name,
            display_name=name,
            members=[GroupMember(value=m, type="User") for m in member_ids] or None,
        )
        (created,) = self.write(
            target, [Change(Kind.GROUP, Action.CREATE, name, name, resource=group)]
        )
        assert created.ok, f"creating group {name!r} failed: {created.error}"
        assert created.target_id, f"the create of group {name!r} reported no target_id"
        return created.target_id

    def members_of(self, target: object, name: str, ids: dict[str, str]) -> list[str]:
        """The userNames of group ``name``'s members, as the target reads them."""
        held = self.read(target)
        assert "group:" + name in held, f"group {name!r} is missing from the target's read"
        names = {v: k for k, v in ids.items()}
        return sorted(
            names.get(m.value or "", f"unknown id {m.value}")
            for m in held["group:" + name].members or ()
        )

    def test_deleting_what_is_already_gone_succeeds(self, target: object, sample: Sample) -> None:
        ids = self.create_users(target, sample)
        ada = sample.users[0].user_name
        gid = self.create_group(target, next(iter(sample.groups)), [])
        deletes = [
            Change(Kind.USER, Action.DELETE, f"key-{ada}", ada, ids[ada]),
            Change(Kind.GROUP, Action.DELETE, "g", "g", gid),
        ]
        first = self.write(target, deletes)
        failed = [f"{o.change.describe()}: {o.error}" for o in first if not o.ok]
        assert not failed, f"the first deletes failed: {failed}"
        again = self.write(target, [replace(c) for c in deletes])
        failed = [f"{o.change.describe()}: {o.error}" for o in again if not o.ok]
        assert not failed, f"deleting what is already gone must succeed: {failed}"

    def test_adding_a_member_twice_and_removing_a_non_member_succeed(
        self, target: object, sample: Sample
    ) -> None:
        ids = self.create_users(target, sample)
        ada, grace, linus = (u.user_name for u in sample.users)
        name = next(iter(sample.groups))
        gid = self.create_group(target, name, [ids[ada], ids[grace]])
        outcomes = self.write(
            target,
            [
                Change(Kind.MEMBERSHIP, Action.ADD_MEMBERS, name, name, gid, members=(ids[ada],)),
                Change(
                    Kind.MEMBERSHIP, Action.REMOVE_MEMBERS, name, name, gid, members=(ids[linus],)
                ),
            ],
        )
        failed = [f"{o.change.describe()}: {o.error}" for o in outcomes if not o.ok]
        assert not failed, f"both changes already hold, so both must succeed: {failed}"
        members = self.members_of(target, name, ids)
        assert members == sorted([ada, grace]), f"members of {name!r} after the no-op changes"

    def test_a_deleted_user_leaves_its_groups(self, target: object, sample: Sample) -> None:
        ids = self.create_users(target, sample)
        ada, grace, _ = (u.user_name for u in sample.users)
        name = next(iter(sample.groups))
        self.create_group(target, name, [ids[ada], ids[grace]])
        (deleted,) = self.write(
            target, [Change(Kind.USER, Action.DELETE, f"key-{ada}", ada, ids[ada])]
        )
        assert deleted.ok, f"delete user {ada}: {deleted.error}"
        members = self.members_of(target, name, ids)
        assert members == [grace], f"{ada!r} was deleted but is still read as a member of {name!r}"

    def test_an_update_changes_only_what_its_patch_names(
        self, target: object, sample: Sample
    ) -> None:
        """A target that can only replace must keep what the patch does not name: here the
        sync manages no emails (the resource has none), so the user's email stays."""
        ids = self.create_users(target, sample)
        ada = sample.users[0]
        name = Name(given_name="Augusta", family_name=ada.family_name)
        desired: User[Any] = User(
            id=ids[ada.user_name],
            external_id=f"key-{ada.user_name}",
            user_name=ada.user_name,
            name=name,
        )
        patch = PatchOp[User[Any]](
            operations=[PatchOperation(op="replace", path="name", value=name.model_dump())]
        )
        change = Change(
            Kind.USER,
            Action.UPDATE,
            f"key-{ada.user_name}",
            ada.user_name,
            ids[ada.user_name],
            desired,
            patch,
        )
        (outcome,) = self.write(target, [change])
        assert outcome.ok, f"update of {ada.user_name}: {outcome.error}"
        user = self.read(target)[ada.user_name]
        given = user.name.given_name if user.name else None
        assert given == "Augusta", f"the patch set name.givenName 'Augusta'; it reads {given!r}"
        assert _primary_email(user) == ada.email, (
            "the update dropped the email, which its patch does not name: apply change.patch, "
            "or read the object and keep what the patch leaves out"
        )

    def test_a_group_update_keeps_its_members(self, target: object, sample: Sample) -> None:
        """Members change only through add_members and remove_members: a group update's
        resource carries none, and a replace must keep them (those added by hand too)."""
        ids = self.create_users(target, sample)
        ada, grace, _ = (u.user_name for u in sample.users)
        name = next(iter(sample.groups))
        gid = self.create_group(target, name, [ids[ada], ids[grace]])
        renamed = f"{name}-renamed"
        desired = Group(id=gid, external_id=name, display_name=renamed)
        patch = PatchOp[Group](
            operations=[PatchOperation(op="replace", path="displayName", value=renamed)]
        )
        change = Change(Kind.GROUP, Action.UPDATE, name, name, gid, desired, patch)
        (outcome,) = self.write(target, [change])
        assert outcome.ok, f"update of group {name}: {outcome.error}"
        members = self.members_of(target, renamed, ids)
        assert members == sorted([ada, grace]), f"the update of {name!r} changed its members"

    def test_other_outcomes_need_no_target_id_and_never_name_another(
        self, target: object, sample: Sample
    ) -> None:
        ids = self.create_users(target, sample)
        ada, grace, _ = (u.user_name for u in sample.users)
        name = next(iter(sample.groups))
        gid = self.create_group(target, name, [])
        changes = [
            Change(Kind.USER, Action.DEACTIVATE, f"key-{ada}", ada, ids[ada]),
            Change(Kind.MEMBERSHIP, Action.ADD_MEMBERS, name, name, gid, members=(ids[grace],)),
            Change(Kind.USER, Action.DELETE, f"key-{grace}", grace, ids[grace]),
        ]
        outcomes = self.write(target, changes)
        wrong = [
            f"{o.change.describe()}: target_id {o.target_id!r}, not {o.change.target_id!r}"
            for o in outcomes
            if o.target_id not in (None, o.change.target_id)
        ]
        assert not wrong, f"an outcome other than a create names another object: {wrong}"

    def test_the_read_yields_users_groups_and_unreadables_only(
        self, target: object, sample: Sample
    ) -> None:
        self.create_users(target, sample)
        objects = _read(target, Role.TARGET)
        strays = [type(o).__name__ for o in objects if not isinstance(o, User | Group | Unreadable)]
        assert not strays, f"a target's read yields User, Group or Unreadable, not: {strays}"
        no_id = [_label(o) for o in objects if isinstance(o, User | Group) and not o.id]
        assert not no_id, (
            f"every object a target reads needs its id (else yield Unreadable): {no_id}"
        )
        bad = [
            o
            for o in objects
            if isinstance(o, Unreadable)
            and (o.kind not in (Kind.USER, Kind.GROUP) or not o.key or not o.message)
        ]
        assert not bad, f"an Unreadable needs a user or group kind, a key and a message: {bad}"

    def test_a_create_whose_name_another_object_holds_fails(
        self, target: object, sample: Sample
    ) -> None:
        ids = self.create_users(target, sample)
        ada = sample.users[0]
        other = Change(
            Kind.USER,
            Action.CREATE,
            "key-someone-else",
            ada.user_name,
            resource=ada.to_scim("key-someone-else"),
        )
        (outcome,) = self.write(target, [other])
        assert not outcome.ok, (
            f"the create of {ada.user_name!r} for key-someone-else took over the user that "
            f"sync key key-{ada.user_name} holds (id {outcome.target_id}); it must fail"
        )
        assert ada.user_name in (outcome.error or ""), (
            f"the failure must name {ada.user_name!r}: {outcome.error!r}"
        )
        user = self.read(target)[ada.user_name]
        assert (user.id, user.external_id) == (ids[ada.user_name], f"key-{ada.user_name}"), (
            "the failed create changed the user that holds the name"
        )

    def test_a_retried_create_answers_with_its_own_object_or_fails(
        self, target: object, sample: Sample
    ) -> None:
        ids = self.create_users(target, sample)
        ada = sample.users[0]
        key = f"key-{ada.user_name}"
        again = Change(Kind.USER, Action.CREATE, key, ada.user_name, resource=ada.to_scim(key))
        (outcome,) = self.write(target, [again])
        if outcome.ok:
            assert outcome.target_id == ids[ada.user_name], (
                f"a retried create of {ada.user_name!r} answered {outcome.target_id!r}, not the "
                f"id of the user it made before ({ids[ada.user_name]!r})"
            )
        else:
            assert outcome.error, "a failed outcome needs an error message"
        users = [o for o in _read(target, Role.TARGET) if isinstance(o, User)]
        same = [u.id for u in users if (u.user_name or "").lower() == ada.user_name.lower()]
        assert same == [ids[ada.user_name]], f"the retried create made a second user: {same}"

    # Optional hooks: checked when the target has them.

    def test_identity_is_stable_when_given(self, target: object) -> None:
        hook = Endpoint.wrap(target).hook
        if not hook.provision_identity.get_hookimpls():
            pytest.skip("no provision_identity: the endpoint's table name stands for it")
        first, second = hook.provision_identity(), hook.provision_identity()
        assert first is None or isinstance(first, str), (
            f"provision_identity answers a str or None, not {first!r}"
        )
        assert first == second, f"provision_identity changed between calls: {first!r}, {second!r}"

    def test_lookup_finds_what_exists_and_leaves_out_the_rest(
        self, target: object, sample: Sample
    ) -> None:
        hook = Endpoint.wrap(target).hook
        if not hook.provision_lookup.get_hookimpls():
            pytest.skip("no provision_lookup: the target's full read is a consistent snapshot")
        ids = self.create_users(target, sample)
        ada = sample.users[0].user_name
        gone = "no-such-id-000"
        found = list(
            hook.provision_lookup(kind=Kind.USER, ids=[ids[ada], gone], attributes=mapping.wanted())
            or ()
        )
        got = sorted(str(o.id) for o in found if isinstance(o, User))
        assert got == [ids[ada]], (
            f"provision_lookup of {ada!r} ({ids[ada]}) and a missing id yielded users {got}"
        )
