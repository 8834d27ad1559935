"""``provision sandbox oci``: the identity-domain emulator, to try the target against.

`OciTarget.provision_sandbox` imports this module only when asked for; it needs the
``sandbox`` extra (``scim2-server``). The emulator accepts exactly the client id and secret
below at its token endpoint, on the premium tier's rate limits.
"""

from __future__ import annotations

from typing import Any, Self

from provision_oci.emulator import OciEmulator

CLIENT_ID = "provision-demo"
CLIENT_SECRET = "demo-client-secret"
"""Fake: the only secret this local emulator accepts, and nothing else does."""
TIER = "premium"


class OciSandbox:
    """An identity domain emulated on 127.0.0.1 (a `provision.sandbox.Sandbox`)."""

    def __init__(self, port: int = 0) -> None:
        self.domain = OciEmulator(
            tier=TIER, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, port=port
        )

    def __enter__(self) -> Self:
        self.domain.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.domain.stop()

    @property
    def url(self) -> str:
        return self.domain.url

    @property
    def label(self) -> str:
        return f"an identity domain (emulator, {self.url})"

    def settings(self) -> dict[str, Any]:
        return {"domain_url": self.url, "client_id": CLIENT_ID, "tier": TIER}

    def secrets(self) -> dict[str, str]:
        return {"client_secret": CLIENT_SECRET}

    def comments(self) -> dict[str, str]:
        return {"domain_url": "https://idcs-….identity.oraclecloud.com in production"}

    def summary(self) -> list[str]:
        return [
            f"The domain sent {self.domain.welcome_mails} welcome mails and answered "
            f"{self.domain.throttled} requests with 429."
        ]
