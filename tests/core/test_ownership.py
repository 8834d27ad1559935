"""Ownership that cannot fail open: each finding of the ownership issue, as a rule.

Run between in-memory connectors through `provision.testing.sync` (the real engine, a real
state file). The CLI and the OCI emulator cover the same rules end to end in tests/e2e.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scim2_models import Group, GroupMember

from provision import Kind, hookimpl
from provision.state import State
from provision.testing import MemoryConnector, Sample, SampleUser, sync

PAIR = "source->target"


def people(n: int, prefix: str = "user") -> tuple[SampleUser, ...]:
    return tuple(
        SampleUser(f"{prefix}{i}", f"Given{i}", f"Family{i}", f"{prefix}{i}@example.org")
        for i in range(n)
    )


TEN = Sample(users=people(10), groups={"staff": tuple(f"user{i}" for i in range(10))})


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def by_name(target: MemoryConnector) -> dict[str, dict[str, Any]]:
    return {u["userName"]: u for u in target.directory.users.values()}


def members(target: MemoryConnector, group: str) -> set[str]:
    names = {u["id"]: u["userName"] for u in target.directory.users.values()}
    (g,) = [g for g in target.directory.groups.values() if g["displayName"] == group]
    return {names.get(m["value"], m["value"]) for m in g.get("members") or ()}


def links(state: Path, kind: str = "user") -> dict[str, str]:
    with State(state) as s:
        return s.links(PAIR, kind)


# 1. Deprovisioning does not depend on the link table alone.
def test_after_a_lost_state_every_leaver_is_reported_as_unmatched(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    state.unlink()  # the state file is lost ...
    source.remove("key-user3")  # ... and meanwhile a user left
    report = sync(source, target, state)
    assert report.status == "succeeded", report.errors
    assert [u["external_id"] for u in report.unmatched] == ["key-user3"]
    assert report.unmatched[0]["name"] == "user3"
    assert by_name(target)["user3"]["active"] is True  # reported, by default not touched
    assert len(links(state)) == 9  # the others relinked by externalId


def test_unmatched_deactivate_deprovisions_leavers_found_without_a_link(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    with State(state) as s:
        s.unlink_many(PAIR, "user", ["key-user3"])  # one link dropped
    source.remove("key-user3")
    report = sync(source, target, state, unmatched="deactivate")
    assert report.users["deactivated"] == 1
    assert by_name(target)["user3"]["active"] is False
    assert report.situations["users"]["unmatched"] == 1


def test_unmatched_deactivations_are_held_by_the_guard(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    state.unlink()
    for i in range(5):
        source.remove(f"key-user{i}")
    report = sync(source, target, state, unmatched="deactivate")
    assert report.status == "aborted"
    assert "max_delete_percent" in report.reason
    assert all(u["active"] for u in by_name(target).values())


def test_unmatched_lists_only_objects_shaped_like_the_source_keys(state: Path) -> None:
    class Keyed(MemoryConnector):
        from provision import Capabilities

        capabilities = Capabilities(user_key_pattern=r"key-.*")

    source, target = Keyed.holding(TEN), MemoryConnector()
    sync(source, target, state)
    state.unlink()
    other = SampleUser("payroll", "Pay", "Roll", "payroll@example.org").to_scim("HR-0042")
    target.add(other)  # another sync's user
    source.remove("key-user3")
    report = sync(source, target, state)
    assert [u["external_id"] for u in report.unmatched] == ["key-user3"]


# 2. A link is never dropped on absence alone.
class Misses(MemoryConnector):
    """A target whose paged read missed some objects (another administrator at work)."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: set[str] = set()
        self.lookups: list[list[str]] = []
        self.lookup_fails = False

    @hookimpl
    def provision_full_read(self, role: Any) -> Any:
        for obj in self.directory.read(role):
            if obj.id not in self.hidden:  # type: ignore[union-attr]
                yield obj

    @hookimpl
    def provision_lookup(self, kind: Kind, ids: list[str]) -> Any:
        self.lookups.append(list(ids))
        if self.lookup_fails:
            raise ConnectionError("the domain did not answer")
        wanted = set(ids)
        for obj in self.directory.read(Role.TARGET):
            if obj.id in wanted:  # type: ignore[union-attr]
                yield obj


from provision import Role  # noqa: E402


def test_a_linked_user_the_read_missed_is_looked_up_and_deprovisioned(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), Misses()
    sync(source, target, state)
    tid = links(state)["key-user3"]
    target.hidden = {tid}
    source.remove("key-user3")  # it left, and the read missed its target user
    report = sync(source, target, state)
    assert target.lookups == [[tid]]
    assert report.users["deactivated"] == 1
    assert target.directory.users[tid]["active"] is False
    assert links(state)["key-user3"] == tid


