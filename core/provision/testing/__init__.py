"""The connector author's kit: an in-memory connector and contract test suites.

Subclass `SourceContract` or `TargetContract` in your tests, give one fixture, and get the
suite that every connector shipped with provision passes::

    from provision.testing import SAMPLE, TargetContract

    class TestMyTarget(TargetContract):
        @pytest.fixture
        def target(self, my_server):
            return MyConnector(MyConnector.Settings(url=my_server.url))

A source fixture returns a connector whose source holds `SAMPLE` (seed it however your
system is seeded); a target fixture returns a connector writing to a fresh target.
`sync` runs the real engine between two connector instances.
"""

from __future__ import annotations

from provision.testing.memory import (
    SAMPLE,
    MemoryConnector,
    MemorySettings,
    Sample,
    SampleUser,
    sync,
)
from provision.testing.source import SourceContract
from provision.testing.target import TargetContract

__all__ = [
    "SAMPLE",
    "MemoryConnector",
    "MemorySettings",
    "Sample",
    "SampleUser",
    "SourceContract",
    "TargetContract",
    "sync",
]
