"""A moto Cognito server on 127.0.0.1 for the whole session; a fresh pool per test."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from provision import Role
from provision.plugins import Endpoint
from provision_cognito import CognitoSettings, CognitoSource
from provision_cognito.standin import CognitoStandIn


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No AWS configuration of this machine, and no instance-metadata lookups, ever."""
    home = tmp_path_factory.mktemp("aws")
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / "config"))


@pytest.fixture(scope="session")
def standin() -> Iterator[CognitoStandIn]:
    with CognitoStandIn() as server:
        yield server


@pytest.fixture
def pool(standin: CognitoStandIn) -> Iterator[str]:
    pool_id = standin.create_pool(custom=["department"])
    standin.reset()
    yield pool_id
    standin.reset()


@pytest.fixture
def settings(standin: CognitoStandIn, pool: str) -> dict[str, Any]:
    """Keyword arguments of CognitoSettings for the test's pool (keys, no role)."""
    return {
        "region": standin.region,
        "user_pool_id": pool,
        "endpoint_url": standin.url,
        "sts_endpoint_url": standin.url,
        "access_key_id": "AKIAPROVISIONTEST",
        "secret_access_key": "test-secret-access-key",
    }


def source(**kwargs: Any) -> CognitoSource:
    return CognitoSource(CognitoSettings(**kwargs))


def read(connector: CognitoSource) -> list[Any]:
    endpoint = Endpoint.wrap(connector, "cognito")
    return list(endpoint.hook.provision_full_read(role=Role.SOURCE, attributes=frozenset()))


def people(n: int, prefix: str = "user") -> list[tuple[str, dict[str, str]]]:
    return [
        (
            f"{prefix}{i}",
            {
                "email": f"{prefix}{i}@example.org",
                "given_name": "Given",
                "family_name": f"Family{i}",
                "custom:department": f"dept{i % 7}",
            },
        )
        for i in range(n)
    ]


def floor(users: int, members: list[int]) -> int:
    """The fewest Cognito calls that read a whole pool (moto ends on a tokenless page)."""
    return (
        max(1, math.ceil(users / 60))
        + max(1, math.ceil(len(members) / 60))
        + sum(max(1, math.ceil(m / 60)) for m in members)
    )
