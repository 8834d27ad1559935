"""Links, pairs and run history in one SQLite file, and the lock that keeps runs apart.

A *link* ties a source key to a target id for one sync pair and kind: it is how the sync knows
what it owns. A *pair* records which systems its links belong to (each end's identity, as its
connector names it), so that renaming a table keeps the links and a state file meant for
another pool or domain is refused by name. The file holds names, keys, ids and reports, never
a setting or a secret.

The schema version is ``PRAGMA user_version``. Opening a file upgrades it in one transaction;
a file written by a newer provision is refused rather than guessed at.
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

NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 0 -> 1: the schema of the first release. It never set user_version, so a version 1 file
    # also reads 0: IF NOT EXISTS makes this step a no-op on one.
    (
        f"""CREATE TABLE IF NOT EXISTS links (
            pair TEXT NOT NULL,
            kind TEXT NOT NULL,
            source_key TEXT NOT NULL,
            target_id TEXT NOT NULL,
            linked_at TEXT NOT NULL DEFAULT ({NOW}),
            PRIMARY KEY (pair, kind, source_key)
        ) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS links_target ON links (pair, kind, target_id)",
        """CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            pair TEXT NOT NULL,
            dry_run INTEGER NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            duration_s REAL NOT NULL,
            report TEXT NOT NULL
        )""",
    ),
    # 1 -> 2: pairs know the systems they join. Pairs that already have links keep their key
    # (the table names); their identities are filled in by their next run.
    (
        f"""CREATE TABLE pairs (
            key TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            source_identity TEXT,
            target_identity TEXT,
            created_at TEXT NOT NULL DEFAULT ({NOW}),
            updated_at TEXT NOT NULL DEFAULT ({NOW})
        ) WITHOUT ROWID""",
        "CREATE UNIQUE INDEX pairs_identities ON pairs (source_identity, target_identity)",
        "INSERT INTO pairs (key, name) SELECT DISTINCT pair, pair FROM links",
    ),
)
VERSION = len(MIGRATIONS)
"""The schema version this code writes: migration ``n`` takes a file from ``n`` to ``n + 1``."""


class StateError(Exception):
    """The state file cannot be used; the message says why and what to do."""


class StateMismatch(StateError):
    """The state file belongs to other systems or to a newer provision: a person must decide."""


@dataclass(frozen=True)
class RunRow:
    id: int
    pair: str
    dry_run: bool
    status: str
    started_at: str
    duration_s: float
    report: dict[str, Any]


@dataclass(frozen=True)
class Binding:
    """Which stored pair a run uses: ``key`` is what the engine takes as ``pair``."""

    key: str
    note: str = ""
    """Something the operator should know (a renamed table), or empty."""


@dataclass(frozen=True)
class PairRow:
    """A pair as stored: its key, the name it last ran under, and the systems it joins."""

    key: str
    name: str
    source_identity: str | None
    target_identity: str | None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def systems(self) -> str:
        return f"{self.source_identity or 'unknown'} -> {self.target_identity or 'unknown'}"


