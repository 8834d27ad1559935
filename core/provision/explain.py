"""Explain one object: what a run would do to it, and why, writing nothing.

Entra's provision-on-demand shows each step for one user; this is the same without the write:
the source object as the sync maps it, the target object it is matched with and by which
rule (its situation), and the change a run would make, attribute by attribute. Both sides are
read in full (matching needs the whole picture), so it costs what a plan costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from provision.contract import Kind, Role
from provision.engine import Sync, now
from provision.match import SITUATIONS, Match, Situation
from provision.plan import Planned
from provision.records import NAME_ATTRIBUTE, ReadError
from provision.report import Report

if TYPE_CHECKING:
    from provision.plugins import Endpoint
    from provision.settings import SyncSettings
    from provision.state import State


@dataclass
class Seen:
    """One object of one side, as the engine compares it."""

    kind: Kind
    key: str
    name: str
    attributes: dict[str, Any]


@dataclass
class Explanation:
    """What a run would do to the objects named ``name``."""

    name: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    problem: str = ""
    """Why nothing could be explained (a read failed, nothing has that name)."""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "objects": self.objects, "problem": self.problem}


def explain(
    source: Endpoint,
    target: Endpoint,
    settings: SyncSettings,
    state: State,
    name: str,
    pair: str | None = None,
) -> Explanation:
    """Explain the source and target objects whose name (case as the target compares) or
    source key is ``name``."""
    report = Report(source.name, target.name, True, now())
    sync = Sync(source, target, settings, state, report, pair=pair or "")
    seen: dict[tuple[Role, Kind, str], Seen] = {}
    wanted = sync.fold(name)
    keys: set[str] = set()  # the source keys of the objects named: their target sides too
    linked: set[str] = set()

    def watch(
        role: Role,
        kind: Kind,
        key: str,
        label: str,
        external_id: str | None,
        attributes: dict[str, Any],
    ) -> None:
        named = key == name or sync.fold(label) == wanted
        ours = role is Role.TARGET and (key in linked or external_id in keys)
        if named or ours:
            seen[(role, kind, key)] = Seen(kind, key, label, attributes)

    sync.watch = watch
    out = Explanation(name)
    try:
        # One side after the other (unlike a run): the target side is found by what the
        # source side named, through the links and externalIds.
        source_snapshot = sync.read(source, Role.SOURCE)
        keys.update(k for (role, _, k) in seen if role is Role.SOURCE)
        for kind in (Kind.USER, Kind.GROUP):
            links = state.links(sync.pair, kind.value)
            linked.update(tid for key, tid in links.items() if key in keys)
        target_snapshot = sync.read(target, Role.TARGET)
        sync.confirm(target_snapshot)
        matchings = sync.match(source_snapshot, target_snapshot)
        plan = sync.react(source_snapshot, target_snapshot, matchings)
    except ReadError as err:
        out.problem = f"a read failed, so nothing can be explained: {err}"
        return out
    finally:
        sync.spool.close()
        sync.target_spool.close()
    matches = [m for matching in matchings for m in (*matching.sources, *matching.targets)]
    for m in matches:
        ours = seen.get((Role.SOURCE, m.kind, str(m.key)))
        theirs = seen.get((Role.TARGET, m.kind, str(m.target_id)))
        if ours is None and theirs is None:
            continue
        out.objects.append(_one(m, ours, theirs, plan.changes()))
    unmatched = {(m.kind, m.target_id) for m in matches}
    for (role, kind, key), obj in seen.items():
        if role is Role.TARGET and (kind, key) not in unmatched:
            out.objects.append(
                {
                    "kind": kind.value,
                    "situation": "unmanaged",
                    "rule": SITUATIONS[Situation.UNMANAGED].when,
                    "reaction": SITUATIONS[Situation.UNMANAGED].reaction,
                    "source": None,
                    "target": {"id": key, "name": obj.name, "attributes": obj.attributes},
                    "changes": [],
                    "attributes": [],
                }
            )
    for notice in plan.notices:
        for entry in out.objects:
            if entry["source"] and entry["source"]["key"] == notice.key:
                entry.setdefault("notes", []).append(notice.message)
    if not out.objects:
        out.problem = (
            f"no source or target object has the name or source key {name!r} "
            f"(names compared as the target compares them)"
        )
    return out


def _one(
    m: Match, ours: Seen | None, theirs: Seen | None, changes: list[Planned]
) -> dict[str, Any]:
    rule = SITUATIONS[m.situation]
    mine = [
        p
        for p in changes
        if (p.kind is m.kind and (p.key == m.key or (p.target_id and p.target_id == m.target_id)))
        or (p.kind is Kind.MEMBERSHIP and m.kind is Kind.GROUP and p.key == m.key)
    ]
    before = theirs.attributes if theirs else {}
    after = ours.attributes if ours else {}
    attributes = []
    for p in mine:
        for attribute in p.attributes:
            new = {NAME_ATTRIBUTE[m.kind]: p.rename} if p.rename else after
            attributes.append(
                {
                    "attribute": attribute,
                    "before": before.get(attribute),
                    "after": new.get(attribute),
                }
            )
    return {
        "kind": m.kind.value,
        "situation": m.situation.value,
        "via": m.via,
        "rule": rule.when,
        "reaction": rule.reaction,
        "detail": m.detail,
        "source": {"key": ours.key, "name": ours.name, "attributes": ours.attributes}
        if ours
        else ({"key": m.key} if m.key else None),
        "target": {"id": theirs.key, "name": theirs.name, "attributes": theirs.attributes}
        if theirs
        else ({"id": m.target_id} if m.target_id else None),
        "changes": [p.describe() for p in mine],
        "attributes": attributes,
    }
