"""Connector bugs found by reading a connector class, before anything runs.

``provision connectors --check``, the kit and `provision.plugins.Endpoint` ask `diagnose`:
methods named like hooks that are none ("did you mean"), hooks without ``@hookimpl``,
arguments a hook does not pass, required hooks missing for the connector's roles. Each
problem names where it is and the fix.
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from provision.contract import Role
from provision.hookspecs import REQUIRED_HOOKS, ConnectorSpec, SandboxSpec, hookimpl

if TYPE_CHECKING:
    from collections.abc import Iterable

    from provision.plugins import Registry


HOOKS: dict[str, tuple[str, ...]] = {
    name: tuple(list(inspect.signature(fn).parameters)[1:])
    for spec in (ConnectorSpec, SandboxSpec)
    for name, fn in vars(spec).items()
    if name.startswith("provision_")
}
"""Every hook, with the arguments it passes (by name)."""

_MARK = f"{hookimpl.project_name}_impl"  # the attribute @hookimpl sets on a function


@dataclass(frozen=True)
class Problem:
    """A bug in a connector class: where, what is wrong, and the fix."""

    where: str
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}; {self.fix}"

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "problem": self.problem, "fix": self.fix}


def diagnose(cls: type[Any], roles: Iterable[Role | str]) -> list[Problem]:
    """The plugin mistakes in connector class ``cls``, found without instantiating it.

    Methods named ``provision_*`` that are no hook, hooks not marked ``@hookimpl``, hook
    arguments the hook does not pass, and the hooks its roles require that it lacks.
    """
    problems: list[Problem] = []
    name = cls.__name__
    implemented: set[str] = set()
    covered: set[str] = set()  # required hooks another problem already points at
    for attr in sorted(a for a in dir(cls) if a.startswith("provision_")):
        fn = getattr(cls, attr, None)
        if not callable(fn):
            continue
        where = f"{name}.{attr}"
        marked = getattr(fn, _MARK, None) is not None
        if attr not in HOOKS:
            stem = len("provision_")  # compare what follows the prefix they all share
            close = [
                "provision_" + c
                for c in difflib.get_close_matches(attr[stem:], [h[stem:] for h in HOOKS], n=1)
            ]
            covered.update(close)
            refused = " (it is marked @hookimpl, so the connector is refused)" if marked else ""
            fix = (
                f"did you mean {close[0]}? Rename it"
                if close
                else f"the hooks are {', '.join(sorted(HOOKS))}; rename it, or give a helper "
                "a name that does not start with provision_"
            )
            problems.append(Problem(where, f"is not a provision hook{refused}", fix))
            continue
        if not marked:
            covered.add(attr)
            problems.append(
                Problem(
                    where,
                    "is named like a hook but not marked @hookimpl, so it is never called",
                    "add @hookimpl above it (from provision import hookimpl)",
                )
            )
            continue
        implemented.add(attr)
        allowed = HOOKS[attr]
        try:
            params = list(inspect.signature(fn).parameters.values())[1:]  # without self
        except (TypeError, ValueError):
            continue
        unknown = [
            p.name
            for p in params
            if p.name not in allowed
            and p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if unknown:
            guesses = [
                f"did you mean {close[0]!r}? "
                for u in unknown
                if (close := difflib.get_close_matches(u, allowed, n=1, cutoff=0.6))
            ]
            problems.append(
                Problem(
                    where,
                    f"takes {', '.join(repr(u) for u in unknown)}, which the hook does not pass",
                    f"{''.join(guesses)}its arguments are: {', '.join(allowed) or '(none)'} "
                    "(by name; leave out any you do not need)",
                )
            )
    for role in ("any", *sorted({Role(r).value for r in roles})):
        for hook in REQUIRED_HOOKS[role]:
            if hook in implemented or hook in covered:
                continue
            covered.add(hook)
            why = "every connector" if role == "any" else f"a {role}"
            args = ", ".join(("self", *HOOKS[hook]))
            problems.append(
                Problem(
                    name,
                    f"does not implement {hook}, which {why} must",
                    f"add `@hookimpl def {hook}({args})` (see provision.hookspecs)",
                )
            )
    return problems


def check(registry: Registry) -> dict[str, list[Problem]]:
    """`diagnose` every connector ``registry`` loaded, by name."""
    return {
        name: diagnose(info.cls, info.roles) for name, info in sorted(registry.connectors.items())
    }
