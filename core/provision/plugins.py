"""Connector discovery through entry points, and one plugin manager per endpoint.

Every entry point of the group ``provision.connectors`` names a connector class; the built-in
connectors are registered there exactly like third-party ones. A connector whose import fails
is reported with its distribution and error, and the others still work.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, cast

import pluggy
from pydantic import BaseModel

from provision.contract import Capabilities, Role
from provision.diagnose import diagnose
from provision.hookspecs import PROJECT, ConnectorSpec, SandboxSpec
from provision.sandbox import SANDBOX_MEMBERS, Sandbox, SandboxUnavailable, missing

if TYPE_CHECKING:
    from collections.abc import Iterable

ENTRY_POINT_GROUP = "provision.connectors"


class ConnectorError(Exception):
    """A connector cannot be found, loaded or used; the message says what to do."""


class ConnectorBug(ConnectorError):
    """The connector's own code is wrong (not the configuration): its author must fix it."""


@dataclass(frozen=True)
class ConnectorInfo:
    """A discovered connector: what it is, where it came from, what it can do."""

    name: str
    cls: type[Any]
    roles: frozenset[Role]
    settings_model: type[BaseModel]
    capabilities: Capabilities
    distribution: str
    version: str
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "roles": sorted(r.value for r in self.roles),
            "distribution": self.distribution,
            "version": self.version,
            "description": self.description,
            "incremental": self.capabilities.incremental,
        }

    @property
    def offers_sandbox(self) -> bool:
        """Whether the connector offers a local stand-in (the ``provision_sandbox`` hook)."""
        return hasattr(self.cls, "provision_sandbox")


