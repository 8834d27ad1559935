"""The ``provision`` command: a thin layer over `provision.api`, a module per family of commands.

Exit codes: 0 succeeded (a no-op included), 1 failed or aborted, 2 usage or configuration
error, 3 partial (some objects failed).
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from provision.config import ConfigError, load
from provision.display import err, say
from provision.plugins import ConnectorBug, discover
from provision.state import StateError, StateMismatch

if TYPE_CHECKING:
    from provision.config import Config


class Context:
    def __init__(self, config_path: str | None, debug: bool) -> None:
        self.config_path = config_path
        self.debug = debug

    def config(self) -> Config:
        registry = discover()  # connectors that failed to load still own their tables
        known = set(registry.connectors) | {e.name for e in registry.errors}
        return load(self.config_path, known_connectors=known)


def fail(message: str, code: int = 2) -> NoReturn:
    say(err, "bold red", "error: ", message)
    sys.exit(code)


def guarded(ctx: Context, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Turn operator mistakes into a message and an exit code; --debug keeps the trace."""
    try:
        return fn(*args, **kwargs)
    except ConfigError as error:
        if ctx.debug:
            raise
        fail(str(error), 2)
    except StateMismatch as error:  # the state is not this configuration's: retrying won't help
        if ctx.debug:
            raise
        fail(str(error), 2)
    except StateError as error:
        if ctx.debug:
            raise
        fail(str(error), 1)
    except ConnectorBug as error:  # not the operator's mistake: exit 1, as a failed run
        if ctx.debug:
            raise
        fail(str(error), 1)


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


def main() -> None:
    cli(prog_name="provision")


# The commands register themselves on `cli`.
from provision.cli import endpoints, history, local, sync  # noqa: E402

__all__ = ["Context", "cli", "endpoints", "fail", "guarded", "history", "local", "main", "sync"]
