"""Apply: a plan's changes through ``provision_write``, outcomes counted, links saved.

Phases run in dependency order (users, groups, memberships, removals), each as one write call
per wave (renames that wait for others). Resources are rebuilt from the spool only now. Every
count in the report comes from an outcome here: what the target confirmed, never what was
planned. One failed object never stops the others; a target that raises stops the run, and
everything not yet written is reported as not attempted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Any

from scim2_models import Group, GroupMember, PatchOp, PatchOperation, User

from provision import mapping
from provision.contract import Action, Change, Kind, Outcome
from provision.plan import PHASES, Planned
from provision.records import NAME_ATTRIBUTE, NoProgress, Progress, Spool

if TYPE_CHECKING:
    from provision.plan import Plan
    from provision.plugins import Endpoint
    from provision.report import Report
    from provision.state import State

log = logging.getLogger(__name__)

LINK_BATCH = 500


class Interrupted(Exception):
    """The run was interrupted between two write calls: what was written is linked."""


@dataclass
class Applier:
    """One run's writes to ``target``."""

    target: Endpoint
    state: State
    pair: str
    spool: Spool
    report: Report
    progress: Progress = field(default_factory=NoProgress)
    interrupt: threading.Event = field(default_factory=threading.Event)
    """Once set, no new change is handed to the target; the run stops after this call."""
    user_ids: dict[str, str] = field(default_factory=dict)
    """Source user key → target id: the plan's, then each created user's."""
    updated: dict[Kind, set[str]] = field(default_factory=dict)
    _links: list[tuple[Kind, str, str]] = field(default_factory=list)
    _unlinks: list[tuple[Kind, str]] = field(default_factory=list)

    def apply(self, plan: Plan) -> None:
        """Write ``plan``; raises what the target raised, after reporting what was left."""
        self.user_ids = dict(plan.user_ids)
        self._unlinks += plan.unlinks
        self._links += plan.links
        self._flush()
        waves = [
            (name, list(items))
            for name in PHASES
            for _, items in groupby(
                sorted(plan.phase(name), key=lambda p: p.wave), key=lambda p: p.wave
            )
        ]
        for n, (name, items) in enumerate(waves):
            if self.interrupt.is_set():
                raise Interrupted()
            try:
                self._write(name, items)
            except Interrupted:
                raise  # not a failure: the rest is for the next run, which plans it afresh
            except Exception as err:
                why = f"not attempted: the target failed ({type(err).__name__}: {err})"
                for _, later in waves[n + 1 :]:
                    for item in later:
                        for change in _bare(item):
                            self._failed(change, why)
                raise

    # Planned → Change
    def _changes(self, p: Planned) -> Iterator[Change]:
        if p.kind is Kind.MEMBERSHIP:
            yield from self._membership_changes(p)
        elif p.action in (Action.DEACTIVATE, Action.DELETE):
            yield Change(p.kind, p.action, p.key, p.label, p.target_id)
        elif p.rename is not None:
            yield self._rename(p)
        else:
            yield self._resource_change(p)

    def _resource_change(self, p: Planned) -> Change:
        cls, projection = self.spool.get(p.kind, p.key)
        resource = mapping.rebuild(cls, projection)
        patch = None
        if p.action is Action.UPDATE:
            patch = mapping.patch_for(resource, projection, list(p.attributes))
            resource.id = p.target_id
        elif isinstance(resource, Group):
            members = [self.user_ids[k] for k in p.add if k in self.user_ids]
            resource.members = [GroupMember(value=m, type="User") for m in members] or None
            self._lost_members(p, len(p.add) - len(members))
        return Change(p.kind, p.action, p.key, p.label, p.target_id, resource, patch)

    def _rename(self, p: Planned) -> Change:
        """A rename that is not the source's: only the name changes (a freed leaver, a step)."""
        attribute = NAME_ATTRIBUTE[p.kind]
        cls: Any = User if p.kind is Kind.USER else Group
        resource = cls.model_validate({"id": p.target_id, attribute: p.rename})
        op = PatchOperation[Any](op="replace", path=attribute, value=p.rename)
        patch: PatchOp[Any] = PatchOp[cls](operations=[op])
        return Change(p.kind, p.action, p.key, p.label, p.target_id, resource, patch)

    def _membership_changes(self, p: Planned) -> Iterator[Change]:
        if p.add:
            members = tuple(self.user_ids[k] for k in p.add if k in self.user_ids)
            self._lost_members(p, len(p.add) - len(members))
            if members:
                yield Change(
                    Kind.MEMBERSHIP, Action.ADD_MEMBERS, p.key, p.label, p.target_id,
                    members=members,
                )  # fmt: skip
        if p.remove:
            yield Change(
                Kind.MEMBERSHIP, Action.REMOVE_MEMBERS, p.key, p.label, p.target_id,
                members=p.remove,
            )  # fmt: skip

    def _lost_members(self, p: Planned, missing: int) -> None:
        if missing:
            self.report.error(
                Kind.MEMBERSHIP,
                p.key,
                "add_members",
                f"{missing} member(s) of group {p.label!r} were not added because their users "
                "failed to sync (see their errors); the next run adds them",
                count=missing,
            )

    # Writing
    def _write(self, phase: str, items: list[Planned]) -> None:
        """One `provision_write` call, outcomes matched to their changes."""
        self.progress.phase(f"write {phase}", len(items))
        pending: dict[int, Change] = {}
        pulled = 0

        def changes() -> Iterator[Change]:
            nonlocal pulled
            for item in items:
                if self.interrupt.is_set():  # what is in flight finishes; nothing new starts
                    return
                pulled += 1
                try:
                    built = list(self._changes(item))
                except Exception as err:  # the desired object cannot be built: this one fails
                    log.debug("cannot build the change for %s", item, exc_info=True)
                    for change in _bare(item):
                        self._failed(change, f"cannot be built: {type(err).__name__}: {err}")
                    continue
                for change in built:
                    pending[id(change)] = change
                    yield change

        try:
            for outcome in self.target.hook.provision_write(changes=changes()) or ():
                change = pending.pop(id(outcome.change), None)
                if change is None:
                    log.warning("ignoring an outcome for a change not sent: %s", outcome)
                    continue
                self._record(outcome)
                self.progress.advance()
                if len(self._links) + len(self._unlinks) >= LINK_BATCH:
                    self._flush()
        except Exception as err:
            log.debug("write of %s failed", phase, exc_info=True)
            self._flush()
            why = f"the target failed: {type(err).__name__}: {err}"
            for change in pending.values():
                self._failed(change, why)
            for item in items[pulled:]:
                for change in _bare(item):
                    self._failed(change, "not attempted: " + why)
            raise
        self._flush()
        for change in pending.values():
            self._failed(change, "the target connector returned no outcome for this change")
        if self.interrupt.is_set():
            raise Interrupted()

    def _record(self, outcome: Outcome) -> None:
        change = outcome.change
        if not outcome.ok:
            self._failed(change, outcome.error or "the target reported a failure without reason")
            return
        if change.action is Action.CREATE:
            if not outcome.target_id:
                self._failed(change, "the target connector reported no id for the new object")
                return
            if change.kind is Kind.USER:
                self.user_ids[change.key] = outcome.target_id
            self._links.append((change.kind, change.key, outcome.target_id))
            self.report.done(Kind.MEMBERSHIP, "add_members", len(_inline(change)))
        elif change.action is Action.DELETE:
            self._unlinks.append((change.kind, change.key))
        if change.action is Action.UPDATE:
            done = self.updated.setdefault(change.kind, set())
            if change.key not in done:  # a rename and an update of one object count once
                done.add(change.key)
                self.report.done(change.kind, "update")
        elif change.kind is Kind.MEMBERSHIP:
            self.report.done(change.kind, change.action.value, len(change.members))
        else:
            self.report.done(change.kind, change.action.value)

    def _failed(self, change: Change, message: str) -> None:
        self.report.error(
            change.kind,
            change.key,
            change.action.value,
            f"{change.describe()}: {message}",
            count=len(change.members) if change.kind is Kind.MEMBERSHIP else 1,
        )
        lost = len(_inline(change))
        if change.action is Action.CREATE and lost:
            self.report.error(
                Kind.MEMBERSHIP,
                change.key,
                "add_members",
                f"{lost} member(s) of group {change.label!r} were not added: the group was "
                "not created",
                count=lost,
            )

    def _flush(self) -> None:
        for kind in Kind:
            gone = [key for k, key in self._unlinks if k is kind]
            if gone:
                self.state.unlink_many(self.pair, kind.value, gone)
            batch = [(key, tid) for k, key, tid in self._links if k is kind]
            if batch:
                self.state.link_many(self.pair, kind.value, batch)
        self._links.clear()
        self._unlinks.clear()


def _inline(change: Change) -> list[Any]:
    """A group create's members, sent with it."""
    if change.action is Action.CREATE and isinstance(change.resource, Group):
        return list(change.resource.members or ())
    if change.action is Action.CREATE and change.kind is Kind.GROUP:
        return list(change.members)
    return []


def _bare(item: Planned) -> list[Change]:
    """``item`` as the changes it would have made, without resources (for reporting)."""
    if item.kind is Kind.MEMBERSHIP:
        parts = [(Action.ADD_MEMBERS, item.add), (Action.REMOVE_MEMBERS, item.remove)]
        return [
            Change(item.kind, action, item.key, item.label, item.target_id, members=members)
            for action, members in parts
            if members
        ]
    members = item.add if item.action is Action.CREATE and item.kind is Kind.GROUP else ()
    return [Change(item.kind, item.action, item.key, item.label, item.target_id, members=members)]
