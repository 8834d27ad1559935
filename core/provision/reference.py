"""The configuration reference, generated from the settings models so it cannot drift.

python -m provision.reference > docs/configuration.md
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from provision import DISTRIBUTION
from provision.config import ENV_PREFIX, SYNC_TABLE
from provision.plugins import Registry, discover
from provision.settings import SyncSettings

INTRO = """\
# Configuration reference

Generated from the settings models by `python -m provision.reference` (a test checks that this
file is current). One TOML file, `provision.toml` here or `-c FILE`: a table per endpoint, named
after the endpoint, using the connector of that name unless it says `connector = "…"`, and
`[sync]`. Every key can also be given as `{prefix}<TABLE>_<KEY>` in the environment (upper case,
other characters as `_`; list keys take comma- or newline-separated values), which is where
secrets belong. Relative paths are relative to the configuration file.
"""


def _type(annotation: Any) -> str:
    if annotation is SecretStr:
        return "secret string"
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(_type(a) for a in args)
    if origin is list:
        return f"list of {_type(typing.get_args(annotation)[0])}"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is None or value is PydanticUndefined:
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return ", ".join(f"`{v}`" for v in value)
    return f"`{value}`"


def table(name: str, model: type[BaseModel]) -> str:
    """A markdown table of ``model``'s keys for table ``[name]``."""
    rows = ["| key | type | default | environment | meaning |", "|---|---|---|---|---|"]
    for key, field in model.model_fields.items():
        env = f"`{ENV_PREFIX}{name.upper()}_{key.upper()}`"
        text = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {env} | {text} |")
    return "\n".join(rows)


def configuration(registry: Registry | None = None) -> str:
    """The whole reference: ``[sync]``, then every connector shipped with provision."""
    registry = registry or discover()
    parts = [INTRO.format(prefix=ENV_PREFIX)]
    parts.append(f"## `[{SYNC_TABLE}]`\n\n{table(SYNC_TABLE, SyncSettings)}\n")
    for name, info in sorted(registry.connectors.items()):
        if info.distribution != DISTRIBUTION:
            continue  # third-party connectors document their own settings
        roles = " and ".join(sorted(r.value for r in info.roles))
        parts.append(
            f"## `[{name}]`: {info.description}\n\nRoles: {roles}. Incremental sync: "
            f"{'yes' if info.capabilities.incremental else 'no'}.\n\n"
            f"{table(name, info.settings_model)}\n"
        )
    return "\n".join(parts)


if __name__ == "__main__":
    print(configuration(), end="")
