"""`provision plan` and `provision run`: a pair's sync."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from provision import api
from provision.cli import Context, cli, fail, guarded
from provision.display import (
    BarProgress,
    LineProgress,
    err,
    out,
    print_explanation,
    print_plan,
    print_report,
)
from provision.interrupt import Interrupt
from provision.records import NoProgress
from provision.saved import SavedPlan, SavedPlanError, changes_of

if TYPE_CHECKING:
    from provision.engine import Plan
    from provision.report import Report


CHANGES = 4
"""``provision plan --exit-code``: the plan has changes (0: none; 1, 2, 3 keep their meaning)."""


def _pair(command: str, pair: str, second: str | None) -> tuple[str, str]:
    if pair.endswith("-") and second is None:
        source = pair[:-1]
        strays = _stray_files(Path.cwd())
        target = strays[0].name if len(strays) == 1 else "TARGET"
        made = (
            f"; it created {', '.join(f'./{p.name}' for p in strays)}: remove "
            f"{'it' if len(strays) == 1 else 'them'}"
            if strays
            else " (and may have created an empty file named after the target: remove it)"
        )
        fail(
            f"{pair!r} looks like an unquoted 'SRC->DST': the shell took '>' as a redirection"
            f"{made}. Quote the pair: provision {command} '{source}->{target}', or write the two "
            f"names apart: provision {command} {source} {target}"
        )
    if second is not None:
        return pair, second
    source, sep, target = pair.partition("->")
    if not sep or not source or not target:
        fail(f"{pair!r} is not a pair: write 'SRC->DST' (quoted) or SRC DST")
    return source.strip(), target.strip()


def _stray_files(here: Path, seconds: float = 10.0) -> list[Path]:
    """Empty files the shell's redirection made just now (the target's name)."""
    now = time.time()
    found = []
    for path in here.iterdir():
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file() and stat.st_size == 0 and now - stat.st_mtime < seconds:
            found.append(path)
    return sorted(found)


def _sync_options(fn: Any) -> Any:
    options = [
        click.argument("pair"),
        click.argument("target", required=False),
        click.option(
            "--report",
            "report_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write the JSON report to FILE.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the JSON report."),
        click.option(
            "--allow-deletes",
            is_flag=True,
            help="Let this run exceed the deletion guards ([sync] max_deletes, "
            "max_delete_percent).",
        ),
        click.option(
            "--incremental",
            is_flag=True,
            help="Read only what changed (connectors with a change feed only).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@cli.command()
@_sync_options
@click.option(
    "--show",
    default=50,
    show_default=True,
    metavar="N",
    type=click.IntRange(min=0),
    help="List at most N changes (0: none, only the counts).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan to FILE, for review and `provision apply FILE`.",
)
@click.option(
    "--exit-code",
    "changes_exit",
    is_flag=True,
    help=f"Exit {CHANGES} when the plan has changes (0 when it has none), for CI.",
)
@click.pass_obj
def plan(
    ctx: Context, /, show: int, changes_exit: bool, out_file: Path | None, **kwargs: Any
) -> None:
    """Show what a run would change, writing nothing.

    PAIR is 'SRC->DST' (quoted: the shell takes > as a redirection) or SRC DST.
    """
    _sync(ctx, dry_run=True, show=show, changes_exit=changes_exit, out_file=out_file, **kwargs)


@cli.command()
@_sync_options
@click.pass_obj
def run(ctx: Context, /, **kwargs: Any) -> None:
    """Make DST match SRC: create, update, deactivate or delete, and fix memberships.

    PAIR is 'SRC->DST' (quoted: the shell takes > as a redirection) or SRC DST.
    """
    _sync(ctx, dry_run=False, show=0, changes_exit=False, **kwargs)


@cli.command()
@click.argument("plan_file", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON report to FILE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report.")
@click.option("--allow-deletes", is_flag=True, help="Let this run exceed the deletion guards.")
@click.pass_obj
def apply(
    ctx: Context, plan_file: Path, report_file: Path | None, as_json: bool, allow_deletes: bool
) -> None:
    """Apply a plan saved by `provision plan --out FILE`, exactly as reviewed.

    Both ends are read again and the plan computed afresh: if anything it was computed from
    changed since (either end, the links, the [sync] settings), nothing is written and the
    command says what drifted (exit 1).
    """
    try:
        saved = SavedPlan.load(plan_file)
    except SavedPlanError as error:
        fail(str(error), 2)
    _sync(
        ctx,
        pair=saved.source,
        target=saved.target,
        report_file=report_file,
        as_json=as_json,
        allow_deletes=allow_deletes,
        incremental=False,
        show=0,
        changes_exit=False,
        dry_run=False,
        expect=saved,
    )


def _sync(
    ctx: Context,
    pair: str,
    target: str | None,
    report_file: Path | None,
    as_json: bool,
    allow_deletes: bool,
    incremental: bool,
    show: int,
    changes_exit: bool,
    dry_run: bool,
    out_file: Path | None = None,
    expect: SavedPlan | None = None,
) -> None:
    source, target = _pair("plan" if dry_run else "run", pair, target)
    config = guarded(ctx, ctx.config)

    plans: list[Plan] = []  # printed once the progress display is gone
    progress: Any = (
        NoProgress()
        if ctx.quiet
        else BarProgress()
        if err.is_terminal and not ctx.debug
        else LineProgress()
    )
    interrupt = Interrupt()
    with progress, interrupt.handling():
        report: Report = guarded(
            ctx,
            api.sync,
            config,
            source,
            target,
            dry_run=dry_run,
            allow_deletes=allow_deletes,
            incremental=incremental,
            progress=progress,
            on_plan=plans.append if dry_run else None,
            interrupt=interrupt,
            expect=expect,
            save=out_file is not None,
        )
    data = report.as_dict()
    for plan in plans:
        if as_json or report_file is not None:  # the plan, reviewable by a machine
            data["changes"] = [item.as_dict() for item in plan.changes()]
        if not as_json:
            print_plan(plan, show)
        if out_file is not None and report.status in ("succeeded", "partial"):
            saved = SavedPlan(source, target, plan.fingerprint, changes_of(plan))
            details = [item.as_dict() for item in plan.changes()]
            try:
                out_file.write_text(json.dumps(saved.as_dict(details), indent=1) + "\n")
            except OSError as error:
                fail(f"cannot write the plan to {out_file}: {error.strerror}", 1)
            err.print(f"plan saved to {out_file}: review it, then provision apply {out_file}")
    unsaved = False
    if report_file is not None:
        try:
            report_file.parent.mkdir(parents=True, exist_ok=True)
            report_file.write_text(json.dumps(data, indent=2) + "\n")
        except OSError as error:
            err.print(f"cannot write the report to {report_file}: {error.strerror}")
            unsaved = True  # an audit trail the operator asked for is missing: not a success
    if as_json:
        out.print_json(json.dumps(data))
    else:
        print_report(report)
    code = interrupt.exit_code if report.status == "interrupted" else report.exit_code
    if changes_exit and code == 0 and report.planned_writes:
        code = CHANGES
    sys.exit(1 if unsaved and code == 0 else code)


@cli.command()
@click.argument("pair")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def explain(ctx: Context, pair: str, name: str, as_json: bool) -> None:
    """Explain what a run of PAIR would do to NAME (a userName, group name or source key), and
    why: the source object as mapped, the target object it matches and by which rule, the
    change attribute by attribute. Writes nothing.
    """
    source, target = _pair("explain", pair, None)
    config = guarded(ctx, ctx.config)
    found = guarded(ctx, api.explain, config, source, target, name)
    if as_json:
        out.print_json(json.dumps(found.as_dict()))
    else:
        print_explanation(found)
    sys.exit(1 if found.problem else 0)
