"""The sync engine: read, match, diff, guard, apply, report.

Nothing here knows a connector. The engine keeps no resource objects: each object that
arrives is reduced to a `Record` (keys, natural key, per-attribute digests, member keys), and
the source's mapped attributes are spooled to a temporary SQLite file, from which full objects
are rebuilt only for what changes. Memory grows by a few hundred bytes per object.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from scim2_models import Group, GroupMember, User

from provision import mapping
from provision.contract import Action, Change, Kind, Outcome, Role, Unreadable
from provision.report import Report

if TYPE_CHECKING:
    from provision.config import SyncSettings
    from provision.plugins import Endpoint
    from provision.state import State

log = logging.getLogger(__name__)

LINK_BATCH = 500
SPOOL_BATCH = 1000


class ReadError(Exception):
    """A full read did not complete; nothing may be written."""


class _Stopped(ReadError):
    """The read was told to stop."""


class _Conflict(Exception):
    """A source object cannot be matched safely; the message says why and what to do."""


class Progress(Protocol):
    """Where the engine reports how far it got; the CLI draws bars from it."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


class Record:
    """What the engine keeps of one object: a few hundred bytes."""

    __slots__ = ("active", "digest", "external_id", "key", "label", "members", "natural")

    def __init__(
        self,
        key: str,
        label: str,
        digest: bytes,
        external_id: str | None = None,
        active: bool = True,
        members: tuple[str, ...] = (),
    ) -> None:
        self.key = key
        self.label = label
        self.natural = label.casefold()
        self.digest = digest
        self.external_id = external_id
        self.active = active
        self.members = members


@dataclass
class Snapshot:
    """One side's records: users and groups by key (source key or target id)."""

    users: dict[str, Record] = field(default_factory=dict)
    groups: dict[str, Record] = field(default_factory=dict)
    present: set[tuple[Kind, str]] = field(default_factory=set)
    """Objects that exist but could not be read (`Unreadable`): never created or removed."""

    def of(self, kind: Kind) -> dict[str, Record]:
        return self.users if kind is Kind.USER else self.groups


class Spool:
    """The source's mapped attributes, on disk until a change needs them."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # a private temporary file, removed on close
        self.db.execute("CREATE TABLE spool (kind TEXT, key TEXT, cls INTEGER, data TEXT)")
        self.db.execute("CREATE UNIQUE INDEX spool_key ON spool (kind, key)")
        self.classes: list[type[Any]] = []
        self._pending: list[tuple[str, str, int, str]] = []

    def put(self, kind: Kind, key: str, cls: type[Any], projection: dict[str, Any]) -> None:
        if cls not in self.classes:
            self.classes.append(cls)
        self._pending.append((kind.value, key, self.classes.index(cls), json.dumps(projection)))
        if len(self._pending) >= SPOOL_BATCH:
            self.flush()

    def flush(self) -> None:
        self.db.executemany("INSERT OR REPLACE INTO spool VALUES (?, ?, ?, ?)", self._pending)
        self._pending.clear()

    def get(self, kind: Kind, key: str) -> tuple[type[Any], dict[str, Any]]:
        self.flush()
        row = self.db.execute(
            "SELECT cls, data FROM spool WHERE kind = ? AND key = ?", (kind.value, key)
        ).fetchone()
        return self.classes[row[0]], json.loads(row[1])

    def close(self) -> None:
        self.db.close()


@dataclass
class Planned:
    """One change the plan holds, without its resource (rebuilt at apply time)."""

    kind: Kind
    action: Action
    key: str
    label: str
    target_id: str | None = None
    attributes: tuple[str, ...] = ()
    """Changed attributes, for an update."""
    add: tuple[str, ...] = ()
    """Member source keys to add (membership changes), or a new group's members."""
    remove: tuple[str, ...] = ()
    """Member target ids to remove."""

    def as_dict(self) -> dict[str, Any]:
        """For ``provision plan --json``: members by source key (adds) and target id (removes)."""
        return {
            "kind": self.kind.value,
            "action": "members" if self.kind is Kind.MEMBERSHIP else self.action.value,
            "key": self.key,
            "name": self.label,
            "target_id": self.target_id,
            "attributes": list(self.attributes),
            "add_members": list(self.add),
            "remove_members": list(self.remove),
        }

    def describe(self) -> str:
        name = self.label or self.key
        if self.kind is Kind.MEMBERSHIP:
            parts = []
            if self.add:
                parts.append(f"+{len(self.add)}")
            if self.remove:
                parts.append(f"-{len(self.remove)}")
            return f"members of group {name}: {' '.join(parts)}"
        text = f"{self.action.value} {self.kind.value} {name}"
        if self.attributes:
            text += f" ({', '.join(self.attributes)})"
        return text


