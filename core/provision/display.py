"""What the CLI shows a person: checks, plans, reports, progress. Data in, text out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar
from rich.table import Table

if TYPE_CHECKING:
    from provision.api import PairState
    from provision.contract import Check
    from provision.engine import Plan
    from provision.explain import Explanation
    from provision.report import Report
    from provision.state import RunRow

# Markup is off: names and messages come from the operator's data. `say` styles a prefix.
out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
for _console in (out, err):
    if not _console.is_terminal:
        _console.width = 160  # logs and pipes: no wrapping at 80 columns


def say(console: Console, style: str, prefix: str, text: str) -> None:
    """``prefix`` in ``style``, then ``text`` printed verbatim."""
    console.print(f"[{style}]{escape(prefix)}[/]{escape(text)}", markup=True)


def print_checks(checks: list[Check]) -> None:
    for c in checks:
        prefix = "ok   " if c.ok else "FAIL "
        say(out, "green" if c.ok else "red", prefix, f"{c.name}: {c.message}")
        if not c.ok and c.hint:
            say(out, "yellow", "     fix: ", c.hint)
    if not checks:
        out.print("the connector reported no checks")


def print_plan(plan: Plan, show: int) -> None:
    styles = {
        "create": ("green", "+ "),
        "update": ("yellow", "~ "),
        "deactivate": ("red", "- "),
        "delete": ("red", "x "),
        "add_members": ("cyan", "* "),
    }
    total = 0
    for item in plan.changes():
        total += 1
        if total <= show:
            say(out, *styles[item.action.value], item.describe())
            for line in _detail_lines(item.details):
                out.print(f"    {line}")
    if total > show:
        out.print(f"… and {total - show} more (--show N lists more)")
    if total == 0:
        out.print("no changes: the target matches the source")


def _detail_lines(details: dict[str, Any]) -> list[str]:
    """What a reviewer reads under a planned change: values before and after, members."""
    lines = []
    before, after = details.get("before"), details.get("after")
    if before is not None and after is not None:
        lines += [f"{a}: {_brief(before.get(a))} -> {_brief(after.get(a))}" for a in after]
    elif after is not None:
        lines.append(f"sends {_brief(after, 160)}")
    for sign, what in (("+", "add"), ("-", "remove")):
        members = details.get(what) or []
        if members:
            names = ", ".join(m["name"] for m in members[:10])
            more = f" and {len(members) - 10} more" if len(members) > 10 else ""
            lines.append(f"{sign} {names}{more}")
    return lines


USER_COLUMNS = ("read", "created", "updated", "deactivated", "deleted", "unchanged", "failed")


PLAN_COLUMNS = ("read", "create", "update", "deactivate", "delete", "unchanged", "failed")


def print_report(report: Report) -> None:
    """The report as a readable table: what was done, or, for a plan, what would be."""
    colour = {"succeeded": "green", "partial": "yellow"}.get(report.status, "red")
    verb = "plan" if report.dry_run else "run"
    say(
        out,
        f"bold {colour}",
        report.status,
        f" {verb} {report.source} -> {report.target} in {report.duration_s:.1f}s",
    )
    if report.reason:
        out.print(f"  {report.reason}")
    planned = report.dry_run or (report.writes == 0 and report.planned_writes > 0)
    if planned and not report.dry_run:
        out.print("  nothing was written; planned:")
    columns = PLAN_COLUMNS if planned else USER_COLUMNS
    table = Table("", *columns, box=None, padding=(0, 1))
    for kind, counts in (("users", report.users), ("groups", report.groups)):
        plan = report.planned[kind]
        cells = [
            str(plan.get(c, "")) if planned and c in plan else str(counts.get(c, ""))
            for c in (columns if planned else USER_COLUMNS)
        ]
        if kind == "groups":
            cells[columns.index("deactivate" if planned else "deactivated")] = ""
        table.add_row(kind, *cells)
    m, pm = report.memberships, report.planned["memberships"]
    added, removed = (pm["add"], pm["remove"]) if planned else (m["added"], m["removed"])
    table.add_row(
        "memberships",
        str(m["read"]),
        f"+{added}",
        "",
        "",
        f"-{removed}",
        str(m["unchanged"]),
        str(m["failed"]),
    )
    out.print(table)
    for name, ops in report.requests.items():
        calls = ", ".join(f"{op} {n}" for op, n in sorted(ops.items()))
        throttled = report.throttled.get(name, 0)
        out.print(
            f"  requests {name}: {calls or 'none'}"
            + (f" (throttled {throttled})" if throttled else "")
        )
    if report.unmatched:
        say(
            out,
            "yellow",
            f"  {len(report.unmatched)} unmatched target object(s)",
            " carry a source key but are synced with nothing (a lost state or link?); "
            "[sync] unmatched = 'deactivate' deprovisions the users among them:",
        )
        for u in report.unmatched[:20]:
            out.print(f"    {u['kind']} {u['name']} (id {u['target_id']}): {u['detail']}")
        if len(report.unmatched) > 20:
            out.print(f"    … and {len(report.unmatched) - 20} more (see --report FILE)")
    for w in report.warnings[:20]:
        say(out, "yellow", f"  {w.kind} {w.key}".rstrip(), f" ({w.action}): {w.message}")
    for e in report.errors[:20]:
        say(out, "red", f"  {e.kind} {e.key}", f" ({e.action}): {e.message}")
    if len(report.errors) > 20:
        out.print(f"  … and {len(report.errors) - 20} more errors (see --report FILE)")


def heading(text: str) -> None:
    say(out, "bold", f"\n== {text}", "")


class BarProgress:
    """Progress bars on a terminal."""

    def __init__(self) -> None:
        self.bar = RichBar(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self.task: Any = None

    def __enter__(self) -> BarProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def phase(self, name: str, total: int | None = None) -> None:
        if self.task is not None:
            t = self.bar.tasks[-1]
            self.bar.update(self.task, total=t.completed)
        self.task = self.bar.add_task(name, total=total)

    def advance(self, n: int = 1) -> None:
        if self.task is not None:
            self.bar.advance(self.task, n)


class LineProgress:
    """Lines for logs and pipes (cron, CI): each finished phase, and a timestamped line at
    least every `EVERY` seconds during a long one, so a log never goes silent."""

    EVERY = 10.0

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        stamp: Callable[[], str] = lambda: time.strftime("%H:%M:%S"),
    ) -> None:
        self.name: str | None = None
        self.count = 0
        self.total: int | None = None
        self.clock, self.stamp = clock, stamp
        self.last = clock()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._end()

    def _end(self) -> None:
        if self.name is not None:
            err.print(f"{self.stamp()} {self.name}: {self.count} done")
        self.name = None

    def phase(self, name: str, total: int | None = None) -> None:
        self._end()
        self.name, self.count, self.total = name, 0, total
        self.last = self.clock()

    def advance(self, n: int = 1) -> None:
        self.count += n
        now = self.clock()
        if self.name is not None and now - self.last >= self.EVERY:
            of = f" of {self.total}" if self.total else ""
            err.print(f"{self.stamp()} {self.name}: {self.count}{of} so far")
            self.last = now


def print_runs(rows: list[RunRow]) -> None:
    """The run history, newest first: what each run did (plans: what it would have)."""
    table = Table(
        "id",
        "started (UTC)",
        "pair",
        "status",
        "users",
        "groups",
        "members",
        "failed",
        "time",
        box=None,
        padding=(0, 1),
    )
    for r in rows:
        u, g, m = r.report["users"], r.report["groups"], r.report["memberships"]
        table.add_row(
            str(r.id),
            r.started_at[:16].replace("T", " "),
            r.pair,
            f"{r.status}{' (plan)' if r.dry_run else ''}",
            f"+{u['created']} ~{u['updated']} -{u['deactivated'] + u['deleted']}",
            f"+{g['created']} ~{g['updated']} -{g['deleted']}",
            f"+{m['added']} -{m['removed']}",
            str(u["failed"] + g["failed"] + m["failed"]),
            f"{r.duration_s:.1f}s",
        )
    out.print(table)


def print_pairs(pairs: list[PairState]) -> None:
    """Each pair in the state file: the systems it joins, its links, its last run."""
    for p in pairs:
        key = f" (key {p.key!r})" if p.key != p.name else ""
        say(out, "bold", p.name, key)
        out.print(f"  source  {p.source_identity or 'unknown (recorded by its next run)'}")
        out.print(f"  target  {p.target_identity or 'unknown (recorded by its next run)'}")
        links = ", ".join(f"{n} {kind}{'s' * (n != 1)}" for kind, n in p.links.items()) or "none"
        out.print(f"  links   {links}")
        last = p.last_run
        if last is None:
            out.print("  last    never ran")
        else:
            when = last.started_at[:16].replace("T", " ")
            plan = " (plan)" if last.dry_run else ""
            out.print(f"  last    run {last.id}, {when} UTC, {last.status}{plan}")


def print_explanation(found: Explanation) -> None:
    """One object's story: what it is on each side, its situation, what a run would change."""
    if found.problem:
        say(out, "red", "nothing to explain: ", found.problem)
        return
    for obj in found.objects:
        source, target = obj["source"], obj["target"]
        say(
            out,
            "bold",
            f"{obj['kind']} ",
            source["name"] if source and "name" in source else (target or {}).get("name", "?"),
        )
        if source and "attributes" in source:
            out.print(f"  source (key {source['key']}): {_brief(source['attributes'])}")
        elif source:
            out.print(f"  source: key {source['key']}, not in the source's read")
        if target and "attributes" in target:
            out.print(f"  target (id {target['id']}): {_brief(target['attributes'])}")
        else:
            out.print("  target: none")
        via = f" (by {obj['via']})" if obj.get("via") else ""
        say(out, "cyan", f"  situation: {obj['situation']}{via}", f": {obj['rule']}")
        out.print(f"  reaction: {obj['reaction']}")
        for note in [obj.get("detail"), *obj.get("notes", [])]:
            if note:
                say(out, "yellow", "  note: ", note)
        for change in obj["changes"] or ["no change"]:
            out.print(f"  a run would: {change}")
        for a in obj["attributes"]:
            out.print(f"    {a['attribute']}: {_brief(a['before'])} -> {_brief(a['after'])}")


def _brief(value: Any, limit: int = 120) -> str:
    """A value on one line, long ones shortened."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else "(none)"
    return text if len(text) <= limit else text[: limit - 1] + "…"
