"""`provision sandbox NAME` and `provision demo`: local stand-ins."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from provision.cli import cli, fail
from provision.config import env_name, load
from provision.display import (
    err,
    heading,
    out,
)
from provision.plugins import ConnectorError, discover, sandbox_of

if TYPE_CHECKING:
    from collections.abc import Iterator


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""What ends ``provision sandbox``: Ctrl-C, or a service manager's stop."""


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
            fail(str(error), 2)
        except OSError as error:  # the port is taken
            fail(f"the {name} sandbox cannot listen on 127.0.0.1:{port}: {error.strerror}", 2)
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
    keep = workdir is not None
    received: list[int] = []

    def stop(signum: int, frame: object) -> None:  # unwinds: the stand-ins stop, files go
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        _demo(workdir, users, source, target, keep)
    except KeyboardInterrupt:
        err.print("interrupted: the demo's stand-ins were stopped and its temporary files removed")
        sys.exit(128 + (received[0] if received else signal.SIGINT))
    finally:
        signal.signal(signal.SIGTERM, previous)


def _demo(workdir: Path | None, users: int, source: str, target: str, keep: bool) -> None:
    from provision import demo as sample
    from provision.sandbox import SandboxUnavailable

    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="provision-")))
        try:
            box = stack.enter_context(
                sample.start(discover(), source, target, workdir.resolve(), users)
            )
        except (ConnectorError, SandboxUnavailable) as error:
            fail(str(error), 2)
        config = load(box.config, env=box.env, known_connectors={source, target})
        code = sample.show(box, config, users)
        if code:
            sys.exit(code)
        if keep:
            out.print(f"The demo's files are in {workdir}: try `provision -c {box.config} runs`.")
