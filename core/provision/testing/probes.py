"""What the contract suites share: reading a connector, and failures that say what differs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from scim2_models import Group, User

from provision import mapping
from provision.contract import (
    Check,
    Role,
    Unverified,
)
from provision.diagnose import diagnose
from provision.plugins import Endpoint


def _diagnosis(connector: object, role: Role) -> None:
    """What ``provision connectors --check`` finds in the connector's class."""
    cls = type(connector)
    roles = set(getattr(cls, "roles", ()) or ())
    assert role in roles, f"{cls.__name__}.roles is {roles or 'empty'}: it must include {role}"
    problems = diagnose(cls, roles)
    assert not problems, "plugin mistakes in the connector class:\n" + "\n".join(
        f"  {p}" for p in problems
    )


class _Held(dict[str, Any]):
    """A target's read by name; a missing name fails saying what was read instead."""

    def __missing__(self, name: str) -> Any:
        raise AssertionError(
            f"{name!r} is missing from the target's read, which holds {sorted(self)}"
        )


def _checks_pass(connector: object) -> None:
    checks = Endpoint.wrap(connector).hook.provision_test()
    assert checks, "provision_test returned no checks"
    strays = [c for c in checks if not isinstance(c, Check)]
    assert not strays, f"provision_test returns provision.Check objects only, not {strays}"
    failed = [f"{c.name}: {c.message} (hint: {c.hint})" for c in checks if not c.ok]
    assert not failed, f"checks failed: {failed}"


def _read(connector: object, role: Role) -> list[Any]:
    """What the connector yields, `Unverified` objects unwrapped (they sync like others)."""
    hook = Endpoint.wrap(connector).hook.provision_full_read
    objects = hook(role=role, attributes=mapping.wanted())
    return [o.resource if isinstance(o, Unverified) else o for o in objects]


def _by_name(objects: Iterable[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for obj in objects:
        if isinstance(obj, User):
            out[obj.user_name or ""] = obj
        elif isinstance(obj, Group):
            out["group:" + (obj.display_name or "")] = obj
    return out


def _label(obj: User[Any] | Group) -> str:
    return (obj.user_name if isinstance(obj, User) else obj.display_name) or "(no name)"


def _primary_email(user: User[Any]) -> str | None:
    for email in user.emails or ():
        if email.primary:
            return email.value
    return None
