"""The engine's rules, run between in-memory connectors (no I/O but the state file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scim2_models import Email, Group, GroupMember, Name, User

from provision import Action, Kind, Outcome, hookimpl
from provision.engine import Plan
from provision.report import KEYS
from provision.state import State
from provision.testing import SAMPLE, MemoryConnector, Sample, SampleUser, sync

TEN = Sample(
    users=tuple(
        SampleUser(f"user{i}", f"Given{i}", f"Family{i}", f"user{i}@example.org") for i in range(10)
    ),
    groups={"staff": tuple(f"user{i}" for i in range(10)), "admins": ("user0", "user1")},
)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


def held_users(target: MemoryConnector) -> dict[str, dict[str, Any]]:
    return {u["userName"]: u for u in target.directory.users.values()}


def held_members(target: MemoryConnector, group: str) -> set[str]:
    ids = {u["id"]: u["userName"] for u in target.directory.users.values()}
    for g in target.directory.groups.values():
        if g["displayName"] == group:
            return {ids.get(m["value"], m["value"]) for m in g.get("members") or ()}
    raise KeyError(group)


def test_first_run_creates_users_groups_and_memberships(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    report = sync(source, target, state)
    assert report.status == "succeeded"
    assert report.users == {
        "read": 10,
        "created": 10,
        "updated": 0,
        "deactivated": 0,
        "deleted": 0,
        "unchanged": 0,
        "failed": 0,
    }
    assert report.groups["created"] == 2
    assert report.memberships["added"] == 12
    assert held_members(target, "admins") == {"user0", "user1"}
    assert all(u["externalId"] == f"key-{name}" for name, u in held_users(target).items())


def test_second_run_without_source_change_writes_nothing(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    target.writes.clear()
    report = sync(source, target, state)
    assert report.writes == 0
    assert target.writes == []
    assert report.users["unchanged"] == 10
    assert report.memberships["unchanged"] == 12


def test_changes_are_applied_in_dependency_order(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.remove("key-user9")
    source.directory.users["key-user8"]["nickName"] = "eight"
    source.add(SampleUser("new", "New", "User", "new@example.org").to_scim("key-new"))
    source.directory.groups["admins"]["members"].append({"value": "key-new"})
    source.add(Group(external_id="ops", display_name="ops", members=[GroupMember(value="key-new")]))
    target.writes.clear()
    sync(source, target, state, max_delete_percent=100)

    def phase(kind: str, action: str) -> int:
        if action in ("deactivate", "delete"):
            return 3
        return ["user", "group", "membership"].index(kind)

    phases = [phase(c.kind.value, c.action.value) for c in target.writes]
    assert phases == sorted(phases)
    assert set(phases) == {0, 1, 2, 3}


def test_an_update_patches_only_the_changed_attributes(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.directory.users["key-user3"]["name"]["givenName"] = "Changed"
    source.directory.users["key-user3"]["emails"] = [
        {"value": "changed@example.org", "type": "work", "primary": True}
    ]
    target.writes.clear()
    report = sync(source, target, state)
    assert report.users["updated"] == 1
    (change,) = target.writes
    assert change.action is Action.UPDATE
    assert change.patch is not None
    replaced = sorted(op.path for op in change.patch.operations if op.op == "replace")
    assert replaced == ["emails", "name"]
    removed = {op.path for op in change.patch.operations if op.op == "remove"}
    assert removed <= {
        "name.formatted",
        "name.middleName",
        "name.honorificPrefix",
        "name.honorificSuffix",
    }  # sub-attributes the source does not have
    assert held_users(target)["user3"]["name"]["givenName"] == "Changed"


def test_attribute_order_and_empty_values_are_not_changes(state: Path) -> None:
    source = MemoryConnector()
    source.add(
        User(
            external_id="k",
            user_name="k",
            emails=[
                Email(value="a@example.org", type="work", primary=True),
                Email(value="b@example.org"),
            ],
        )
    )
    target = MemoryConnector()
    sync(source, target, state)
    (held,) = target.directory.users.values()
    held["emails"].reverse()
    held["nickName"] = ""
    held["title"] = None
    target.writes.clear()
    assert sync(source, target, state).writes == 0


def test_a_user_gone_from_the_source_is_deactivated(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.remove("key-user4")
    report = sync(source, target, state)
    assert report.users["deactivated"] == 1
    assert held_users(target)["user4"]["active"] is False
    assert "user4" not in held_members(target, "staff")
    assert report.memberships["removed"] == 1
    assert sync(source, target, state).writes == 0  # an inactive user stays as it is


def test_on_delete_delete_removes_users_and_groups(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.remove("key-user4")
    source.remove("admins")
    report = sync(
        source,
        target,
        state,
        on_delete="delete",
        max_delete_percent=100,
        max_group_delete_percent=100,
    )
    assert (report.users["deleted"], report.groups["deleted"]) == (1, 1)
    assert "user4" not in held_users(target)
    assert {g["displayName"] for g in target.directory.groups.values()} == {"staff"}
    with State(state) as s:
        assert "key-user4" not in s.links("source->target", "user")


def test_on_delete_ignore_leaves_the_target_alone(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.remove("key-user4")
    report = sync(source, target, state, on_delete="ignore")
    assert report.users["deactivated"] == report.users["deleted"] == 0
    assert held_users(target)["user4"]["active"] is True


def test_unmanaged_target_users_are_never_modified_or_deleted(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    hand = target.add(User(user_name="handmade", emails=[Email(value="h@example.org")]))
    foreign = target.add(User(user_name="foreign", external_id="key-elsewhere"))
    sync(source, target, state)
    staff = next(g for g in target.directory.groups.values() if g["displayName"] == "staff")
    staff["members"].append({"value": hand})  # added by hand to a synced group
    before = {k: dict(v) for k, v in target.directory.users.items() if k in (hand, foreign)}
    source.remove("key-user0")
    target.writes.clear()
    sync(source, target, state)
    assert {k: target.directory.users[k] for k in (hand, foreign)} == before
    assert all(c.target_id not in (hand, foreign) for c in target.writes)
    assert hand in {m["value"] for m in staff["members"]}  # unmanaged member kept


def test_unmanaged_groups_keep_their_members(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    user0 = next(k for k, u in target.directory.users.items() if u["userName"] == "user0")
    target.add(Group(display_name="by-hand", members=[GroupMember(value=user0)]))
    source.directory.groups["admins"]["members"] = []
    sync(source, target, state)
    assert held_members(target, "by-hand") == {"user0"}
    assert held_members(target, "admins") == set()


def test_existing_target_objects_are_adopted_by_external_id_then_user_name(state: Path) -> None:
    source = MemoryConnector.holding(SAMPLE)
    target = MemoryConnector()
    by_ext = target.add(User(user_name="ada-old-name", external_id="key-ada"))
    by_name = target.add(SampleUser("grace", "Grace", "Hopper", "grace@example.org").to_scim())
    target.add(Group(display_name="ENGINEERS"))  # names match case-insensitively
    report = sync(source, target, state)
    assert report.users["created"] == 1  # linus only
    assert report.groups["created"] == 2
    assert target.directory.users[by_ext]["userName"] == "ada"
    assert target.directory.users[by_name]["externalId"] == "key-grace"
    assert held_members(target, "engineers") == {"ada", "grace"}  # renamed as the source has it
    with State(state) as s:
        links = s.links("source->target", "user")
    assert links["key-ada"] == by_ext
    assert links["key-grace"] == by_name


def test_adoption_by_user_name_can_be_turned_off(state: Path) -> None:
    source = MemoryConnector.holding(SAMPLE)
    target = MemoryConnector()
    target.add(SampleUser("grace", "Grace", "Hopper", "grace@example.org").to_scim())
    report = sync(source, target, state, match_users_by="none")
    assert report.users["failed"] == 1  # the create would collide with the unmanaged user
    (error,) = [e for e in report.errors if e.kind == "user"]
    assert error.key == "key-grace"
    assert "held by target user 'grace'" in error.message
    assert "does not own" in error.message
    assert report.status == "partial"


def test_a_recreated_user_takes_over_its_old_target_user_when_asked(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    old = next(k for k, u in target.directory.users.items() if u["userName"] == "user2")
    source.remove("key-user2")
    source.add(SampleUser("user2", "Given2", "Family2", "user2@example.org").to_scim("key-NEW"))
    source.directory.groups["staff"]["members"].append({"value": "key-NEW"})
    report = sync(source, target, state, adopt_leavers=True)
    assert report.users["deactivated"] == report.users["created"] == 0
    assert len(target.directory.users) == 10
    assert target.directory.users[old]["externalId"] == "key-NEW"
    assert "user2" in held_members(target, "staff")
    with State(state) as s:
        links = s.links("source->target", "user")
    assert links["key-NEW"] == old
    assert "key-user2" not in links


def test_a_user_deleted_by_hand_in_the_target_is_recreated(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    gone = next(k for k, u in target.directory.users.items() if u["userName"] == "user5")
    del target.directory.users[gone]
    report = sync(source, target, state)
    assert report.users["created"] == 1
    assert "user5" in held_users(target)
    assert "user5" in held_members(target, "staff")


def test_two_source_users_with_one_name_fail_without_stopping_others(state: Path) -> None:
    source = MemoryConnector.holding(TEN)
    source.add(SampleUser("USER1", "Dup", "Dup", "dup@example.org").to_scim("key-dup"))
    target = MemoryConnector()
    report = sync(source, target, state)
    assert report.status == "partial"
    assert report.users["created"] == 9  # neither is created: which one is meant is not ours
    users = [e for e in report.errors if e.kind == "user"]
    assert sorted(e.key for e in users) == ["key-dup", "key-user1"]
    assert all("also the name of another source user" in e.message for e in users)
    memberships = {e.key for e in report.errors if e.kind == "membership"}
    assert memberships == {"staff", "admins"}  # user1's memberships wait for it, and say so


def test_a_failed_object_does_not_stop_the_others(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    target.fail_keys = {"key-user3", "admins"}
    report = sync(source, target, state)
    assert report.status == "partial"
    assert report.users["created"] == 9
    assert report.users["failed"] == 1
    assert report.groups["created"] == 1
    assert report.groups["failed"] == 1
    assert {(e.kind, e.key) for e in report.errors} >= {("user", "key-user3"), ("group", "admins")}
    assert held_members(target, "staff") == {f"user{i}" for i in range(10)} - {"user3"}
    assert report.exit_code == 3
    target.fail_keys = set()
    again = sync(source, target, state)
    assert again.status == "succeeded"
    assert (again.users["created"], again.groups["created"]) == (1, 1)
    assert held_members(target, "staff") == {f"user{i}" for i in range(10)}


def test_a_source_read_failure_writes_nothing(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.fail_read_after = 4
    target.writes.clear()
    report = sync(source, target, state)
    assert report.status == "aborted"
    assert "reading the source 'source' failed" in report.reason
    assert "broke after 4 objects" in report.reason
    assert target.writes == []
    assert report.exit_code == 1


def test_a_target_read_failure_writes_nothing(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.directory.users["key-user0"]["title"] = "changed"
    target.fail_read_after = 3
    target.writes.clear()
    report = sync(source, target, state)
    assert report.status == "aborted"
    assert "reading the target" in report.reason
    assert target.writes == []


def test_unreadable_source_objects_are_reported_and_their_targets_kept(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.directory.users["key-user6"]["emails"] = [{"value": "not an email"}]
    report = sync(source, target, state)
    assert report.users["deactivated"] == 0
    assert held_users(target)["user6"]["active"] is True
    assert "user6" in held_members(target, "staff")
    (error,) = [e for e in report.errors if e.kind == "user"]
    assert (error.key, error.action) == ("key-user6", "read")
    assert "not valid SCIM" in error.message


@pytest.mark.parametrize(
    ("settings", "removed", "trips"),
    [
        ({"max_deletes": 2, "max_delete_percent": 100}, 3, True),
        ({"max_deletes": 3, "max_delete_percent": 100}, 3, False),
        ({"max_deletes": 50, "max_delete_percent": 20}, 3, True),  # 3 of 12 synced objects
        ({"max_deletes": 50, "max_delete_percent": 30}, 3, False),
    ],
)
def test_the_deletion_guard_stops_before_writing(
    state: Path, settings: dict[str, Any], removed: int, trips: bool
) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    for i in range(removed):
        source.remove(f"key-user{i + 5}")
    target.writes.clear()
    report = sync(source, target, state, **settings)
    if trips:
        assert report.status == "aborted"
        assert "--allow-deletes" in report.reason
        assert target.writes == []
    else:
        assert report.status == "succeeded"
        assert report.users["deactivated"] == removed


def test_allow_deletes_lets_a_guarded_run_through(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    for i in range(10):  # an emptied pool
        source.remove(f"key-user{i}")
    assert sync(source, target, state).status == "aborted"
    report = sync(source, target, state, allow_deletes=True)
    assert report.status == "succeeded"
    assert report.users["deactivated"] == 10


def test_a_dry_run_writes_nothing_and_counts_what_it_would_do(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    report = sync(source, target, state, dry_run=True)
    assert report.dry_run is True
    assert report.planned["users"]["create"] == 10
    assert report.planned["memberships"]["add"] == 12
    assert report.users["created"] == report.memberships["added"] == 0  # counts are facts
    assert target.writes == []
    with State(state) as s:
        assert s.links("source->target", "user") == {}
        assert [r.dry_run for r in s.runs()] == [True]


def test_links_of_a_run_that_died_halfway_prevent_duplicates(state: Path) -> None:
    class Dies(MemoryConnector):
        @hookimpl
        def provision_write(self, changes: Any) -> Any:
            for n, change in enumerate(changes):
                if n == 4:
                    raise ConnectionError("the target went away")
                yield self.directory.apply(change)

    source, target = MemoryConnector.holding(TEN), Dies()
    report = sync(source, target, state)
    assert report.status == "failed"
    assert "the target went away" in report.reason
    assert report.users["created"] == 4
    assert report.users["failed"] == 6
    healthy = MemoryConnector()
    healthy.directory = target.directory
    again = sync(source, healthy, state)
    assert again.status == "succeeded"
    assert again.users["created"] == 6
    assert len(healthy.directory.users) == 10


def test_an_object_created_but_not_linked_is_adopted_not_duplicated(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    state.unlink()  # the state was lost: links are gone, externalIds remain
    report = sync(source, target, state)
    assert report.users["created"] == 0
    assert report.writes == 0
    assert len(target.directory.users) == 10


def test_members_the_source_does_not_return_are_reported(state: Path) -> None:
    source = MemoryConnector.holding(TEN)
    source.directory.groups["admins"]["members"].append({"value": "key-ghost"})
    report = sync(source, MemoryConnector(), state)
    (error,) = report.errors
    assert (error.kind, error.key) == ("membership", "admins")
    assert "did not return as users" in error.message
    assert report.memberships["failed"] == 1


def test_a_missing_outcome_is_a_failure_of_that_change(state: Path) -> None:
    class Forgetful(MemoryConnector):
        @hookimpl
        def provision_write(self, changes: Any) -> Any:
            for change in changes:
                outcome = self.directory.apply(change)
                if change.key != "key-user1":
                    yield outcome

    report = sync(MemoryConnector.holding(TEN), Forgetful(), state)
    failed = {e.key: e.message for e in report.errors}
    assert "returned no outcome" in failed["key-user1"]


def test_a_create_without_target_id_is_a_failure(state: Path) -> None:
    class NoIds(MemoryConnector):
        @hookimpl
        def provision_write(self, changes: Any) -> Any:
            for change in changes:
                self.directory.apply(change)
                yield Outcome(change, True)

    report = sync(MemoryConnector.holding(SAMPLE), NoIds(), state)
    assert report.users["failed"] == 3
    assert "no id" in report.errors[0].message


def test_the_plan_lists_every_change_before_writing(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    sync(source, target, state)
    source.remove("key-user9")
    source.directory.users["key-user0"]["title"] = "Boss"
    seen: list[Plan] = []
    from provision.engine import run
    from provision.plugins import Endpoint
    from provision.settings import SyncSettings

    with State(state) as s:
        run(
            Endpoint.wrap(source, "source"),
            Endpoint.wrap(target, "target"),
            SyncSettings(),
            s,
            dry_run=True,
            on_plan=seen.append,
        )
    (plan,) = seen
    described = [p.describe() for p in plan.changes()]
    assert "update user user0 (title)" in described
    assert "deactivate user user9 [gone from source]" in described
    assert any(d.startswith("members of group staff: -1") for d in described)
    assert plan.deletions == 1
    assert [p.kind for p in plan.removals] == [Kind.USER]


def test_group_attributes_and_user_attributes_are_configurable(state: Path) -> None:
    source, target = MemoryConnector.holding(SAMPLE), MemoryConnector()
    sync(source, target, state, user_attributes=["userName", "active"])
    held = held_users(target)["ada"]
    assert "emails" not in held
    assert "name" not in held
    source.directory.users["key-ada"]["name"] = {"givenName": "Other"}
    assert sync(source, target, state, user_attributes=["userName", "active"]).writes == 0


def test_report_has_every_documented_key(state: Path) -> None:
    report = sync(MemoryConnector.holding(SAMPLE), MemoryConnector(), state).as_dict()
    assert tuple(report) == KEYS
    assert report["mode"] == "full"
    assert set(report["users"]) == {
        "read",
        "created",
        "updated",
        "deactivated",
        "deleted",
        "unchanged",
        "failed",
    }
    assert set(report["groups"]) == {"read", "created", "updated", "deleted", "unchanged", "failed"}
    assert set(report["memberships"]) == {"read", "added", "removed", "unchanged", "failed"}
    assert report["requests"]["target"]["create_user"] == 3
    assert report["throttled"] == {"source": 0, "target": 0}


def test_a_sub_attribute_removed_at_the_source_is_removed_from_the_target(state: Path) -> None:
    source, target = MemoryConnector.holding(SAMPLE), MemoryConnector()
    source.directory.users["key-ada"]["name"]["middleName"] = "King"
    sync(source, target, state)
    assert held_users(target)["ada"]["name"]["middleName"] == "King"
    del source.directory.users["key-ada"]["name"]["middleName"]
    assert sync(source, target, state).users["updated"] == 1
    assert "middleName" not in held_users(target)["ada"]["name"]
    assert sync(source, target, state).writes == 0


def test_a_change_the_target_refuses_fails_alone(state: Path) -> None:
    source, target = MemoryConnector.holding(SAMPLE), MemoryConnector()
    sync(source, target, state)
    source.directory.users["key-ada"]["emails"] = [
        {"value": "a1@example.org", "primary": True},
        {"value": "a2@example.org", "primary": True},
    ]  # two primary emails: the SCIM model refuses the patch
    source.directory.users["key-grace"]["title"] = "Rear Admiral"
    report = sync(source, target, state)
    assert report.status == "partial"
    assert report.users["updated"] == 1
    (error,) = report.errors
    assert error.key == "key-ada"
    assert held_users(target)["grace"]["title"] == "Rear Admiral"


def test_names_with_quotes_and_unicode_sync_like_any_other(state: Path) -> None:
    source = MemoryConnector()
    for i, name in enumerate(['x" or userName pr or "', "back\\slash", "שלום", "🙂 emoji"]):
        source.add(User(external_id=f"k{i}", user_name=name, name=Name(family_name=name * 3)))
    target = MemoryConnector()
    assert sync(source, target, state).users["created"] == 4
    assert sync(source, target, state).writes == 0


def test_request_stats_come_from_the_optional_provision_request_stats_hook(state: Path) -> None:
    class Silent:
        """A target without provision_request_stats."""

        roles = MemoryConnector.roles
        Settings = MemoryConnector.Settings

        def __init__(self) -> None:
            self.inner = MemoryConnector()

        @hookimpl
        def provision_test(self) -> Any:
            return self.inner.provision_test()

        @hookimpl
        def provision_full_read(self, role: Any) -> Any:
            return self.inner.provision_full_read(role)

        @hookimpl
        def provision_write(self, changes: Any) -> Any:
            return self.inner.provision_write(changes)

    source = MemoryConnector.holding(SAMPLE)
    report = sync(source, Silent(), state)
    assert report.status == "succeeded"
    assert report.requests == {"source": {"read": 1}}
    assert "target" not in report.throttled


def test_a_target_that_fills_defaults_normalizes_them_so_a_rerun_writes_nothing(
    state: Path,
) -> None:
    class Defaults(MemoryConnector):
        """Stores a family name for everyone, as OCI requires."""

        @hookimpl
        def provision_normalize(self, kind: Kind, attributes: dict[str, Any]) -> dict[str, Any]:
            if kind is Kind.USER:
                name = attributes.setdefault("name", {})
                name.setdefault("familyName", attributes["userName"])
            return attributes

    source = MemoryConnector()
    source.add(User(external_id="k1", user_name="cher"))  # no name at all
    source.add(User(external_id="k2", user_name="ada", name=Name(family_name="Lovelace")))
    target = Defaults()
    first = sync(source, target, state)
    assert first.users["created"] == 2
    assert held_users(target)["cher"]["name"] == {"familyName": "cher"}
    assert held_users(target)["ada"]["name"] == {"familyName": "Lovelace"}
    target.writes.clear()
    assert sync(source, target, state).writes == 0
    assert target.writes == []


def test_the_target_is_read_while_the_source_is(state: Path) -> None:
    import threading

    started = threading.Event()

    class SlowSource(MemoryConnector):
        @hookimpl
        def provision_full_read(self, role: Any) -> Any:
            # A rate-limited source: it waits, and meanwhile the target's read goes on.
            assert started.wait(timeout=10), "the target was not read during the source's read"
            yield from self.directory.read(role)

    class Target(MemoryConnector):
        @hookimpl
        def provision_full_read(self, role: Any) -> Any:
            started.set()
            yield from self.directory.read(role)

    report = sync(SlowSource.holding(TEN), Target(), state)
    assert report.status == "succeeded", report.reason
    assert report.users["created"] == 10


def test_a_failed_target_read_cuts_the_source_read_short(state: Path) -> None:
    class Endless(MemoryConnector):
        pulled = 0

        @hookimpl
        def provision_full_read(self, role: Any) -> Any:
            import itertools

            for i in itertools.count():  # a pool far too big to read for nothing
                Endless.pulled += 1
                yield User(external_id=f"k{i}", user_name=f"u{i}")

    target = MemoryConnector.holding(TEN)
    target.fail_read_after = 0
    report = sync(Endless(), target, state)
    assert report.status == "aborted"
    assert "reading the target" in report.reason
    assert target.writes == []
    assert Endless.pulled < 10_000_000


def test_an_owner_unreadable_in_the_source_keeps_its_target_object(state: Path) -> None:
    source, target = MemoryConnector.holding(SAMPLE), MemoryConnector()
    sync(source, target, state)
    source.directory.users["key-ada"]["emails"] = [{"value": "broken"}]  # unreadable, not gone
    source.add(SampleUser("ADA", "Mallory", "New", "mallory@example.org").to_scim("key-new"))
    report = sync(source, target, state)
    assert held_users(target)["ada"]["externalId"] == "key-ada"  # not taken over
    assert held_users(target)["ada"]["name"]["givenName"] == "Ada"
    assert {e.key for e in report.errors} == {"key-ada", "key-new"}
    with State(state) as s:
        assert "key-ada" in s.links("source->target", "user")


def test_deactivated_users_stay_deactivated_when_active_is_not_compared(state: Path) -> None:
    source, target = MemoryConnector.holding(TEN), MemoryConnector()
    attributes = ["userName", "name", "emails"]
    sync(source, target, state, user_attributes=attributes)
    for i in range(3):
        source.remove(f"key-user{i}")
    assert (
        sync(source, target, state, user_attributes=attributes, allow_deletes=True).users[
            "deactivated"
        ]
        == 3
    )
    again = sync(source, target, state, user_attributes=attributes)
    assert again.status == "succeeded", again.reason  # no guard tripping on old deactivations
    assert again.writes == 0


def test_phases_after_a_failure_are_reported_not_attempted(state: Path) -> None:
    class Breaks(MemoryConnector):
        @hookimpl
        def provision_write(self, changes: Any) -> Any:
            next(iter(changes))
            raise ConnectionError("gone")
            yield  # a generator, like any streaming target

    report = sync(MemoryConnector.holding(SAMPLE), Breaks(), state)
    assert report.status == "failed"
    assert report.writes == 0  # nothing was written, and the report says so
    assert report.groups["failed"] == 3
    assert report.memberships["failed"] == 3
    assert any("not attempted" in e.message for e in report.errors)


def test_a_crash_while_planning_is_recorded_as_failed(state: Path) -> None:
    from provision.engine import run
    from provision.plugins import Endpoint
    from provision.settings import SyncSettings

    def explode(plan: Plan) -> None:
        raise RuntimeError("boom")

    with State(state) as s:
        with pytest.raises(RuntimeError):
            run(
                Endpoint.wrap(MemoryConnector.holding(SAMPLE), "source"),
                Endpoint.wrap(MemoryConnector(), "target"),
                SyncSettings(),
                s,
                on_plan=explode,
            )
        (row,) = s.runs()
    assert row.status == "failed"
    assert "boom" in row.report["reason"]


def test_an_unreadable_target_object_keeps_its_link(state: Path) -> None:
    source, target = MemoryConnector.holding(SAMPLE), MemoryConnector()
    sync(source, target, state)
    tid = next(k for k, u in target.directory.users.items() if u["userName"] == "ada")
    target.directory.users[tid]["emails"] = [{"value": "broken"}]
    source.remove("key-ada")
    report = sync(source, target, state)
    assert [e.key for e in report.errors] == [tid]
    with State(state) as s:
        assert s.links("source->target", "user")["key-ada"] == tid  # still owned
    target.directory.users[tid]["emails"] = [{"value": "ada@example.org"}]
    assert sync(source, target, state, max_delete_percent=100).users["deactivated"] == 1