def test_an_unconfirmed_absence_keeps_the_link_and_says_so(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), Misses()
    sync(source, target, state)
    tid = links(state)["key-user3"]
    target.hidden, target.lookup_fails = {tid}, True
    report = sync(source, target, state)
    assert links(state)["key-user3"] == tid  # not unlinked, not re-created
    assert report.users["created"] == 0
    assert any("could not be looked up" in w.message for w in report.warnings)
    assert report.situations["users"]["target unconfirmed"] == 1
    assert members(target, "staff") == {f"user{i}" for i in range(10)}  # memberships too


def test_an_object_confirmed_gone_is_unlinked_and_recreated(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), Misses()
    sync(source, target, state)
    tid = links(state)["key-user3"]
    del target.directory.users[tid]  # deleted by hand
    report = sync(source, target, state)
    assert target.lookups == [[tid]]
    assert report.users["created"] == 1
    assert links(state)["key-user3"] != tid


# 3. Guards count what is live.
def test_an_empty_source_read_after_200_leavers_stops_at_the_default_guard(state: Path) -> None:
    everyone = Sample(users=people(240), groups={"all": tuple(f"user{i}" for i in range(240))})
    source, target = MemoryConnector.holding(everyone), MemoryConnector()
    sync(source, target, state)
    for i in range(40, 240):  # 200 people left over time, deactivated in small batches
        source.remove(f"key-user{i}")
        if i % 40 == 39:
            assert sync(source, target, state, allow_deletes=True).status == "succeeded"
    assert sum(u["active"] for u in target.directory.users.values()) == 40
    empty = MemoryConnector()  # a wrong pool id, a filter naming an empty group
    report = sync(empty, target, state)
    assert report.status == "aborted"
    assert "40 live" in report.reason
    assert sum(u["active"] for u in target.directory.users.values()) == 40
    assert len(target.directory.groups) == 1


def test_groups_have_a_guard_of_their_own(state: Path) -> None:
    sample = Sample(users=people(2), groups={f"g{i}": ("user0",) for i in range(10)})
    source, target = MemoryConnector.holding(sample), MemoryConnector()
    sync(source, target, state)
    for i in range(3):
        source.remove(f"g{i}")
    report = sync(source, target, state)
    assert report.status == "aborted"
    assert "groups to delete: 3" in report.reason
    assert "max_group_delete_percent" in report.reason
    assert len(target.directory.groups) == 10


def test_a_group_read_back_empty_stops_at_the_membership_guard(state: Path) -> None:
    sample = Sample(users=people(30), groups={"big": tuple(f"user{i}" for i in range(30))})
    source, target = MemoryConnector.holding(sample), MemoryConnector()
    sync(source, target, state)
    source.directory.groups["big"]["members"] = None
    report = sync(source, target, state)
    assert report.status == "aborted"
    assert "members to remove from group 'big': 30" in report.reason
    assert len(members(target, "big")) == 30


