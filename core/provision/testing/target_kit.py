"""The fixtures and helpers of the target contract."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import pytest
from scim2_models import Group, GroupMember, Name, PatchOp, PatchOperation, User

from provision.contract import (
    Action,
    Change,
    Kind,
    Outcome,
    Role,
)
from provision.plugins import Endpoint
from provision.testing.memory import SAMPLE, Sample
from provision.testing.probes import (
    _by_name,
    _Held,
    _read,
)


class TargetKit:
    """The target contract's fixtures and helpers. Give a ``target`` fixture: a connector to
    a fresh target.

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

    def update_name(
        self, target: object, user_name: str, tid: str, desired: User[Any], name: Name
    ) -> User[Any]:
        """Send an update whose patch replaces only ``name``; the user as read back after."""
        patch = PatchOp[User[Any]](
            operations=[PatchOperation(op="replace", path="name", value=name.model_dump())]
        )
        change = Change(
            Kind.USER, Action.UPDATE, f"key-{user_name}", user_name, tid, desired, patch
        )
        (outcome,) = self.write(target, [change])
        assert outcome.ok, f"update of {user_name}: {outcome.error}"
        user: User[Any] = self.read(target)[user_name]
        given = user.name.given_name if user.name else None
        assert given == name.given_name, (
            f"the patch set name.givenName {name.given_name!r}; it reads {given!r}"
        )
        return user
