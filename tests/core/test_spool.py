"""The spool: each side's projections on disk, read back by key (no server)."""

from __future__ import annotations

import json

from scim2_models import Group, User

from provision.contract import Kind
from provision.records import Spool


def test_what_is_put_comes_back_with_its_class_by_kind_and_key() -> None:
    spool = Spool()
    spool.put(Kind.USER, "k1", User, {"userName": "ada", "name": {"givenName": "Ada"}})
    spool.put(Kind.GROUP, "k1", Group, {"displayName": "staff"})
    assert spool.get(Kind.USER, "k1") == (User, {"userName": "ada", "name": {"givenName": "Ada"}})
    assert spool.get(Kind.GROUP, "k1") == (Group, {"displayName": "staff"})
    spool.close()


def test_the_last_put_wins_and_puts_after_gets_append() -> None:
    spool = Spool()
    for i in range(3000):  # more than the write buffer holds
        spool.put(Kind.USER, f"k{i}", User, {"userName": f"u{i}"})
    assert spool.get(Kind.USER, "k10")[1] == {"userName": "u10"}
    spool.put(Kind.USER, "k10", User, {"userName": "renamed"})  # after a read: appended
    spool.put(Kind.USER, "new", User, {"userName": "new"})
    assert spool.get(Kind.USER, "k10")[1] == {"userName": "renamed"}
    assert spool.get(Kind.USER, "new")[1] == {"userName": "new"}
    assert spool.get(Kind.USER, "k2999")[1] == {"userName": "u2999"}
    spool.close()


def test_a_lone_surrogate_survives_the_round_trip() -> None:
    title = json.loads('"caf\\ud800"')  # valid JSON, which orjson refuses to encode
    spool = Spool()
    spool.put(Kind.USER, "k", User, {"title": title})
    assert spool.get(Kind.USER, "k")[1] == {"title": title}
    spool.close()
