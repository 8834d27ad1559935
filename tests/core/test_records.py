"""Reduce: what the engine keeps of each object a read yields (no server)."""

from __future__ import annotations

from scim2_models import Group, User

from provision import mapping
from provision.construct import build, members
from provision.contract import Kind, Role
from provision.records import Reducer, Snapshot


def reducer(errors: list[tuple[Kind, str, str]]) -> Reducer:
    return Reducer(
        Role.SOURCE,
        mapping.USER_ATTRIBUTES,
        mapping.GROUP_ATTRIBUTES,
        lambda kind, key, message: errors.append((kind, key, message)),
    )


def fresh(text: str) -> str:
    """An equal string that is another object, as two API responses give."""
    return "".join(list(text))


def test_a_groups_members_are_kept_once_each_in_order_sharing_the_users_strings() -> None:
    errors: list[tuple[Kind, str, str]] = []
    snapshot = Snapshot()
    take = reducer(errors).take
    take(build(User, external_id=fresh("sub-1"), user_name="ada"), snapshot)
    one, unknown = fresh("sub-1"), fresh("sub-9")
    assert one is not snapshot.users["sub-1"].key
    listed = members([unknown, one, "", one])
    take(build(Group, external_id="g", display_name="staff", members=listed), snapshot)
    kept = snapshot.groups["g"].members
    assert kept == ("sub-9", "sub-1")  # once each, none empty, in the order listed
    assert kept[1] is snapshot.users["sub-1"].key  # a pointer to the user's key, not a copy
    assert kept[0] is unknown  # a member no user was read for keeps its own string
    known = members([fresh("sub-1")])  # every member a user read before: the common case
    take(build(Group, external_id="h", display_name="ops", members=known), snapshot)
    assert snapshot.groups["h"].members[0] is snapshot.users["sub-1"].key
    assert errors == []


def test_a_group_read_before_its_users_keeps_its_members_as_listed() -> None:
    snapshot = Snapshot()
    take = reducer([]).take
    take(build(Group, external_id="g", display_name="staff", members=members(["u1"])), snapshot)
    take(build(User, external_id="u1", user_name="ada"), snapshot)
    assert snapshot.groups["g"].members == ("u1",)
