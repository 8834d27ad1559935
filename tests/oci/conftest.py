"""A local identity domain per test (the emulator over real HTTP), and connectors to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from provision_oci import OciSettings, OciTarget
from provision_oci.emulator import OciEmulator

CLIENT_ID = "provision-test"
CLIENT_SECRET = "provision-test-secret"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def domain() -> Iterator[OciEmulator]:
    """A fresh domain without rate limits (tests of limits turn them on)."""
    with OciEmulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, limits=False) as emulator:
        yield emulator


def target(domain: OciEmulator, **kwargs: Any) -> OciTarget:
    settings = {
        "domain_url": domain.url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "tier": "premium",
        **kwargs,
    }
    return OciTarget(OciSettings(**settings))


def writes(domain: OciEmulator) -> dict[str, int]:
    """Requests that change something (the token excepted)."""
    return {
        k: v
        for k, v in domain.counts().items()
        if k.split(" ", 1)[0] in WRITES and k != "POST token"
    }
