"""One moto Cognito per e2e module; each test makes its own pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provision_cognito.standin import CognitoStandIn
from provision_oci.emulator import OciEmulator
from tests.conftest import Cli
from tests.e2e.world import CLIENT, OCI_SECRET, World


@pytest.fixture(scope="module")
def cognito() -> Iterator[CognitoStandIn]:
    with CognitoStandIn() as server:
        yield server


@pytest.fixture
def world(cli: Cli, cognito: CognitoStandIn) -> Iterator[World]:
    with OciEmulator(tier="premium", client_id=CLIENT, client_secret=OCI_SECRET) as domain:
        yield World(cli, cognito, domain)
