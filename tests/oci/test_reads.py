"""The OCI target's reads: a full read that loses nothing while others delete, and lookups by id.

Pages are made small (``PAGE``) so a handful of users spans several pages; the emulator's
``after_page`` makes another administrator act exactly between two page reads.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from scim2_models import Group, User

from provision import Kind
from provision_oci import OciTarget, connector
from provision_oci.client import OciError
from provision_oci.emulator import OciEmulator

from .conftest import target

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def add_user(domain: OciEmulator, name: str) -> str:
    answer = httpx.post(
        f"{domain.url}/admin/v1/Users",
        headers=domain.admin_headers(),
        json={
            "schemas": [USER],
            "userName": name,
            "emails": [{"value": f"{name}@example.org", "type": "work", "primary": True}],
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def add_group(domain: OciEmulator, name: str, members: list[str]) -> str:
    answer = httpx.post(
        f"{domain.url}/admin/v1/Groups",
        headers=domain.admin_headers(),
        json={
            "schemas": [GROUP],
            "displayName": name,
            "members": [{"value": m, "type": "User"} for m in members],
        },
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def delete_user(domain: OciEmulator, user_id: str) -> None:
    """What another administrator does: ``DELETE /Users/{id}?forceDelete=true``."""
    answer = httpx.delete(
        f"{domain.url}/admin/v1/Users/{user_id}",
        headers=domain.admin_headers(),
        params={"forceDelete": "true"},
    )
    assert answer.status_code == 204, answer.text


def seed(domain: OciEmulator, n: int) -> list[str]:
    """``n`` users; their ids in the order the sorted pages show them."""
    return sorted(add_user(domain, f"user{i:02}") for i in range(n))


def existing(domain: OciEmulator) -> set[str]:
    return {u["id"] for u in domain.users()}


def user_ids(read: list[Any]) -> list[str]:
    return [str(o.id) for o in read if isinstance(o, User)]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(connector, "PAGE", 3)
    return 3


def test_a_user_deleted_between_two_pages_loses_no_other_user(
    domain: OciEmulator, small_pages: int
) -> None:
    ids = seed(domain, 10)  # pages of 3: 1-3, 4-6, 7-9, 10
    gone = ids[1]
    domain.after_page("Users", 1, lambda: delete_user(domain, gone))
    oci = target(domain)

    read = user_ids(list(oci.provision_full_read(frozenset())))

    assert len(read) == len(set(read)), "a user was yielded twice"
    assert existing(domain) <= set(read)  # ids[3] slid onto page 1 and was read again
    assert set(read) - existing(domain) <= {gone}  # read while it still existed
    # the unsettled first read (4 pages), then one settled re-read of 9 users (3 pages)
    assert oci.client.stats.requests["GET Users"] == 4 + 3


def test_a_read_that_nothing_shifts_costs_one_request_per_page(
    domain: OciEmulator, small_pages: int
) -> None:
    ids = seed(domain, 10)
    oci = target(domain)

    read = user_ids(list(oci.provision_full_read(frozenset())))

    assert sorted(read) == ids
    assert oci.client.stats.requests["GET Users"] == 4  # ceil(10 / 3)


def test_a_read_that_never_settles_yields_the_union_once_and_warns(
    domain: OciEmulator, small_pages: int, caplog: pytest.LogCaptureFixture
) -> None:
    ids = seed(domain, 10)
    for victim in (ids[0], ids[1], ids[2]):  # one delete during each whole read
        domain.after_page("Users", 1, lambda victim=victim: delete_user(domain, victim))
    oci = target(domain)

    with caplog.at_level(logging.WARNING, logger="provision_oci.connector"):
        read = user_ids(list(oci.provision_full_read(frozenset())))

    assert len(read) == len(set(read)), "a user was yielded twice"
    assert existing(domain) <= set(read)
    assert set(read) <= set(ids)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Users kept changing" in warnings[0]


def test_reads_ask_for_a_stable_order(domain: OciEmulator) -> None:
    seed(domain, 2)
    oci = target(domain)
    sent: list[httpx.Request] = []
    oci.client.http.event_hooks["request"].append(sent.append)

    list(oci.provision_full_read(frozenset()))

    lists = [r for r in sent if r.url.path in ("/admin/v1/Users", "/admin/v1/Groups")]
    assert [r.url.params["sortBy"] for r in lists] == ["id", "id"]
    assert [r.url.params["sortOrder"] for r in lists] == ["ASCENDING", "ASCENDING"]


# Lookup by id --------------------------------------------------------------------------------


def test_a_lookup_yields_the_users_that_exist_as_the_full_read_does(domain: OciEmulator) -> None:
    ids = seed(domain, 4)
    delete_user(domain, ids[3])
    oci = target(domain)
    full = {o.id: o for o in oci.provision_full_read(frozenset({"emails"}))}

    found = list(oci.provision_lookup(Kind.USER, [ids[0], ids[2], ids[3]], frozenset({"emails"})))

    assert sorted(user_ids(found)) == [ids[0], ids[2]]  # the deleted one is left out
    assert all(o == full[o.id] for o in found)


def test_a_lookup_yields_a_group_with_its_members(domain: OciEmulator) -> None:
    ids = seed(domain, 3)
    gid = add_group(domain, "leads", ids[:2])
    oci = target(domain)

    found = list(oci.provision_lookup(Kind.GROUP, [gid, "0" * 32], frozenset()))

    assert len(found) == 1
    (group,) = found
    assert isinstance(group, Group)
    assert (group.id, group.display_name) == (gid, "leads")
    assert sorted(m.value for m in group.members or ()) == ids[:2]


def test_a_lookup_reads_the_ids_in_batches(
    domain: OciEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connector, "LOOKUP_BATCH", 2)
    ids = seed(domain, 5)
    oci = target(domain)

    found = list(oci.provision_lookup(Kind.USER, ids, frozenset()))

    assert sorted(user_ids(found)) == ids
    assert oci.client.stats.requests["GET Users"] == 3  # ceil(5 / 2)


def test_a_lookup_of_an_id_with_quotes_finds_nothing_and_fails_nothing(
    domain: OciEmulator,
) -> None:
    seed(domain, 1)
    assert list(target(domain).provision_lookup(Kind.USER, ['x" or id pr "'], frozenset())) == []


def test_a_lookup_the_domain_cannot_answer_raises(domain: OciEmulator) -> None:
    ids = seed(domain, 1)
    oci: OciTarget = target(domain, max_attempts=1)
    domain.fault_rate = 1.0
    with pytest.raises(OciError):
        list(oci.provision_lookup(Kind.USER, ids, frozenset()))


class RefusesSort(httpx.BaseTransport):
    """A domain that answers 400 to ``sortBy`` (no source says every domain accepts it)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if "sortBy" in request.url.params:
            self.refused += 1
            return httpx.Response(400, json={"status": "400", "detail": "sortBy not supported"})
        return self.inner.handle_request(request)


