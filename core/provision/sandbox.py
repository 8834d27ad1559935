"""Sandboxes: local stand-ins that connectors offer, and the kit to build them.

A connector offers a stand-in of its system through the optional ``provision_sandbox`` hook, a
static method on its class (no endpoint is configured yet when it is called). The hook returns
a `Sandbox`, not started: a context manager that serves the stand-in on 127.0.0.1 and says how
to reach it. ``provision sandbox NAME`` starts one to try against; ``provision demo`` starts the
source's and the target's, seeds the source with a `Sample` and changes it through the
system's own API (a `SourceSandbox`). The core never imports a connector or its stand-in.

`LoopbackServer` and `LoopbackService` serve a WSGI application in a thread: what the built-in
stand-ins are made of, and what an author's can be made of. They need werkzeug only once
started. Stand-in code belongs in modules the connector imports only inside its hook, so that
production imports never load it; `require` turns a missing extra into a clear message.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol, Self


class SandboxUnavailable(Exception):
    """A sandbox cannot start: a package it needs is missing; the message says what to install."""


def require(name: str, install: str, *modules: str) -> None:
    """Raise `SandboxUnavailable` naming ``install`` unless every module in ``modules`` exists.

    Call it in ``provision_sandbox`` before importing the stand-in::

        require("oci", "provision[sandbox]", "scim2_server", "werkzeug")
    """
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise SandboxUnavailable(
                f"the {name} sandbox needs {module}, which is not installed: "
                f"pip install '{install}'"
            )


# The protocol ------------------------------------------------------------------------------


class Sandbox(Protocol):
    """A local stand-in of one system: what ``provision_sandbox`` returns, not yet started.

    ``with sandbox:`` starts it (on the port it was given, 0 for a free one) and stops it.
    """

    @property
    def label(self) -> str:
        """What it is and where, for people: ``Cognito (moto, http://127.0.0.1:41234)``."""
        ...

    @property
    def url(self) -> str:
        """Where it answers, once started."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def settings(self) -> dict[str, Any]:
        """The endpoint table that reaches it, secrets left out (they go in `secrets`)."""
        ...

    def secrets(self) -> dict[str, str]:
        """The settings keys it takes from the environment, and the fake values it accepts."""
        ...

    def comments(self) -> dict[str, str]:
        """A note beside some settings keys in the TOML shown (``{}`` for none)."""
        ...

    def summary(self) -> list[str]:
        """What it observed worth telling once the demo ends (``[]`` for nothing)."""
        ...


@dataclass(frozen=True)
class Person:
    """One sample user, in the terms every identity system has."""

    username: str
    given_name: str
    family_name: str
    email: str
    phone_number: str
    locale: str
    department: str
    enabled: bool = True


@dataclass(frozen=True)
class Sample:
    """A sample directory: people, and groups naming their members by username."""

    people: list[Person]
    groups: dict[str, list[str]] = field(default_factory=dict)


class SourceSandbox(Sandbox, Protocol):
    """A sandbox the demo can use as its source: it seeds a sample and changes it.

    The changes go through the system's own API, as an administrator would make them; each
    returns one line saying what was called, shown by the demo.
    """

    def seed(self, sample: Sample) -> None:
        """Fill the stand-in with ``sample`` (fast: through its backend if it has one)."""
        ...

    def rename_user(self, username: str, given_name: str) -> str:
        """Set one user's given name."""
        ...

    def remove_member(self, group: str, username: str) -> str:
        """Take one user out of one group."""
        ...

    def delete_user(self, username: str) -> str:
        """Delete one user."""
        ...


SANDBOX_MEMBERS = (
    "label",
    "url",
    "settings",
    "secrets",
    "comments",
    "summary",
    "__enter__",
    "__exit__",
)
SOURCE_MEMBERS = ("seed", "rename_user", "remove_member", "delete_user")


def missing(box: object, members: tuple[str, ...]) -> list[str]:
    """The members of a protocol that ``box`` lacks, found without calling any of them.

    (``isinstance`` with a runtime protocol would read ``url``, which a stopped sandbox may
    refuse.)
    """
    return [m for m in members if inspect.getattr_static(box, m, None) is None]


def toml_table(name: str, values: dict[str, Any], comments: dict[str, str] | None = None) -> str:
    """``values`` as the TOML table ``[name]``, a comment beside the keys that have one."""
    comments = comments or {}
    lines = [f"[{name}]"]
    for key, value in values.items():
        line = f"{key} = {_toml_value(value)}"
        if comments.get(key):
            line += f"  # {comments[key]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


# The kit -----------------------------------------------------------------------------------


class LoopbackServer:
    """Serves ``app`` over real HTTP (or HTTPS) on a loopback address until `stop`."""

    def __init__(
        self,
        app: Any,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: tuple[str, str] | None = None,
    ) -> None:
        self.app, self.name, self.host, self.port = app, name, host, port
        self.ssl_context = ssl_context
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            from werkzeug.serving import make_server
        except ImportError:
            raise SandboxUnavailable(
                f"{self.name} needs werkzeug, which is not installed: pip install werkzeug"
            ) from None

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        # Bind here: a taken port is then an OSError to handle, where werkzeug would exit.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self.port), family=family)
        try:
            self._server = make_server(
                self.host,
                self.port,
                self.app,
                threaded=True,
                ssl_context=self.ssl_context,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server holds a duplicate of it
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for one poll
            daemon=True,
            name=self.name,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running: start() it first")
        host, port = self._server.server_address[:2]
        return f"{'https' if self.ssl_context else 'http'}://{host}:{port}"


class LoopbackService:
    """A stand-in's lifecycle (a context manager, ``url``) around the app it builds.

    Subclasses give `make_server`; `start` serves it, `stop` ends it.
    """

    _server: LoopbackServer | None = None

    def make_server(self) -> LoopbackServer:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._server = self.make_server()
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    @property
    def url(self) -> str:
        """Where it answers, e.g. ``http://127.0.0.1:41234``."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running: start() it first")
        return self._server.url
