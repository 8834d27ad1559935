"""The ``provision`` command: a thin layer over `provision.api`.

Exit codes: 0 succeeded (a no-op included), 1 failed or aborted, 2 usage or configuration
error, 3 partial (some objects failed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar
from rich.table import Table

from provision import api, plugins
from provision.config import ConfigError, load
from provision.plugins import discover
from provision.state import StateError

if TYPE_CHECKING:
    from provision.config import Config
    from provision.contract import Check
    from provision.engine import Plan
    from provision.report import Report

# Markup is off: names and messages come from the operator's data. `_say` styles a prefix.
out = Console(highlight=False, markup=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)
for _console in (out, err):
    if not _console.is_terminal:
        _console.width = 160  # logs and pipes: no wrapping at 80 columns


def _say(console: Console, style: str, prefix: str, text: str) -> None:
    """``prefix`` in ``style``, then ``text`` printed verbatim."""
    console.print(f"[{style}]{escape(prefix)}[/]{escape(text)}", markup=True)


class Context:
    def __init__(self, config_path: str | None, debug: bool) -> None:
        self.config_path = config_path
        self.debug = debug

    def config(self) -> Config:
        return load(self.config_path, known_connectors=set(discover().connectors))


def _fail(message: str, code: int = 2) -> None:
    _say(err, "bold red", "error: ", message)
    sys.exit(code)


def _guarded(ctx: Context, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Turn operator mistakes into a message and an exit code; --debug keeps the trace."""
    try:
        return fn(*args, **kwargs)
    except ConfigError as error:
        if ctx.debug:
            raise
        _fail(str(error), 2)
    except StateError as error:
        if ctx.debug:
            raise
        _fail(str(error), 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    metavar="FILE",
    envvar="PROVISION_CONFIG",
    help="Configuration file (default: provision.toml here).",
)
@click.option("--debug", is_flag=True, help="Log every step and show tracebacks.")
@click.version_option(package_name="provision")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, debug: bool) -> None:
    """Keep an identity target in step with a source: test, plan, run.

    \b
      provision test cognito           check connectivity and permissions
      provision plan 'cognito->oci'    show what a run would change
      provision run 'cognito->oci'     make the target match the source
    """
    _configure_logging(debug)
    ctx.obj = Context(config_path, debug)


def _configure_logging(debug: bool) -> None:
    """--debug turns on provision's own loggers (core and connectors) only.

    Third-party libraries stay at WARNING: botocore's and httpx's debug logs print request
    headers and response bodies, which carry tokens and temporary credentials.
    """
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if debug:
        for name in ("provision", *(f"provision_{c}" for c in discover().connectors)):
            logging.getLogger(name).setLevel(logging.DEBUG)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Also inspect each connector class for plugin mistakes (instantiates nothing).",
)
def connectors(as_json: bool, check: bool) -> None:
    """List the connectors found through entry points; exit 1 if any is broken."""
    registry = discover()
    found = api.connectors(registry)
    problems = plugins.check(registry) if check else {}
    broken = bool(found["errors"]) or any(problems.values())
    if as_json:
        if check:
            found["problems"] = {n: [p.as_dict() for p in ps] for n, ps in problems.items()}
        out.print_json(json.dumps(found))
        sys.exit(1 if broken else 0)
    table = Table("name", "roles", "distribution", "description", box=None, padding=(0, 1))
    for c in found["connectors"]:
        table.add_row(
            c["name"],
            ", ".join(c["roles"]),
            f"{c['distribution']} {c['version']}",
            c["description"],
        )
    out.print(table)
    for name, found_problems in problems.items():
        info = registry.connectors[name]
        if not found_problems:
            _say(out, "green", "ok   ", name)
        for p in found_problems:
            origin = f"{name} ({info.distribution} {info.version}): "
            _say(out, "bold red", "bug  ", f"{origin}{p.where}: {p.problem}. Fix: {p.fix}.")
    for e in found["errors"]:
        _say(
            err,
            "yellow",
            f"connector {e['name']!r} from {e['distribution']} failed to load: ",
            e["error"],
        )
    if broken:
        sys.exit(1)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def test(ctx: Context, name: str, as_json: bool) -> None:
    """Check connectivity and permissions of endpoint NAME; exit 0 only if all pass."""
    config = _guarded(ctx, ctx.config)
    checks = _guarded(ctx, api.connectivity, config, name)
    if as_json:
        out.print_json(json.dumps([dataclasses.asdict(c) for c in checks]))
    else:
        _print_checks(checks)
    sys.exit(0 if checks and all(c.ok for c in checks) else 1)


