"""The documentation says what the code does."""

from __future__ import annotations

from pathlib import Path

from provision import DISTRIBUTION
from provision.plugins import discover
from provision.reference import configuration
from tests.conftest import ROOT
from tests.guide import assemble


def test_the_configuration_reference_is_current() -> None:
    current = (ROOT / "docs" / "configuration.md").read_text()
    assert current == configuration(), (
        "docs/configuration.md is stale: python -m provision.reference > docs/configuration.md"
    )


def test_every_key_of_every_built_in_connector_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    for name, info in discover().connectors.items():
        if info.distribution != DISTRIBUTION:
            continue
        assert f"## `[{name}]`" in text
        for key, field in info.settings_model.model_fields.items():
            assert f"| `{key}` |" in text, f"[{name}] {key}"
            assert field.description, f"[{name}] {key} needs a description"


def test_the_connector_guide_holds_a_whole_package(tmp_path: Path) -> None:
    """Its snippets make the package, its tests and its metadata; and nothing else is needed
    (tests/core/test_third_party.py runs what they make)."""
    package = assemble(tmp_path)
    files = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert files == [
        "provision_example-1.0.0.dist-info/METADATA",
        "provision_example-1.0.0.dist-info/entry_points.txt",
        "provision_example/__init__.py",
        "pyproject.toml",
        "tests/test_csv_source.py",
    ]
    for path in package.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # every snippet fits where it goes
    entry_points = (package / "provision_example-1.0.0.dist-info/entry_points.txt").read_text()
    assert entry_points == "[provision.connectors]\ncsv = provision_example:CsvSource\n"
