"""The run report: what a run read, changed and failed, with stable JSON keys."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from provision.contract import Kind

USER_COUNTS = ("read", "created", "updated", "deactivated", "deleted", "unchanged", "failed")
GROUP_COUNTS = ("read", "created", "updated", "deleted", "unchanged", "failed")
MEMBERSHIP_COUNTS = ("read", "added", "removed", "unchanged", "failed")
STATUSES = ("succeeded", "partial", "failed", "aborted")
KEYS = (
    "source",
    "target",
    "mode",
    "dry_run",
    "status",
    "reason",
    "started_at",
    "duration_s",
    "users",
    "groups",
    "memberships",
    "requests",
    "throttled",
    "errors",
)
"""The report's top-level keys, a stable interface."""

EXIT_CODES = {"succeeded": 0, "failed": 1, "aborted": 1, "partial": 3}
"""Process exit code by status; configuration and usage mistakes exit 2."""


@dataclass
class ObjectError:
    """One object that could not be synced."""

    kind: str
    key: str
    action: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "key": self.key, "action": self.action, "message": self.message}


def _counts(names: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(names, 0)


@dataclass
class Report:
    """Everything a run did, as the JSON report and the run history show it."""

    source: str
    target: str
    dry_run: bool
    started_at: str
    mode: str = "full"
    status: str = "succeeded"
    reason: str = ""
    """Why a run was aborted or failed, for the operator."""
    duration_s: float = 0.0
    users: dict[str, int] = field(default_factory=lambda: _counts(USER_COUNTS))
    groups: dict[str, int] = field(default_factory=lambda: _counts(GROUP_COUNTS))
    memberships: dict[str, int] = field(default_factory=lambda: _counts(MEMBERSHIP_COUNTS))
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    errors: list[ObjectError] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Both sides are read at once: their errors arrive from two threads."""

    def counts(self, kind: Kind) -> dict[str, int]:
        return {Kind.USER: self.users, Kind.GROUP: self.groups}.get(kind, self.memberships)

    def error(self, kind: Kind | str, key: str, action: str, message: str) -> None:
        kind = Kind(kind)
        with self._lock:
            self.errors.append(ObjectError(kind.value, key, action, message))
            self.counts(kind)["failed"] += 1

    @property
    def writes(self) -> int:
        """Changes made (or, in a dry run, planned)."""
        skip = {"read", "unchanged", "failed"}
        return sum(
            n
            for counts in (self.users, self.groups, self.memberships)
            for name, n in counts.items()
            if name not in skip
        )

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def settle(self) -> None:
        """Set ``partial`` when some objects failed in an otherwise successful run."""
        if self.status == "succeeded" and self.errors:
            self.status = "partial"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "mode": self.mode,
            "dry_run": self.dry_run,
            "status": self.status,
            "reason": self.reason,
            "started_at": self.started_at,
            "duration_s": round(self.duration_s, 3),
            "users": dict(self.users),
            "groups": dict(self.groups),
            "memberships": dict(self.memberships),
            "requests": {k: dict(v) for k, v in self.requests.items()},
            "throttled": dict(self.throttled),
            "errors": [e.as_dict() for e in self.errors],
        }
