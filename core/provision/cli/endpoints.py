"""`provision connectors` and `provision test NAME`."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import TYPE_CHECKING

import click
from rich.table import Table

from provision import api, diagnose
from provision.cli import Context, cli, guarded
from provision.display import (
    err,
    out,
    print_checks,
    say,
)
from provision.plugins import discover

if TYPE_CHECKING:
    pass


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--check",
    is_flag=True,
    help="Also inspect each connector class for plugin mistakes (instantiates nothing).",
)
def connectors(as_json: bool, check: bool) -> None:
    """List the connectors found through entry points; exit 1 if any is broken (one whose
    extra is not installed is not)."""
    registry = discover()
    found = api.connectors(registry)
    problems = diagnose.check(registry) if check else {}
    broken = any(not e["optional"] for e in found["errors"]) or any(problems.values())
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
        what = "is not installed" if e["optional"] else "failed to load"
        say(err, "yellow", f"connector {e['name']!r} from {e['distribution']} {what}: ", e["error"])
    if broken:
        sys.exit(1)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def test(ctx: Context, name: str, as_json: bool) -> None:
    """Check connectivity and permissions of endpoint NAME; exit 0 only if all pass."""
    config = guarded(ctx, ctx.config)
    checks = guarded(ctx, api.connectivity, config, name)
    if as_json:
        out.print_json(json.dumps([dataclasses.asdict(c) for c in checks]))
    else:
        print_checks(checks)
    sys.exit(0 if checks and all(c.ok for c in checks) else 1)
