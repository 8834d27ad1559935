"""The OCI identity domain emulator behaves as the reference says OCI does, over real HTTP."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, quote_plus

import httpx
import pytest
from scim2_models import Context
from scim2_models import Group as ScimGroup

from provision import Kind, mapping
from provision_oci import OciSettings, OciTarget
from provision_oci.emulator import OciEmulator
from provision_oci.emulator.schema import MEMBERS_PAGE

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ORACLE_USER = "urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User"
ORACLE_GROUP = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ORACLE_MESSAGES = "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error"
STATUS_CHANGER = "urn:ietf:params:scim:schemas:oracle:idcs:UserStatusChanger"
SCOPE = "urn:opc:idm:__myscopes__"
SCIM_JSON = {"Content-Type": "application/scim+json"}


# Helpers -------------------------------------------------------------------------------------


def token_of(domain: OciEmulator, client_id: str = "", secret: str = "") -> httpx.Response:
    pair = (
        f"{quote_plus(client_id or domain.client_id)}:{quote_plus(secret or domain.client_secret)}"
    )
    return httpx.post(
        f"{domain.url}/oauth2/v1/token",
        headers={"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()},
        data={"grant_type": "client_credentials", "scope": SCOPE},
    )


def admin(domain: OciEmulator) -> httpx.Client:
    """A client of /admin/v1 holding a fresh token."""
    token = token_of(domain).json()["access_token"]
    return httpx.Client(
        base_url=f"{domain.url}/admin/v1",
        headers={"Authorization": f"Bearer {token}", **SCIM_JSON},
        timeout=10,
    )


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def user(name: str, *, bypass: bool | None = True, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": name,
        "emails": [
            {"value": f"{uuid.uuid4().hex[:10]}@example.org", "type": "work", "primary": True}
        ],
    }
    if bypass is not None:
        body["schemas"].append(ORACLE_USER)
        body[ORACLE_USER] = {"bypassNotification": bypass}
    return {**body, **extra}


def group(name: str, members: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP], "displayName": name, **extra}
    if members:
        body["members"] = [{"value": m, "type": "User"} for m in members]
    return body


def create(client: httpx.Client, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post(f"/{endpoint}", json=body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def bulk(*operations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST], "Operations": list(operations), **extra}


# Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def domain() -> Iterator[OciEmulator]:
    """One domain without rate limits for the functional tests."""
    with OciEmulator(limits=False) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def client(domain: OciEmulator) -> Iterator[httpx.Client]:
    with admin(domain) as client:
        yield client


@pytest.fixture
def fresh() -> Iterator[OciEmulator]:
    """A domain of its own, for tests that flip switches or count everything."""
    with OciEmulator(limits=False) as emulator:
        yield emulator


# OAuth2 --------------------------------------------------------------------------------------


def test_token_is_granted_to_the_right_client_credentials(domain: OciEmulator) -> None:
    answer = token_of(domain)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert len(body["access_token"]) > 20


def test_token_is_refused_to_a_wrong_secret(domain: OciEmulator) -> None:
    answer = token_of(domain, secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.json()["error_description"]


def test_token_credentials_are_urlencoded_inside_basic() -> None:
    with OciEmulator(client_id="app:1", client_secret="s+cr/t=:%", limits=False) as domain:
        assert token_of(domain).status_code == 200
        raw = base64.b64encode(b"app:1:s+cr/t=:%").decode()  # not urlencoded: ':' and '+' lie
        answer = httpx.post(
            f"{domain.url}/oauth2/v1/token",
            headers={"Authorization": f"Basic {raw}"},
            data={"grant_type": "client_credentials", "scope": SCOPE},
        )
        assert answer.status_code == 401


def test_admin_calls_without_a_token_are_401_with_a_scim_error(domain: OciEmulator) -> None:
    answer = httpx.get(f"{domain.url}/admin/v1/Users")
    assert answer.status_code == 401
    assert answer.json()["status"] == "401"
    assert SCIM_ERROR in answer.json()["schemas"]
    bad = httpx.get(f"{domain.url}/admin/v1/Users", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_revoked_and_expired_tokens_are_401(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        assert client.get("/Users").status_code == 200
        fresh.revoke_tokens()
        assert client.get("/Users").status_code == 401
    with admin(fresh) as client:
        fresh.expire_tokens()
        assert client.get("/Users").status_code == 401


def test_forbidden_client_gets_403_on_users_groups_and_bulk(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        fresh.forbidden = True
        assert client.get("/Users").status_code == 403
        assert client.post("/Groups", json=group("g")).status_code == 403
        assert client.post("/Bulk", json=bulk()).status_code == 403
        assert fresh.groups() == []
        fresh.forbidden = False
        assert client.get("/Users").status_code == 200


# Users ---------------------------------------------------------------------------------------


def test_user_with_one_primary_email_is_created(client: httpx.Client) -> None:
    name = unique("ada")
    answer = client.post("/Users", json=user(name))
    assert answer.status_code == 201
    assert answer.headers["opc-request-id"]
    body = answer.json()
    assert answer.headers["Location"].endswith(f"/admin/v1/Users/{body['id']}")
    assert client.get(f"/Users/{body['id']}").json()["userName"] == name


def test_user_without_a_primary_email_is_400_with_the_oracle_message_id(
    client: httpx.Client,
) -> None:
    body = user(unique("nomail"))
    body["emails"][0]["primary"] = False
    answer = client.post("/Users", json=body)
    assert answer.status_code == 400
    error = answer.json()
    assert error["status"] == "400"
    assert error["detail"] == "The primary email must be specified."
    assert error[ORACLE_MESSAGES]["messageId"] == "error.identity.user.primaryEmailNotSpecified"
    assert client.post("/Users", json={**body, "emails": []}).status_code == 400


def test_a_user_created_with_one_email_reads_back_with_a_recovery_copy(
    client: httpx.Client,
) -> None:
    # terraform-provider-oci identity_domains_user_test.go: emails.# == "2" after create.
    body = user(unique("rec"))
    address = body["emails"][0]["value"]
    created = create(client, "Users", body)
    emails = client.get(f"/Users/{created['id']}").json()["emails"]
    assert sorted((e["value"], e["type"]) for e in emails) == [
        (address, "recovery"),
        (address, "work"),
    ]


def test_a_replace_of_emails_drops_the_recovery_copy_it_does_not_name(
    client: httpx.Client,
) -> None:
    uid = create(client, "Users", user(unique("rep")))["id"]
    fresh = {"value": "new@example.org", "type": "work", "primary": True}
    op = {"op": "replace", "path": "emails", "value": [fresh]}
    assert client.patch(f"/Users/{uid}", json=patch(op)).status_code == 200
    emails = client.get(f"/Users/{uid}").json()["emails"]
    assert [(e["value"], e["type"]) for e in emails] == [("new@example.org", "work")]


def test_family_name_is_not_required(client: httpx.Client) -> None:
    assert client.post("/Users", json=user(unique("nofamily"))).status_code == 201


def test_duplicate_username_in_another_case_is_409_uniqueness(client: httpx.Client) -> None:
    name = unique("Grace")
    create(client, "Users", user(name))
    answer = client.post("/Users", json=user(name.upper()))
    assert answer.status_code == 409
    assert answer.json()["scimType"] == "uniqueness"


def test_external_id_is_searchable_and_not_unique(client: httpx.Client) -> None:
    external = unique("ext")
    ids = {create(client, "Users", user(unique("e"), externalId=external))["id"] for _ in "ab"}
    found = client.get("/Users", params={"filter": f'externalId eq "{external}"'}).json()
    assert {r["id"] for r in found["Resources"]} == ids


def test_oracle_and_enterprise_extensions_are_stored(client: httpx.Client) -> None:
    body = user(unique("ext"), bypass=True)
    body["schemas"].append(ENTERPRISE)
    body[ORACLE_USER]["isFederatedUser"] = True
    body[ENTERPRISE] = {"employeeNumber": "42"}
    created = create(client, "Users", body)
    got = client.get(f"/Users/{created['id']}").json()
    assert got[ORACLE_USER]["isFederatedUser"] is True
    assert got[ENTERPRISE]["employeeNumber"] == "42"


def test_unknown_schema_urn_is_400(client: httpx.Client) -> None:
    body = user(unique("urn"))
    body["schemas"].append("urn:example:unknown:User")
    body["urn:example:unknown:User"] = {"x": 1}
    assert client.post("/Users", json=body).status_code == 400


def test_filter_escaping_matches_only_the_hostile_name(client: httpx.Client) -> None:
    hostile = f'x" or userName pr or "{uuid.uuid4().hex[:6]}\\'
    create(client, "Users", user(hostile))
    create(client, "Users", user(unique("bystander")))
    escaped = hostile.replace("\\", "\\\\").replace('"', '\\"')
    found = client.get("/Users", params={"filter": f'userName eq "{escaped}"'}).json()
    assert [r["userName"] for r in found["Resources"]] == [hostile]
    assert found["totalResults"] == 1


def test_user_search_with_post_finds_by_username(client: httpx.Client) -> None:
    name = unique("searched")
    create(client, "Users", user(name))
    answer = client.post(
        "/Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": f'userName eq "{name}"',
        },
    )
    assert [r["userName"] for r in answer.json()["Resources"]] == [name]


def test_list_count_defaults_to_50_and_is_clamped_to_1000(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        for batch in range(21):
            operations = [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": f"u{i}",
                    "data": user(f"n{batch}-{i}"),
                }
                for i in range(50)
            ]
            assert client.post("/Bulk", json=bulk(*operations)).status_code == 200
        default = client.get("/Users", params={"attributes": "userName"}).json()
        assert (default["totalResults"], default["itemsPerPage"]) == (1050, 50)
        big = client.get("/Users", params={"attributes": "userName", "count": 5000}).json()
        assert big["itemsPerPage"] == 1000
        last = client.get("/Users", params={"startIndex": 1001, "count": 1000}).json()
        assert (last["startIndex"], last["itemsPerPage"]) == (1001, 50)


def test_lists_sort_by_id_in_either_spelling_of_sort_order(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        ids = sorted(create(client, "Users", user(f"sorted{i}"))["id"] for i in range(4))
        for order, expected in (("ASCENDING", ids), ("descending", ids[::-1])):
            answer = client.get(
                "/Users", params={"sortBy": "id", "sortOrder": order, "attributes": "id"}
            )
            assert answer.status_code == 200, answer.text
            assert [r["id"] for r in answer.json()["Resources"]] == expected


def test_id_filters_joined_with_or_find_each_one_that_exists(client: httpx.Client) -> None:
    ids = [create(client, "Users", user(unique("byid")))["id"] for _ in range(3)]
    query = " or ".join(f'id eq "{i}"' for i in [*ids[:2], "0" * 32])
    answer = client.get("/Users", params={"filter": query, "count": 50}).json()
    assert sorted(r["id"] for r in answer["Resources"]) == sorted(ids[:2])


def test_after_page_acts_once_between_two_page_reads(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        ids = sorted(create(client, "Users", user(f"paged{i}"))["id"] for i in range(4))
        fresh.after_page("Users", 1, lambda: client.delete(f"/Users/{ids[0]}"))
        page = {"sortBy": "id", "attributes": "id", "count": 2}
        first = client.get("/Users", params={**page, "startIndex": 1}).json()
        second = client.get("/Users", params={**page, "startIndex": 3}).json()
        again = client.get("/Users", params={**page, "startIndex": 1}).json()
    assert [r["id"] for r in first["Resources"]] == ids[:2]  # answered as read, before it
    assert (first["totalResults"], second["totalResults"]) == (4, 3)
    assert [r["id"] for r in second["Resources"]] == ids[3:]  # ids[2] slid onto page 1
    assert [r["id"] for r in again["Resources"]] == ids[1:3]  # it ran once only


def test_excluded_attributes_leave_out_what_is_named(client: httpx.Client) -> None:
    created = create(client, "Users", user(unique("slim")))
    got = client.get(f"/Users/{created['id']}", params={"excludedAttributes": "emails"}).json()
    assert "emails" not in got
    assert got["userName"] == created["userName"]


def test_user_status_changer_sets_active(client: httpx.Client) -> None:
    created = create(client, "Users", user(unique("status"), active=True))
    change = {"schemas": [STATUS_CHANGER], "active": False}
    answer = client.put(f"/UserStatusChanger/{created['id']}", json=change)
    assert answer.status_code == 200
    assert answer.json()["active"] is False
    assert client.get(f"/Users/{created['id']}").json()["active"] is False
    assert client.put("/UserStatusChanger/nobody", json=change).status_code == 404


def test_active_is_read_write_with_patch(client: httpx.Client) -> None:
    created = create(client, "Users", user(unique("act")))
    op = {"op": "replace", "path": "active", "value": False}
    answer = client.patch(f"/Users/{created['id']}", json=patch(op))
    assert answer.status_code == 200
    assert answer.json()["active"] is False


def test_delete_with_force_delete_is_204_and_leaves_groups(client: httpx.Client) -> None:
    created = create(client, "Users", user(unique("gone")))
    team = create(client, "Groups", group(unique("team"), [created["id"]]))
    answer = client.delete(f"/Users/{created['id']}", params={"forceDelete": "true"})
    assert answer.status_code == 204
    assert client.get(f"/Users/{created['id']}").status_code == 404
    members = client.get(f"/Groups/{team['id']}", params={"attributes": "members"}).json()
    assert not members.get("members")


def test_bypass_notification_in_an_update_is_400(client: httpx.Client) -> None:
    created = create(client, "Users", user(unique("immutable")))
    path_op = {"op": "replace", "path": f"{ORACLE_USER}:bypassNotification", "value": True}
    value_op = {"op": "replace", "value": {ORACLE_USER: {"bypassNotification": False}}}
    for op in (path_op, value_op):
        answer = client.patch(f"/Users/{created['id']}", json=patch(op))
        assert answer.status_code == 400, op
        assert answer.json()["scimType"] == "mutability"
    replacement = user(created["userName"], bypass=True)
    assert client.put(f"/Users/{created['id']}", json=replacement).status_code == 400
    assert (
        client.put(
            f"/Users/{created['id']}", json=user(created["userName"], bypass=None)
        ).status_code
        == 200
    )


def test_welcome_mails_count_only_users_without_bypass_notification(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        create(client, "Users", user("quiet", bypass=True))
        create(client, "Users", user("loud", bypass=None))
        create(client, "Users", user("louder", bypass=False))
        assert (
            client.post(
                "/Bulk",
                json=bulk(
                    {
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": "a",
                        "data": user("bq", bypass=True),
                    },
                    {
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": "b",
                        "data": user("bl", bypass=None),
                    },
                ),
            ).status_code
            == 200
        )
    assert fresh.welcome_mails == 3


# Groups --------------------------------------------------------------------------------------


def test_duplicate_group_display_name_in_another_case_is_409(client: httpx.Client) -> None:
    name = unique("Admins")
    create(client, "Groups", group(name))
    answer = client.post("/Groups", json=group(name.lower()))
    assert answer.status_code == 409
    assert answer.json()["scimType"] == "uniqueness"


def test_group_description_lives_in_the_oracle_extension(client: httpx.Client) -> None:
    body = group(unique("described"))
    body["schemas"].append(ORACLE_GROUP)
    body[ORACLE_GROUP] = {"description": "the described ones"}
    created = create(client, "Groups", body)
    got = client.get(f"/Groups/{created['id']}").json()
    assert got[ORACLE_GROUP]["description"] == "the described ones"


def test_members_come_only_when_asked_for(client: httpx.Client) -> None:
    alice = create(client, "Users", user(unique("m")))
    name = unique("crew")
    created = create(client, "Groups", group(name, [alice["id"]]))
    assert "members" not in client.get(f"/Groups/{created['id']}").json()
    only = client.get(f"/Groups/{created['id']}", params={"attributes": "members"}).json()
    assert [m["value"] for m in only["members"]] == [alice["id"]]
    flt = {"filter": f'displayName eq "{name}"'}
    listed = client.get("/Groups", params=flt).json()["Resources"]
    assert "members" not in listed[0]
    asked = client.get("/Groups", params={**flt, "attributes": "displayName,members"}).json()
    assert [m["value"] for m in asked["Resources"][0]["members"]] == [alice["id"]]


def test_members_can_be_paged_with_the_oracle_syntax(client: httpx.Client) -> None:
    ids = [create(client, "Users", user(unique("p")))["id"] for _ in range(3)]
    created = create(client, "Groups", group(unique("paged"), ids))
    url = f"/Groups/{created['id']}?attributes=members%5BstartIndex%3D2%26count%3D1%5D"
    assert len(client.get(url).json()["members"]) == 1


def test_an_unpaged_answer_over_the_member_limit_is_refused() -> None:
    # SDK IdentityDomainsClient.get_group / list_groups: "will throw an exception if the
    # response has more than 10,000 members"; the limit is made 2 here.
    with OciEmulator(limits=False, max_unpaged_members=2) as domain, admin(domain) as client:
        ids = [create(client, "Users", user(unique("big")))["id"] for _ in range(3)]
        gid = create(client, "Groups", group("big", ids))["id"]
        unpaged = client.get(f"/Groups/{gid}", params={"attributes": "members"})
        assert unpaged.status_code == 400
        assert unpaged.json()["scimType"] == "tooMany"
        listed = client.get("/Groups", params={"attributes": "displayName,members"})
        assert listed.status_code == 400
        assert client.get(f"/Groups/{gid}").status_code == 200  # members not asked for
        page = "members[startIndex=1&count=2]"
        first = client.get(f"/Groups/{gid}", params={"attributes": page}).json()["members"]
        page = "members[startIndex=3&count=2]"
        rest = client.get(f"/Groups/{gid}", params={"attributes": page}).json()["members"]
        assert sorted(m["value"] for m in first + rest) == sorted(ids)


def test_patch_adds_and_removes_members(client: httpx.Client) -> None:
    a, b = (create(client, "Users", user(unique("pm")))["id"] for _ in "ab")
    gid = create(client, "Groups", group(unique("patched")))["id"]
    add = {
        "op": "add",
        "path": "members",
        "value": [{"value": a, "type": "User"}, {"value": b, "type": "User"}],
    }
    assert client.patch(f"/Groups/{gid}", json=patch(add)).status_code == 200
    remove = {"op": "remove", "path": f'members[value eq "{a}"]'}
    assert client.patch(f"/Groups/{gid}", json=patch(remove)).status_code == 200
    members = client.get(f"/Groups/{gid}", params={"attributes": "members"}).json()["members"]
    assert [m["value"] for m in members] == [b]
    assert [g["value"] for g in client.get(f"/Users/{b}").json()["groups"]] == [gid]
    assert "groups" not in client.get(f"/Users/{a}").json()


def test_unknown_member_is_400(client: httpx.Client) -> None:
    assert client.post("/Groups", json=group(unique("ghost"), ["no-such-user"])).status_code == 400


# Bulk ----------------------------------------------------------------------------------------


def test_bulk_creates_users_and_a_group_with_bulk_id_members(client: httpx.Client) -> None:
    u1, u2, team = unique("b1"), unique("b2"), unique("bulkteam")
    answer = client.post(
        "/Bulk",
        json=bulk(
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": group(team, ["bulkId:u1", "bulkId:u2"]),
            },
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user(u1)},
            {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user(u2)},
        ),
    )
    assert answer.status_code == 200
    outcomes = answer.json()["Operations"]
    assert [o["status"] for o in outcomes] == ["201", "201", "201"]
    assert [o["bulkId"] for o in outcomes] == ["g", "u1", "u2"]
    user_ids = {o["location"].rsplit("/", 1)[1] for o in outcomes[1:]}
    gid = outcomes[0]["location"].rsplit("/", 1)[1]
    members = client.get(f"/Groups/{gid}", params={"attributes": "members"}).json()["members"]
    assert {m["value"] for m in members} == user_ids


def test_bulk_of_51_operations_is_413_too_many(client: httpx.Client) -> None:
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user(unique("x"))}
        for i in range(51)
    ]
    answer = client.post("/Bulk", json=bulk(*operations))
    assert answer.status_code == 413
    assert answer.json()["scimType"] == "tooMany"


def test_bulk_over_one_megabyte_is_413(client: httpx.Client) -> None:
    padding = "x" * 600_000
    operations = [
        {"method": "POST", "path": "/Groups", "bulkId": f"g{i}", "data": group(f"{padding}{i}")}
        for i in range(2)
    ]
    answer = client.post("/Bulk", json=bulk(*operations))
    assert answer.status_code == 413


def test_bulk_reports_each_failure_and_runs_the_others(client: httpx.Client) -> None:
    taken = create(client, "Users", user(unique("taken")))
    no_primary = user(unique("noprimary"))
    no_primary["emails"][0]["primary"] = False
    answer = client.post(
        "/Bulk",
        json=bulk(
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user(taken["userName"])},
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": no_primary},
            {
                "method": "PATCH",
                "path": f"/Users/{taken['id']}",
                "data": patch(
                    {"op": "replace", "path": f"{ORACLE_USER}:bypassNotification", "value": True}
                ),
            },
            {"method": "DELETE", "path": "/Users/nobody"},
            {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user(unique("fine"))},
        ),
    )
    assert answer.status_code == 200
    outcomes = answer.json()["Operations"]
    assert [o["status"] for o in outcomes] == ["409", "400", "400", "404", "201"]
    assert outcomes[0]["response"]["scimType"] == "uniqueness"
    message = outcomes[1]["response"][ORACLE_MESSAGES]["messageId"]
    assert message == "error.identity.user.primaryEmailNotSpecified"
    assert outcomes[4]["location"]


def test_bulk_stops_after_fail_on_errors(client: httpx.Client) -> None:
    bad = user(unique("bad"), emails=[])
    answer = client.post(
        "/Bulk",
        json=bulk(
            {"method": "POST", "path": "/Users", "bulkId": "bad", "data": bad},
            {"method": "POST", "path": "/Users", "bulkId": "never", "data": user(unique("n"))},
            failOnErrors=1,
        ),
    )
    assert [o["status"] for o in answer.json()["Operations"]] == ["400"]


def test_service_provider_config_announces_oci_limits(client: httpx.Client) -> None:
    config = client.get("/ServiceProviderConfig").json()
    assert config["bulk"] == {"supported": True, "maxOperations": 50, "maxPayloadSize": 1048576}
    assert config["patch"]["supported"] is True
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    types = {t["name"] for t in client.get("/ResourceTypes").json()["Resources"]}
    assert types == {"User", "Group"}
    schemas = {s["id"] for s in client.get("/Schemas").json()["Resources"]}
    assert {ORACLE_USER, ORACLE_GROUP, ENTERPRISE} <= schemas


def test_service_provider_config_can_answer_as_a_list_response(fresh: OciEmulator) -> None:
    # Oracle's REST API page names the GET "Search Service Provider Configs".
    fresh.service_provider_config = "list"
    with admin(fresh) as client:
        answer = client.get("/ServiceProviderConfig").json()
    assert answer["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert answer["totalResults"] == 1
    assert answer["Resources"][0]["bulk"]["maxOperations"] == 50


def test_service_provider_config_can_be_refused(fresh: OciEmulator) -> None:
    fresh.service_provider_config = "forbidden"
    with admin(fresh) as client:
        assert client.get("/ServiceProviderConfig").status_code == 403
        assert client.get("/Users").status_code == 200


def test_bulk_switched_off_is_announced_and_answers_501(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        fresh.bulk = False
        assert client.get("/ServiceProviderConfig").json()["bulk"]["supported"] is False
        answer = client.post(
            "/Bulk", json=bulk({"method": "POST", "path": "/Users", "data": user("a")})
        )
        assert answer.status_code == 501
        assert fresh.users() == []


def test_a_second_concurrent_bulk_gets_429(fresh: OciEmulator) -> None:
    op = {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("once")}
    with admin(fresh) as client:
        fresh.limits = True
        fresh.app.bulk_lock.acquire()  # a bulk request is running
        try:
            answer = client.post("/Bulk", json=bulk(op))
        finally:
            fresh.app.bulk_lock.release()
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "1"
        assert client.post("/Bulk", json=bulk(op)).status_code == 200
        assert [u["userName"] for u in fresh.users()] == ["once"]


# Rate limits, faults, lost answers ------------------------------------------------------------


def burst(client: httpx.Client, n: int) -> list[httpx.Response]:
    return [client.get("/ServiceProviderConfig") for _ in range(n)]


def stopped() -> float:
    """A clock that never moves: the budgets never refill, whatever the machine's speed."""
    return 1000.0


