"""Match: every source and target object is classified once per run into a situation.

The situations are midPoint's idea: each has one reaction, and `SITUATIONS` is the table a
reader checks (README's ownership section prints it). The code below only decides which
situation an object is in; `provision.plan` turns reactions into changes. Decisions do not
depend on the order objects were read in: candidates are collected first, then claims on
one target object are settled by rank (link, then externalId, then name).
"""

from __future__ import annotations

import functools
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from provision.contract import Kind
from provision.records import Record, Snapshot


class Situation(StrEnum):
    LINKED = "linked"
    CORRELATED = "correlated"
    MISSING = "missing"
    DISPUTED = "disputed"
    SOURCE_UNREADABLE = "source unreadable"
    TARGET_UNREADABLE = "target unreadable"
    UNCONFIRMED = "target unconfirmed"
    DELETED = "gone from source"
    UNMATCHED = "unmatched"
    UNMANAGED = "unmanaged"


@dataclass(frozen=True)
class Rule:
    when: str
    reaction: str


SITUATIONS: dict[Situation, Rule] = {
    Situation.LINKED: Rule(
        "the source object and the target object it is linked to were both read",
        "compare; update only the attributes that differ",
    ),
    Situation.CORRELATED: Rule(
        "not linked (or its linked object is confirmed gone), and one target object "
        "holds its key as externalId, or else has its name (by [sync] match_*_by) and "
        "belongs to no other source key, by link or externalId (one that is gone only with "
        "[sync] adopt_leavers)",
        "link, then compare",
    ),
    Situation.MISSING: Rule(
        "no target object is linked or correlated", "create it (freeing its name if needed)"
    ),
    Situation.DISPUTED: Rule(
        "the candidate is another live source object's (by link or externalId), several "
        "candidates or several source objects share a name",
        "leave both sides alone; report an error naming the other party",
    ),
    Situation.SOURCE_UNREADABLE: Rule(
        "the source has the object but could not read it",
        "leave its target object alone (never deprovisioned); report an error",
    ),
    Situation.TARGET_UNREADABLE: Rule(
        "the linked target object could not be read", "leave it alone; report an error"
    ),
    Situation.UNCONFIRMED: Rule(
        "the linked target object was missing from the read and the lookup by id could "
        "not tell whether it exists",
        "leave it alone and keep the link; report a warning",
    ),
    Situation.DELETED: Rule(
        "a linked target object whose source object is gone from the source's read "
        "(deleted, or out of its scope: a narrowed group filter)",
        "deprovision by [sync] on_delete (deactivate, delete or ignore), within the guards",
    ),
    Situation.UNMATCHED: Rule(
        "a target object linked to nothing, carrying an externalId shaped like this "
        "source's keys that names no live source object (a lost state, a lost link)",
        "by [sync] unmatched: report (default), deactivate (users, within the guards) or ignore",
    ),
    Situation.UNMANAGED: Rule(
        "any other target object (made by hand or by another tool)", "never modified or deleted"
    ),
}
"""Every situation, when it holds, and its one reaction."""

OWNED = frozenset(
    {
        Situation.LINKED,
        Situation.CORRELATED,
        Situation.SOURCE_UNREADABLE,
        Situation.TARGET_UNREADABLE,
        Situation.UNCONFIRMED,
        Situation.DELETED,
    }
)
"""Situations in which the target object is this sync's."""

_RANK = {"link": 0, "externalId": 1, "name": 2}

# Looked up once: an enum member or its value costs 80 to 100 ns a lookup on Python 3.11.
_LINKED, _CORRELATED, _MISSING = Situation.LINKED, Situation.CORRELATED, Situation.MISSING
_WHAT = {kind: kind.value for kind in Kind}


@dataclass(slots=True)
class Match:
    """One object's situation: a source key, a target id, or both."""

    kind: Kind
    situation: Situation
    key: str | None = None
    target_id: str | None = None
    via: str = ""
    """How a correlated object was found: ``externalId`` or ``name``."""
    detail: str = ""
    """For the operator: why it is disputed, whom an unmatched object names, …"""


@dataclass
class Matching:
    """One kind's situations, and the link changes they imply."""

    kind: Kind
    sources: list[Match] = field(default_factory=list)
    """One per source object (readable or not), in read order."""
    targets: list[Match] = field(default_factory=list)
    """One per target object no source object claimed, except unmanaged ones."""
    unlinks: list[str] = field(default_factory=list)
    """Source keys whose link must go: the target object is confirmed gone."""

    def owned(self) -> dict[str, str]:
        """Source key → target id of every object this sync owns, this run's links included."""
        return {
            m.key: m.target_id
            for m in (*self.sources, *self.targets)
            if m.key is not None and m.target_id is not None and m.situation in OWNED
        }


