"""provision: authoritative identity provisioning on a pluggy connector core.

Writing a connector takes a class with a pydantic ``Settings`` model and three hooks::

    from provision import Check, Outcome, hookimpl

    class MyConnector:
        \"\"\"Reads and writes my directory.\"\"\"

        roles = frozenset({"source", "target"})
        Settings = MySettings  # pydantic, extra="forbid", SecretStr for secrets

        def __init__(self, settings: MySettings) -> None: ...

        @hookimpl
        def provision_test(self) -> list[Check]: ...
        @hookimpl
        def provision_full_read(self, role): ...  # scim2-models User / Group objects
        @hookimpl
        def provision_write(self, changes): ...  # one Outcome per Change

and one line in your distribution's entry points, group ``provision.connectors``.
docs/writing-a-connector.md walks through it; `provision.testing` checks the result.
"""

from __future__ import annotations

from provision.contract import (
    Action,
    Capabilities,
    Change,
    Check,
    Kind,
    Outcome,
    RequestStats,
    Role,
    Unreadable,
    Unverified,
)
from provision.hookspecs import hookimpl

DISTRIBUTION = "provision-sync"
"""The distribution on the package index (``provision`` there is an unrelated project); the
import packages and the ``provision`` command keep their names."""

__all__ = [
    "DISTRIBUTION",
    "Action",
    "Capabilities",
    "Change",
    "Check",
    "Kind",
    "Outcome",
    "RequestStats",
    "Role",
    "Unreadable",
    "Unverified",
    "hookimpl",
]
