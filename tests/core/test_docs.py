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


def test_the_connector_guide_shows_the_example_package_as_it_is() -> None:
    """Every line of the guide's CSV example stands in the package the tests install and run."""
    import re

    guide = (ROOT / "docs" / "writing-a-connector.md").read_text()
    package = ROOT / "tests" / "example_connector"
    source = "\n".join(
        (package / name).read_text() for name in ("pyproject.toml", "provision_example/__init__.py")
    )
    normalized = {" ".join(line.split()) for line in source.splitlines()}
    blocks = re.findall(r"```(?:toml|python)\n(.*?)```", guide, flags=re.S)
    markers = ("[project]", "class CsvSource", "rows = self._rows()", "groups: dict[str, list")
    example = [b for b in blocks if any(m in b for m in markers)]
    assert len(example) == 4
    for block in example:
        for line in block.splitlines():
            code = line.split("  #")[0].rstrip()
            if not code.strip() or "..." in code or code.strip().startswith("#"):
                continue
            assert " ".join(code.split()) in normalized, f"not in the example package: {code!r}"