def test_free_tier_throttles_with_retry_after() -> None:
    with OciEmulator(tier="free", clock=stopped) as domain, admin(domain) as client:
        answers = burst(client, 40)
        throttled = [a for a in answers if a.status_code == 429]
        assert len(throttled) == 20, "20/s lets the first 20 requests of a second through"
        assert all(int(a.headers["Retry-After"]) >= 1 for a in throttled)
        assert throttled[0].json()["status"] == "429"
        assert domain.throttled == 20


def test_throttled_answers_omit_retry_after_when_switched_off() -> None:
    with (
        OciEmulator(tier="free", retry_after=False, clock=stopped) as domain,
        admin(domain) as client,
    ):
        throttled = [a for a in burst(client, 40) if a.status_code == 429]
        assert len(throttled) == 20
        assert all("Retry-After" not in a.headers for a in throttled)


def test_changing_the_tier_refills_the_budget() -> None:
    with OciEmulator(tier="free", clock=stopped) as domain, admin(domain) as client:
        assert any(a.status_code == 429 for a in burst(client, 40))
        domain.tier = "premium"
        assert all(a.status_code == 200 for a in burst(client, 40))
        with pytest.raises(ValueError, match="Choose one of"):
            domain.tier = "gold"


@pytest.mark.parametrize("retry_after", [True, False])
def test_throttle_next_answers_429_to_exactly_the_next_requests(
    fresh: OciEmulator, retry_after: bool
) -> None:
    fresh.retry_after = retry_after
    with admin(fresh) as client:  # the token request is not throttled
        fresh.throttle_next(2)
        answers = [client.get("/ServiceProviderConfig").status_code for _ in range(3)]
        assert answers == [429, 429, 200]
        fresh.throttle_next(1)
        answer = client.get("/Users")
    assert answer.status_code == 429
    assert answer.json()["status"] == "429"
    assert ("Retry-After" in answer.headers) is retry_after
    assert fresh.throttled == 3
    with pytest.raises(ValueError, match="0 or more"):
        fresh.throttle_next(-1)


