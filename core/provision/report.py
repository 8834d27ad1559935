"""The run report: what a run read, changed and failed, with stable JSON keys."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from provision.contract import Kind

USER_COUNTS = ("read", "created", "updated", "deactivated", "deleted", "unchanged", "failed")
GROUP_COUNTS = ("read", "created", "updated", "deleted", "unchanged", "failed")
MEMBERSHIP_COUNTS = ("read", "added", "removed", "unchanged", "failed")
PLANNED_COUNTS = {
    "users": ("create", "update", "deactivate", "delete"),
    "groups": ("create", "update", "delete"),
    "memberships": ("add", "remove"),
}
"""What a plan intends, by kind and action: reported apart from what was done."""
DONE = {
    "create": "created",
    "update": "updated",
    "deactivate": "deactivated",
    "delete": "deleted",
    "add_members": "added",
    "remove_members": "removed",
}
"""An action's count in the done counts."""
STATUSES = ("succeeded", "partial", "failed", "aborted", "interrupted")
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
    "planned",
    "situations",
    "unmatched",
    "warnings",
    "requests",
    "throttled",
    "errors",
)
"""The report's top-level keys, a stable interface."""

EXIT_CODES = {"succeeded": 0, "failed": 1, "aborted": 1, "partial": 3, "interrupted": 130}
"""Process exit code by status; configuration and usage mistakes exit 2. An interrupted run
exits 128 + the signal's number: 130 for SIGINT (Ctrl-C), 143 for SIGTERM."""


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
    """Done counts: what the target confirmed (``read``, ``unchanged``: what was compared)."""
    planned: dict[str, dict[str, int]] = field(
        default_factory=lambda: {k: _counts(v) for k, v in PLANNED_COUNTS.items()}
    )
    """What the plan intended; a plan (dry run) or a run stopped by a guard did none of it."""
    situations: dict[str, dict[str, int]] = field(default_factory=dict)
    """Objects per situation, by kind (see provision.match.SITUATIONS)."""
    unmatched: list[dict[str, str]] = field(default_factory=list)
    """Target objects linked to nothing that carry a source-shaped externalId."""
    warnings: list[ObjectError] = field(default_factory=list)
    """Objects left alone this run although nothing failed (e.g. unconfirmed absences)."""
    requests: dict[str, dict[str, int]] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)
    errors: list[ObjectError] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Both sides are read at once: their errors arrive from two threads."""

    def counts(self, kind: Kind) -> dict[str, int]:
        return {Kind.USER: self.users, Kind.GROUP: self.groups}.get(kind, self.memberships)

    def error(self, kind: Kind | str, key: str, action: str, message: str, count: int = 1) -> None:
        """One object failed (``count`` members, for a membership change)."""
        kind = Kind(kind)
        with self._lock:
            self.errors.append(ObjectError(kind.value, key, action, message))
            self.counts(kind)["failed"] += count

    def warn(self, kind: Kind | str, key: str, action: str, message: str) -> None:
        with self._lock:
            self.warnings.append(ObjectError(Kind(kind).value, key, action, message))

    def done(self, kind: Kind, action: str, n: int = 1) -> None:
        """``n`` objects (or members) the target confirmed ``action`` for."""
        self.counts(kind)[DONE[action]] += n

    @property
    def writes(self) -> int:
        """Changes the target confirmed."""
        skip = {"read", "unchanged", "failed"}
        return sum(
            n
            for counts in (self.users, self.groups, self.memberships)
            for name, n in counts.items()
            if name not in skip
        )

    @property
    def planned_writes(self) -> int:
        """Changes the plan intended."""
        return sum(n for counts in self.planned.values() for n in counts.values())

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
            "planned": {k: dict(v) for k, v in self.planned.items()},
            "situations": {k: dict(v) for k, v in self.situations.items()},
            "unmatched": [dict(u) for u in self.unmatched],
            "warnings": [w.as_dict() for w in self.warnings],
            "requests": {k: dict(v) for k, v in self.requests.items()},
            "throttled": dict(self.throttled),
            "errors": [e.as_dict() for e in self.errors],
        }
