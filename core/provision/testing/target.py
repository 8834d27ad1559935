"""The contract every target passes."""

from __future__ import annotations

from pathlib import Path

from scim2_models import Name

from provision.contract import (
    Action,
    Change,
    Kind,
    Role,
)
from provision.testing.memory import MemoryConnector, Sample, sync
from provision.testing.probes import (
    _checks_pass,
    _diagnosis,
    _primary_email,
)
from provision.testing.write_rules import WriteRules


class TargetContract(WriteRules):
    """What every target must do. Give a ``target`` fixture: a connector to a fresh target.

    The objects it creates have names unique to each test, so a target that already holds
    objects (an administrator, say) works too.
    """

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
        user = self.update_name(target, ada.user_name, ids[ada.user_name], desired, name)
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
