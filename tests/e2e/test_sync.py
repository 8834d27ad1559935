"""End to end: the CLI as a subprocess, moto's Cognito and the OCI emulator over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from provision.report import GROUP_COUNTS, KEYS, MEMBERSHIP_COUNTS, USER_COUNTS
from tests.e2e.world import AWS_SECRET, OCI_SECRET, World


def test_the_initial_sync_creates_everything_and_a_rerun_writes_nothing(world: World) -> None:
    code, report = world.run()
    assert code == 0, report
    assert (report["users"]["created"], report["groups"]["created"]) == (40, 3)
    assert report["memberships"]["added"] == 40 + 3 + 10
    assert world.members("admins") == {"user000", "user001", "user002"}
    assert world.domain.welcome_mails == 0
    world.domain.reset_counts()
    code, again = world.run()
    assert code == 0
    assert world.writes() == {}
    assert again["users"]["unchanged"] == 40
    assert again["memberships"]["unchanged"] == 53


def test_an_attribute_changed_in_cognito_is_one_patch(world: World) -> None:
    world.configure(oci='bulk = "off"')
    world.run()
    world.idp.admin_update_user_attributes(
        UserPoolId=world.pool,
        Username="user007",
        UserAttributes=[{"Name": "given_name", "Value": "Bond"}],
    )
    world.domain.reset_counts()
    code, report = world.run()
    assert code == 0
    assert report["users"]["updated"] == 1
    assert world.writes() == {"PATCH Users": 1}
    assert world.users()["user007"]["name"]["givenName"] == "Bond"


def test_a_member_removed_in_cognito_is_removed_in_oci(world: World) -> None:
    world.run()
    world.idp.admin_remove_user_from_group(
        UserPoolId=world.pool, Username="user001", GroupName="admins"
    )
    code, report = world.run()
    assert code == 0
    assert report["memberships"]["removed"] == 1
    assert world.members("admins") == {"user000", "user002"}


def test_a_user_deleted_in_cognito_is_deactivated_then_deleted_on_request(world: World) -> None:
    world.run()
    world.idp.admin_delete_user(UserPoolId=world.pool, Username="user005")
    code, report = world.run()
    assert code == 0
    assert report["users"]["deactivated"] == 1
    assert world.users()["user005"]["active"] is False
    assert "user005" not in world.members("everyone")
    world.configure(sync='on_delete = "delete"')
    code, report = world.run()
    assert code == 0
    assert report["users"]["deleted"] == 1
    assert "user005" not in world.users()


@pytest.mark.parametrize("adopt", [False, True])
def test_a_user_recreated_in_cognito_gets_a_new_account_or_on_request_its_old_one(
    world: World, adopt: bool
) -> None:
    world.configure(sync=f"adopt_leavers = {str(adopt).lower()}")
    world.run()
    before = world.users()["user009"]["id"]
    world.idp.admin_delete_user(UserPoolId=world.pool, Username="user009")
    world.run()
    assert world.users()["user009"]["active"] is False
    world.idp.admin_create_user(
        UserPoolId=world.pool,
        Username="user009",
        UserAttributes=[
            {"Name": "email", "Value": "user009@example.org"},
            {"Name": "given_name", "Value": "Given"},
            {"Name": "family_name", "Value": "User009"},
        ],
    )
    new_sub = world.idp.admin_get_user(UserPoolId=world.pool, Username="user009")
    world.cognito.reset()
    code, report = world.run()
    assert code == 0, report
    held = world.users()["user009"]
    sub = next(a["Value"] for a in new_sub["UserAttributes"] if a["Name"] == "sub")
    assert held["externalId"] == sub
    assert held["active"] is True
    if adopt:  # the same person: their account back, nothing duplicated
        assert report["users"]["created"] == 0
        assert held["id"] == before
        assert len(world.users()) == 40
    else:  # never hand a previous person's account to another identity
        assert report["users"]["created"] == 1
        assert held["id"] != before
        (old,) = [u for u in world.domain.users() if u["id"] == before]
        assert old["userName"].startswith("user009.left-")
        assert old["active"] is False
        assert len(world.users()) == 41


def test_the_group_filter_syncs_only_those_groups_and_their_members(world: World) -> None:
    world.configure(cognito='groups = ["admins", "ops"]')
    code, report = world.run()
    assert code == 0, report
    assert report["users"]["created"] == 13
    assert {g["displayName"] for g in world.domain.groups()} == {"admins", "ops"}
    assert "ListUsers" not in report["requests"]["cognito"]
    assert report["requests"]["cognito"]["GetGroup"] == 2


def test_a_user_created_by_hand_in_oci_is_untouched(world: World) -> None:
    made = httpx.post(
        f"{world.domain.url}/admin/v1/Users",
        headers=world.domain.admin_headers(),
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "break-glass",
            "name": {"familyName": "Admin"},
            "emails": [{"value": "bg@example.org", "type": "work", "primary": True}],
        },
    )
    assert made.status_code == 201
    before = world.users()["break-glass"]
    world.run()
    world.idp.admin_delete_user(UserPoolId=world.pool, Username="user003")
    world.run()
    assert world.users()["break-glass"] == before


def test_the_deletion_guard_stops_a_run_that_would_empty_the_domain(world: World) -> None:
    world.run()
    for i in range(40):
        world.idp.admin_delete_user(UserPoolId=world.pool, Username=f"user{i:03}")
    world.domain.reset_counts()
    code, report = world.run()
    assert code == 1
    assert report["status"] == "aborted"
    assert "--allow-deletes" in report["reason"]
    assert world.writes() == {}
    assert all(u["active"] for u in world.users().values())


def test_plan_writes_nothing(world: World) -> None:
    result = world.cli("plan", "cognito->oci")
    assert result.returncode == 0, result.stderr
    assert "create user user000" in result.stdout
    assert world.writes() == {}
    assert world.domain.users() == []


def test_the_report_has_every_documented_key(world: World) -> None:
    code, report = world.run("--report", "report.json")
    assert code == 0
    saved = json.loads((world.cli.cwd / "report.json").read_text())
    assert saved == report
    assert tuple(report) == KEYS  # the documented keys, in order
    assert (report["source"], report["target"], report["mode"]) == ("cognito", "oci", "full")
    assert set(report["users"]) == set(USER_COUNTS)
    assert set(report["groups"]) == set(GROUP_COUNTS)
    assert set(report["memberships"]) == set(MEMBERSHIP_COUNTS)
    assert set(report["requests"]) == {"cognito", "oci"}
    assert report["throttled"] == {"cognito": 0, "oci": 0}


def test_secrets_appear_in_no_output_log_report_or_state(world: World) -> None:
    outputs = []
    for args in (
        ("test", "cognito"),
        ("test", "oci"),
        ("--debug", "plan", "cognito->oci"),
        ("--debug", "run", "cognito->oci", "--report", "r.json"),
        ("runs", "--json"),
    ):
        result = world.cli(*args)
        outputs += [result.stdout, result.stderr]
    files = [p.read_bytes() for p in Path(world.cli.cwd).rglob("*") if p.is_file()]
    for secret in (AWS_SECRET, OCI_SECRET):
        assert not any(secret in text for text in outputs)
        assert not any(secret.encode() in data for data in files)
    assert "Bearer" not in "".join(outputs)
