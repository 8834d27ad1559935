"""The target contract's write rules: what a write must do in each open case."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from scim2_models import Group, Name, PatchOp, PatchOperation, User

from provision import mapping
from provision.contract import (
    Action,
    Change,
    Kind,
    Role,
    Unreadable,
)
from provision.plugins import Endpoint
from provision.testing.memory import Sample
from provision.testing.probes import (
    _label,
    _primary_email,
    _read,
)
from provision.testing.target_kit import TargetKit


class WriteRules(TargetKit):
    """The write contract's cases, each stated in `provision_write`'s docstring."""

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
        user = self.update_name(target, ada.user_name, ids[ada.user_name], desired, name)
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
