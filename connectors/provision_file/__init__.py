"""The ``file`` connector: users and groups as SCIM JSON in one file, as source or target.

The file holds ``{"Users": [...], "Groups": [...]}`` in SCIM wire format. As a target it
gives each object an ``id`` and keeps the source key in ``externalId``; groups name their
members by user ``id``. As a source, an object's key is its ``externalId``, else its ``id``.
An object written by hand without an ``id`` is kept as it is and never written over: as a
source it is keyed by its ``externalId`` if it has one, otherwise (and always as a target) it
is reported as unreadable, naming it and its place in the file, while the rest syncs.
Writes are atomic: a temporary file beside the target, flushed to disk, then renamed over it,
so an interrupted run never leaves half a file.

It is also the smallest complete connector, written to be read by connector authors.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from provision import Change, Check, Outcome, RequestStats, Role, hookimpl
from provision.memory import Directory

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from scim2_models import Group, User

    from provision import Unreadable


class FileSettings(BaseModel):
    """Settings of a ``file`` endpoint."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(description="The JSON file; a run creates it when it is the target.")
    indent: int | None = Field(2, ge=0, description="JSON indentation; 0 writes one line.")


class FileError(Exception):
    """The file cannot be read; the message says what to do."""


class FileConnector:
    """SCIM JSON in one file: back up a pool, review it, load it into a domain."""

    roles = frozenset({Role.SOURCE, Role.TARGET})
    Settings = FileSettings

    def __init__(self, settings: FileSettings) -> None:
        self.path = settings.path.expanduser()
        self.indent = settings.indent or None
        self.stats = RequestStats()

    @hookimpl
    def provision_test(self) -> list[Check]:
        try:
            directory = self._load(missing_ok=True)
        except FileError as err:
            return [
                Check(
                    "file readable",
                    False,
                    str(err),
                    hint="Fix the file, or point the endpoint's path elsewhere.",
                )
            ]
        if self.path.exists():
            found = (
                f"{len(directory.users)} users and {len(directory.groups)} groups in {self.path}"
            )
        else:
            found = f"{self.path} does not exist yet: a run creates it (a source must exist)"
        parent = self.path.parent
        writable = parent.is_dir() and os.access(parent, os.W_OK)
        return [
            Check("file readable", True, found),
            Check(
                "directory writable",
                writable,
                f"{parent} is writable" if writable else f"cannot write in {parent}",
                hint="" if writable else "Create the directory or let this user write there.",
            ),
        ]

    @hookimpl
    def provision_full_read(self, role: Role) -> Iterator[User[Any] | Group | Unreadable]:
        return self._load(missing_ok=role is Role.TARGET).read(role)

    @hookimpl
    def provision_write(self, changes: Iterable[Change]) -> Iterator[Outcome]:
        directory = self._load(missing_ok=True)
        outcomes = [directory.apply(change) for change in changes]
        self._save(directory)  # before any outcome: a success is only told once it is on disk
        yield from outcomes

    @hookimpl
    def provision_identity(self) -> str:
        return f"file:{self.path.resolve()}"

    @hookimpl
    def provision_request_stats(self) -> RequestStats:
        return self.stats

    def _load(self, missing_ok: bool) -> Directory:
        self.stats.count("read_file")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            if missing_ok:
                return Directory(where=str(self.path))
            raise FileError(f"{self.path} does not exist; check the endpoint's path") from None
        except (OSError, UnicodeDecodeError) as err:
            raise FileError(f"{self.path} cannot be read: {err}") from None
        except json.JSONDecodeError as err:
            raise FileError(f"{self.path} is not valid JSON: {err}") from None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k, []), list) for k in ("Users", "Groups")
        ):
            raise FileError(f'{self.path} must hold {{"Users": [...], "Groups": [...]}}')
        return Directory(data.get("Users"), data.get("Groups"), where=str(self.path))

    def _save(self, directory: Directory) -> None:
        self.stats.count("write_file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(directory.dump(), fh, indent=self.indent, ensure_ascii=False)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


__all__ = ["FileConnector", "FileSettings"]