def test_a_domain_that_refuses_to_sort_is_read_unsorted(
    domain: OciEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    ids = {add_user(domain, f"u{i}") for i in range(3)}
    reader = target(domain)
    transport = RefusesSort()
    reader.client.http = httpx.Client(base_url=domain.url, transport=transport)
    with caplog.at_level(logging.WARNING, logger="provision_oci"):
        users = [u for u in reader.provision_full_read(frozenset()) if isinstance(u, User)]
    assert {u.id for u in users} == ids
    assert transport.refused == 2  # once for Users, once for Groups, then never again
    assert "refused to sort Users by id" in caplog.text


def test_members_are_always_read_in_pages_never_unpaged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The domain refuses an unpaged answer of more than two members here (10,000 in Oracle's).
    with OciEmulator(
        client_id="provision-test",
        client_secret="provision-test-secret",
        limits=False,
        max_unpaged_members=2,
    ) as domain:
        monkeypatch.setattr(connector, "MEMBER_PAGE", 2)
        ids = seed(domain, 5)
        gid = add_group(domain, "crowd", ids)
        empty = add_group(domain, "nobody", [])
        domain.reset_counts()

        read = list(target(domain).provision_full_read(frozenset()))

        groups = {str(g.id): g for g in read if isinstance(g, Group)}
        assert sorted(m.value for m in groups[gid].members or ()) == ids
        assert groups[empty].members is None
        # crowd: pages of 2, 2 and 1; nobody: one empty page
        assert domain.counts()["GET Groups"] == 1 + 3 + 1
