"""``provision test cognito`` and ``provision run 'cognito->file'`` as an operator runs them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provision_cognito.standin import CognitoStandIn
from tests.conftest import Cli

from .conftest import floor, people

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def configured(cli: Cli, standin: CognitoStandIn, pool: str) -> Cli:
    (cli.cwd / "provision.toml").write_text(
        f'[cognito]\nregion = "{standin.region}"\nuser_pool_id = "{pool}"\n'
        f'endpoint_url = "{standin.url}"\nsts_endpoint_url = "{standin.url}"\n'
        'access_key_id = "AKIAPROVISIONTEST"\n'
        'role_arn = "arn:aws:iam::123456789012:role/provision-reader"\n'
        'external_id = "ext-1234"\n\n'
        '[backup]\nconnector = "file"\npath = "backup.json"\n'
    )
    cli.env["PROVISION_COGNITO_SECRET_ACCESS_KEY"] = SECRET
    return cli


def test_provision_test_cognito_passes_against_a_healthy_pool(configured: Cli) -> None:
    result = configured("test", "cognito")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   assume role" in result.stdout
    assert "ok   permission cognito-idp:AdminGetUser: allowed" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_a_run_into_a_file_reads_at_the_floor_and_moto_sees_nothing_else(
    configured: Cli, standin: CognitoStandIn, pool: str
) -> None:
    names = [u for u, _ in people(3000)]
    groups = {f"team{i}": names[i * 100 : i * 100 + 250] for i in range(25)}
    standin.seed(pool, people(3000), groups)
    code, report = configured.json("run", "cognito->backup", "--report", "report.json")
    assert code == 0, report
    assert report["users"]["created"] == 3000
    assert report["groups"]["created"] == 25
    assert report["memberships"]["added"] == sum(len(m) for m in groups.values())
    expected = floor(3000, [len(m) for m in groups.values()])
    cognito = {k: v for k, v in report["requests"]["cognito"].items() if k != "AssumeRole"}
    assert sum(cognito.values()) == expected
    assert report["requests"]["cognito"]["AssumeRole"] == 1
    assert dict(standin.calls()) == cognito  # moto saw exactly what the report says
    assert dict(standin.calls("sts")) == {"AssumeRole": 1}
    assert standin.calls("other") == {}
    saved = json.loads((configured.cwd / "backup.json").read_text())
    assert len(saved["Users"]) == 3000
    for path in configured.cwd.iterdir():
        assert SECRET.encode() not in path.read_bytes()
    again = configured.json("run", "cognito->backup")[1]
    assert sum(again["users"][k] for k in ("created", "updated", "deactivated")) == 0


def test_incremental_is_refused_because_cognito_has_no_change_feed(configured: Cli) -> None:
    result = configured("run", "cognito->backup", "--incremental")
    assert result.returncode == 2
    assert "Cognito has no change feed" in result.stderr


def test_a_bad_setting_is_named(configured: Cli, pool: str) -> None:
    result = configured("test", "cognito", env={"PROVISION_COGNITO_USER_POOL_ID": "nope"})
    assert result.returncode == 2
    assert "[cognito] key 'user_pool_id' (from PROVISION_COGNITO_USER_POOL_ID)" in result.stderr
    assert "is not a user pool id" in result.stderr


def test_secret_keys_without_their_id_are_refused(configured: Cli, settings: Any) -> None:
    toml = (
        (configured.cwd / "provision.toml")
        .read_text()
        .replace('access_key_id = "AKIAPROVISIONTEST"\n', "")
    )
    (configured.cwd / "provision.toml").write_text(toml)
    result = configured("test", "cognito")
    assert result.returncode == 2
    assert "give access_key_id and secret_access_key together" in result.stderr
    assert SECRET not in result.stderr