@dataclass
class Matcher:
    """Classifies one kind of object. ``links`` are the state's source key → target id."""

    kind: Kind
    source: Snapshot
    target: Snapshot
    links: dict[str, str]
    match_by_name: bool = True
    key_pattern: str | None = None
    adopt_leavers: bool = False
    """Whether a name held by the object of a source key that is gone is adopted (a user
    deleted and re-created), instead of freed for a new object."""

    @functools.cached_property
    def owner(self) -> dict[str, str]:
        """Target id → the source key linked to it, a live key outranking a gone one. Made
        when first needed: a run whose objects are all linked never needs it."""
        owner: dict[str, str] = {}
        for key, tid in self.links.items():
            if tid not in owner or self._live(key):
                owner[tid] = key
        return owner

    def run(self) -> Matching:
        sources, targets = self.source.of(self.kind), self.target.of(self.kind)
        out = Matching(self.kind)
        index = _Indexes(sources, targets)
        claimed: dict[str, Match] = {}  # target id → the source match that claims it
        contested: dict[str, list[Match]] = {}  # … when several do
        claim = claimed.setdefault
        disputed = Situation.DISPUTED
        correlated: list[Match] = []
        for s in sources.values():
            match = self._source(s, targets, index)
            out.sources.append(match)
            if match.situation is _CORRELATED:
                correlated.append(match)
            claimed_id = match.target_id
            if claimed_id is not None and match.situation is not disputed:
                first = claim(claimed_id, match)
                if first is not match:
                    contested.setdefault(claimed_id, [first]).append(match)
        for kind, key in sorted(self.source.present):
            if kind is self.kind:
                linked = self.links.get(key)
                match = Match(kind, Situation.SOURCE_UNREADABLE, key, linked)
                out.sources.append(match)
                if linked is not None:
                    first = claim(linked, match)
                    if first is not match:
                        contested.setdefault(linked, [first]).append(match)
        self._settle(claimed, contested, targets)

        # Each check in C first: in a run with nothing to do, no object is left over.
        if len(claimed) < len(targets) or not targets.keys() <= claimed.keys():
            for tid, t in targets.items():
                if tid not in claimed:
                    found = self._target(t)
                    if found is not None:
                        out.targets.append(found)
        gone: set[str] = set()
        if not all(map(targets.__contains__, self.links.values())):
            gone = {
                key
                for key, tid in self.links.items()
                if tid not in targets
                and (self.kind, tid) not in self.target.present
                and (self.kind, tid) not in self.target.unconfirmed
            }
        # A correlated object linked to a key that is gone (deleted, re-created): the old
        # link goes, so the object has one owner.
        if correlated and self.links:
            owner = self.owner
            gone.update(
                owner[m.target_id]
                for m in correlated
                if m.situation is _CORRELATED  # not disputed since
                and m.target_id in owner
                and owner[m.target_id] != m.key
            )
        out.unlinks = sorted(gone)
        return out

    def _live(self, key: str) -> bool:
        return self.source.exists(self.kind, key)

    def _source(self, s: Record, targets: dict[str, Record], index: _Indexes) -> Match:
        kind = self.kind
        what = _WHAT[kind]
        tid = self.links.get(s.key)
        if tid is not None:
            if tid in targets:
                return Match(kind, _LINKED, s.key, tid, "link")
            if (kind, tid) in self.target.present:
                return Match(kind, Situation.TARGET_UNREADABLE, s.key, tid, "link")
            if (kind, tid) in self.target.unconfirmed:
                return Match(
                    kind,
                    Situation.UNCONFIRMED,
                    s.key,
                    tid,
                    "link",
                    f"linked target {what} {tid} was missing from the read and its lookup "
                    "failed; left alone this run",
                )
        by_external = index.external_ids
        candidates = [c for c in by_external.get(s.key) if self._free_for(c, s.key)]
        if len(candidates) > 1:
            return Match(
                kind,
                Situation.DISPUTED,
                s.key,
                detail=f"several target {what}s have externalId {s.key!r} "
                f"({', '.join(sorted(candidates))}); delete the duplicates",
            )
        if candidates:
            return Match(kind, _CORRELATED, s.key, candidates[0], "externalId")
        if s.natural in index.shared:
            return Match(
                kind,
                Situation.DISPUTED,
                s.key,
                detail=f"{s.label!r} is also the name of another source {what} (names are "
                "compared as the target compares them); rename one of them",
            )
        named = index.names.get(s.natural) if self.match_by_name and s.verified else ()
        if not named:
            return Match(kind, _MISSING, s.key)  # an unverified one is never adopted
        if len(named) > 1:
            return Match(
                kind,
                Situation.DISPUTED,
                s.key,
                detail=f"several target {what}s are named {s.label!r}; remove the extras",
            )
        t = targets[named[0]]
        holder = self.owner.get(t.key)
        ext = t.external_id
        other = holder if holder not in (None, s.key) else ext if ext not in (None, s.key) else None
        if other is None:
            return Match(kind, _CORRELATED, s.key, t.key, "name")
        if self._live(other):
            mover = self.source.of(kind).get(other)
            owns = other == holder or list(by_external.get(other)) == [t.key]
            if owns and mover is not None and mover.natural != t.natural:
                return Match(kind, _MISSING, s.key)  # its owner renames it away now
            how = "is synced with" if other == holder else "carries the externalId of"
            return Match(
                kind,
                Situation.DISPUTED,
                s.key,
                detail=f"target {what} {t.label!r} {how} source {what} {other!r}, which still "
                f"exists: it is never taken over; rename one of the two source {what}s",
            )
        if self.adopt_leavers:  # a user deleted and re-created keeps their account
            return Match(kind, _CORRELATED, s.key, t.key, "name")
        return Match(kind, _MISSING, s.key)  # the leaver's name is freed for a new one

    def _free_for(self, tid: str, key: str) -> bool:
        """A target object holding ``key`` as externalId is ours unless another live key owns it."""
        holder = self.owner.get(tid)
        return holder is None or holder == key or not self._live(holder)

    def _settle(
        self,
        claimed: dict[str, Match],
        contested: dict[str, list[Match]],
        targets: dict[str, Record],
    ) -> None:
        """One source object per target object: the best-ranked claim wins, ties dispute
        (and the target object is then claimed by none)."""
        for tid, matches in contested.items():
            matches.sort(key=lambda m: _RANK.get(m.via, 0))
            best = matches[0]
            tied = [m for m in matches if _RANK.get(m.via, 0) == _RANK.get(best.via, 0)]
            losers = matches[len(tied) :] if len(tied) == 1 else matches
            label = targets[tid].label if tid in targets else tid
            for m in losers:
                others = sorted(str(o.key) for o in matches if o is not m)
                m.situation, m.target_id = Situation.DISPUTED, None
                m.detail = (
                    f"target {self.kind.value} {label!r} is also claimed by source "
                    f"{self.kind.value} {', '.join(others)}; give them distinct names"
                )
            if len(tied) > 1:
                del claimed[tid]
            else:
                claimed[tid] = best

    def _target(self, t: Record) -> Match | None:
        kind = self.kind
        key = self.owner.get(t.key)
        if key is not None:
            if (kind, key) in self.source.present:
                return Match(kind, Situation.SOURCE_UNREADABLE, key, t.key)
            if self._live(key):  # its owner exists but could not claim it: never deprovision
                return Match(
                    kind,
                    Situation.DISPUTED,
                    key,
                    t.key,
                    detail=f"target {kind.value} {t.label!r} is linked to source {kind.value} "
                    f"{key!r}, which exists, but is disputed; it is left alone",
                )
            return Match(kind, Situation.DELETED, key, t.key)
        ext = t.external_id
        if not ext or (self.key_pattern is not None and not re.fullmatch(self.key_pattern, ext)):
            return None  # unmanaged
        if (kind, ext) in self.source.present:
            return Match(kind, Situation.SOURCE_UNREADABLE, ext, t.key)
        detail = f"externalId {ext!r} names no source {kind.value}"
        if self._live(ext):
            detail = (
                f"externalId {ext!r} names source {kind.value} that is synced with another "
                f"target {kind.value} (a duplicate?)"
            )
        return Match(kind, Situation.UNMATCHED, ext, t.key, detail=detail)