def _print_checks(checks: list[Check]) -> None:
    for c in checks:
        prefix = "ok   " if c.ok else "FAIL "
        _say(out, "green" if c.ok else "red", prefix, f"{c.name}: {c.message}")
        if not c.ok and c.hint:
            _say(out, "yellow", "     fix: ", c.hint)
    if not checks:
        out.print("the connector reported no checks")


def _pair(pair: str, second: str | None) -> tuple[str, str]:
    if pair.endswith("-") and second is None:
        _fail(
            f"{pair!r} looks like an unquoted 'SRC->DST': the shell took '>' as a redirection "
            "(and may have created a file named after the target). Quote it: "
            "provision run 'cognito->oci', or write the two names apart: provision run cognito oci"
        )
    if second is not None:
        return pair, second
    source, sep, target = pair.partition("->")
    if not sep or not source or not target:
        _fail(f"{pair!r} is not a pair: write 'SRC->DST' (quoted) or SRC DST")
    return source.strip(), target.strip()


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
        click.option(
            "--show",
            default=50,
            show_default=True,
            metavar="N",
            help="plan: list at most N changes.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@cli.command()
@_sync_options
@click.pass_obj
def plan(ctx: Context, /, **kwargs: Any) -> None:
    """Show what a run would change, writing nothing.

    PAIR is 'SRC->DST' (quoted: the shell takes > as a redirection) or SRC DST.
    """
    _sync(ctx, dry_run=True, **kwargs)


@cli.command()
@_sync_options
@click.pass_obj
def run(ctx: Context, /, **kwargs: Any) -> None:
    """Make DST match SRC: create, update, deactivate or delete, and fix memberships.

    PAIR is 'SRC->DST' (quoted: the shell takes > as a redirection) or SRC DST.
    """
    _sync(ctx, dry_run=False, **kwargs)


def _sync(
    ctx: Context,
    pair: str,
    target: str | None,
    report_file: Path | None,
    as_json: bool,
    allow_deletes: bool,
    incremental: bool,
    show: int,
    dry_run: bool,
) -> None:
    source, target = _pair(pair, target)
    config = _guarded(ctx, ctx.config)

    plans: list[Plan] = []  # printed once the progress display is gone
    progress = BarProgress() if err.is_terminal and not ctx.debug else LineProgress()
    with progress:
        report: Report = _guarded(
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
        )
    data = report.as_dict()
    for plan in plans:
        if as_json or report_file is not None:  # the plan, reviewable by a machine
            data["changes"] = [item.as_dict() for item in plan.changes()]
        if not as_json:
            _print_plan(plan, show)
    if report_file is not None:
        try:
            report_file.parent.mkdir(parents=True, exist_ok=True)
            report_file.write_text(json.dumps(data, indent=2) + "\n")
        except OSError as error:
            err.print(f"cannot write the report to {report_file}: {error.strerror}")
    if as_json:
        out.print_json(json.dumps(data))
    else:
        print_report(report)
    sys.exit(report.exit_code)


def _print_plan(plan: Plan, show: int) -> None:
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
            _say(out, *styles[item.action.value], item.describe())
    if total > show:
        out.print(f"… and {total - show} more (--show N lists more)")
    if total == 0:
        out.print("no changes: the target matches the source")


USER_COLUMNS = ("read", "created", "updated", "deactivated", "deleted", "unchanged", "failed")


def print_report(report: Report) -> None:
    """The report as a readable table."""
    colour = {"succeeded": "green", "partial": "yellow"}.get(report.status, "red")
    verb = "plan" if report.dry_run else "run"
    _say(
        out,
        f"bold {colour}",
        report.status,
        f" {verb} {report.source} -> {report.target} in {report.duration_s:.1f}s",
    )
    if report.reason:
        out.print(f"  {report.reason}")
    table = Table("", *USER_COLUMNS, box=None, padding=(0, 1))
    table.add_row("users", *(str(report.users[k]) for k in USER_COLUMNS))
    table.add_row("groups", *(str(report.groups.get(k, "")) for k in USER_COLUMNS))
    m = report.memberships
    table.add_row(
        "memberships",
        str(m["read"]),
        f"+{m['added']}",
        "",
        "",
        f"-{m['removed']}",
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
    for e in report.errors[:20]:
        _say(out, "red", f"  {e.kind} {e.key}", f" ({e.action}): {e.message}")
    if len(report.errors) > 20:
        out.print(f"  … and {len(report.errors) - 20} more errors (see --report FILE)")


@cli.command()
@click.option("--limit", default=20, show_default=True, help="How many runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (whole reports).")
@click.pass_obj
def runs(ctx: Context, limit: int, as_json: bool) -> None:
    """List past runs and plans, newest first."""
    config = _guarded(ctx, ctx.config)
    rows = _guarded(ctx, api.history, config, limit)
    if as_json:
        out.print_json(json.dumps([r.report | {"id": r.id} for r in rows]))
        return
    if not rows:
        out.print(f"no runs recorded in {config.state_path()}")
        return
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


@cli.command()
@click.option(
    "--dir",
    "workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo's files here (default: a temporary directory, removed after).",
)
@click.option(
    "--users",
    default=300,
    show_default=True,
    type=click.IntRange(min=10),
    help="Users in the sample pool.",
)
@click.pass_obj
def demo(ctx: Context, workdir: Path | None, users: int) -> None:
    """Run the real job between local stand-ins: moto's Cognito and an OCI emulator.

    Seeds a sample pool, then: test both endpoints, plan, run, change the pool (edit a
    user, remove one from a group, delete one), run again, and run a third time (nothing to
    do). Everything listens on 127.0.0.1 and stops when the demo ends.
    """
    from provision import demo as sample

    keep = workdir is not None
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="provision-")))
        try:
            box = stack.enter_context(sample.sandbox(workdir.resolve(), users))
        except sample.DemoUnavailable as error:
            _fail(str(error), 2)
        config = load(box.config, env=sample.SECRETS, known_connectors={"cognito", "oci"})
        _heading(
            f"A pool of {users} users in Cognito (moto, {box.cognito.url}) and an "
            f"identity domain (emulator, {box.domain.url})"
        )
        _heading(f"The configuration: {box.config}")
        out.print(box.config.read_text().rstrip())
        for name in ("cognito", "oci"):
            _heading(f"provision test {name}")
            _print_checks(api.connectivity(config, name))
        _heading("provision plan 'cognito->oci'")
        plans: list[Plan] = []
        report = api.sync(config, "cognito", "oci", dry_run=True, on_plan=plans.append)
        for plan in plans:
            _print_plan(plan, 6)
        print_report(report)
        steps = (
            ("provision run 'cognito->oci'", None),
            ("Change the pool, then run again", sample.change_pool),
            ("Run once more: nothing to do", None),
        )
        for title, step in steps:
            _heading(title)
            if step is not None:
                for line in step(box):
                    out.print(f"  {line}")
            progress = BarProgress() if err.is_terminal else LineProgress()
            with progress:
                report = api.sync(config, "cognito", "oci", progress=progress)
            print_report(report)
            if report.status != "succeeded":
                sys.exit(report.exit_code)
        out.print(
            f"\nThe domain sent {box.domain.welcome_mails} welcome mails and answered "
            f"{box.domain.throttled} requests with 429."
        )
        if keep:
            out.print(f"The demo's files are in {workdir}: try `provision -c {box.config} runs`.")


def _heading(text: str) -> None:
    _say(out, "bold", f"\n== {text}", "")


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
    """One line per finished phase, for logs and pipes."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.count = 0

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._end()

    def _end(self) -> None:
        if self.name is not None:
            err.print(f"{self.name}: {self.count} done")
        self.name = None

    def phase(self, name: str, total: int | None = None) -> None:
        self._end()
        self.name, self.count = name, 0

    def advance(self, n: int = 1) -> None:
        self.count += n


def main() -> None:
    cli(prog_name="provision")