def test_fault_rate_one_answers_500_or_503_without_side_effect(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        fresh.fault_rate = 1.0
        answers = [client.post("/Users", json=user(f"f{i}")) for i in range(6)]
        fresh.fault_rate = 0.0
    assert {a.status_code for a in answers} <= {500, 503}
    assert all(a.json()["schemas"][0] == SCIM_ERROR for a in answers)
    assert fresh.faults_sent == 6
    assert fresh.users() == []


def test_fail_after_commit_creates_but_answers_502(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        fresh.fail_after_commit_rate = 1.0
        answer = client.post("/Users", json=user("committed"))
        fresh.fail_after_commit_rate = 0.0
        assert answer.status_code == 502
        assert [u["userName"] for u in fresh.users()] == ["committed"]
        assert fresh.lost_answers == 1
        assert client.post("/Users", json=user("committed")).status_code == 409


def test_latency_delays_every_answer(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        fresh.latency_ms = 50
        started = time.perf_counter()
        client.get("/ServiceProviderConfig")
        assert time.perf_counter() - started >= 0.05


# Records and the command ---------------------------------------------------------------------


def test_counts_keys_name_the_method_and_the_resource_type(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        uid = create(client, "Users", user("counted"))["id"]
        gid = create(client, "Groups", group("counted"))["id"]
        client.get("/Users")
        client.post("/Users/.search", json={"filter": 'userName eq "counted"'})
        client.patch(
            f"/Groups/{gid}",
            json=patch({"op": "add", "path": "members", "value": [{"value": uid}]}),
        )
        client.put(f"/UserStatusChanger/{uid}", json={"schemas": [STATUS_CHANGER], "active": False})
        client.post("/Bulk", json=bulk({"method": "DELETE", "path": f"/Groups/{gid}"}))
        client.get("/ServiceProviderConfig")
        client.delete(f"/Users/{uid}", params={"forceDelete": "true"})
    assert fresh.counts() == {
        "POST token": 1,
        "POST Users": 1,
        "POST Groups": 1,
        "GET Users": 1,
        "POST Users/.search": 1,
        "PATCH Groups": 1,
        "PUT UserStatusChanger": 1,
        "POST Bulk": 1,
        "GET ServiceProviderConfig": 1,
        "DELETE Users": 1,
    }
    fresh.reset_counts()
    assert fresh.counts() == {}


def test_users_and_groups_return_wire_dicts_with_members(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        uid = create(client, "Users", user("wired"))["id"]
        create(client, "Groups", group("wired", [uid]))
    assert fresh.users()[0]["userName"] == "wired"
    assert fresh.users()[0]["groups"][0]["display"] == "wired"
    assert [m["value"] for m in fresh.groups()[0]["members"]] == [uid]


def test_command_serves_a_domain_until_interrupted() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "provision_oci.emulator", "--port", str(port)]
    command += [
        "--tier",
        "premium",
        "--latency-ms",
        "1",
        "--client-id",
        "X",
        "--client-secret",
        "Y",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in line
        answer = httpx.post(
            f"http://127.0.0.1:{port}/oauth2/v1/token",
            auth=("X", "Y"),
            data={"grant_type": "client_credentials", "scope": SCOPE},
        )
        assert answer.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_every_answer_carries_an_opc_request_id(domain: OciEmulator) -> None:
    answers = [
        httpx.get(f"{domain.url}/admin/v1/Users"),
        httpx.get(f"{domain.url}/elsewhere"),
        token_of(domain, secret="wrong"),
    ]
    assert all(a.headers.get("opc-request-id") for a in answers)
    assert json.loads(answers[1].text)["status"] == "404"


# Reads answered without scim2-server's copies -------------------------------------------------

VIEWS = [
    {},
    {"attributes": "userName"},
    {"attributes": "id"},
    {"attributes": "active,emails,externalId,name,userName"},
    {"attributes": "name.givenName,meta.created"},
    {"attributes": "USERNAME,Name.FamilyName,emails.value"},
    {"attributes": f"{USER}:userName,{USER}:name.familyName"},
    {"attributes": f"{ENTERPRISE}:manager,{ORACLE_USER}:isFederatedUser"},
    {"attributes": f"{ENTERPRISE}:manager.value"},
    {"attributes": ORACLE_USER},
    {"attributes": "password,meta"},
    {"attributes": "groups"},
    {"attributes": "groups.display,phoneNumbers.type"},
    {"excludedAttributes": "emails,meta"},
    {"excludedAttributes": "groups,name.givenName"},
    {"excludedAttributes": f"{ORACLE_USER}:isFederatedUser,{ENTERPRISE}"},
]
GROUP_VIEWS = [
    {},
    {"attributes": "displayName,externalId"},
    {"attributes": "members"},
    {"attributes": "id"},
    {"attributes": "members.value"},
    {"attributes": f"members.display,{ORACLE_GROUP}:description"},
    {"excludedAttributes": "members"},
    {"excludedAttributes": f"displayName,{ORACLE_GROUP}"},
]


def slow_views(domain: OciEmulator, name: str, params: dict[str, str]) -> dict[str, Any]:
    """Each stored resource as scim2-server publishes and dumps it: deep copies throughout."""
    service = domain.service
    resource_type = service.get_resource_type(name)
    base_url = f"{domain.url}/admin/v1"
    with service.provider:
        parameters = service.read_response_parameters(resource_type, params)
        return {
            str(r.id): service.publish(base_url, r).model_dump(
                scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters
            )
            for r in domain.storage.stored(name)
        }


def with_manager(body: dict[str, Any], manager: str | None) -> dict[str, Any]:
    if manager is None:
        return body
    return {
        **body,
        "schemas": [*body["schemas"], ENTERPRISE],
        ENTERPRISE: {"manager": {"value": manager, "$ref": f"Users/{manager}"}},
    }


def populate(client: httpx.Client) -> list[str]:
    """A manager, five users (two managed, one in a department, two federated) and two
    groups; the users' ids."""
    boss = client.post("/Users", json=user("boss")).json()["id"]
    staff = user("staff")
    staff["schemas"].append(ENTERPRISE)
    staff[ENTERPRISE] = {"department": "Sales"}
    ids = [
        client.post(
            "/Users",
            json=with_manager(
                {
                    **user(
                        f"u{i}",
                        externalId=f"e{i}",
                        phoneNumbers=[{"value": "+15550100", "type": "work"}],
                    ),
                    "name": {"givenName": "G", "familyName": f"F{i}"},
                    ORACLE_USER: {"bypassNotification": True, "isFederatedUser": i < 2},
                },
                boss if i % 2 else None,
            ),
        ).json()["id"]
        for i in range(4)
    ]
    ids.append(client.post("/Users", json=staff).json()["id"])
    described = {"schemas": [GROUP, ORACLE_GROUP], ORACLE_GROUP: {"description": "first"}}
    assert client.post("/Groups", json=group("g1", ids[:3], **described)).status_code == 201
    assert client.post("/Groups", json=group("g2", [boss])).status_code == 201
    return ids


def test_lists_and_gets_answer_what_scim2_server_would(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        ids = populate(client)
        for name, endpoint, views in (("User", "/Users", VIEWS), ("Group", "/Groups", GROUP_VIEWS)):
            for params in views:
                expected = slow_views(fresh, name, params)
                for sort in ({}, {"sortBy": "id", "sortOrder": "DESCENDING"}):
                    listed = client.get(endpoint, params={**params, **sort}).json()["Resources"]
                    assert {r["id"]: r for r in listed} == expected, (endpoint, params, sort)
                for rid, body in expected.items():
                    assert client.get(f"{endpoint}/{rid}", params=params).json() == body
        lookup = " or ".join(f'id eq "{i}"' for i in [ids[2], "missing", ids[0]])
        found = client.get("/Users", params={"filter": lookup}).json()
        assert found["totalResults"] == 2
        assert [r["id"] for r in found["Resources"]] == sorted([ids[0], ids[2]])


def test_the_connectors_reads_answer_what_scim2_server_would(
    fresh: OciEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    with admin(fresh) as client:
        ids = populate(client)
    asked: list[tuple[str, str]] = []
    read_request = fresh.app.read_request

    def recorded(environ: dict[str, Any]) -> Any:
        if environ["REQUEST_METHOD"] == "GET":
            asked.append((environ["PATH_INFO"], environ.get("QUERY_STRING", "")))
        return read_request(environ)

    monkeypatch.setattr(fresh.app, "read_request", recorded)
    oci = OciTarget(
        OciSettings(
            domain_url=fresh.url,
            client_id=fresh.client_id,
            client_secret=fresh.client_secret,
            tier="premium",
        )
    )
    wanted = mapping.wanted()
    read = list(oci.provision_full_read(wanted))
    gids = [str(g.id) for g in read if isinstance(g, ScimGroup)]
    list(oci.provision_lookup(Kind.USER, ids, wanted))
    list(oci.provision_lookup(Kind.GROUP, gids, wanted))
    monkeypatch.undo()
    views: set[tuple[str, str]] = set()
    for path, query in asked:
        kind = "User" if "/Users" in path else "Group" if "/Groups" in path else None
        if kind is not None:
            views.add((kind, parse_qs(query).get("attributes", [""])[0]))
    assert len({attributes for _, attributes in views}) >= 3  # users, groups, members pages
    with admin(fresh) as client:
        for name, attributes in sorted(views):
            paged = {"attributes": MEMBERS_PAGE.sub("members", attributes)}  # all on one page
            expected = slow_views(fresh, name, paged)
            listed = client.get(f"/{name}s", params={"attributes": attributes}).json()
            assert {r["id"]: r for r in listed["Resources"]} == expected, (name, attributes)
            for rid, body in expected.items():
                answer = client.get(f"/{name}s/{rid}", params={"attributes": attributes})
                assert answer.json() == body, (name, attributes)


def test_writes_answer_what_scim2_server_would(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        ids = populate(client)
        created = client.post("/Users", json=with_manager(user("new"), ids[0]))
        plain = client.post("/Users", json=user("plain", externalId="p"))
        gid = client.post("/Groups", json=group("g3", ids[:2])).json()["id"]
        patch = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": ids[3]}]}],
        }
        patched = client.patch(f"/Groups/{gid}", json=patch)
        shown = client.patch(f"/Groups/{gid}", json=patch, params={"attributes": "members"})
        replaced = client.put(
            f"/Users/{ids[2]}",  # not in g3: its members keep their display
            json=user("u2-renamed", bypass=None),
            params={"attributes": "userName,groups"},
        )
    users = slow_views(fresh, "User", {})
    assert created.status_code == plain.status_code == 201
    assert created.json() == users[created.json()["id"]]
    assert plain.json() == users[plain.json()["id"]]
    assert plain.headers["Location"] == plain.headers["Content-Location"]
    assert plain.headers["Location"] == users[plain.json()["id"]]["meta"]["location"]
    assert patched.json() == slow_views(fresh, "Group", {})[gid]
    assert shown.json() == slow_views(fresh, "Group", {"attributes": "members"})[gid]
    assert len(shown.json()["members"]) == 3
    assert replaced.json() == slow_views(fresh, "User", {"attributes": "userName,groups"})[ids[2]]
    assert patched.headers["ETag"] == patched.json()["meta"]["version"]


def test_a_write_is_seen_by_the_next_read(fresh: OciEmulator) -> None:
    with admin(fresh) as client:
        uid = client.post("/Users", json=user("before")).json()["id"]
        gid = client.post("/Groups", json=group("g")).json()["id"]
        assert client.get(f"/Users/{uid}").json().get("groups") is None
        assert client.get("/Users").json()["Resources"][0]["userName"] == "before"
        patch = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
        }
        assert client.patch(f"/Groups/{gid}", json=patch).status_code == 200
        client.put(f"/Users/{uid}", json=user("after", bypass=None))
        assert client.get("/Users").json()["Resources"][0]["userName"] == "after"
        assert [g["value"] for g in client.get(f"/Users/{uid}").json()["groups"]] == [gid]
