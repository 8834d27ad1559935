"""`provision.testing.MemoryConnector`, the kit's own connector, passes the kit."""

from __future__ import annotations

import pytest

from provision.testing import SAMPLE, MemoryConnector, SourceContract, TargetContract


class TestMemoryAsSource(SourceContract):
    @pytest.fixture
    def source(self) -> MemoryConnector:
        return MemoryConnector.holding(SAMPLE)


class TestMemoryAsTarget(TargetContract):
    @pytest.fixture
    def target(self) -> MemoryConnector:
        return MemoryConnector()
