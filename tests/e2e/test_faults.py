"""Faults: a flaky, throttling domain; a run killed mid-write; a source failing mid-read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from provision_cognito.standin import CognitoStandIn, Request, cognito_error
from provision_oci.emulator import OciEmulator
from tests.conftest import Cli

OCI_SECRET = "faults-oci-secret"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


RUNS = 4
"""Runs a faulty domain may take to converge: each retries what the last could not."""


def pool_of(cognito: CognitoStandIn, users: int) -> tuple[str, dict[str, list[str]]]:
    pool = cognito.create_pool()
    names = [f"user{i:04}" for i in range(users)]
    groups = {
        "everyone": names,
        "evens": names[::2],
        "few": names[:5],
        **{f"team{t}": names[t::7] for t in range(7)},
    }
    cognito.seed(
        pool, [(n, {"email": f"{n}@example.org", "family_name": n}) for n in names], groups
    )
    cognito.reset()
    return pool, groups


def configure(
    cli: Cli,
    cognito: CognitoStandIn,
    pool: str,
    domain: OciEmulator,
    oci: str = "",
    extra: str = "",
) -> None:
    (cli.cwd / "provision.toml").write_text(
        f'[cognito]\nregion = "{cognito.region}"\nuser_pool_id = "{pool}"\n'
        f'endpoint_url = "{cognito.url}"\naccess_key_id = "AKIAFAULTS"\nmax_attempts = 2\n'
        f'{extra}\n[oci]\ndomain_url = "{domain.url}"\nclient_id = "faults"\n{oci}\n'
    )
    cli.env.update(
        PROVISION_COGNITO_SECRET_ACCESS_KEY="faults-aws-secret",
        PROVISION_OCI_CLIENT_SECRET=OCI_SECRET,
        AWS_EC2_METADATA_DISABLED="true",
    )


def run(cli: Cli) -> tuple[int, dict[str, Any]]:
    result = cli("run", "cognito->oci", "--json")
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def matches_source(domain: OciEmulator, groups: dict[str, list[str]], users: int) -> None:
    held = domain.users()
    names = [u["userName"] for u in held]
    assert len(names) == len(set(names)) == users  # every user, no duplicate
    by_id = {u["id"]: u["userName"] for u in held}
    held_groups = {g["displayName"]: g for g in domain.groups()}
    assert sorted(held_groups) == sorted(groups)  # every group, no duplicate
    for name, members in groups.items():
        got = sorted(by_id[m["value"]] for m in held_groups[name].get("members") or ())
        assert got == sorted(members), f"members of {name}"


def test_a_flaky_throttling_slow_domain_converges(cli: Cli, cognito: CognitoStandIn) -> None:
    pool, groups = pool_of(cognito, 400)
    with OciEmulator(
        tier="premium",
        client_id="faults",
        client_secret=OCI_SECRET,
        latency_ms=5,
        fault_rate=0.05,
        fail_after_commit_rate=0.05,
        seed=11,
    ) as domain:
        # One request per change (hundreds of them), from a client that believes in more budget
        # than the tier gives: the domain answers 429s as well as faults. Which request meets a
        # fault depends on thread timing, so the runs it takes are bounded, not counted: each
        # run fixes what the last one could not, and a run that ends clean means it converged.
        configure(
            cli,
            cognito,
            pool,
            domain,
            'tier = "premium"\nbulk = "off"\nothers_per_second = 250\nmax_attempts = 8',
        )
        reports = []
        for _ in range(RUNS):
            code, report = run(cli)
            reports.append(report)
            if code == 0:
                break
        assert code == 0, reports[-1]
        assert domain.faults_sent > 0  # hundreds of requests at 5 %: faults were met
        matches_source(domain, groups, 400)
        code, last = run(cli)
        assert code == 0
        assert last["users"]["unchanged"] == 400


def test_a_run_killed_halfway_through_writing_converges_without_duplicates(
    cli: Cli, cognito: CognitoStandIn
) -> None:
    pool, groups = pool_of(cognito, 600)
    with OciEmulator(
        tier="premium", client_id="faults", client_secret=OCI_SECRET, latency_ms=150
    ) as domain:
        configure(cli, cognito, pool, domain, 'tier = "premium"')
        process = subprocess.Popen(
            [sys.executable, "-m", "provision", "run", "cognito->oci"],
            cwd=cli.cwd,
            env={**cli.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while domain.counts()["POST Bulk"] < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        written = len(domain.users())
        assert 0 < written < 600  # it died with the job half done
        domain.latency_ms = 0
        code, report = run(cli)
        assert code == 0, report
        assert report["users"]["created"] <= 600 - written  # the rest were linked, not remade
        matches_source(domain, groups, 600)


def test_a_source_failing_halfway_through_the_read_writes_nothing(
    cli: Cli, cognito: CognitoStandIn
) -> None:
    pool, _ = pool_of(cognito, 300)
    pages = {"n": 0}

    def break_third_page(request: Request) -> Any:
        if request.operation == "ListUsers" and request.params.get("UserPoolId") == pool:
            pages["n"] += 1
            if pages["n"] >= 3:  # from the third page on, retries included
                return cognito_error("InternalErrorException", "the pool is unwell", 500)
        return None

    cognito.faults.append(break_third_page)
    try:
        with OciEmulator(client_id="faults", client_secret=OCI_SECRET, limits=False) as domain:
            configure(cli, cognito, pool, domain)
            code, report = run(cli)
            assert code == 1
            assert report["status"] == "aborted"
            assert "InternalErrorException" in report["reason"]
            assert "Nothing was written" in report["reason"]
            assert not [k for k in domain.counts() if k.split()[0] in WRITES and "token" not in k]
            assert domain.users() == []
    finally:
        cognito.faults.clear()


def test_a_filter_naming_an_empty_group_cannot_deactivate_everyone(
    cli: Cli, cognito: CognitoStandIn
) -> None:
    pool, _ = pool_of(cognito, 60)
    cognito.client().create_group(UserPoolId=pool, GroupName="nobody-yet")
    with OciEmulator(client_id="faults", client_secret=OCI_SECRET, limits=False) as domain:
        configure(cli, cognito, pool, domain)
        assert run(cli)[0] == 0
        configure(cli, cognito, pool, domain, extra='groups = ["nobody-yet"]')
        code, report = run(cli)
        assert code == 1
        assert report["status"] == "aborted"
        assert "--allow-deletes" in report["reason"]
        assert all(u["active"] for u in domain.users())