@dataclass(frozen=True)
class LoadError:
    """An entry point that could not be loaded."""

    name: str
    distribution: str
    error: str
    optional: bool = False
    """Not a fault: the connector needs a package that an extra of its distribution named
    after it installs (``provision-sync[cognito]``), and that extra was not installed."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "error": self.error,
            "optional": self.optional,
        }


@dataclass
class Registry:
    """The connectors found, and the ones that failed to load."""

    connectors: dict[str, ConnectorInfo] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)

    def get(self, name: str) -> ConnectorInfo:
        """The connector called ``name``, or an error that lists the available ones."""
        if name in self.connectors:
            return self.connectors[name]
        for err in self.errors:
            if err.name == name:
                raise ConnectorError(
                    f"connector {name!r} (from {err.distribution}) failed to load: {err.error}"
                )
        available = ", ".join(sorted(self.connectors)) or "none"
        close = difflib.get_close_matches(name, list(self.connectors), n=1)
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        raise ConnectorError(
            f"no connector named {name!r}.{suggestion} Choose one of: {available}. "
            "Third-party connectors are found once their package is installed "
            f"(entry point group {ENTRY_POINT_GROUP!r})."
        )


def needs_package(name: str, dist: str, extras: list[str], err: ModuleNotFoundError) -> str:
    """What to install for connector ``name`` of ``dist``: the extra named after the
    connector when the distribution offers one (``provision-sync[cognito]``)."""
    package = err.name or "a package"
    if name in extras:
        fix = f"pip install '{dist}[{name}]'"
    else:
        fix = f"install {package} (or the extra of {dist} that brings it)"
    return f"it needs the package {package!r}, which is not installed: {fix}"


def _distribution(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "unknown", ""
    return dist.name, dist.version


def inspect_connector(
    name: str, cls: Any, distribution: str = "", version: str = ""
) -> ConnectorInfo:
    """Check that ``cls`` is a usable connector class and describe it."""
    if not inspect.isclass(cls):
        raise ConnectorError(f"entry point {name!r} must name a class, not {cls!r}")
    settings = getattr(cls, "Settings", None)
    if not (inspect.isclass(settings) and issubclass(settings, BaseModel)):
        raise ConnectorError(
            f"connector {name!r}: {cls.__qualname__}.Settings must be a pydantic model"
        )
    if settings.model_config.get("extra") != "forbid":
        raise ConnectorError(
            f"connector {name!r}: {cls.__qualname__}.Settings must set extra='forbid' "
            "so that a misspelt key is reported instead of ignored"
        )
    declared = getattr(cls, "roles", ())
    if isinstance(declared, str):
        raise ConnectorError(
            f"connector {name!r}: roles must be a set such as frozenset({{Role.SOURCE}}), "
            f"not the string {declared!r}"
        )
    try:
        roles = frozenset(Role(r) for r in declared)
    except ValueError as err:
        raise ConnectorError(
            f"connector {name!r}: {err}; roles are 'source' and 'target'"
        ) from None
    if not roles:
        raise ConnectorError(f"connector {name!r}: {cls.__qualname__}.roles is empty")
    capabilities = getattr(cls, "capabilities", Capabilities())
    if not isinstance(capabilities, Capabilities):
        raise ConnectorError(f"connector {name!r}: capabilities must be a Capabilities")
    doc = inspect.getdoc(cls) or ""
    return ConnectorInfo(
        name=name,
        cls=cls,
        roles=roles,
        settings_model=settings,
        capabilities=capabilities,
        distribution=distribution,
        version=version,
        description=doc.strip().splitlines()[0] if doc.strip() else "",
    )


def discover(eps: Iterable[EntryPoint] | None = None) -> Registry:
    """Load every connector entry point; failures are recorded, not raised."""
    registry = Registry()
    origin: dict[str, str] = {}
    for ep in eps if eps is not None else entry_points(group=ENTRY_POINT_GROUP):
        dist, version = _distribution(ep)
        if ep.name in origin:
            if origin[ep.name] != dist:
                registry.errors.append(
                    LoadError(
                        ep.name,
                        dist,
                        f"the name is also registered by {origin[ep.name]}; "
                        "uninstall one of the two distributions",
                    )
                )
            continue
        origin[ep.name] = dist  # a broken plugin still claims its name: clashes are reported
        try:
            info = inspect_connector(ep.name, ep.load(), dist, version)
        except ModuleNotFoundError as err:  # a package the connector needs is not installed
            extras = (ep.dist.metadata.get_all("Provides-Extra") or []) if ep.dist else []
            own = (err.name or "").split(".")[0] == ep.module.split(".")[0]
            if own:  # the connector's own module is missing: a broken entry point
                registry.errors.append(LoadError(ep.name, dist, f"{type(err).__name__}: {err}"))
                continue
            message = needs_package(ep.name, dist, extras, err)
            registry.errors.append(LoadError(ep.name, dist, message, ep.name in extras))
            continue
        except Exception as err:  # a broken plugin must not break the others
            registry.errors.append(LoadError(ep.name, dist, f"{type(err).__name__}: {err}"))
            continue
        registry.connectors[ep.name] = info
    return registry


def sandbox_of(info: ConnectorInfo, port: int = 0, registry: Registry | None = None) -> Sandbox:
    """The stand-in connector ``info`` offers through ``provision_sandbox``, not yet started.

    The hook is a static method of the class, called in a plugin manager of its own: no
    endpoint exists yet. Raises `ConnectorError` when the connector offers none (naming those
    of ``registry`` that do) or breaks the contract, and `SandboxUnavailable` when what it
    needs is not installed.
    """
    hook = inspect.getattr_static(info.cls, "provision_sandbox", None)
    if hook is None:
        others = sorted(
            n for n, c in (registry.connectors if registry else {}).items() if c.offers_sandbox
        )
        choose = f" Connectors that offer one: {', '.join(others)}." if others else ""
        raise ConnectorError(
            f"connector {info.name!r} offers no sandbox (it has no provision_sandbox hook).{choose}"
        )
    if not isinstance(hook, staticmethod | classmethod):
        raise ConnectorError(
            f"connector {info.name!r}: {info.cls.__qualname__}.provision_sandbox must be a "
            "@staticmethod: it is called before any endpoint exists"
        )
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(SandboxSpec)
    try:
        pm.register(info.cls, name=f"sandbox:{info.name}")
        box = pm.hook.provision_sandbox(port=port)
    except pluggy.PluginValidationError as err:
        raise ConnectorError(f"connector {info.name!r}: {err}") from None
    except SandboxUnavailable:
        raise
    except ImportError as err:
        raise SandboxUnavailable(
            f"the {info.name} sandbox needs {err.name or 'a package'}, which is not installed; "
            f"install the sandbox extra of {info.distribution or 'its distribution'}"
        ) from None
    except Exception as err:
        raise ConnectorError(
            f"connector {info.name!r} could not offer its sandbox: {type(err).__name__}: {err}"
        ) from err
    lacks = missing(box, SANDBOX_MEMBERS)
    if lacks:
        raise ConnectorError(
            f"connector {info.name!r}: provision_sandbox returned a {type(box).__name__}, which "
            f"is not a provision.sandbox.Sandbox: it lacks {', '.join(lacks)}"
        )
    return cast(Sandbox, box)


class Endpoint:
    """One configured connector instance in a plugin manager of its own.

    ``hook`` calls reach exactly this connector (plus any observer plugins).
    """

    def __init__(
        self,
        name: str,
        info: ConnectorInfo,
        connector: object,
        observers: Iterable[object] = (),
    ) -> None:
        self.name = name
        self.info = info
        self.connector = connector
        problems = diagnose(type(connector), info.roles)
        if problems:
            origin = f" (from {info.distribution})" if info.distribution else ""
            raise ConnectorBug(
                f"connector {info.name!r}{origin} has a bug (tell its author): "
                + " ".join(f"{p}." for p in problems)
            )
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(ConnectorSpec)
        self.pm.add_hookspecs(SandboxSpec)  # the class's static sandbox hook comes along
        try:
            self.pm.register(self.connector, name=f"connector:{name}")
            for i, observer in enumerate(observers):
                self.pm.register(observer, name=f"observer:{name}:{i}")
            self.pm.check_pending()
        except pluggy.PluginValidationError as err:
            raise ConnectorBug(
                f"connector {info.name!r} has a bug (tell its author): {err}. "
                "`provision connectors --check` names the fix"
            ) from None

    @classmethod
    def build(
        cls,
        name: str,
        info: ConnectorInfo,
        settings: BaseModel,
        observers: Iterable[object] = (),
    ) -> Endpoint:
        """Instantiate ``info``'s connector with ``settings`` and register it."""
        try:
            connector = info.cls(settings)
        except Exception as err:
            raise ConnectorError(
                f"connector {info.name!r} could not start: {type(err).__name__}: {err}"
            ) from err
        return cls(name, info, connector, observers)

    @classmethod
    def wrap(cls, connector: object, name: str | None = None) -> Endpoint:
        """Register an existing connector instance (tests, notebooks, the conformance kit)."""
        info = inspect_connector(name or type(connector).__name__.lower(), type(connector))
        return cls(info.name, info, connector)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def require(self, role: Role) -> None:
        """Refuse to use this endpoint in a role its connector does not have."""
        if role not in self.info.roles:
            roles = ", ".join(sorted(r.value for r in self.info.roles))
            raise ConnectorError(
                f"endpoint {self.name!r} (connector {self.info.name!r}) cannot be a "
                f"{role.value}; it can be: {roles}"
            )

    def close(self) -> None:
        """Let the connector release what it holds (sessions, clients), if it cares to."""
        close = getattr(self.connector, "close", None)
        if callable(close):
            close()