def test_a_guard_stopped_run_reports_planned_changes_not_done_ones(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    for i in range(5):
        source.remove(f"key-user{i}")
    report = sync(source, target, state)
    assert report.status == "aborted"
    assert report.users["deactivated"] == 0
    assert report.planned["users"]["deactivate"] == 5
    with State(state) as s:
        assert s.runs()[0].report["users"]["deactivated"] == 0


# 4. No takeover.
def test_name_matching_never_adopts_an_account_of_another_live_source_user(
    state: Path,
) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    state.unlink()  # no state: only externalIds and names are left to match on
    # user3 was renamed (a new address), and a new hire got user3's old address.
    colleague = next(k for k, u in target.directory.users.items() if u["userName"] == "user3")
    source.directory.users["key-user3"]["userName"] = "user3.renamed"
    source.add(SampleUser("user3", "New", "Hire", "new@example.org").to_scim("key-hire"))
    report = sync(source, target, state)
    assert report.status == "succeeded", report.errors
    held = by_name(target)
    assert held["user3.renamed"]["id"] == colleague  # the colleague kept their account
    assert held["user3.renamed"]["externalId"] == "key-user3"
    assert held["user3"]["id"] != colleague  # the hire got a new one, once the name was free
    assert held["user3"]["externalId"] == "key-hire"


def test_a_new_user_never_takes_an_account_whose_externalid_names_a_live_user(
    state: Path,
) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    state.unlink()
    account = next(k for k, u in target.directory.users.items() if u["userName"] == "user1")
    target.directory.users[account]["externalId"] = "key-user2"  # edited by hand
    source.remove("key-user1")
    source.add(SampleUser("user1", "New", "Hire", "new@example.org").to_scim("key-NEW"))
    report = sync(source, target, state)
    assert target.directory.users[account]["externalId"] == "key-user2"  # not taken over
    assert any(e.key == "key-NEW" and "never taken over" in e.message for e in report.errors)


def test_a_leavers_account_goes_to_no_new_user_unless_asked(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    target.add(Group(display_name="vpn-admins"))  # granted by hand, outside the sync
    sync(source, target, state)
    old = next(k for k, u in target.directory.users.items() if u["userName"] == "user1")
    (vpn,) = [g for g in target.directory.groups.values() if g["displayName"] == "vpn-admins"]
    vpn["members"] = [{"value": old, "type": "User"}]
    source.remove("key-user1")
    assert sync(source, target, state).users["deactivated"] == 1
    source.add(SampleUser("user1", "New", "Hire", "new@example.org").to_scim("key-NEW"))
    report = sync(source, target, state)
    assert report.status == "succeeded", report.errors
    held = by_name(target)
    assert held["user1"]["id"] != old  # a new account, without the leaver's grants
    assert target.directory.users[old]["active"] is False
    assert target.directory.users[old]["userName"].startswith("user1.left-")
    assert target.directory.users[old]["externalId"] == "key-user1"


# 5. Names converge.
def test_a_user_taking_a_leavers_name_frees_it_and_converges(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.remove("key-user1")  # user1 leaves: deactivated, keeps its name
    assert sync(source, target, state).users["deactivated"] == 1
    source.directory.users["key-user2"]["userName"] = "user1"  # user2 takes that address
    source.directory.users["key-user2"]["title"] = "Lead"
    report = sync(source, target, state)
    assert report.status == "succeeded", report.errors
    held = by_name(target)
    assert held["user1"]["externalId"] == "key-user2"
    assert held["user1"]["title"] == "Lead"
    leaver = [u for u in held.values() if u["externalId"] == "key-user1"]
    assert leaver[0]["userName"].startswith("user1.left-")
    assert leaver[0]["active"] is False
    assert sync(source, target, state).writes == 0


def test_two_users_who_swap_names_converge_in_one_run(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    users = source.directory.users
    users["key-user4"]["userName"], users["key-user5"]["userName"] = "user5", "user4"
    report = sync(source, target, state)
    assert report.status == "succeeded", report.errors
    assert report.users["updated"] == 2
    held = by_name(target)
    assert held["user4"]["externalId"] == "key-user5"
    assert held["user5"]["externalId"] == "key-user4"
    assert sync(source, target, state).writes == 0


def test_a_chain_of_renames_converges_in_one_run(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    users = source.directory.users
    users["key-user6"]["userName"] = "user6.new"
    users["key-user7"]["userName"] = "user6"
    users["key-user8"]["userName"] = "user7"
    report = sync(source, target, state)
    assert report.status == "succeeded", report.errors
    held = by_name(target)
    assert [held[n]["externalId"] for n in ("user6.new", "user6", "user7")] == [
        "key-user6",
        "key-user7",
        "key-user8",
    ]


def test_a_blocked_rename_does_not_block_the_other_changes(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    target.add(SampleUser("taken", "Hand", "Made", "hand@example.org").to_scim())
    source.directory.users["key-user2"]["userName"] = "taken"
    source.directory.users["key-user2"]["title"] = "Lead"
    report = sync(source, target, state)
    assert report.status == "partial"
    (error,) = report.errors
    assert "held by target user 'taken'" in error.message
    assert by_name(target)["user2"]["title"] == "Lead"
    assert "externalId" not in by_name(target)["taken"]  # the hand-made user is untouched


def test_a_user_recreated_with_its_name_converges_without_name_matching(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state, match_users_by="none")
    source.remove("key-user2")
    source.add(SampleUser("user2", "Given2", "Family2", "user2@example.org").to_scim("key-NEW"))
    report = sync(source, target, state, match_users_by="none")
    assert report.status == "succeeded", report.errors
    assert by_name(target)["user2"]["externalId"] == "key-NEW"
    assert report.users["created"] == report.users["deactivated"] == 1


# 6. Names compare as the target compares them.
def test_unicode_names_compare_by_lower_case_not_casefold(state: Path) -> None:
    source = MemoryConnector()
    source.add(SampleUser("anna.straße", "Anna", "S", "anna@example.org").to_scim("key-anna"))
    target = MemoryConnector()
    target.add(SampleUser("anna.STRASSE", "Other", "Person", "other@example.org").to_scim())
    report = sync(source, target, state)
    assert report.status == "succeeded", report.errors
    held = by_name(target)
    assert held["anna.STRASSE"]["name"]["givenName"] == "Other"  # not adopted, not renamed
    assert held["anna.straße"]["externalId"] == "key-anna"


# 7. on_delete = "ignore" leaves gone users alone, memberships included.
def test_on_delete_ignore_keeps_the_memberships_of_gone_users(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state, on_delete="ignore")
    source.remove("key-user3")
    report = sync(source, target, state, on_delete="ignore")
    assert report.writes == 0
    assert "user3" in members(target, "staff")
    assert by_name(target)["user3"]["active"] is True


# 10. Narrowing the scope is counted by the guard.
def test_narrowing_the_group_scope_is_stopped_by_the_guard(state: Path) -> None:
    sample = Sample(users=people(4), groups={"a": ("user0", "user1"), "b": ("user2", "user3")})
    source, target = MemoryConnector.holding(sample), MemoryConnector()
    sync(source, target, state)
    # A source filtered to group "a" now reads only a and its members.
    source.remove("b")
    source.remove("key-user2")
    source.remove("key-user3")
    report = sync(source, target, state)
    assert report.status == "aborted"
    assert "users to deactivate or delete: 2" in report.reason
    assert "groups to delete: 1" in report.reason


def test_the_report_names_every_objects_situation(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.remove("key-user9")
    source.add(
        Group(external_id="new", display_name="new", members=[GroupMember(value="key-user0")])
    )
    report = sync(source, target, state, max_delete_percent=100)
    assert report.situations["users"] == {"linked": 9, "gone from source": 1}
    assert report.situations["groups"] == {"linked": 1, "missing": 1}


# Found by review: each failed open or crashed before its fix.
def test_a_mass_deactivation_through_the_sources_active_flag_is_guarded(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    for user in source.directory.users.values():
        user["active"] = False
    report = sync(source, target, state)
    assert report.status == "aborted"
    assert "10 made inactive in the source" in report.reason
    assert all(u["active"] for u in target.directory.users.values())


def test_an_object_linked_to_two_live_keys_is_left_alone(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    account = links(state)["key-user1"]
    with State(state) as s:  # a hand-edited or merged state file
        s.link_many(PAIR, "user", [("key-user2", account)])
    report = sync(source, target, state)
    assert target.directory.users[account]["active"] is True
    assert "user1" in members(target, "staff")
    assert {e.key for e in report.errors} >= {"key-user1", "key-user2"}


def test_a_chain_of_1500_renames_is_ordered_without_recursion() -> None:
    from provision import names

    wants = [
        names.Want(f"t{1500 - i:05d}", f"n{i - 1}", f"n{i - 1}", f"n{i}") for i in range(1, 1500)
    ]
    order = names.order(wants, {})
    assert order.blocked == {}
    assert sorted(order.waves.values()) == list(range(1499))


def test_an_object_read_once_readable_and_once_unreadable_is_left_alone(state: Path) -> None:
    from provision import Unreadable

    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)

    class Twice(MemoryConnector):
        @hookimpl
        def provision_full_read(self, role: Any) -> Any:
            yield from self.directory.read(role)
            yield Unreadable(Kind.USER, "key-user3", "user3 could not be read the second time")

    twice = Twice.holding(TEN)
    twice.directory.users["key-user3"]["title"] = "Changed"
    report = sync(twice, target, state)
    assert "title" not in by_name(target)["user3"]  # not updated from an untrusted read
    assert [e.key for e in report.errors] == ["key-user3"]


def test_an_unverified_source_user_never_adopts_an_account_by_name(state: Path) -> None:
    from provision import Unverified

    class SelfSignUp(MemoryConnector):
        """A pool where anyone signed up with the administrator's address, unconfirmed."""

        @hookimpl
        def provision_full_read(self, role: Any) -> Any:
            for obj in self.directory.read(role):
                yield Unverified(obj, "unconfirmed") if obj.external_id == "key-mallory" else obj

    target = MemoryConnector()
    admin = target.add(SampleUser("admin", "Break", "Glass", "admin@example.org").to_scim())
    source = SelfSignUp.holding(TEN)
    source.add(SampleUser("ADMIN", "Mallory", "M", "admin@example.org").to_scim("key-mallory"))
    report = sync(source, target, state)
    assert "externalId" not in target.directory.users[admin]  # the hand-made account is not taken
    assert target.directory.users[admin]["name"]["givenName"] == "Break"
    (error,) = [e for e in report.errors if e.key == "key-mallory"]
    assert "held by target user 'admin'" in error.message
    assert report.users["created"] == 10  # the verified users synced as usual
