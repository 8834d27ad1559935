"""`provision runs` and `provision state`: what the state file holds."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from provision import api
from provision.cli import Context, cli, guarded
from provision.display import (
    out,
    print_pairs,
    print_runs,
)

if TYPE_CHECKING:
    pass


@cli.command()
@click.option("--limit", default=20, show_default=True, help="How many runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (whole reports).")
@click.pass_obj
def runs(ctx: Context, limit: int, as_json: bool) -> None:
    """List past runs and plans, newest first."""
    config = guarded(ctx, ctx.config)
    rows = guarded(ctx, api.history, config, limit)
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
    config = guarded(ctx, ctx.config)
    pairs = guarded(ctx, api.pairs, config)
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
    config = guarded(ctx, ctx.config)
    found = guarded(ctx, api.find_pair, config, pair)
    if not yes:
        total = sum(found.links.values())
        click.confirm(
            f"Forget pair {found.name!r} ({found.source_identity or 'unknown'} -> "
            f"{found.target_identity or 'unknown'}) and its {total} links?",
            abort=True,
            err=True,
        )
    dropped = guarded(ctx, api.forget, config, found.key)
    out.print(f"forgot pair {found.name!r}: {dropped} links dropped, run history kept")
