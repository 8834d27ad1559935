"""The run: read both sides, reduce, match, plan, guard, apply, report.

Nothing here knows a connector. Each step is a module a reader can hold at once:
`provision.records` (reduce), `provision.match` (situations), `provision.plan` (reactions as
changes), `provision.guard`, `provision.apply` (writes, outcomes, links) and
`provision.report`. This module only sequences them, and makes sure nothing is written
unless both reads completed.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from provision import guard, mapping
from provision.apply import Applier, Interrupted
from provision.contract import Kind, Role
from provision.match import Matcher, Matching
from provision.plan import Plan, Planned, Planner
from provision.records import (
    NAME_RULES,
    NoProgress,
    Progress,
    ReadError,
    Reducer,
    Snapshot,
    Spool,
    Stopped,
)
from provision.report import Report
from provision.review import annotate
from provision.saved import SavedPlan, fingerprint

if TYPE_CHECKING:
    from provision.plugins import Endpoint
    from provision.settings import SyncSettings
    from provision.state import State

__all__ = [
    "NoProgress",
    "Plan",
    "Planned",
    "Progress",
    "ReadError",
    "Sync",
    "read_both",
    "run",
]

log = logging.getLogger(__name__)


@dataclass
class Sync:
    """One run between two endpoints; `run` drives it."""

    source: Endpoint
    target: Endpoint
    settings: SyncSettings
    state: State
    report: Report
    progress: Progress = field(default_factory=NoProgress)
    spool: Spool = field(default_factory=Spool)
    pair: str = ""
    """The key the state file holds this pair's links under (default ``SRC->DST``)."""
    target_spool: Spool = field(default_factory=Spool)
    """The target's projections: what differs when digests do, and the values before in a
    plan a person reviews."""
    interrupt: threading.Event = field(default_factory=threading.Event)
    """Set by a signal (`provision.interrupt`): stop reading, stop taking new writes."""
    watch: Callable[[Role, Kind, str, str, str | None, dict[str, Any]], None] | None = None
    """Sees each object's projection as it is reduced (`provision.explain`)."""

    def __post_init__(self) -> None:
        self.pair = self.pair or f"{self.source.name}->{self.target.name}"

    @functools.cached_property
    def fold(self) -> Callable[[str], str]:
        """How the target compares names."""
        return NAME_RULES.get(self.target.info.capabilities.names, str.lower)

    def reducer(self, role: Role) -> Reducer:
        s = self.settings
        errors = functools.partial(self._read_error, role)
        if role is Role.TARGET:
            return Reducer(
                role,
                tuple(s.user_attributes),
                tuple(s.group_attributes),
                errors,
                spool=self.target_spool,
                fold=self.fold,
                watch=self.watch,
            )
        normalize = self.target.hook.provision_normalize
        return Reducer(
            role,
            tuple(s.user_attributes),
            tuple(s.group_attributes),
            errors,
            spool=self.spool,
            normalize=normalize if normalize.get_hookimpls() else None,
            fold=self.fold,
            watch=self.watch,
        )

    def _read_error(self, role: Role, kind: Kind, key: str, message: str) -> None:
        self.report.error(kind, key, "read", message)

    # 1-2. Read
    def read(
        self,
        endpoint: Endpoint,
        role: Role,
        progress: Progress | None = None,
        stop: threading.Event | None = None,
    ) -> Snapshot:
        """Reduce everything ``endpoint`` holds to records; `ReadError` if anything fails."""
        progress = progress or self.progress
        snapshot = Snapshot()
        wanted = mapping.wanted(
            tuple(self.settings.user_attributes), tuple(self.settings.group_attributes)
        )
        progress.phase(f"read {endpoint.name}")
        try:
            objects = endpoint.hook.provision_full_read(role=role, attributes=wanted)
            if objects is None:
                raise ReadError(f"connector {endpoint.info.name!r} returned nothing to read")
            stops = (self.interrupt,) if stop is None else (self.interrupt, stop)
            self.reducer(role).take_all(objects, snapshot, progress, stops)
        except ReadError:
            raise
        except Exception as err:
            log.debug("read of %s failed", endpoint.name, exc_info=True)
            raise ReadError(f"{type(err).__name__}: {err}") from err
        if role is Role.SOURCE:
            self.report.users["read"] = len(snapshot.users)
            self.report.groups["read"] = len(snapshot.groups)
            self.report.memberships["read"] = sum(len(g.members) for g in snapshot.groups.values())
        return snapshot

    def confirm(self, target: Snapshot) -> None:
        """Look up linked objects the target's read missed, before believing them gone."""
        lookup = self.target.hook.provision_lookup
        if not lookup.get_hookimpls():
            return  # the connector promises a consistent snapshot
        wanted = mapping.wanted(
            tuple(self.settings.user_attributes), tuple(self.settings.group_attributes)
        )
        for kind in (Kind.USER, Kind.GROUP):
            records = target.of(kind)
            missing = sorted(
                tid
                for tid in self.state.links(self.pair, kind.value).values()
                if tid not in records and (kind, tid) not in target.present
            )
            if not missing:
                continue
            try:
                found = list(lookup(kind=kind, ids=missing, attributes=wanted) or ())
                reducer = self.reducer(Role.TARGET)
                for obj in found:
                    reducer.take(obj, target)
            except Exception as err:
                log.debug("lookup of %d %ss failed", len(missing), kind.value, exc_info=True)
                for tid in missing:
                    if tid not in records and (kind, tid) not in target.present:
                        target.unconfirmed.add((kind, tid))
                self.report.warn(
                    kind,
                    "",
                    "lookup",
                    f"{len(missing)} linked {kind.value}(s) missing from the target's read "
                    f"could not be looked up ({type(err).__name__}: {err}); they are left "
                    "alone this run",
                )

    # 3-5. Match and plan
    def plan(self, source: Snapshot, target: Snapshot) -> Plan:
        self.progress.phase("plan", len(source.users) + len(source.groups))
        plan = self.react(source, target, self.match(source, target))
        self.progress.advance(len(source.users) + len(source.groups))
        self._report_plan(plan)
        return plan

    def react(self, source: Snapshot, target: Snapshot, matchings: list[Matching]) -> Plan:
        """The situations' reactions as a plan (`provision.plan.Planner`)."""
        s = self.settings
        return Planner(
            source,
            target,
            tuple(s.user_attributes),
            tuple(s.group_attributes),
            (self.spool, self.target_spool),
            on_delete=s.on_delete,
            unmatched=s.unmatched,
        ).build(*matchings)

    def match(self, source: Snapshot, target: Snapshot) -> list[Matching]:
        """Users' and groups' situations, in that order."""
        s = self.settings
        pattern = self.source.info.capabilities.user_key_pattern
        return [
            Matcher(
                kind,
                source,
                target,
                self.state.links(self.pair, kind.value),
                match_by_name=(s.match_users_by if kind is Kind.USER else s.match_groups_by)
                != "none",
                key_pattern=pattern if kind is Kind.USER else None,
                adopt_leavers=s.adopt_leavers,
            ).run()
            for kind in (Kind.USER, Kind.GROUP)
        ]

    def _report_plan(self, plan: Plan) -> None:
        r = self.report
        for kind, counts in plan.situations.items():
            r.situations[kind.value + "s"] = dict(counts)
        for kind in (Kind.USER, Kind.GROUP, Kind.MEMBERSHIP):
            r.counts(kind)["unchanged"] = plan.unchanged[kind]
        for p in plan.changes():
            bucket = r.planned[p.kind.value + "s"]
            if p.kind is Kind.MEMBERSHIP:
                bucket["add"] += len(p.add)
                bucket["remove"] += len(p.remove)
            else:
                bucket[p.action.value] += 1
                if p.kind is Kind.GROUP and p.action.value == "create":
                    r.planned["memberships"]["add"] += len(p.add)
        r.unmatched = list(plan.unmatched)
        for n in plan.notices:
            if n.error:
                r.error(n.kind, n.key, "match", n.message)
            else:
                r.warn(n.kind, n.key, "match", n.message)


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
    interrupt: threading.Event | None = None,
    expect: SavedPlan | None = None,
    save: bool = False,
) -> Report:
    """Run (or, with ``dry_run``, plan) one full sync from ``source`` to ``target``.

    Never raises for what a run can meet (a read failure, a tripped guard, a failing object):
    the report's status and errors say what happened. ``on_plan`` sees the plan before any
    write. ``pair`` is the key of this pair's links in ``state`` (default ``SRC->DST``).
    ``interrupt``, once set, ends the run early and cleanly: status ``interrupted``.
    ``expect`` is a saved plan: the run writes only if it still holds (`provision.saved`).
    ``save``: the plan will be saved, so fingerprint what it was computed from (a second of
    CPU per million objects, spent only then).
    """
    report = Report(source.name, target.name, dry_run, now())
    started = time.monotonic()
    sync = Sync(
        source,
        target,
        settings,
        state,
        report,
        progress or NoProgress(),
        pair=pair or "",
        interrupt=interrupt or threading.Event(),
    )
    try:
        _run(sync, dry_run, allow_deletes, on_plan, expect, save)
    except BaseException as err:
        report.status = "failed"
        report.reason = report.reason or f"the run stopped: {type(err).__name__}: {err}"
        raise
    finally:
        sync.spool.close()
        sync.target_spool.close()
        for endpoint in (source, target):
            stats = endpoint.hook.provision_request_stats()
            if stats is not None:
                report.requests[endpoint.name] = dict(stats.requests)
                report.throttled[endpoint.name] = stats.throttled
        report.duration_s = time.monotonic() - started
        report.settle()
        state.record_run(sync.pair, report.as_dict())
    return report


