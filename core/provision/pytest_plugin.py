"""Loaded by pytest through the ``pytest11`` entry point, before any test module is imported.

It registers `provision.testing` for pytest's assertion rewriting, so that a failing contract
test shows the values that differ, not a bare ``AssertionError``. It imports nothing else.
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("provision.testing")
