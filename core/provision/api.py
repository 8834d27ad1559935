"""The library API behind every CLI command, for Python users and schedulers alike."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provision import engine
from provision.config import Config, ConfigError, resolve_settings
from provision.contract import Check, Role
from provision.plugins import ConnectorBug, ConnectorError, Endpoint, Registry, discover
from provision.state import State

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from provision.engine import Plan, Progress
    from provision.explain import Explanation
    from provision.report import Report
    from provision.saved import SavedPlan
    from provision.state import RunRow

log = logging.getLogger(__name__)


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
    except ConnectorBug:
        raise  # the connector's author must fix it, not the operator's configuration
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
    interrupt: threading.Event | None = None,
    expect: SavedPlan | None = None,
    save: bool = False,
) -> Report:
    """Run (or plan, with ``dry_run``) the full sync ``source`` → ``target``.

    ``save``: the plan will be saved (`provision.saved.SavedPlan`), so the engine
    fingerprints what it was computed from into ``Plan.fingerprint``.

    ``interrupt`` (a `provision.interrupt.Interrupt` the CLI sets on SIGINT and SIGTERM)
    ends the run cleanly: status ``interrupted``, what was written linked.

    Raises `ConfigError` for configuration mistakes and `provision.state.StateError` when
    the state is locked by another run, or `provision.state.StateMismatch` when it belongs to
    other systems; everything a run meets is in the report. A note about the state (a
    renamed table) is logged as a warning.
    """
    with _endpoints(config, source, target, registry) as (src, dst):
        if incremental and not src.info.capabilities.incremental:
            raise ConfigError(
                f"endpoint {source!r} (connector {src.info.name!r}) cannot sync incrementally: "
                f"{src.info.capabilities.incremental_reason}. Run without --incremental: every "
                "run is an authoritative full sync."
            )
        identities = identity(src), identity(dst)
        with State(config.state_path()) as state:
            if not dry_run:
                state.lock(f"{source}->{target}")
            binding = state.bind(f"{source}->{target}", *identities, dry_run=dry_run)
            if binding.note:
                log.warning("%s", binding.note)
            return engine.run(
                src,
                dst,
                config.sync,
                state,
                dry_run=dry_run,
                allow_deletes=allow_deletes,
                progress=progress,
                on_plan=on_plan,
                pair=binding.key,
                interrupt=interrupt,
                expect=expect,
                save=save,
            )


def identity(endpoint: Endpoint) -> str | None:
    """What system ``endpoint`` reaches, as its connector names it (None: it does not say)."""
    try:
        found = endpoint.hook.provision_identity()
        if found is not None and not (isinstance(found, str) and found.strip()):
            raise TypeError(f"it answered {found!r}, not a non-empty string or None")
    except Exception as err:
        raise ConfigError(
            f"endpoint [{endpoint.name}]: connector {endpoint.info.name!r} "
            f"({endpoint.info.distribution or 'unknown distribution'}) failed to name its "
            f"system (provision_identity): {type(err).__name__}: {err}. This is a bug in the "
            "connector: report it to its authors; run with --debug for the traceback."
        ) from err
    return found.strip() if found is not None else None


def history(config: Config, limit: int = 20, pair: str | None = None) -> list[RunRow]:
    """The latest runs recorded in the state file, newest first."""
    path = config.state_path()
    if not path.exists():
        return []
    with State(path) as state:
        return state.runs(limit, pair)


@dataclass(frozen=True)
class PairState:
    """One pair in the state file: what it joins, how much it links, how it last ran."""

    key: str
    name: str
    source_identity: str | None
    target_identity: str | None
    links: dict[str, int] = field(default_factory=dict)
    last_run: RunRow | None = None

    def as_dict(self) -> dict[str, Any]:
        last = self.last_run
        return {
            "key": self.key,
            "name": self.name,
            "source_identity": self.source_identity,
            "target_identity": self.target_identity,
            "links": self.links,
            "last_run": None
            if last is None
            else {
                "id": last.id,
                "started_at": last.started_at,
                "status": last.status,
                "dry_run": last.dry_run,
            },
        }


def pairs(config: Config) -> list[PairState]:
    """Every pair the state file holds links for, with its systems and last run."""
    path = config.state_path()
    if not path.exists():
        return []
    with State(path) as state:
        return [
            PairState(
                p.key,
                p.name,
                p.source_identity,
                p.target_identity,
                state.link_counts(p.key),
                next(iter(state.runs(1, p.key)), None),
            )
            for p in state.pairs()
        ]


def find_pair(config: Config, name: str) -> PairState:
    """The pair stored under ``name`` (or key), or a `ConfigError` naming the known ones."""
    found = pairs(config)
    matches = [p for p in found if p.key == name] or [p for p in found if p.name == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        keys = ", ".join(repr(p.key) for p in matches)
        raise ConfigError(f"several pairs are named {name!r} (keys {keys}): give the key")
    known = ", ".join(repr(p.name) for p in found) or "none"
    raise ConfigError(
        f"state file {config.state_path()} holds no pair {name!r}; pairs held: {known}. "
        "See them with: provision state show"
    )


def forget(config: Config, name: str) -> int:
    """Drop pair ``name``'s links and record, keeping its run history; links dropped.

    The next run relinks by externalId what the source still holds and reports the other
    objects it had synced as unmatched.
    """
    pair = find_pair(config, name)
    with State(config.state_path()) as state:
        state.lock(f"forget {pair.key}")
        return state.forget(pair.key)


def connectors(registry: Registry | None = None) -> dict[str, Any]:
    """Every connector found and every one that failed to load."""
    registry = registry or discover()
    return {
        "connectors": [info.as_dict() for _, info in sorted(registry.connectors.items())],
        "errors": [err.as_dict() for err in registry.errors],
    }


def explain(
    config: Config, source: str, target: str, name: str, registry: Registry | None = None
) -> Explanation:
    """What a run ``source`` → ``target`` would do to the objects called ``name``, and why;
    nothing is written, no run is recorded."""
    from provision.explain import explain as explain_one

    path = config.state_path()
    with (
        _endpoints(config, source, target, registry) as (src, dst),
        State(path if path.exists() else Path(":memory:")) as state,  # never creates a file
    ):
        binding = state.bind(f"{source}->{target}", identity(src), identity(dst), dry_run=True)
        return explain_one(src, dst, config.sync, state, name, pair=binding.key)
