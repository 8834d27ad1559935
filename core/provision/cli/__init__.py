"""The ``provision`` command: a thin layer over `provision.api`, a module per family of commands.

Exit codes: 0 succeeded (a no-op included), 1 failed or aborted, 2 usage or configuration
error, 3 partial (some objects failed).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from provision import DISTRIBUTION
from provision.config import ConfigError, load
from provision.display import err, say
from provision.plugins import ConnectorBug, discover
from provision.state import StateError, StateMismatch

if TYPE_CHECKING:
    from provision.config import Config


class Context:
    def __init__(self, config_path: str | None, debug: bool, quiet: bool = False) -> None:
        self.config_path = config_path
        self.debug = debug
        self.quiet = quiet

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
@click.option("-v", "--verbose", is_flag=True, help="Log what each step does (INFO).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines; the report and errors only.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object a line, for log collectors.",
)
@click.version_option(package_name=DISTRIBUTION)
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    debug: bool,
    verbose: bool,
    quiet: bool,
    log_format: str,
) -> None:
    """Keep an identity target in step with a source: test, plan, run.

    \b
      provision test cognito           check connectivity and permissions
      provision plan 'cognito->oci'    show what a run would change
      provision run 'cognito->oci'     make the target match the source
    """
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    _configure_logging(level, log_format)
    ctx.obj = Context(config_path, debug, quiet)


class JsonLines(logging.Formatter):
    """A log record as one JSON object (time, level, logger, message)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _configure_logging(level: int, log_format: str = "text") -> None:
    """-v and --debug turn on provision's own loggers (core and connectors) only.

    Third-party libraries stay at WARNING: botocore's and httpx's debug logs print request
    headers and response bodies, which carry tokens and temporary credentials.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLines()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    for name in ("provision", *(f"provision_{c}" for c in discover().connectors)):
        logging.getLogger(name).setLevel(min(level, logging.WARNING))


def main() -> None:
    cli(prog_name="provision")


# The commands register themselves on `cli`.
from provision.cli import endpoints, history, local, sync  # noqa: E402

__all__ = ["Context", "cli", "endpoints", "fail", "guarded", "history", "local", "main", "sync"]