@dataclass
class Plan:
    """What a run would do, phase by phase, and what it found wrong."""

    users: list[Planned] = field(default_factory=list)
    groups: list[Planned] = field(default_factory=list)
    memberships: list[Planned] = field(default_factory=list)
    removals: list[Planned] = field(default_factory=list)
    links: list[tuple[Kind, str, str]] = field(default_factory=list)
    """Adoptions: (kind, source key, target id) to record before writing."""
    unlinks: list[tuple[Kind, str]] = field(default_factory=list)
    """Links whose target object is gone or was taken over by another source key."""
    user_ids: dict[str, str] = field(default_factory=dict)
    """Source user key → target user id, for every user the sync owns."""
    managed: dict[Kind, int] = field(default_factory=dict)
    """How many target objects of each kind the sync owns (the guard's base)."""

    def changes(self) -> Iterator[Planned]:
        yield from self.users
        yield from self.groups
        yield from self.memberships
        yield from self.removals

    @property
    def deletions(self) -> int:
        return len(self.removals)


@dataclass
class Sync:
    """One run between two endpoints. `plan` and `apply` are the steps `run` takes."""

    source: Endpoint
    target: Endpoint
    settings: SyncSettings
    state: State
    report: Report
    progress: Progress = field(default_factory=NoProgress)
    spool: Spool = field(default_factory=Spool)
    pair: str = ""
    """The key the state file holds this pair's links under (default ``SRC->DST``)."""

    def __post_init__(self) -> None:
        self.pair = self.pair or f"{self.source.name}->{self.target.name}"

    @property
    def user_attributes(self) -> tuple[str, ...]:
        return tuple(self.settings.user_attributes)

    @property
    def group_attributes(self) -> tuple[str, ...]:
        return tuple(self.settings.group_attributes)

    def attributes(self, kind: Kind) -> tuple[str, ...]:
        return self.user_attributes if kind is Kind.USER else self.group_attributes

    # 1-2. Read
    def read(
        self,
        endpoint: Endpoint,
        role: Role,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> Snapshot:
        """Reduce everything ``endpoint`` holds to records; `ReadError` if anything fails.

        ``stop`` ends the read early (the other side's read failed: nothing will be written).
        """
        progress = progress or self.progress
        snapshot = Snapshot()
        wanted = mapping.wanted(self.user_attributes, self.group_attributes)
        progress.phase(f"read {endpoint.name}")
        try:
            objects = endpoint.hook.provision_full_read(role=role, attributes=wanted)
            if objects is None:
                raise ReadError(f"connector {endpoint.info.name!r} returned nothing to read")
            for obj in objects:
                if stop is not None and stop.is_set():
                    raise _Stopped()
                self._take(obj, snapshot, role)
                progress.advance()
        except ReadError:
            raise
        except Exception as err:
            log.debug("read of %s failed", endpoint.name, exc_info=True)
            raise ReadError(f"{type(err).__name__}: {err}") from err
        finally:
            if role is Role.SOURCE:  # the spool belongs to the source's (the main) thread
                self.spool.flush()
        counts = self.report.users, self.report.groups
        if role is Role.SOURCE:
            counts[0]["read"] = len(snapshot.users)
            counts[1]["read"] = len(snapshot.groups)
            self.report.memberships["read"] = sum(len(g.members) for g in snapshot.groups.values())
        return snapshot

    def _take(self, obj: object, snapshot: Snapshot, role: Role) -> None:
        if isinstance(obj, Unreadable):
            snapshot.present.add((obj.kind, obj.key))
            self.report.error(obj.kind, obj.key, "read", obj.message)
            return
        if isinstance(obj, User):
            kind, label = Kind.USER, obj.user_name or ""
        elif isinstance(obj, Group):
            kind, label = Kind.GROUP, obj.display_name or ""
        else:
            raise ReadError(
                f"the connector yielded a {type(obj).__name__}; a full read yields only "
                "scim2-models User and Group objects and provision.Unreadable"
            )
        key = obj.external_id if role is Role.SOURCE else obj.id
        if not key:
            what = "external_id (its stable source key)" if role is Role.SOURCE else "id"
            raise ReadError(f"{kind.value} {label!r} was read without an {what}")
        records = snapshot.of(kind)
        if key in records:
            if role is Role.SOURCE:
                self.report.error(
                    kind, key, "read", f"the source returned {kind.value} key {key!r} twice"
                )
                snapshot.present.add((kind, key))
            return
        if not label:
            if role is Role.SOURCE:
                attr = "userName" if kind is Kind.USER else "displayName"
                self.report.error(kind, key, "read", f"{kind.value} has no {attr}; fill it in")
                snapshot.present.add((kind, key))
            return
        attributes = self.attributes(kind)
        try:
            projection = mapping.project(obj, attributes)
            if role is Role.SOURCE and self._normalize is not None:
                projection = self._normalized(kind, projection, attributes)
            digest = mapping.digest(projection, attributes)
            if role is Role.SOURCE:
                self.spool.put(kind, key, type(obj), projection)
        except Exception as err:  # one object the engine cannot reduce stops no other
            log.debug("cannot reduce %s %s", kind.value, key, exc_info=True)
            side = "source" if role is Role.SOURCE else "target"
            self.report.error(
                kind,
                key,
                "read",
                f"{side} {kind.value} {label!r} cannot be "
                f"compared ({type(err).__name__}: {err}); fix its attributes",
            )
            snapshot.present.add((kind, key))
            return
        members: tuple[str, ...] = ()
        if isinstance(obj, Group):
            members = tuple(dict.fromkeys(m.value for m in obj.members or () if m.value))
            if role is Role.SOURCE:  # share the users' key strings: memory per member is a pointer
                users = snapshot.users
                members = tuple(users[m].key if m in users else m for m in members)
        records[key] = Record(
            key=key,
            label=label,
            digest=digest,
            external_id=obj.external_id,
            active=getattr(obj, "active", None) is not False,  # compared or not: guards need it
            members=members,
        )

    @functools.cached_property
    def _normalize(self) -> Any:
        """The target's provision_normalize hook, if it has one."""
        hook = self.target.hook.provision_normalize
        return hook if hook.get_hookimpls() else None

    def _normalized(
        self, kind: Kind, projection: dict[str, Any], attributes: tuple[str, ...]
    ) -> dict[str, Any]:
        """The target's view of a source projection, kept to the compared attributes."""
        answer = self._normalize(kind=kind, attributes=dict(projection))
        wanted = mapping.slots(attributes)
        out = {}
        for name in wanted:
            value = mapping.canonical(answer.get(name)) if answer else None
            if value is not None:
                out[name] = value
        return out

    # 3-6. Match, diff, guard
    def plan(self, source: Snapshot, target: Snapshot) -> Plan:
        plan = Plan()
        self.progress.phase("plan", len(source.users) + len(source.groups))
        for kind in (Kind.USER, Kind.GROUP):
            self._plan_kind(kind, source, target, plan)
        self._plan_memberships(source, target, plan)
        return plan

    def _plan_kind(self, kind: Kind, source: Snapshot, target: Snapshot, plan: Plan) -> None:
        links = self.state.links(self.pair, kind.value)
        owner = {tid: key for key, tid in links.items()}
        sources, targets = source.of(kind), target.of(kind)
        by_external: dict[str, str | None] = {}
        by_natural: dict[str, str | None] = {}
        for t in targets.values():
            if t.external_id:  # None marks an ambiguous key: two objects hold it
                by_external[t.external_id] = None if t.external_id in by_external else t.key
            by_natural[t.natural] = None if t.natural in by_natural else t.key
        counts = self.report.counts(kind)
        claimed: dict[str, str] = {}  # target id → source key, this run
        naturals: dict[str, str] = {}  # natural key → source key, this run
        ids: dict[str, str] = {}  # source key → target id of every owned object
        attributes = self.attributes(kind)

        def claimed_by(tid: str, key: str) -> str:
            claimed[tid] = key
            return tid

        for s in sources.values():
            self.progress.advance()
            if s.natural in naturals:
                self.report.error(
                    kind,
                    s.key,
                    "match",
                    f"{s.label!r} is also the name of source {kind.value} "
                    f"{naturals[s.natural]!r} (names are compared case-insensitively); "
                    "rename one of them",
                )
                if s.key in links:
                    ids[s.key] = claimed_by(links[s.key], s.key)
                continue
            naturals[s.natural] = s.key
            tid = links.get(s.key)
            if tid is not None and (kind, tid) in target.present:
                ids[s.key] = tid  # the target could not read it: leave it alone
                continue
            if tid is not None and tid not in targets:
                plan.unlinks.append((kind, s.key))  # its target object was deleted by hand
                tid = None
            adopted = tid is None
            if adopted:
                try:
                    tid = self._match(kind, s, by_external, by_natural, owner, source)
                except _Conflict as conflict:
                    self.report.error(kind, s.key, "match", str(conflict))
                    continue
            if tid is None:
                members = tuple(m for m in s.members if m in source.users)
                create = Planned(kind, Action.CREATE, s.key, s.label, add=members)
                (plan.users if kind is Kind.USER else plan.groups).append(create)
                counts["created"] += 1
                continue
            if tid in claimed:
                self.report.error(
                    kind,
                    s.key,
                    "match",
                    f"target {kind.value} {targets[tid].label!r} is already synced with source "
                    f"{kind.value} {claimed[tid]!r}; give the two distinct names",
                )
                continue
            ids[s.key] = claimed_by(tid, s.key)
            if adopted:
                plan.links.append((kind, s.key, tid))
                previous = owner.get(tid)
                if previous is not None and previous != s.key:
                    plan.unlinks.append((kind, previous))  # relinked to a re-created object
            changed = mapping.changed_attributes(s.digest, targets[tid].digest, attributes)
            if changed:
                update = Planned(kind, Action.UPDATE, s.key, s.label, tid, tuple(changed))
                (plan.users if kind is Kind.USER else plan.groups).append(update)
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1

        # Authoritative deletes: linked objects whose source object is gone.
        for key, tid in links.items():
            if key in sources or tid in claimed:
                continue
            held = targets.get(tid)
            if held is None:
                if (kind, tid) not in target.present:
                    plan.unlinks.append((kind, key))
                continue
            ids[key] = claimed_by(tid, key)
            if (kind, key) in source.present:
                continue  # unreadable in the source, not gone: still owned, left alone
            action = self._removal(kind, held)
            if action is None:
                continue
            plan.removals.append(Planned(kind, action, key, held.label, tid))
            counts["deactivated" if action is Action.DEACTIVATE else "deleted"] += 1
        plan.managed[kind] = len(claimed)
        if kind is Kind.USER:
            plan.user_ids = ids

    def _match(
        self,
        kind: Kind,
        s: Record,
        by_external: dict[str, str | None],
        by_natural: dict[str, str | None],
        owner: dict[str, str],
        source: Snapshot,
    ) -> str | None:
        """The target id an unlinked source object adopts, or None to create it.

        An object linked to another source key is taken over only when that key is gone
        from the source (a user deleted and re-created under the same name).
        """
        what = kind.value

        def exists(key: str) -> bool:  # in the source, readable or not
            return key in source.of(kind) or (kind, key) in source.present

        if s.key in by_external:
            tid = by_external[s.key]
            if tid is None:
                raise _Conflict(
                    f"several target {what}s have externalId {s.key!r}; delete the duplicates"
                )
            if owner.get(tid, s.key) == s.key or not exists(owner[tid]):
                return tid
        match_natural = (
            self.settings.match_users_by if kind is Kind.USER else self.settings.match_groups_by
        ) != "none"
        if not match_natural or s.natural not in by_natural:
            return None
        tid = by_natural[s.natural]
        if tid is None:
            raise _Conflict(f"several target {what}s are named {s.label!r}; remove the extras")
        holder = owner.get(tid)
        if holder is not None and exists(holder):
            raise _Conflict(
                f"target {what} {s.label!r} is already synced with source {what} {holder!r}, "
                f"which still exists; rename one of the two source {what}s"
            )
        return tid

    def _removal(self, kind: Kind, t: Record) -> Action | None:
        on_delete = self.settings.on_delete
        if on_delete == "ignore":
            return None
        if kind is Kind.USER and on_delete == "deactivate":
            return Action.DEACTIVATE if t.active else None
        return Action.DELETE

    def _plan_memberships(self, source: Snapshot, target: Snapshot, plan: Plan) -> None:
        """Memberships of owned groups, for owned users only."""
        counts = self.report.memberships
        group_ids = self.state.links(self.pair, Kind.GROUP.value)
        group_ids.update({p.key: p.target_id for p in plan.groups if p.target_id})
        group_ids.update({key: tid for kind, key, tid in plan.links if kind is Kind.GROUP})
        owned_users = set(plan.user_ids.values())
        created = {p.key for p in plan.groups if p.action is Action.CREATE}
        for s in source.groups.values():
            unknown = [
                m
                for m in s.members
                if m not in source.users and (Kind.USER, m) not in source.present
            ]
            if unknown:
                self.report.error(
                    Kind.MEMBERSHIP,
                    s.key,
                    "read",
                    f"group {s.label!r} lists {len(unknown)} member(s) that the source did not "
                    f"return as users (e.g. {unknown[0]!r}); those memberships are not synced",
                )
                counts["failed"] += len(unknown) - 1
            members = [m for m in s.members if m in source.users]
            t = target.groups.get(group_ids.get(s.key, ""))
            if t is None:
                if s.key in created:
                    counts["added"] += len(members)  # inline with the group's create
                continue
            current = set(t.members)
            add = tuple(m for m in members if plan.user_ids.get(m) not in current)
            # Members unreadable in the source keep their memberships: neither added nor removed.
            desired = {plan.user_ids[m] for m in s.members if m in plan.user_ids}
            remove = tuple(m for m in t.members if m in owned_users and m not in desired)
            counts["unchanged"] += len(members) - len(add)
            counts["added"] += len(add)
            counts["removed"] += len(remove)
            if add or remove:
                plan.memberships.append(
                    Planned(
                        Kind.MEMBERSHIP,
                        Action.ADD_MEMBERS,
                        s.key,
                        s.label,
                        t.key,
                        add=add,
                        remove=remove,
                    )
                )

    def guard(self, plan: Plan, allow_deletes: bool) -> str | None:
        """Why the run must stop before writing, or None."""
        n = plan.deletions
        if n == 0 or allow_deletes:
            return None
        managed = sum(plan.managed.values())
        percent = 100.0 * n / managed if managed else 100.0
        s = self.settings
        if n > s.max_deletes:
            limit = f"more than [sync] max_deletes = {s.max_deletes}"
        elif percent > s.max_delete_percent:
            limit = (
                f"{percent:.0f}% of the {managed} synced objects, over [sync] "
                f"max_delete_percent = {s.max_delete_percent:g}"
            )
        else:
            return None
        return (
            f"the run would deactivate or delete {n} users and groups, {limit}. Nothing was "
            "written. Check the source (an empty or filtered read looks like mass deletion); "
            "if the deletions are intended, run again with --allow-deletes or raise the limit."
        )

    # 7. Apply
    def apply(self, plan: Plan) -> None:
        """Write the plan in dependency order; one failed object never stops the others."""
        relinked = {(kind, key) for kind, key, _ in plan.links}
        self._flush_links(list(plan.links), [u for u in plan.unlinks if u not in relinked])
        user_ids = plan.user_ids
        group_ids: dict[str, str] = {}
        phases: list[tuple[str, list[Any], Callable[[Any], Change], dict[str, str]]] = [
            ("users", plan.users, self._user_change, user_ids),
            ("groups", plan.groups, lambda p: self._group_change(p, user_ids), group_ids),
            ("memberships", plan.memberships, lambda p: p, {}),
            ("deletions", plan.removals, self._removal_change, {}),
        ]
        for n, (name, items, to_change, ids) in enumerate(phases):
            if name == "memberships":
                items = [c for p in items for c in self._membership_changes(p, user_ids)]
            try:
                self._write(name, items, to_change, ids)
            except Exception as err:
                why = f"not attempted: the target failed ({type(err).__name__}: {err})"
                for _, later, _, _ in phases[n + 1 :]:
                    for item in later:
                        for change in _bare_all(item):
                            self._failed(change, why)
                raise

    def _user_change(self, p: Planned) -> Change:
        return self._resource_change(p, Kind.USER)

    def _resource_change(self, p: Planned, kind: Kind) -> Change:
        if p.action in (Action.DEACTIVATE, Action.DELETE):
            return Change(kind, p.action, p.key, p.label, p.target_id)
        cls, projection = self.spool.get(kind, p.key)
        resource = mapping.rebuild(cls, projection)
        patch = None
        if p.action is Action.UPDATE:
            patch = mapping.patch_for(resource, projection, list(p.attributes))
            resource.id = p.target_id
        return Change(kind, p.action, p.key, p.label, p.target_id, resource, patch)

    def _group_change(self, p: Planned, user_ids: dict[str, str]) -> Change:
        change = self._resource_change(p, Kind.GROUP)
        if p.action is Action.CREATE and isinstance(change.resource, Group):
            members = [user_ids[m] for m in p.add if m in user_ids]
            missing = len(p.add) - len(members)
            change.resource.members = [GroupMember(value=m, type="User") for m in members] or None
            if missing:
                self._failed_members(p, missing)
        return change

    def _failed_members(self, p: Planned, missing: int) -> None:
        self.report.memberships["added"] -= missing
        self.report.error(
            Kind.MEMBERSHIP,
            p.key,
            "add_members",
            f"{missing} member(s) of group {p.label!r} were not added because their users "
            "failed to sync (see their errors); the next run adds them",
        )
        self.report.memberships["failed"] += missing - 1

    def _membership_changes(self, p: Planned, user_ids: dict[str, str]) -> Iterator[Change]:
        if p.add:
            members = tuple(user_ids[m] for m in p.add if m in user_ids)
            if len(members) < len(p.add):
                self._failed_members(p, len(p.add) - len(members))
            if members:
                yield Change(
                    Kind.MEMBERSHIP,
                    Action.ADD_MEMBERS,
                    p.key,
                    p.label,
                    p.target_id,
                    members=members,
                )
        if p.remove:
            yield Change(
                Kind.MEMBERSHIP,
                Action.REMOVE_MEMBERS,
                p.key,
                p.label,
                p.target_id,
                members=p.remove,
            )

    def _removal_change(self, p: Planned) -> Change:
        return self._resource_change(p, p.kind)

    def _write(
        self,
        phase: str,
        items: list[Any],
        to_change: Callable[[Any], Change],
        ids: dict[str, str],
    ) -> None:
        """One `provision_write` call for one phase, outcomes matched to their changes."""
        if not items:
            return
        self.progress.phase(f"write {phase}", len(items))
        pending: dict[int, Change] = {}
        links: list[tuple[Kind, str, str]] = []
        unlinks: list[tuple[Kind, str]] = []

        pulled = 0

        def changes() -> Iterator[Change]:
            nonlocal pulled
            for item in items:
                pulled += 1
                try:
                    change = to_change(item)
                except Exception as err:  # the desired object cannot be built: this one fails
                    log.debug("cannot build the change for %s", item, exc_info=True)
                    self._failed(_bare(item), f"cannot be built: {type(err).__name__}: {err}")
                    continue
                pending[id(change)] = change
                yield change

        try:
            outcomes = self.target.hook.provision_write(changes=changes())
            for outcome in outcomes or ():
                change = pending.pop(id(outcome.change), None)
                if change is None:
                    log.warning("ignoring an outcome for a change not sent: %s", outcome)
                    continue
                self._record(outcome, ids, links, unlinks)
                self.progress.advance()
                if len(links) + len(unlinks) >= LINK_BATCH:
                    self._flush_links(links, unlinks)
        except Exception as err:
            log.debug("write of %s failed", phase, exc_info=True)
            self._flush_links(links, unlinks)
            why = f"the target failed: {type(err).__name__}: {err}"
            for change in pending.values():
                self._failed(change, why)
            for item in items[pulled:]:
                self._failed(_bare(item), "not attempted: " + why)
            raise
        self._flush_links(links, unlinks)
        for change in pending.values():
            self._failed(change, "the target connector returned no outcome for this change")

    def _record(
        self,
        outcome: Outcome,
        ids: dict[str, str],
        links: list[tuple[Kind, str, str]],
        unlinks: list[tuple[Kind, str]],
    ) -> None:
        change = outcome.change
        if not outcome.ok:
            self._failed(change, outcome.error or "the target reported a failure without reason")
            return
        if change.action is Action.CREATE:
            if not outcome.target_id:
                self._failed(change, "the target connector reported no id for the new object")
                return
            ids[change.key] = outcome.target_id
            links.append((change.kind, change.key, outcome.target_id))
        elif change.action is Action.DELETE:
            unlinks.append((change.kind, change.key))

    def _failed(self, change: Change, message: str) -> None:
        counts = self.report.counts(change.kind)
        if change.kind is Kind.MEMBERSHIP:
            name = "added" if change.action is Action.ADD_MEMBERS else "removed"
            counts[name] -= len(change.members)
            counts["failed"] += len(change.members) - 1  # error() adds the last one
        else:
            name = {
                Action.CREATE: "created",
                Action.UPDATE: "updated",
                Action.DEACTIVATE: "deactivated",
                Action.DELETE: "deleted",
            }[change.action]
            counts[name] -= 1
            if change.kind is Kind.GROUP and change.action is Action.CREATE:
                resource = change.resource
                lost = (
                    len(getattr(resource, "members", None) or ())
                    if resource
                    else len(change.members)
                )
                self.report.memberships["added"] -= lost
                self.report.memberships["failed"] += lost
        self.report.error(
            change.kind, change.key, change.action.value, f"{change.describe()}: {message}"
        )

    def _flush_links(
        self, links: list[tuple[Kind, str, str]], unlinks: list[tuple[Kind, str]]
    ) -> None:
        for kind in Kind:
            batch = [(key, tid) for k, key, tid in links if k is kind]
            if batch:
                self.state.link_many(self.pair, kind.value, batch)
            gone = [key for k, key in unlinks if k is kind]
            if gone:
                self.state.unlink_many(self.pair, kind.value, gone)
        links.clear()
        unlinks.clear()


def _bare_all(item: Planned) -> list[Change]:
    """``item`` as the changes it would have made, without resources (for reporting)."""
    if item.kind is Kind.MEMBERSHIP:
        parts = [(Action.ADD_MEMBERS, item.add), (Action.REMOVE_MEMBERS, item.remove)]
        return [
            Change(item.kind, action, item.key, item.label, item.target_id, members=members)
            for action, members in parts
            if members
        ]
    return [_bare(item)]


def _bare(item: Planned | Change) -> Change:
    """A change without its resource, to report an item that never reached the target."""
    if isinstance(item, Change):
        return item
    return Change(item.kind, item.action, item.key, item.label, item.target_id, members=item.add)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(
    source: Endpoint,
    target: Endpoint,
    settings: SyncSettings,
    state: State,
    *,
    dry_run: bool = False,
    allow_deletes: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    pair: str | None = None,
) -> Report:
    """Run (or, with ``dry_run``, plan) one full sync from ``source`` to ``target``.

    ``pair`` is the key of this pair's links in ``state`` (default ``SRC->DST``).

    Never raises for what a run can meet (a read failure, a tripped guard, a failing object):
    the report's status and errors say what happened. ``on_plan`` sees the plan before any
    write.
    """
    report = Report(source.name, target.name, dry_run, now())
    started = time.monotonic()
    sync = Sync(source, target, settings, state, report, progress or NoProgress(), pair=pair or "")
    try:
        _run(sync, dry_run, allow_deletes, on_plan)
    except BaseException as err:
        report.status = "failed"
        report.reason = report.reason or f"the run stopped: {type(err).__name__}: {err}"
        raise
    finally:
        sync.spool.close()
        for endpoint in (source, target):
            stats = endpoint.hook.provision_request_stats()
            if stats is not None:
                report.requests[endpoint.name] = dict(stats.requests)
                report.throttled[endpoint.name] = stats.throttled
        report.duration_s = time.monotonic() - started
        report.settle()
        state.record_run(sync.pair, report.as_dict())
    return report


def _run(
    sync: Sync, dry_run: bool, allow_deletes: bool, on_plan: Callable[[Plan], None] | None
) -> None:
    report = sync.report
    source_name, target_name = sync.source.name, sync.target.name
    # Both sides are read at once (the source's read is mostly waiting on its rate limit);
    # nothing is written unless both reads are complete.
    stop = threading.Event()

    def read_target() -> Snapshot:
        try:
            return sync.read(sync.target, Role.TARGET, NoProgress(), stop)
        except ReadError:
            stop.set()  # no use reading the source to the end
            raise

    with ThreadPoolExecutor(1, thread_name_prefix="read-target") as pool:
        target_read = pool.submit(read_target)
        try:
            source = sync.read(sync.source, Role.SOURCE, stop=stop)
        except _Stopped:
            source = None
        except ReadError as err:
            stop.set()
            report.status = "aborted"
            report.reason = (
                f"reading the source {source_name!r} failed: {err}. Nothing was written."
            )
            return
        try:
            target = target_read.result()
        except ReadError as err:
            report.status = "aborted"
            report.reason = (
                f"reading the target {target_name!r} failed: {err}. Nothing was written."
            )
            return
    if source is None:  # stopped, yet the target read did not fail: cannot happen
        raise AssertionError("the source read stopped without a failed target read")
    sync.progress.phase(f"read {target_name}", len(target.users) + len(target.groups))
    sync.progress.advance(len(target.users) + len(target.groups))
    plan = sync.plan(source, target)
    if on_plan is not None:
        on_plan(plan)
    refusal = sync.guard(plan, allow_deletes)
    if refusal:
        report.status = "aborted"
        report.reason = refusal
        return
    if dry_run:
        return
    try:
        sync.apply(plan)
    except Exception as err:
        report.status = "failed"
        report.reason = (
            f"writing to the target {sync.target.name!r} failed and the run stopped: "
            f"{type(err).__name__}: {err}. Links of what was written are saved; run again "
            "once the cause is fixed."
        )
