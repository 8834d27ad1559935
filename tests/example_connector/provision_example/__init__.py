"""A third-party connector in its own distribution: users and groups from a CSV file.

Columns: ``id`` (the stable key), ``username``, ``given_name``, ``family_name``, ``email``,
``active`` (true/false) and ``groups`` (names separated by ``;``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from scim2_models import Email, Group, GroupMember, Name, User

from provision import Check, Kind, Role, Unreadable, hookimpl


class CsvSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="The CSV file to read.")
    delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator.")
    signing_key: SecretStr | None = Field(
        None, description="Stands for a credential: never shown in any output."
    )


class CsvSource:
    """Users and groups from a CSV file (an example connector)."""

    roles = frozenset({Role.SOURCE})
    Settings = CsvSettings

    def __init__(self, settings: CsvSettings) -> None:
        self.settings = settings

    def _rows(self) -> list[dict[str, str]]:
        with self.settings.path.open(newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh, delimiter=self.settings.delimiter))

    @hookimpl
    def provision_test(self) -> list[Check]:
        try:
            rows = self._rows()
        except OSError as err:
            return [Check("csv readable", False, str(err), hint="Check the endpoint's path.")]
        return [Check("csv readable", True, f"{len(rows)} rows in {self.settings.path}")]

    @hookimpl
    def provision_full_read(self) -> Iterator[User[Any] | Group | Unreadable]:
        groups: dict[str, list[str]] = {}
        for row in self._rows():
            try:
                user = User(
                    external_id=row["id"],
                    user_name=row["username"],
                    name=Name(given_name=row["given_name"], family_name=row["family_name"]),
                    emails=[Email(value=row["email"], type="work", primary=True)],
                    active=row.get("active", "true").strip().lower() != "false",
                )
            except ValidationError as err:
                yield Unreadable(
                    Kind.USER, row.get("id", "?"), f"row {row}: {err.errors()[0]['msg']}"
                )
                continue
            for name in filter(None, (g.strip() for g in row.get("groups", "").split(";"))):
                groups.setdefault(name, []).append(row["id"])
            yield user
        for name, members in groups.items():
            yield Group(
                external_id=name,
                display_name=name,
                members=[GroupMember(value=m) for m in members],
            )
