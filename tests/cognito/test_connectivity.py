"""``provision test cognito``: each check, and what it tells the operator to fix."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from provision import Check
from provision.plugins import Endpoint
from provision_cognito.standin import (
    CognitoStandIn,
    Request,
    cognito_error,
    sts_credentials,
    sts_error,
)

from .conftest import people, read, source

ROLE = "arn:aws:iam::123456789012:role/provision-reader"


def checks(**settings: Any) -> dict[str, Check]:
    found = Endpoint.wrap(source(**settings)).hook.provision_test()
    return {c.name: c for c in found}


def failed(found: dict[str, Check]) -> dict[str, Check]:
    return {name: c for name, c in found.items() if not c.ok}


def test_a_healthy_pool_passes_every_check_in_seconds(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    started = time.monotonic()
    found = checks(**settings, role_arn=ROLE, external_id="ext-1234", groups=["g"])
    assert time.monotonic() - started < 10
    assert failed(found) == {"configured groups": found["configured groups"]}  # no group yet
    assert set(found) == {
        "AWS credentials",
        "assume role",
        "user pool",
        "permission cognito-idp:ListUsers",
        "permission cognito-idp:ListUsersInGroup",
        "permission cognito-idp:AdminListGroupsForUser",
        "permission cognito-idp:AdminGetUser",
        "permission cognito-idp:GetGroup",
        "configured groups",
    }
    assert found["configured groups"].message == "not in the pool: g"
    pool, region = settings["user_pool_id"], settings["region"]
    assert (
        found["user pool"].message == f"{pool} found in {region} (cognito-idp:ListGroups allowed)"
    )
    assert "case-sensitive" in found["configured groups"].hint


def test_checks_bill_no_user(standin: CognitoStandIn, settings: dict[str, Any]) -> None:
    standin.seed(settings["user_pool_id"], people(3))
    checks(**settings)
    probed = {
        r.params.get("Username")
        for r in standin.requests
        if r.operation in ("AdminGetUser", "AdminListGroupsForUser")
    }
    assert probed
    assert all(name.startswith("provision-connectivity-check-") for name in probed)


def test_invalid_keys_say_to_check_the_keys(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    standin.faults.append(
        lambda r: (
            sts_error(
                "InvalidClientTokenId", "The security token included in the request is invalid."
            )
            if r.operation == "GetCallerIdentity"
            else None
        )
    )
    found = checks(**settings)
    assert list(found) == ["AWS credentials"]
    assert "InvalidClientTokenId" in found["AWS credentials"].message
    assert "access_key_id and secret_access_key" in found["AWS credentials"].hint


def test_no_credentials_at_all_says_where_they_can_come_from(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    del settings["access_key_id"], settings["secret_access_key"]
    found = checks(**settings)
    assert not found["AWS credentials"].ok
    assert "profile" in found["AWS credentials"].hint


def test_a_refused_assume_role_points_at_the_trust_policy_and_external_id(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    standin.faults.append(
        lambda r: (
            sts_error("AccessDenied", "not authorized to perform: sts:AssumeRole")
            if r.operation == "AssumeRole"
            else None
        )
    )
    found = checks(**settings, role_arn=ROLE, external_id="wrong-one")
    assert not found["assume role"].ok
    assert "AccessDenied" in found["assume role"].message
    assert "trust policy" in found["assume role"].hint
    assert "sts:ExternalId" in found["assume role"].hint
    assert "user pool" not in found  # nothing else can be checked without the role


def test_the_external_id_and_session_name_reach_assume_role(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    standin.seed(settings["user_pool_id"], people(2))
    read(source(**settings, role_arn=ROLE, external_id="ext-7f3a", session_name="nightly"))
    (assume,) = [r for r in standin.requests if r.operation == "AssumeRole"]
    assert assume.params["ExternalId"] == "ext-7f3a"
    assert assume.params["RoleArn"] == ROLE
    assert assume.params["RoleSessionName"] == "nightly"
    assert assume.access_key == "AKIAPROVISIONTEST"  # signed with the service user's key
    cognito = [r for r in standin.requests if r.service == "cognito-idp"]
    assert cognito
    assert all(r.access_key != "AKIAPROVISIONTEST" for r in cognito)  # with the role's keys


def test_role_credentials_are_refreshed_before_they_expire(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    standin.seed(settings["user_pool_id"], people(200))
    issued: list[str] = []

    def short_then_long(request: Request) -> Any:
        if request.operation != "AssumeRole":
            return None
        soon = not issued
        issued.append("ASIAFIRSTSHORT" if soon else f"ASIARENEWED{len(issued)}")
        ttl = timedelta(minutes=5) if soon else timedelta(hours=1)  # 5 min: inside the window
        expires = (datetime.now(UTC) + ttl).strftime("%Y-%m-%dT%H:%M:%SZ")
        return sts_credentials(issued[-1], expires)

    standin.faults.append(short_then_long)
    read(source(**settings, role_arn=ROLE, external_id="ext-1234"))
    assert len(issued) >= 2
    keys = [r.access_key for r in standin.requests if r.service == "cognito-idp"]
    assert keys[-1] == issued[-1]  # the read went on with the renewed keys
    assert "ASIAFIRSTSHORT" not in keys[1:]


def test_a_wrong_pool_id_or_region_is_named(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    settings["user_pool_id"] = "eu-west-1_DoesNotExist"
    found = checks(**settings)
    assert not found["user pool"].ok
    assert "eu-west-1_DoesNotExist" in found["user pool"].hint
    assert "region" in found["user pool"].hint
    assert not any(name.startswith("permission") for name in found)


@pytest.mark.parametrize(
    "action",
    ["ListUsers", "ListUsersInGroup", "AdminListGroupsForUser", "AdminGetUser", "GetGroup"],
)
def test_a_missing_permission_is_named_with_the_grant_to_add(
    standin: CognitoStandIn, settings: dict[str, Any], action: str
) -> None:
    standin.faults.append(
        lambda r: (
            cognito_error(
                "AccessDeniedException", f"not authorized to perform cognito-idp:{action}"
            )
            if r.operation == action
            else None
        )
    )
    found = failed(checks(**settings))
    assert list(found) == [f"permission cognito-idp:{action}"]
    assert f"Grant cognito-idp:{action}" in found[f"permission cognito-idp:{action}"].hint


def test_a_missing_list_groups_permission_fails_the_pool_check(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    standin.faults.append(
        lambda r: (
            cognito_error("AccessDeniedException", "denied")
            if r.operation == "ListGroups"
            else None
        )
    )
    found = checks(**settings)
    assert not found["user pool"].ok
    assert "Grant cognito-idp:ListGroups" in found["user pool"].hint


def test_configured_groups_that_exist_pass(
    standin: CognitoStandIn, settings: dict[str, Any]
) -> None:
    standin.seed(settings["user_pool_id"], people(2), {"eng": ["user0"], "ops": ["user1"]})
    found = checks(**settings, groups=["eng", "ops", "Eng"])
    assert found["configured groups"].message == "not in the pool: Eng"
    assert checks(**settings, groups=["eng", "ops"])["configured groups"].ok


def test_the_region_defaults_from_the_pool_id_then_aws_region(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from provision_cognito.settings import CognitoSettings

    assert CognitoSettings(user_pool_id="eu-west-1_AbC123").region == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert CognitoSettings(user_pool_id="local_AbC123").region == "ap-south-1"
    assert CognitoSettings(user_pool_id="eu-west-1_A", region="us-east-1").region == "us-east-1"