class State:
    """The state file of one configuration. Use as a context manager, or call `close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None)
        except (sqlite3.Error, OSError) as err:
            raise StateError(
                f"state file {path} cannot be opened: {err}. Check the path in [sync] state "
                "and that this user may write there."
            ) from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as err:
            self.db.close()
            raise StateError(
                f"state file {path} cannot be opened: {err}. Check the path in [sync] state "
                "and that this user may write there."
            ) from None
        except StateError:
            self.db.close()
            raise
        self._lock_fd: int | None = None

    def _migrate(self) -> None:
        """Bring the file to `VERSION`, all steps in one transaction, or refuse a newer one."""
        with self._transaction():
            version = self.version()
            if version > VERSION:
                raise StateMismatch(
                    f"state file {self.path} has schema version {version}, but this provision "
                    f"reads versions up to {VERSION}: a newer provision wrote it. Upgrade "
                    "provision (pip install -U provision) on this machine; an older one would "
                    "lose what the newer one records."
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    self.db.execute(statement)
            if version != VERSION:
                self.db.execute(f"PRAGMA user_version = {VERSION}")

    def version(self) -> int:
        """The file's schema version (``PRAGMA user_version``)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

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

    # Pairs
    def pairs(self) -> list[PairRow]:
        """Every stored pair, and any link key without one (links written by the engine alone)."""
        rows = self.db.execute(
            "SELECT key, name, source_identity, target_identity, created_at, updated_at "
            "FROM pairs UNION ALL "
            "SELECT DISTINCT pair, pair, NULL, NULL, NULL, NULL FROM links "
            "WHERE pair NOT IN (SELECT key FROM pairs) ORDER BY 2, 1"
        )
        return [PairRow(*row) for row in rows]

    def bind(
        self,
        name: str,
        source_identity: str | None,
        target_identity: str | None,
        *,
        dry_run: bool = False,
    ) -> Binding:
        """The stored pair that run ``name`` between these two systems uses, or a new one.

        The systems decide, the name only when an identity is unknown (None). In order:
        a pair joining exactly these two systems, whatever its name (a renamed table);
        a pair of this name whose identities are unknown or equal (filled in now);
        a pair of this name joining other systems is refused; else a new pair.
        ``dry_run`` answers the same and writes nothing.
        """
        with self._transaction():
            found = self.pairs()
            if source_identity is not None and target_identity is not None:
                same = [
                    p
                    for p in found
                    if (p.source_identity, p.target_identity) == (source_identity, target_identity)
                ]
                if same:
                    return self._renamed(same[0], name, dry_run)
            named = [p for p in found if p.name == name]
            for pair in named:
                if _agrees(pair.source_identity, source_identity) and _agrees(
                    pair.target_identity, target_identity
                ):
                    return self._completed(pair, source_identity, target_identity, dry_run, found)
            if named:
                raise self._refusal(named[0], name, source_identity, target_identity)
            keys = {p.key for p in found}
            key = next(k for k in _candidates(name) if k not in keys)
            if not dry_run:
                self.db.execute(
                    "INSERT INTO pairs (key, name, source_identity, target_identity) "
                    "VALUES (?, ?, ?, ?)",
                    (key, name, source_identity, target_identity),
                )
            return Binding(key)

    def forget(self, key: str) -> int:
        """Drop pair ``key``'s links and its record (its run history stays); links dropped."""
        with self._transaction():
            dropped = self.db.execute("DELETE FROM links WHERE pair = ?", (key,)).rowcount
            self.db.execute("DELETE FROM pairs WHERE key = ?", (key,))
        return int(dropped)

    def link_counts(self, key: str) -> dict[str, int]:
        """Links of pair ``key`` by kind."""
        rows = self.db.execute(
            "SELECT kind, count(*) FROM links WHERE pair = ? GROUP BY kind ORDER BY kind", (key,)
        )
        return {kind: int(n) for kind, n in rows}

    def _renamed(self, pair: PairRow, name: str, dry_run: bool) -> Binding:
        if pair.name == name:
            return Binding(pair.key)
        if not dry_run:
            self.db.execute(
                f"UPDATE pairs SET name = ?, updated_at = {NOW} WHERE key = ?", (name, pair.key)
            )
        return Binding(
            pair.key,
            f"pair {name!r} joins the same systems as {pair.name!r} did ({pair.systems}): "
            f"table renamed from {pair.name!r}; its links are kept",
        )

    def _completed(
        self,
        pair: PairRow,
        source: str | None,
        target: str | None,
        dry_run: bool,
        found: list[PairRow],
    ) -> Binding:
        fill = PairRow(
            pair.key, pair.name, pair.source_identity or source, pair.target_identity or target
        )
        systems = (fill.source_identity, fill.target_identity)
        taken = None not in systems and any(
            (p.source_identity, p.target_identity) == systems for p in found
        )  # another pair joins them (one end was unknown): the name decides, nothing is stored
        if taken or systems == (pair.source_identity, pair.target_identity):
            return Binding(pair.key)
        if not dry_run:
            self.db.execute(
                "INSERT INTO pairs (key, name, source_identity, target_identity) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "source_identity = excluded.source_identity, "
                f"target_identity = excluded.target_identity, updated_at = {NOW}",
                (fill.key, fill.name, fill.source_identity, fill.target_identity),
            )
        verb = "will be" if dry_run else "is now"
        return Binding(pair.key, f"pair {pair.name!r} {verb} recorded as joining {fill.systems}")

    def _refusal(
        self, pair: PairRow, name: str, source: str | None, target: str | None
    ) -> StateMismatch:
        now = PairRow(pair.key, name, source, target)
        return StateMismatch(
            f"state file {self.path}: pair {name!r} joins {pair.systems} there, but the "
            f"configuration now joins {now.systems}. Its links name objects of those other "
            "systems and must not steer these. For a different pool or domain, give this "
            'configuration its own state file ([sync] state = "..."). If the old systems '
            f"are really gone, run: provision state forget '{pair.key}' (the next run then "
            "relinks by externalId what the source still holds and reports the other "
            "objects it had synced as unmatched; [sync] unmatched = 'deactivate' "
            "deprovisions them)."
        )

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


def _agrees(stored: str | None, given: str | None) -> bool:
    """Two identities agree unless both are known and differ."""
    return stored is None or given is None or stored == given


def _candidates(name: str) -> Iterator[str]:
    """Keys for a new pair: its name, else the name with a number."""
    yield name
    n = 2
    while True:
        yield f"{name}#{n}"
        n += 1
