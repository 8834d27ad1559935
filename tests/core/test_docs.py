"""The documentation says what the code does."""

from __future__ import annotations

from provision.plugins import discover
from provision.reference import configuration
from tests.conftest import ROOT


def test_the_configuration_reference_is_current() -> None:
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == configuration(), (
        "docs/configuration.md is stale: python -m provision.reference > docs/configuration.md"
    )


def test_every_key_of_every_built_in_connector_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name, info in discover().connectors.items():
        if info.distribution != "provision":
            continue
        assert f"## `[{name}]`" in text
        for key, field in info.settings_model.model_fields.items():
            assert f"| `{key}` |" in text, f"[{name}] {key}"
            assert field.description, f"[{name}] {key} needs a description"
