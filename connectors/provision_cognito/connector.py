"""The ``cognito`` source: the hooks, the connectivity checks and the full read."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from scim2_models import Group, User

from provision import Capabilities, Check, RequestStats, Role, Unreadable, Unverified, hookimpl
from provision.sandbox import Sandbox, require
from provision_cognito.checks import Connectivity
from provision_cognito.client import CognitoClient, NoCredentials
from provision_cognito.read import CognitoReadError, PoolRead
from provision_cognito.settings import CognitoSettings

log = logging.getLogger(__name__)
TEST_TIMEOUT = 10.0
"""Seconds ``provision test`` waits for an answer (a run waits ``timeout``)."""
TEST_ATTEMPTS = 2

UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class CognitoSource:
    """AWS Cognito user pool: users, groups and memberships, read at the API floor."""

    roles = frozenset({Role.SOURCE})
    Settings = CognitoSettings
    capabilities = Capabilities(
        incremental=False,
        incremental_reason="Cognito has no change feed (no API lists what changed since a "
        "point in time), so every run reads the whole pool",
        # A user's key is its sub, "an immutable UUID" (reference/cognito.md; Cognito's
        # user pool attributes page): target users with another externalId are not ours.
        user_key_pattern=UUID,
    )

    def __init__(self, settings: CognitoSettings) -> None:
        self.settings = settings
        self._client: CognitoClient | None = None
        self._stats = RequestStats()

    @property
    def client(self) -> CognitoClient:
        if self._client is None:
            self._client = CognitoClient(self.settings)
            self._stats = self._client.stats
        return self._client

    # Hooks
    @staticmethod
    @hookimpl
    def provision_sandbox(port: int) -> Sandbox:
        """moto's Cognito (`provision_cognito.standin`), imported here only: never in production."""
        require("cognito", "provision-sync[sandbox]", "moto", "flask", "werkzeug")
        from provision_cognito.sandbox import CognitoSandbox

        return CognitoSandbox(port)

    @hookimpl
    def provision_request_stats(self) -> RequestStats:
        return self._stats

    @hookimpl
    def provision_test(self) -> list[Check]:
        # A short leash: a silent network must be reported in seconds, not after 6 x 30 s.
        probe = self.settings.model_copy(
            update={
                "timeout": min(self.settings.timeout, TEST_TIMEOUT),
                "max_attempts": min(self.settings.max_attempts, TEST_ATTEMPTS),
            }
        )
        return Connectivity(CognitoSource(probe)).run()

    @hookimpl
    def provision_identity(self) -> str:
        return self.settings.identity()

    @hookimpl
    def provision_full_read(self) -> Iterator[User[Any] | Group | Unreadable | Unverified]:
        try:
            client = self.client
        except (NoCredentials, BotoCoreError, ClientError) as err:
            raise CognitoReadError(f"cannot connect to Cognito: {err}") from err
        return PoolRead(client, self.settings).objects()
