"""Interrupts are runs too: SIGINT and SIGTERM stop a run cleanly instead of killing it.

The first signal sets an `Interrupt`: reads stop (nothing is written), writes stop taking new
changes while the ones in flight finish and are linked, and the run is recorded as
``interrupted`` with what was actually written. A second signal exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupt(threading.Event):
    """Set when the run should stop; ``signum`` says by which signal (0: by code)."""

    def __init__(self) -> None:
        super().__init__()
        self.signum = 0

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else "request"

    @property
    def exit_code(self) -> int:
        """What a shell expects of a process ended by the signal: 128 + its number."""
        return 128 + self.signum if self.signum else 1

    def stop(self, signum: int = 0) -> None:
        self.signum = signum
        self.set()

    @contextlib.contextmanager
    def handling(self) -> Iterator[Interrupt]:
        """Route SIGINT and SIGTERM here while the block runs (main thread only)."""

        def first(signum: int, frame: Any) -> None:
            if self.is_set():  # the second: the operator means it
                os._exit(128 + signum)
            self.stop(signum)

        previous = {sig: signal.signal(sig, first) for sig in SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