def read_both(sync: Sync) -> tuple[Snapshot, Snapshot] | None:
    """Both sides at once (the source's read mostly waits on its rate limit); None if one
    failed or the run was interrupted, with the report saying so. Nothing is written unless
    both completed."""
    report, stop = sync.report, threading.Event()

    def read_target() -> Snapshot:
        try:
            return sync.read(sync.target, Role.TARGET, NoProgress(), stop)
        except ReadError:
            stop.set()  # no use reading the source to the end
            raise

    def failed(side: str, endpoint: Endpoint, err: ReadError) -> None:
        if sync.interrupt.is_set():
            _interrupted(sync, "while reading: nothing was written")
            return
        report.status = "aborted"
        report.reason = f"reading the {side} {endpoint.name!r} failed: {err}. Nothing was written."

    with ThreadPoolExecutor(1, thread_name_prefix="read-target") as pool:
        target_read = pool.submit(read_target)
        source: Snapshot | None = None
        try:
            source = sync.read(sync.source, Role.SOURCE, stop=stop)
        except Stopped:
            if sync.interrupt.is_set():
                stop.set()
        except ReadError as err:
            stop.set()
            failed("source", sync.source, err)
            return None
        try:
            target = target_read.result()
        except ReadError as err:
            failed("target", sync.target, err)
            return None
    if source is None:
        _interrupted(sync, "while reading: nothing was written")
        return None
    sync.progress.phase(f"read {sync.target.name}", len(target.users) + len(target.groups))
    sync.progress.advance(len(target.users) + len(target.groups))
    sync.confirm(target)  # here: the state file belongs to this thread
    return source, target


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while reading and planning: the records are millions of
    acyclic objects that each collection would walk again (about 4 % of a large run's CPU),
    and nothing the engine makes then is a cycle. Reference counting still frees everything.
    Whatever is still alive when the collector comes back is walked once by its next
    collection (the records: half a second per million), so the records go first."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _interrupted(sync: Sync, what: str) -> None:
    report = sync.report
    report.status = "interrupted"
    by = getattr(sync.interrupt, "name", "request")
    report.reason = (
        f"interrupted ({by}) {what}. Re-running is safe: a run compares everything afresh "
        "and plans only what is still to do."
    )


def _run(
    sync: Sync,
    dry_run: bool,
    allow_deletes: bool,
    on_plan: Callable[[Plan], None] | None,
    expect: SavedPlan | None = None,
    save: bool = False,
) -> None:
    report = sync.report
    with collector_paused():
        snapshots = read_both(sync)
        if snapshots is None:
            return
        plan = sync.plan(*snapshots)
        if save or expect is not None:  # what a saved plan is checked against
            links = {k.value: sync.state.links(sync.pair, k.value) for k in (Kind.USER, Kind.GROUP)}
            plan.fingerprint = fingerprint(*snapshots, links, sync.settings)
        if dry_run:
            annotate(plan, *snapshots, sync.spool, sync.target_spool)
        del snapshots  # the records go first: the collector, back on, would walk them all
    if on_plan is not None:
        on_plan(plan)
    if expect is not None:
        drift = expect.drift(plan.fingerprint, plan)
        if drift:
            report.status = "aborted"
            report.reason = (
                f"the saved plan no longer holds: {drift}. Nothing was written. Review a new "
                "plan (provision plan --out FILE) and apply that one."
            )
            return
    refusals = [] if allow_deletes else guard.check(plan, sync.settings)
    if refusals:
        report.status = "aborted"
        report.reason = guard.explain(refusals)
        return
    if dry_run:
        return
    if sync.interrupt.is_set():
        _interrupted(sync, "before writing: nothing was written")
        return
    applier = Applier(
        sync.target, sync.state, sync.pair, sync.spool, report, sync.progress, sync.interrupt
    )
    try:
        applier.apply(plan)
    except Interrupted:
        _interrupted(
            sync,
            f"while writing: {report.writes} of {report.planned_writes} planned changes were "
            "written, and their links saved; the rest were not attempted",
        )
    except Exception as err:
        report.status = "failed"
        report.reason = (
            f"writing to the target {sync.target.name!r} failed and the run stopped: "
            f"{type(err).__name__}: {err}. Links of what was written are saved; run again "
            "once the cause is fixed."
        )
