"""Saved plans: ``provision plan --out FILE`` writes one; ``provision apply FILE`` applies
exactly that plan, or refuses when anything it was computed from has changed since.

A plan depends on more than the objects it changes (guards count what is live, renames look
at who holds a name), so its fingerprint covers everything it was computed from: every record
of both sides, the links, and the ``[sync]`` settings. ``apply`` re-reads both ends, computes
the plan afresh and writes only if the fingerprint and the changes are the same.
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provision import mapping
from provision.contract import Kind

if TYPE_CHECKING:
    from provision.plan import Plan
    from provision.records import Snapshot
    from provision.settings import SyncSettings

VERSION = 2
"""2 since the fingerprint encodes records by the chunk (a plan saved by an older version is
refused, and says so, instead of reporting that everything changed)."""


class SavedPlanError(Exception):
    """The file is not a saved plan this version can apply; the message says why."""


def fingerprint(
    source: Snapshot, target: Snapshot, links: dict[str, dict[str, str]], settings: SyncSettings
) -> dict[str, str]:
    """A digest of each input of a plan: the source, the target, the links, the settings."""
    return {
        "source": _snapshot(source),
        "target": _snapshot(target),
        "links": _hash(sorted((k, sorted(v.items())) for k, v in links.items())),
        "settings": _hash(settings.model_dump(mode="json")),
    }


def _snapshot(snapshot: Snapshot) -> str:
    h = hashlib.blake2b(digest_size=16)
    for kind in (Kind.USER, Kind.GROUP):
        name = kind.value
        records = sorted(snapshot.of(kind).values(), key=_KEY)
        for start in range(0, len(records), _CHUNK):  # one encoding per chunk of rows
            h.update(
                mapping.encode(
                    [
                        (name, r.key, r.label, r.external_id, r.active, r.digest.hex(), r.members)
                        for r in records[start : start + _CHUNK]
                    ]
                )
            )
    h.update(json.dumps(sorted(snapshot.present)).encode())
    return h.hexdigest()


_KEY = operator.attrgetter("key")
_CHUNK = 4096


def _hash(value: Any) -> str:
    return hashlib.blake2b(json.dumps(value).encode(), digest_size=16).hexdigest()


def changes_of(plan: Plan) -> list[dict[str, Any]]:
    """The plan's changes as saved and compared (review details left out)."""
    return [{k: v for k, v in p.as_dict().items() if k != "details"} for p in plan.changes()]


@dataclass(frozen=True)
class SavedPlan:
    """A plan as ``plan --out`` wrote it."""

    source: str
    target: str
    fingerprint: dict[str, str]
    changes: list[dict[str, Any]]

    def as_dict(self, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        return {
            "provision_plan": VERSION,
            "source": self.source,
            "target": self.target,
            "fingerprint": self.fingerprint,
            "changes": details if details is not None else self.changes,
        }

    @classmethod
    def load(cls, path: Path) -> SavedPlan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise SavedPlanError(f"{path} cannot be read as a saved plan: {err}") from None
        if not isinstance(data, dict) or data.get("provision_plan") != VERSION:
            raise SavedPlanError(
                f"{path} is not a saved plan of this version (provision_plan = {VERSION}); "
                "make one with: provision plan 'SRC->DST' --out FILE"
            )
        changes = [
            {k: v for k, v in c.items() if k != "details"} for c in data.get("changes") or []
        ]
        return cls(str(data["source"]), str(data["target"]), dict(data["fingerprint"]), changes)

    def drift(self, now: dict[str, str], plan: Plan) -> str:
        """What changed since the plan was saved, or an empty string when nothing did."""
        parts = {
            "source": "the source's users or groups",
            "target": "the target's users or groups",
            "links": "the links (another run wrote since)",
            "settings": "the [sync] settings",
        }
        changed = [what for key, what in parts.items() if self.fingerprint.get(key) != now[key]]
        if not changed and changes_of(plan) == self.changes:
            return ""
        saved = {json.dumps(c, sort_keys=True) for c in self.changes}
        fresh = {json.dumps(c, sort_keys=True) for c in changes_of(plan)}
        gone = [json.loads(c) for c in sorted(saved - fresh)]
        new = [json.loads(c) for c in sorted(fresh - saved)]
        lines = [f"changed since the plan: {', '.join(changed) or 'the plan itself'}"]
        lines += [f"no longer planned: {_describe(c)}" for c in gone[:10]]
        lines += [f"now also planned: {_describe(c)}" for c in new[:10]]
        return "; ".join(lines)


def _describe(change: dict[str, Any]) -> str:
    attributes = f" ({', '.join(change['attributes'])})" if change.get("attributes") else ""
    return f"{change['action']} {change['kind']} {change['name']}{attributes}"
