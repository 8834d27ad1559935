"""``provision test oci`` and ``provision run`` into the emulator, as an operator runs them."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator

import pytest

from provision.testing import MemoryConnector, Sample, SampleUser
from provision_cognito.standin import CognitoStandIn
from provision_oci.emulator import OciEmulator
from tests.conftest import Cli

from .conftest import CLIENT_ID, CLIENT_SECRET, writes

USERS = tuple(
    SampleUser(f"user{i:05}", f"Given{i}", f"Family{i}", f"user{i:05}@example.org")
    for i in range(2000)
)


@pytest.fixture
def premium() -> Iterator[OciEmulator]:
    """A premium-tier domain with its rate limits on."""
    with OciEmulator(tier="premium", client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as domain:
        yield domain


def configure(cli: Cli, domain: OciEmulator, source: str) -> None:
    (cli.cwd / "provision.toml").write_text(
        f'{source}\n[oci]\ndomain_url = "{domain.url}"\nclient_id = "{CLIENT_ID}"\n'
        'tier = "premium"\n'
    )
    cli.env["PROVISION_OCI_CLIENT_SECRET"] = CLIENT_SECRET


def test_provision_test_oci_reports_the_domain(cli: Cli, premium: OciEmulator) -> None:
    configure(cli, premium, "")
    result = cli("test", "oci")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   token granted" in result.stdout
    assert "writes will use Bulk" in result.stdout
    assert CLIENT_SECRET not in result.stdout + result.stderr
    cli.env["PROVISION_OCI_CLIENT_SECRET"] = "not-the-secret"
    bad = cli("test", "oci")
    assert bad.returncode == 1
    assert "FAIL token granted" in bad.stdout
    assert "not-the-secret" not in bad.stdout + bad.stderr


@pytest.fixture
def unlimited() -> Iterator[OciEmulator]:
    """A premium domain without rate limits: a 429's retry would add a Bulk call that depends
    on the machine's timing (the 429 paths are tested on their own)."""
    with OciEmulator(
        tier="premium", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, limits=False
    ) as domain:
        yield domain


def test_a_file_of_2000_users_and_50_groups_lands_in_bulks_of_50(
    cli: Cli, unlimited: OciEmulator
) -> None:
    premium = unlimited
    rng = random.Random(5)
    groups = {f"team{g:02}": tuple(u.user_name for u in rng.sample(USERS, 120)) for g in range(50)}
    (cli.cwd / "people.json").write_text(
        json.dumps(MemoryConnector.holding(Sample(USERS, groups)).directory.dump())
    )
    configure(cli, premium, '[people]\nconnector = "file"\npath = "people.json"\n')
    code, report = cli.json("run", "people->oci")
    assert code == 0, report
    assert (report["users"]["created"], report["groups"]["created"]) == (2000, 50)
    assert report["memberships"]["added"] == 50 * 120
    assert premium.welcome_mails == 0
    assert writes(premium) == {"POST Bulk": 2000 // 50 + 1}  # all 50 groups fit one Bulk
    assert report["requests"]["oci"]["POST Bulk"] == 41
    held = {g["displayName"]: len(g.get("members") or ()) for g in premium.groups()}
    assert held == {name: 120 for name in groups}
    premium.reset_counts()
    code, again = cli.json("run", "people->oci")
    assert code == 0
    assert writes(premium) == {}
    assert again["users"]["unchanged"] == 2000


def test_cognito_into_oci_end_to_end(cli: Cli, premium: OciEmulator) -> None:
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    with CognitoStandIn() as cognito:
        pool = cognito.create_pool()
        people = [
            (
                u.user_name,
                {"email": u.email, "given_name": u.given_name, "family_name": u.family_name},
            )
            for u in USERS[:300]
        ]
        cognito.seed(
            pool, people, {"admins": ["user00001", "user00002"], "everyone": [u for u, _ in people]}
        )
        configure(
            cli,
            premium,
            (
                f'[cognito]\nregion = "{cognito.region}"\nuser_pool_id = "{pool}"\n'
                f'endpoint_url = "{cognito.url}"\naccess_key_id = "AKIAPROVISIONTEST"\n'
            ),
        )
        cli.env.update(
            PROVISION_COGNITO_SECRET_ACCESS_KEY="cognito-secret", AWS_EC2_METADATA_DISABLED="true"
        )
        code, report = cli.json("run", "cognito->oci")
        assert code == 0, report
        assert report["users"]["created"] == 300
        assert report["memberships"]["added"] == 302
        assert sum(report["requests"]["cognito"].values()) == 5 + 1 + 1 + 5
        code, again = cli.json("run", "cognito->oci")
        assert again["users"]["unchanged"] == 300
        assert sum(again["users"][k] for k in ("created", "updated", "deactivated")) == 0
