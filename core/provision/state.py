"""Links and run history in one SQLite file, and the lock that keeps runs apart.

A *link* ties a source key to a target id for one sync pair and kind: it is how the sync knows
what it owns. The file holds keys, ids and reports, never a setting or a secret.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    pair TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_key TEXT NOT NULL,
    target_id TEXT NOT NULL,
    linked_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (pair, kind, source_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_target ON links (pair, kind, target_id);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pair TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_s REAL NOT NULL,
    report TEXT NOT NULL
);
"""


class StateError(Exception):
    """The state file cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class RunRow:
    id: int
    pair: str
    dry_run: bool
    status: str
    started_at: str
    duration_s: float
    report: dict[str, Any]


class State:
    """The state file of one configuration. Use as a context manager, or call `close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as err:
            raise StateError(
                f"state file {path} cannot be opened: {err}. Check the path in [sync] state "
                "and that this user may write there."
            ) from None
        self._lock_fd: int | None = None

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.unlock()
        self.db.close()

    # The lock: an OS file lock, so a killed run never leaves a stale one behind.
    def lock(self, pair: str) -> None:
        """Take the run lock or refuse, naming the process that holds it."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StateError(
                f"another run is using state file {self.path} ({holder}). Wait for it to "
                "finish; two runs on the same state would race each other's writes."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, {pair}".encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # Links
    def links(self, pair: str, kind: str) -> dict[str, str]:
        """source key → target id for one pair and kind."""
        rows = self.db.execute(
            "SELECT source_key, target_id FROM links WHERE pair = ? AND kind = ?", (pair, kind)
        )
        return dict(rows)

    def link_many(self, pair: str, kind: str, links: Iterable[tuple[str, str]]) -> None:
        with self._transaction():
            self.db.executemany(
                "INSERT INTO links (pair, kind, source_key, target_id) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (pair, kind, source_key) DO UPDATE SET "
                "target_id = excluded.target_id, linked_at = excluded.linked_at",
                ((pair, kind, key, target_id) for key, target_id in links),
            )

    def unlink_many(self, pair: str, kind: str, keys: Iterable[str]) -> None:
        with self._transaction():
            self.db.executemany(
                "DELETE FROM links WHERE pair = ? AND kind = ? AND source_key = ?",
                ((pair, kind, key) for key in keys),
            )

    # Run history
    def record_run(self, pair: str, report: dict[str, Any]) -> int:
        with self._transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (pair, dry_run, status, started_at, duration_s, report) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    pair,
                    int(bool(report.get("dry_run"))),
                    report["status"],
                    report["started_at"],
                    report["duration_s"],
                    json.dumps(report),
                ),
            )
        return int(cursor.lastrowid or 0)

    def runs(self, limit: int = 20, pair: str | None = None) -> list[RunRow]:
        query = "SELECT id, pair, dry_run, status, started_at, duration_s, report FROM runs"
        args: tuple[Any, ...] = ()
        if pair:
            query += " WHERE pair = ?"
            args = (pair,)
        query += " ORDER BY id DESC LIMIT ?"
        rows = self.db.execute(query, (*args, limit)).fetchall()
        return [RunRow(r[0], r[1], bool(r[2]), r[3], r[4], r[5], json.loads(r[6])) for r in rows]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
