"""Hostile input from Cognito: every object syncs or fails alone with a clear message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from provision_cognito.standin import CognitoStandIn
from provision_oci.emulator import OciEmulator
from tests.conftest import Cli

OCI_SECRET = "hostile-oci-secret"
INJECTION = '" or userName pr or "'

CORPUS: dict[str, dict[str, str]] = {
    "rtl": {"email": "rtl@example.org", "given_name": "שלום", "family_name": "עולם"},
    "emoji": {"email": "emoji@example.org", "given_name": "🙂🙃", "family_name": "🚀"},
    "long": {
        "email": "long@example.org",
        "given_name": "g" * 2000,
        "family_name": "f" * 2000,
        "custom:department": "d" * 2000,
    },
    "plus": {"email": "First.Last+tag@Example.ORG", "family_name": "Plus"},
    "nonames": {"email": "nonames@example.org"},
    "same-email-1": {"email": "shared@example.org", "family_name": "One"},
    "same-email-2": {"email": "shared@example.org", "family_name": "Two"},
    'quote"user': {"email": "quote@example.org", "family_name": 'Quo"te'},
    "back\\slash": {"email": "backslash@example.org", "family_name": "Back\\slash"},
    INJECTION: {"email": "injection@example.org", "family_name": INJECTION},
    "address": {"email": "address@example.org", "address": "1 Main St {not json"},
    "Google_105566480812345": {"email": "federated@example.org", "family_name": "Fed"},
    "joiner": {"email": "joiner@example.org", "family_name": "Joiner"},
    # These cannot be synced; each must fail alone, saying why.
    "noemail": {"family_name": "Nomail"},
    "bad-email": {"email": "not-an-email", "family_name": "Bad"},
    "quoted-email": {"email": '"john doe"@example.org', "family_name": "Quoted"},
}
FAILING = {"noemail", "bad-email", "quoted-email"}
GROUPS = {
    "empty": [],
    'team"quote': ["rtl", "emoji"],
    "team\\back": ["plus"],
    INJECTION: ["long"],
    **{f"g{i:03}": ["joiner"] for i in range(100)},
}


@pytest.fixture
def hostile(cli: Cli) -> Any:
    with (
        CognitoStandIn() as cognito,
        OciEmulator(client_id="hostile", client_secret=OCI_SECRET, limits=False) as domain,
    ):
        pool = cognito.create_pool(custom=["department"])
        subs = cognito.seed(pool, list(CORPUS.items()), GROUPS)
        cognito.backend_pool(pool).users["Google_105566480812345"].status = "EXTERNAL_PROVIDER"
        (cli.cwd / "provision.toml").write_text(
            f'[cognito]\nregion = "{cognito.region}"\nuser_pool_id = "{pool}"\n'
            f'endpoint_url = "{cognito.url}"\naccess_key_id = "AKIAHOSTILE"\n'
            "user_list_rps = 500\n\n"
            f'[oci]\ndomain_url = "{domain.url}"\nclient_id = "hostile"\n'
        )
        cli.env.update(
            PROVISION_COGNITO_SECRET_ACCESS_KEY="hostile-aws-secret",
            PROVISION_OCI_CLIENT_SECRET=OCI_SECRET,
            AWS_EC2_METADATA_DISABLED="true",
        )
        yield cli, domain, subs


def run(cli: Cli, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("run", "cognito->oci", "--json", *args)
    assert result.stdout, result.stderr
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def test_every_object_syncs_or_fails_alone_with_a_clear_message(hostile: Any) -> None:
    cli, domain, subs = hostile
    code, report = run(cli)
    assert code == 3, report  # partial: some objects failed, the others synced
    failed = {e["key"]: e["message"] for e in report["errors"]}
    assert set(failed) == {subs[name] for name in FAILING}
    assert "requires one primary email" in failed[subs["noemail"]]
    assert "'not-an-email'" in failed[subs["bad-email"]]
    assert "fix it in the pool" in failed[subs["quoted-email"]]
    held = {u["userName"]: u for u in domain.users()}
    assert set(held) == set(CORPUS) - FAILING
    assert held["rtl"]["name"] == {"givenName": "שלום", "familyName": "עולם"}
    assert held["long"]["name"]["givenName"] == "g" * 2000
    assert "name" not in held["nonames"]  # the domain's schema requires no family name
    assert held["plus"]["emails"][0]["value"] == "First.Last+tag@example.org"
    assert held[INJECTION]["name"]["familyName"] == INJECTION
    assert held["address"]["addresses"][0]["formatted"] == "1 Main St {not json"
    for name, user in held.items():
        assert user["externalId"] == subs[name]
    groups = {g["displayName"]: g for g in domain.groups()}
    assert set(groups) == set(GROUPS)
    assert not groups["empty"].get("members")
    joiner = held["joiner"]["id"]
    assert (
        sum(joiner in {m["value"] for m in g.get("members") or ()} for g in groups.values()) == 100
    )


def test_a_rerun_changes_nothing(hostile: Any) -> None:
    cli, domain, _ = hostile
    run(cli)
    domain.reset_counts()
    code, again = run(cli)
    assert code == 3  # the same three still fail, and nothing else is written
    assert {
        k: v for k, v in domain.counts().items() if k.split()[0] != "GET" and k != "POST token"
    } == {}
    assert again["users"]["unchanged"] == len(CORPUS) - len(FAILING)


def test_lost_answers_are_resolved_by_filters_that_match_only_their_own_object(
    hostile: Any,
) -> None:
    # Every create is applied but its answer lost (502): the retry meets a 409, and the
    # object is found by a filter on its name, which must match only itself, quotes,
    # backslashes and injection attempts included.
    cli, domain, subs = hostile
    domain.fail_after_commit_rate = 1.0
    cli.env.update(PROVISION_OCI_BULK="off", PROVISION_OCI_TIER="premium")  # one request each
    code, first = run(cli)
    assert code == 3, first
    assert domain.lost_answers == len(CORPUS) - len(FAILING) + len(GROUPS)
    held = domain.users()
    assert sorted(u["userName"] for u in held) == sorted(set(CORPUS) - FAILING)  # no duplicate
    assert all(u["externalId"] == subs[u["userName"]] for u in held)
    assert len(domain.groups()) == len(GROUPS)
    assert {e["key"] for e in first["errors"]} == {subs[n] for n in FAILING}
    domain.fail_after_commit_rate = 0.0
    code, again = run(cli)
    assert again["users"]["unchanged"] == len(CORPUS) - len(FAILING)  # every one was linked
    assert again["groups"]["unchanged"] == len(GROUPS)
    assert again["memberships"]["added"] == 0
