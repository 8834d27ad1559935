"""Plan: the situations' reactions as changes, in the order they must be written.

`Planner` turns each kind's `Matching` into `Planned` changes (the minimal update, a create,
a deprovision), orders name changes with `provision.names`, plans memberships for the users
and groups this sync owns, and names every object it leaves alone. Nothing here writes.
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from provision import mapping, names
from provision.contract import Action, Kind
from provision.match import Match, Matching, Situation
from provision.records import NAME_ATTRIBUTE, Record, Snapshot, Spool

PHASES = ("users", "groups", "memberships", "removals")


@dataclass
class Planned:
    """One change the plan holds, without its resource (rebuilt at apply time)."""

    kind: Kind
    action: Action
    key: str
    label: str
    target_id: str | None = None
    situation: Situation = Situation.LINKED
    attributes: tuple[str, ...] = ()
    """Changed attributes, for an update."""
    add: tuple[str, ...] = ()
    """Member source keys to add (membership changes), or a new group's members."""
    remove: tuple[str, ...] = ()
    """Member target ids to remove."""
    rename: str | None = None
    """The new name of a rename that is not the source's (a freed leaver, a temporary step)."""
    wave: int = 0
    """Within its phase, the write call it belongs to (renames that wait for others)."""
    details: dict[str, Any] = field(default_factory=dict)
    """For a person reviewing a plan: an update's values ``before`` and ``after``, a create's
    attributes (``after``), a membership change's members by name (``add``, ``remove``)."""

    def as_dict(self) -> dict[str, Any]:
        """For ``provision plan --json``: members by source key (adds) and target id (removes)."""
        return {
            "kind": self.kind.value,
            "action": "members" if self.kind is Kind.MEMBERSHIP else self.action.value,
            "situation": self.situation.value,
            "key": self.key,
            "name": self.label,
            "target_id": self.target_id,
            "attributes": list(self.attributes),
            "rename": self.rename,
            "add_members": list(self.add),
            "remove_members": list(self.remove),
            **({"details": self.details} if self.details else {}),
        }

    def describe(self) -> str:
        name = self.label or self.key
        if self.kind is Kind.MEMBERSHIP:
            parts = [f"+{len(self.add)}"] if self.add else []
            parts += [f"-{len(self.remove)}"] if self.remove else []
            return f"members of group {name}: {' '.join(parts)}"
        text = f"{self.action.value} {self.kind.value} {name}"
        if self.rename:
            text += f" (rename to {self.rename!r})"
        elif self.attributes:
            text += f" ({', '.join(self.attributes)})"
        if self.situation not in (Situation.LINKED, Situation.MISSING):
            text += f" [{self.situation.value}]"
        return text


@dataclass
class Notice:
    """An object left alone, or a finding, for the report: (kind, key, message)."""

    kind: Kind
    key: str
    message: str
    error: bool = True
    """False for a warning: nothing failed, but the operator should know."""


@dataclass
class Plan:
    """What a run would do, phase by phase, and what it found."""

    users: list[Planned] = field(default_factory=list)
    groups: list[Planned] = field(default_factory=list)
    memberships: list[Planned] = field(default_factory=list)
    removals: list[Planned] = field(default_factory=list)
    links: list[tuple[Kind, str, str]] = field(default_factory=list)
    """Correlations: (kind, source key, target id) to record before writing."""
    unlinks: list[tuple[Kind, str]] = field(default_factory=list)
    """Links whose target object is confirmed gone."""
    user_ids: dict[str, str] = field(default_factory=dict)
    """Source user key → target user id, for every user the sync owns."""
    live: Counter[Kind] = field(default_factory=Counter)
    """Active objects this sync owns, by kind: the base of the percentage guards."""
    disables: Counter[Kind] = field(default_factory=Counter)
    """Updates that turn an active object inactive (the source's own ``active`` flag)."""
    situations: dict[Kind, Counter[str]] = field(default_factory=dict)
    unchanged: Counter[Kind] = field(default_factory=Counter)
    """Objects (memberships: members) compared equal."""
    notices: list[Notice] = field(default_factory=list)
    unmatched: list[dict[str, str]] = field(default_factory=list)
    """Target objects linked to nothing that carry a source-shaped externalId."""
    fingerprint: dict[str, str] = field(default_factory=dict)
    """What the plan was computed from (`provision.saved.fingerprint`)."""
    group_members: dict[str, int] = field(default_factory=dict)
    """Target group id → members this sync owns in it now (the per-group guard's base)."""

    def phase(self, name: str) -> list[Planned]:
        return {
            "users": self.users,
            "groups": self.groups,
            "memberships": self.memberships,
            "removals": self.removals,
        }[name]

    def changes(self) -> list[Planned]:
        return [p for name in PHASES for p in sorted(self.phase(name), key=lambda p: p.wave)]

    @property
    def deletions(self) -> int:
        return len(self.removals)


