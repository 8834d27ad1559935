"""The library API behind every CLI command, for Python users and schedulers alike."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from provision import engine
from provision.config import Config, ConfigError, resolve_settings
from provision.contract import Check, Role
from provision.plugins import ConnectorError, Endpoint, Registry, discover
from provision.state import State

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from provision.engine import Plan, Progress
    from provision.report import Report
    from provision.state import RunRow


def open_endpoint(
    config: Config,
    name: str,
    registry: Registry | None = None,
    role: Role | None = None,
    observers: Iterable[object] = (),
) -> Endpoint:
    """Build endpoint ``name`` of ``config``: connector found, settings validated."""
    registry = registry or discover()
    info, settings = resolve_settings(config, registry, name)
    try:
        endpoint = Endpoint.build(name, info, settings, observers)
        if role is not None:
            endpoint.require(role)
    except ConnectorError as err:
        raise ConfigError(f"{config.where}: [{name}]: {err}") from None
    return endpoint


def connectivity(config: Config, name: str, registry: Registry | None = None) -> list[Check]:
    """Run endpoint ``name``'s connectivity and permission checks."""
    endpoint = open_endpoint(config, name, registry)
    try:
        checks = endpoint.hook.provision_test()
    except Exception as err:  # a connector must not raise here; still, tell the operator
        return [
            Check(
                "connector",
                False,
                f"{type(err).__name__}: {err}",
                hint="The connector failed while testing; run with --debug for details.",
            )
        ]
    finally:
        endpoint.close()
    return list(checks or [])


@contextlib.contextmanager
def _endpoints(
    config: Config, source: str, target: str, registry: Registry | None
) -> Iterator[tuple[Endpoint, Endpoint]]:
    if source == target:
        raise ConfigError(f"source and target are both {source!r}; name two endpoints")
    registry = registry or discover()
    src = open_endpoint(config, source, registry, Role.SOURCE)
    try:
        dst = open_endpoint(config, target, registry, Role.TARGET)
        try:
            yield src, dst
        finally:
            dst.close()
    finally:
        src.close()


def sync(
    config: Config,
    source: str,
    target: str,
    *,
    dry_run: bool = False,
    allow_deletes: bool = False,
    incremental: bool = False,
    registry: Registry | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> Report:
    """Run (or plan, with ``dry_run``) the full sync ``source`` → ``target``.

    Raises `ConfigError` for configuration mistakes and `provision.state.StateError` when
    the state is locked by another run; everything a run meets is in the report.
    """
    with _endpoints(config, source, target, registry) as (src, dst):
        if incremental and not src.info.capabilities.incremental:
            raise ConfigError(
                f"endpoint {source!r} (connector {src.info.name!r}) cannot sync incrementally: "
                f"{src.info.capabilities.incremental_reason}. Run without --incremental: every "
                "run is an authoritative full sync."
            )
        with State(config.state_path()) as state:
            if not dry_run:
                state.lock(f"{source}->{target}")
            return engine.run(
                src,
                dst,
                config.sync,
                state,
                dry_run=dry_run,
                allow_deletes=allow_deletes,
                progress=progress,
                on_plan=on_plan,
            )


def history(config: Config, limit: int = 20, pair: str | None = None) -> list[RunRow]:
    """The latest runs recorded in the state file, newest first."""
    path = config.state_path()
    if not path.exists():
        return []
    with State(path) as state:
        return state.runs(limit, pair)


def connectors(registry: Registry | None = None) -> dict[str, Any]:
    """Every connector found and every one that failed to load."""
    registry = registry or discover()
    return {
        "connectors": [info.as_dict() for _, info in sorted(registry.connectors.items())],
        "errors": [err.as_dict() for err in registry.errors],
    }
