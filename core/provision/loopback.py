"""A WSGI application served on 127.0.0.1 in a thread: what local stand-ins are made of.

The Cognito stand-in and the OCI emulator use it; a connector author can serve a fake of
their own API the same way. Needs werkzeug (which the ``demo`` extra brings).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Self


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
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, ssl_context=self.ssl_context
        )
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