@dataclass
class Planner:
    """Builds a `Plan` from the matchings of users and groups."""

    source: Snapshot
    target: Snapshot
    user_attributes: tuple[str, ...]
    group_attributes: tuple[str, ...]
    spools: tuple[Spool, Spool]
    """The source's and the target's projections: what differs when two digests do."""
    on_delete: str = "deactivate"
    unmatched: str = "report"
    plan: Plan = field(default_factory=Plan)

    def build(self, users: Matching, groups: Matching) -> Plan:
        for matching in (users, groups):
            self._kind(matching)
        self.plan.user_ids = users.owned()
        self._memberships(users, groups)
        return self.plan

    def attributes(self, kind: Kind) -> tuple[str, ...]:
        return self.user_attributes if kind is Kind.USER else self.group_attributes

    def _changed(self, kind: Kind, s: Record, t: Record) -> list[str]:
        """The compared attributes whose values differ (none when the digests agree)."""
        if s.digest == t.digest:
            return []
        source, target = self.spools
        _, wanted = source.get(kind, s.key)
        _, held = target.get(kind, t.key)
        return mapping.changed_attributes(wanted, held, self.attributes(kind))

    def _kind(self, matching: Matching) -> None:
        kind, plan = matching.kind, self.plan
        targets = self.target.of(kind)
        bucket = plan.users if kind is Kind.USER else plan.groups
        counts = Counter(map(_SITUATION, matching.sources))
        counts.update(map(_SITUATION, matching.targets))
        plan.situations[kind] = Counter({s.value: n for s, n in counts.items()})
        plan.unlinks += [(kind, key) for key in matching.unlinks]
        renames: list[tuple[Match, Planned]] = []
        creates: list[Planned] = []
        sources = self.source.of(kind)
        links, live, unchanged = plan.links, 0, 0
        linked, correlated = Situation.LINKED, Situation.CORRELATED  # 80 ns a lookup, once
        for m in matching.sources:
            situation = m.situation
            if situation is linked or situation is correlated:
                if situation is correlated and m.target_id is not None:
                    links.append((kind, str(m.key), m.target_id))
                s = sources.get(m.key or "")
                if s is None:
                    continue
                t = targets[str(m.target_id)]
                live += t.active
                if s.digest == t.digest:  # the common case, without a call
                    unchanged += 1
                else:
                    self._compare(m, s, t, bucket, renames)
            elif situation is Situation.MISSING:
                s = sources.get(m.key or "")
                if s is not None:
                    members = tuple(k for k in s.members if k in self.source.users)
                    creates.append(
                        Planned(kind, Action.CREATE, s.key, s.label, None, situation, add=members)
                    )
            elif situation is Situation.DISPUTED:
                plan.notices.append(Notice(kind, str(m.key), m.detail))
            elif situation is Situation.UNCONFIRMED:
                plan.notices.append(Notice(kind, str(m.key), m.detail, error=False))
        plan.live[kind] += live
        plan.unchanged[kind] += unchanged
        for m in matching.targets:
            t = targets[str(m.target_id)]
            if m.situation is Situation.DISPUTED:
                plan.notices.append(Notice(kind, str(m.key), m.detail))
            elif m.situation is Situation.DELETED:
                plan.live[kind] += t.active
                self._deprovision(m, t)
            elif m.situation is Situation.UNMATCHED:
                self._unmatched(m, t)
        self._names(kind, matching, renames, creates, bucket)

    def _compare(
        self, m: Match, s: Record, t: Record, bucket: list[Planned], renames: list[Any]
    ) -> None:
        kind = m.kind
        changed = self._changed(kind, s, t)
        name = NAME_ATTRIBUTE[kind]
        if name in changed:  # a name travels alone: if it cannot be applied, the rest still is
            changed.remove(name)
            planned = Planned(kind, Action.UPDATE, s.key, s.label, t.key, m.situation, (name,))
            renames.append((m, planned))
        elif not changed:
            self.plan.unchanged[kind] += 1
        if changed:
            bucket.append(
                Planned(kind, Action.UPDATE, s.key, s.label, t.key, m.situation, tuple(changed))
            )
            if "active" in changed and t.active and not s.active:
                self.plan.disables[kind] += 1  # the source deactivated it: guarded like a leaver

    def _deprovision(self, m: Match, t: Record) -> None:
        if self.on_delete == "ignore":
            return
        if m.kind is Kind.USER and self.on_delete == "deactivate":
            if t.active:
                self.plan.removals.append(
                    Planned(m.kind, Action.DEACTIVATE, str(m.key), t.label, t.key, m.situation)
                )
            return
        self.plan.removals.append(
            Planned(m.kind, Action.DELETE, str(m.key), t.label, t.key, m.situation)
        )

    def _unmatched(self, m: Match, t: Record) -> None:
        plan = self.plan
        if self.unmatched == "ignore":
            return
        plan.unmatched.append(
            {
                "kind": m.kind.value,
                "target_id": t.key,
                "name": t.label,
                "external_id": str(t.external_id),
                "detail": m.detail,
            }
        )
        orphan = not self.source.exists(m.kind, str(t.external_id))
        if self.unmatched == "deactivate" and m.kind is Kind.USER and t.active and orphan:
            plan.live[m.kind] += 1
            plan.removals.append(
                Planned(m.kind, Action.DEACTIVATE, str(m.key), t.label, t.key, m.situation)
            )

    def _names(
        self,
        kind: Kind,
        matching: Matching,
        renames: list[tuple[Match, Planned]],
        creates: list[Planned],
        bucket: list[Planned],
    ) -> None:
        """Order renames and creates by who holds which name; free leavers' names."""
        if not renames and not creates:
            return  # no name is wanted: none to free, nothing to order
        targets, sources = self.target.of(kind), self.source.of(kind)
        wanted = {sources[p.key].natural for _, p in renames}
        wanted.update(sources[p.key].natural for p in creates)
        held = {t.key: t for t in targets.values() if t.natural in wanted}  # in read order
        situation = {
            m.target_id: m for m in (*matching.sources, *matching.targets) if m.target_id in held
        }
        holders: dict[str, names.Holder] = {}
        for t in held.values():
            m = situation.get(t.key)
            gone = m is not None and m.situation is Situation.DELETED
            if m is None or m.situation is Situation.UNMATCHED:
                why = f"target {kind.value} {t.label!r} (id {t.key}), which this sync does not own"
            elif gone and self.on_delete == "ignore":
                why = (
                    f"target {kind.value} {t.label!r}, synced earlier from a source "
                    f"{kind.value} that is gone and left alone by [sync] on_delete = 'ignore'"
                )
            else:
                why = f"target {kind.value} {t.label!r}, synced with source {kind.value} {m.key!r}"
            holders[t.natural] = names.Holder(
                t.key, t.label, gone and self.on_delete != "ignore", why
            )
        wants = [
            names.Want(
                p.target_id or "",
                sources[p.key].label,
                sources[p.key].natural,
                targets[p.target_id or ""].natural,
            )
            for _, p in renames
        ] + [names.Want(f"create:{p.key}", p.label, sources[p.key].natural) for p in creates]
        order = names.order(wants, holders)
        for tid, new in order.frees.items():
            m = situation[tid]
            bucket.append(
                Planned(
                    kind,
                    Action.UPDATE,
                    str(m.key),
                    targets[tid].label,
                    tid,
                    m.situation,
                    (NAME_ATTRIBUTE[kind],),
                    rename=new,
                )
            )
        for p in [p for _, p in renames] + creates:
            ident = p.target_id if p.action is Action.UPDATE else f"create:{p.key}"
            if ident in order.blocked:
                holder = order.blocked[ident]
                self.plan.notices.append(
                    Notice(
                        kind,
                        p.key,
                        f"{NAME_ATTRIBUTE[kind]} {p.label!r} cannot be given to {kind.value} "
                        f"{p.key!r}: it is held by {holder.why}. Rename or remove that one; "
                        "the next run then applies it",
                    )
                )
                continue
            p.wave = order.waves[str(ident)]
            bucket.append(p)

    def _memberships(self, users: Matching, groups: Matching) -> None:
        """Memberships of owned groups, for the users whose situation lets the sync act."""
        plan = self.plan
        ignored = self.on_delete == "ignore"

        def freezes(m: Match) -> bool:
            """A user whose memberships stay as they are."""
            return m.situation in _FROZEN or (m.situation is Situation.DELETED and ignored)

        settled: dict[str | None, str | None] = {}  # source key → target id, users the sync acts on
        frozen: set[str] = set()
        linked, correlated = Situation.LINKED, Situation.CORRELATED  # 80 ns a lookup, once
        for m in users.sources:
            situation = m.situation
            if situation is linked or situation is correlated:
                settled[m.key] = m.target_id
            elif m.target_id and freezes(m):
                frozen.add(m.target_id)
        frozen.update(m.target_id for m in users.targets if m.target_id and freezes(m))
        owned: set[str] | None = None  # the owned users' target ids, made when needed
        created = {p.key for p in plan.users if p.action is Action.CREATE}
        users_read, present = self.source.users, self.source.present  # Snapshot.exists, inline
        for m in groups.sources:
            s = self.source.groups.get(m.key or "")
            if s is None:
                continue
            tids = list(map(settled.get, s.members))  # each member's target id, or None
            missing = tids.count(None)
            unknown: list[str] = []
            if missing:  # settled users were all read: only then can a member be unknown
                unknown = [
                    k for k in s.members if k not in users_read and (Kind.USER, k) not in present
                ]
            if unknown:
                plan.notices.append(
                    Notice(
                        Kind.MEMBERSHIP,
                        s.key,
                        f"group {s.label!r} lists {len(unknown)} member(s) that the source did "
                        f"not return as users (e.g. {unknown[0]!r}); those memberships are not "
                        "synced",
                    )
                )
            if m.situation is not linked and m.situation is not correlated:
                continue
            t = self.target.groups[str(m.target_id)]
            current = set(t.members)
            desired = set(tids)
            desired.discard(None)
            wanted = len(tids) - missing
            add: tuple[str, ...] = ()
            if created or not desired <= current:  # set operations: the no-op case in C
                add = tuple(
                    k
                    for k, tid in zip(s.members, tids, strict=True)
                    if (tid is None and k in created) or (tid is not None and tid not in current)
                )
                wanted += sum(1 for k in s.members if k in created)
            remove: tuple[str, ...] = ()
            if current <= desired:  # every member is a settled user's: all are owned
                plan.group_members[t.key] = len(current)
            else:
                if owned is None:
                    owned = set(plan.user_ids.values())
                plan.group_members[t.key] = len(current & owned)
                remove = tuple(
                    u for u in t.members if u in owned and u not in desired and u not in frozen
                )
            plan.unchanged[Kind.MEMBERSHIP] += wanted - len(add)
            if add or remove:
                plan.memberships.append(
                    Planned(
                        Kind.MEMBERSHIP,
                        Action.ADD_MEMBERS,
                        s.key,
                        s.label,
                        t.key,
                        m.situation,
                        add=add,
                        remove=remove,
                    )
                )


_SITUATION = operator.attrgetter("situation")

_FROZEN = frozenset(
    {
        Situation.DISPUTED,
        Situation.SOURCE_UNREADABLE,
        Situation.TARGET_UNREADABLE,
        Situation.UNCONFIRMED,
    }
)
"""Users whose memberships are left as they are: the sync is not sure about them."""
