"""One moto Cognito per e2e module; each test makes its own pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provision_cognito.standin import CognitoStandIn


@pytest.fixture(scope="module")
def cognito() -> Iterator[CognitoStandIn]:
    with CognitoStandIn() as server:
        yield server