class _Indexes:
    """The target objects by externalId and by name, and the names several source objects
    share: built on first use, which a run whose objects are all linked never makes."""

    def __init__(self, sources: dict[str, Record], targets: dict[str, Record]) -> None:
        self._sources, self._targets = sources, targets

    @functools.cached_property
    def external_ids(self) -> _Index:
        return _Index(self._targets.values(), operator.attrgetter("external_id"))

    @functools.cached_property
    def names(self) -> _Index:
        return _Index(self._targets.values(), operator.attrgetter("natural"))

    @functools.cached_property
    def shared(self) -> set[str]:
        counts = Counter(map(operator.attrgetter("natural"), self._sources.values()))
        return {name for name, n in counts.items() if n > 1}


class _Index:
    """Record keys by one of their values: a string per value, a list only for the few
    values several records share (a million lists would be most of its memory)."""

    def __init__(self, records: Iterable[Record], value: Callable[[Record], str | None]) -> None:
        self._one: dict[str, str] = {}
        self._more: dict[str, list[str]] = {}
        one, more = self._one, self._more
        for r in records:
            v = value(r)
            if not v:
                continue
            first = one.setdefault(v, r.key)
            if first is not r.key:
                more.setdefault(v, [first]).append(r.key)

    def get(self, value: str) -> Sequence[str]:
        """The keys of the records holding ``value``, in their order."""
        more = self._more.get(value)
        if more is not None:
            return more
        one = self._one.get(value)
        return () if one is None else (one,)
