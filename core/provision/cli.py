"""The ``provision`` command: a thin layer over `provision.api`.

Exit codes: 0 succeeded (a no-op included), 1 failed or aborted, 2 usage or configuration
error, 3 partial (some objects failed).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shlex
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.table import Table

from provision import api, plugins
from provision.config import ConfigError, env_name, load
from provision.display import (
    BarProgress,
    LineProgress,
    err,
    heading,
    out,
    print_checks,
    print_pairs,
    print_plan,
    print_report,
    print_runs,
    say,
)
from provision.plugins import ConnectorError, discover, sandbox_of
from provision.state import StateError, StateMismatch

if TYPE_CHECKING:
    from collections.abc import Iterator

    from provision.config import Config
    from provision.engine import Plan
    from provision.report import Report


class Context:
    def __init__(self, config_path: str | None, debug: bool) -> None:
        self.config_path = config_path
        self.debug = debug

    def config(self) -> Config:
        return load(self.config_path, known_connectors=set(discover().connectors))


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""What ends ``provision sandbox``: Ctrl-C, or a service manager's stop."""


def _fail(message: str, code: int = 2) -> NoReturn:
    say(err, "bold red", "error: ", message)
    sys.exit(code)


def _guarded(ctx: Context, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Turn operator mistakes into a message and an exit code; --debug keeps the trace."""
    try:
        return fn(*args, **kwargs)
    except ConfigError as error:
        if ctx.debug:
            raise
        _fail(str(error), 2)
    except StateMismatch as error:  # the state is not this configuration's: retrying won't help
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
            say(out, "green", "ok   ", name)
        for p in found_problems:
            origin = f"{name} ({info.distribution} {info.version}): "
            say(out, "bold red", "bug  ", f"{origin}{p.where}: {p.problem}. Fix: {p.fix}.")
    for e in found["errors"]:
        say(
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
        print_checks(checks)
    sys.exit(0 if checks and all(c.ok for c in checks) else 1)


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
            print_plan(plan, show)
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
    print_runs(rows)


@cli.group()
def state() -> None:
    """Show or forget what the state file holds for each pair.

    \b
      provision state show                     pairs, the systems they join, their links
      provision state forget 'cognito->oci'    drop a pair's links (its run history stays)
    """


@state.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def show(ctx: Context, as_json: bool) -> None:
    """List each pair: the systems it joins, its links by kind, its last run."""
    config = _guarded(ctx, ctx.config)
    pairs = _guarded(ctx, api.pairs, config)
    if as_json:
        out.print_json(json.dumps([p.as_dict() for p in pairs]))
        return
    if not pairs:
        out.print(f"no pairs recorded in {config.state_path()}")
        return
    print_pairs(pairs)


@state.command()
@click.argument("pair")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget(ctx: Context, pair: str, yes: bool) -> None:
    """Drop PAIR's links and record; its run history stays.

    For a pool or domain that is really gone. The next run relinks by externalId what the
    source still holds and reports the other objects it had synced as unmatched.
    """
    config = _guarded(ctx, ctx.config)
    found = _guarded(ctx, api.find_pair, config, pair)
    if not yes:
        total = sum(found.links.values())
        click.confirm(
            f"Forget pair {found.name!r} ({found.source_identity or 'unknown'} -> "
            f"{found.target_identity or 'unknown'}) and its {total} links?",
            abort=True,
            err=True,
        )
    dropped = _guarded(ctx, api.forget, config, found.key)
    out.print(f"forgot pair {found.name!r}: {dropped} links dropped, run history kept")


@contextlib.contextmanager
def _until_stopped() -> Iterator[threading.Event]:
    """An event that Ctrl-C or SIGTERM sets (instead of ending the process mid-cleanup)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@cli.command()
@click.argument("name")
@click.option(
    "--port",
    default=0,
    show_default=True,
    type=click.IntRange(min=0, max=65535),
    help="Port on 127.0.0.1 (0: a free one).",
)
def sandbox(name: str, port: int) -> None:
    """Serve connector NAME's local stand-in on 127.0.0.1 until Ctrl-C, to try against.

    Prints its URL, the endpoint table that reaches it (paste it into provision.toml) and the
    credentials it accepts. Those are the stand-in's own fake values, printed because that is
    the point; no real secret is involved.
    """
    from provision.sandbox import SandboxUnavailable, toml_table

    registry = discover()
    with contextlib.ExitStack() as stack:
        stop = stack.enter_context(_until_stopped())
        try:
            box = sandbox_of(registry.get(name), port, registry)
            stack.enter_context(box)
        except (ConnectorError, SandboxUnavailable) as error:
            _fail(str(error), 2)
        except OSError as error:  # the port is taken
            _fail(f"the {name} sandbox cannot listen on 127.0.0.1:{port}: {error.strerror}", 2)
        out.print(f"The {name} sandbox: {box.label}")
        out.print(f"url: {box.url}")
        heading("Settings to reach it (paste into provision.toml)")
        out.print(toml_table(name, box.settings(), box.comments()).rstrip())
        secrets = box.secrets()
        if secrets:
            heading("Credentials it accepts (fake, local to this stand-in: printed on purpose)")
            for key, value in secrets.items():
                out.print(f"export {env_name(name, key)}={shlex.quote(value)}")
        out.print(f"\nTry it: provision test {name}. Serving until Ctrl-C.")
        while not stop.wait(1):
            pass
    out.print("stopped")


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
    help="Users in the sample directory.",
)
@click.option(
    "--source",
    default="cognito",
    show_default=True,
    help="The connector whose sandbox is the source.",
)
@click.option(
    "--target",
    default="oci",
    show_default=True,
    help="The connector whose sandbox is the target.",
)
def demo(workdir: Path | None, users: int, source: str, target: str) -> None:
    """Run the real job between local stand-ins: by default moto's Cognito and an OCI emulator.

    Starts the sandbox each connector offers, seeds a sample directory in the source, then:
    test both endpoints, plan, run, change the source (edit a user, remove one from a group,
    delete one), run again, and run a third time (nothing to do). Everything listens on
    127.0.0.1 and stops when the demo ends.
    """
    from provision import demo as sample
    from provision.sandbox import SandboxUnavailable

    keep = workdir is not None
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="provision-")))
        try:
            box = stack.enter_context(
                sample.start(discover(), source, target, workdir.resolve(), users)
            )
        except (ConnectorError, SandboxUnavailable) as error:
            _fail(str(error), 2)
        config = load(box.config, env=box.env, known_connectors={source, target})
        code = sample.show(box, config, users)
        if code:
            sys.exit(code)
        if keep:
            out.print(f"The demo's files are in {workdir}: try `provision -c {box.config} runs`.")


def main() -> None:
    cli(prog_name="provision")
