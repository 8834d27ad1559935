"""The configuration file: one table per endpoint, plus ``[sync]``.

A table is named after its endpoint and uses the connector of that name unless it says
``connector = "…"``. Every key can be overridden from the environment as
``PROVISION_<TABLE>_<KEY>``; a list key given that way takes comma- or newline-separated values.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr, ValidationError

from provision.settings import SyncSettings

if TYPE_CHECKING:
    from collections.abc import Mapping

    from provision.plugins import Registry

log = logging.getLogger(__name__)

DEFAULT_CONFIG = "provision.toml"
ENV_PREFIX = "PROVISION_"
SYNC_TABLE = "sync"


class ConfigError(Exception):
    """A configuration mistake; the message names the file, the table and the key."""


@dataclass
class EndpointConfig:
    """One endpoint table: its connector and raw settings (environment applied)."""

    name: str
    connector: str
    values: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict)
    """Keys set from the environment, and their variables."""


@dataclass
class Config:
    """A loaded configuration file."""

    path: Path | None
    endpoints: dict[str, EndpointConfig] = field(default_factory=dict)
    sync: SyncSettings = field(default_factory=SyncSettings)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def where(self) -> str:
        if self.path:
            return str(self.path)
        return f"the environment (no {DEFAULT_CONFIG} in {Path.cwd()})"

    def state_path(self) -> Path:
        path = Path(self.sync.state).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def endpoint(self, name: str) -> EndpointConfig:
        if name in self.endpoints:
            return self.endpoints[name]
        known = ", ".join(sorted(self.endpoints)) or "none"
        close = difflib.get_close_matches(name, list(self.endpoints), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"{self.where}: no endpoint named {name!r}.{hint} Endpoints defined: {known}. "
            f"Add a [{name}] table."
        )


def _env_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", text).upper()


def env_name(table: str, key: str) -> str:
    """The variable that sets ``key`` of endpoint ``table``: ``PROVISION_OCI_CLIENT_SECRET``."""
    return f"{ENV_PREFIX}{_env_key(table)}_{_env_key(key)}"


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]


def validate(
    model: type[BaseModel],
    values: dict[str, Any],
    where: str,
    table: str,
    from_env: Mapping[str, str] | None = None,
) -> Any:
    """``model`` built from ``values``, or a `ConfigError` naming each bad key.

    ``from_env`` maps the keys that came from the environment to their variables: their
    list values are split on commas and newlines, and a mistake names the variable.
    """
    from_env = from_env or {}
    values = dict(values)
    for key in from_env:
        info = model.model_fields.get(key)
        if info is not None and isinstance(values.get(key), str) and _is_list(info.annotation):
            values[key] = _split_list(values[key])
    try:
        return model.model_validate(values)
    except ValidationError as err:
        problems = []
        known = list(model.model_fields)
        for error in err.errors():
            key = ".".join(str(p) for p in error["loc"])
            top = str(error["loc"][0]) if error["loc"] else ""
            named = f"key {key!r}" if key else "settings"
            if top in from_env:
                named += f" (from {from_env[top]})"
            if error["type"] == "extra_forbidden":
                close = difflib.get_close_matches(top, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                problems.append(f"unknown {named}.{hint} Known keys: {', '.join(known)}")
            elif error["type"] == "missing":
                problems.append(f"missing required key {key!r} (or set {env_name(table, key)})")
            else:
                problems.append(f"{named}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError(
            "\n".join(f"{where}: [{table}] {problem}" for problem in problems)
        ) from None


def _apply_env(
    tables: dict[str, dict[str, Any]],
    env: Mapping[str, str],
    known_connectors: set[str],
) -> dict[str, dict[str, str]]:
    """Overlay ``PROVISION_<TABLE>_<KEY>`` variables, longest table name first.

    Returns, per table, the keys set from the environment and their variables.
    """
    names = set(tables) | known_connectors | {SYNC_TABLE}
    by_prefix = sorted(((_env_key(n) + "_", n) for n in names), key=lambda p: -len(p[0]))
    origins: dict[str, dict[str, str]] = {}
    for var, value in env.items():
        if not var.startswith(ENV_PREFIX):
            continue
        rest = var[len(ENV_PREFIX) :]
        for prefix, table in by_prefix:
            if rest.startswith(prefix) and len(rest) > len(prefix):
                key = rest[len(prefix) :].lower()
                tables.setdefault(table, {})[key] = value
                origins.setdefault(table, {})[key] = var
                break
    return origins


FILE_SUFFIX = "_FILE"
CREDENTIALS_DIRECTORY = "CREDENTIALS_DIRECTORY"


def with_secret_files(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` plus the values of ``PROVISION_<TABLE>_<KEY>_FILE`` files (as Docker and
    Kubernetes mount secrets) and of systemd credentials named ``PROVISION_<TABLE>_<KEY>``
    in ``$CREDENTIALS_DIRECTORY`` (``LoadCredential=``). One trailing newline is dropped."""
    out = {
        k: v for k, v in env.items() if not (k.startswith(ENV_PREFIX) and k.endswith(FILE_SUFFIX))
    }
    sources: dict[str, tuple[str, Path]] = {}
    for var, value in env.items():
        if var.startswith(ENV_PREFIX) and var.endswith(FILE_SUFFIX):
            sources[var[: -len(FILE_SUFFIX)]] = (var, Path(value))
    credentials = env.get(CREDENTIALS_DIRECTORY)
    if credentials and Path(credentials).is_dir():
        for path in sorted(Path(credentials).iterdir()):
            if path.name.startswith(ENV_PREFIX) and path.name not in sources:
                sources[path.name] = (f"${CREDENTIALS_DIRECTORY}/{path.name}", path)
    for name, (origin, path) in sources.items():
        if name in env:
            raise ConfigError(
                f"{name} is set twice: directly and from {origin}; keep one of the two"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{origin}: cannot read {path}: {err}") from None
        out[name] = text[:-1] if text.endswith("\n") else text
    return out


def load(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    known_connectors: set[str] | None = None,
) -> Config:
    """Read the configuration file (``provision.toml`` here when ``path`` is None).

    A missing default file is not an error when the environment defines the endpoints; a
    missing file that was named is.
    """
    env = with_secret_files(os.environ if env is None else env)
    explicit = path is not None
    file = Path(path) if path is not None else Path(DEFAULT_CONFIG)
    tables: dict[str, dict[str, Any]] = {}
    resolved: Path | None = None
    if file.exists():
        resolved = file.resolve()
        try:
            with file.open("rb") as fh:
                raw = tomllib.load(fh)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{file}: not valid TOML: {err}") from None
        except UnicodeDecodeError as err:
            raise ConfigError(
                f"{file}: not valid TOML: byte {err.start} is not UTF-8; save the file as UTF-8"
            ) from None
        except OSError as err:
            raise ConfigError(f"{file}: cannot be read: {err.strerror}") from None
        for name, table in raw.items():
            if not isinstance(table, dict):
                raise ConfigError(
                    f"{file}: top-level key {name!r} must be a table such as [{name}]; "
                    "every setting belongs to an endpoint table or to [sync]"
                )
            tables[name] = dict(table)
    elif explicit:
        raise ConfigError(f"{file}: no such configuration file")
    origins = _apply_env(tables, env, known_connectors or set())
    if not tables:
        start = (
            "Add one table per endpoint (see README.md, 'Configuration'), or set "
            f"{ENV_PREFIX}<TABLE>_<KEY> variables for a known connector."
        )
        if resolved:
            raise ConfigError(f"{resolved}: defines no endpoint. {start}")
        raise ConfigError(f"no configuration: {file} does not exist. {start} Or pass -c FILE.")
    config = Config(path=resolved)
    config.sync = validate(
        SyncSettings,
        tables.pop(SYNC_TABLE, {}),
        config.where,
        SYNC_TABLE,
        origins.get(SYNC_TABLE),
    )
    for name, values in tables.items():
        connector = values.pop("connector", name)
        if not isinstance(connector, str):
            raise ConfigError(f"{config.where}: [{name}] key 'connector' must be a string")
        config.endpoints[name] = EndpointConfig(name, connector, values, origins.get(name, {}))
    if known_connectors is not None:
        _refuse_unknown_tables(config, known_connectors)
    return config


def _refuse_unknown_tables(config: Config, known: set[str]) -> None:
    """A table that names no connector is a mistake (``[synk]``), refused before any run."""
    for name, endpoint in config.endpoints.items():
        if endpoint.connector in known:
            continue
        candidates = [SYNC_TABLE, *sorted(known), *(n for n in config.endpoints if n != name)]
        close = difflib.get_close_matches(name, candidates, n=1)
        hint = f" Did you mean [{close[0]}]?" if close else ""
        named = (
            f"says connector = {endpoint.connector!r}, which is not installed"
            if endpoint.connector != name
            else 'is neither [sync] nor named after a connector, and says no connector = "…"'
        )
        raise ConfigError(
            f"{config.where}: table [{name}] {named}.{hint} Tables are [sync] and one per "
            f"endpoint; connectors installed: {', '.join(sorted(known)) or 'none'}."
        )


def resolve_settings(config: Config, registry: Registry, name: str) -> tuple[Any, Any]:
    """The connector and validated settings of endpoint ``name``."""
    from provision.plugins import ConnectorError

    endpoint = config.endpoint(name)
    try:
        info = registry.get(endpoint.connector)
    except ConnectorError as err:
        raise ConfigError(f"{config.where}: [{name}]: {err}") from None
    settings = validate(info.settings_model, endpoint.values, config.where, name, endpoint.env)
    for key, field_info in info.settings_model.model_fields.items():
        if key in endpoint.values and key not in endpoint.env and _is_secret(field_info.annotation):
            var = f"{ENV_PREFIX}{_env_key(name)}_{_env_key(key)}"
            log.warning(
                "%s: [%s] %s is written in the file: anyone who can read it has the secret. "
                "Give it from the environment (%s), a file (%s_FILE) or a systemd credential, "
                "and remove it from the file.",
                config.where,
                name,
                key,
                var,
                var,
            )
    return info, _anchor_paths(settings, config.base_dir)


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in typing.get_args(annotation))


def _anchor_paths(settings: BaseModel, base: Path) -> BaseModel:
    """Relative paths in settings are relative to the configuration file, not the cwd."""
    update = {
        name: base / value.expanduser()
        for name, value in settings
        if isinstance(value, Path) and not value.expanduser().is_absolute()
    }
    return settings.model_copy(update=update) if update else settings
