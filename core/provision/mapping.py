"""Which attributes a sync compares, and the pure functions that compare them.

A resource is reduced to a *projection*: the mapped attributes only, in a canonical form
(no empty values, multi-valued attributes in a stable order), so that two objects that mean
the same compare equal whatever order or padding their systems use. Each projection is then
digested to 8 bytes, so the engine can keep a million objects' worth of comparisons in a few
hundred megabytes; the projections wait on disk (`provision.records.Spool`) to name exactly
which attributes changed when two digests differ.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
import operator
import typing
from collections.abc import Callable
from hashlib import blake2b
from typing import Any

import orjson
import pydantic_core
from pydantic import BaseModel
from scim2_models import Group, PatchOp, PatchOperation, User

EXTERNAL_ID = "externalId"

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

USER_ATTRIBUTES: tuple[str, ...] = (
    "userName",
    "name",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    ENTERPRISE_USER,
)
"""Compared by default for users; ``externalId`` always is."""

GROUP_ATTRIBUTES: tuple[str, ...] = ("displayName",)
"""Compared by default for groups (members are compared separately); ``externalId`` always is."""

DIGEST_SIZE = 8
_DROPPED_SUBATTRIBUTES = frozenset({"$ref", "schemas"})


@functools.cache
def slots(attributes: tuple[str, ...]) -> tuple[str, ...]:
    """The compared attributes in digest order: ``externalId`` first."""
    return (EXTERNAL_ID, *(a for a in attributes if a != EXTERNAL_ID))


def wanted(
    user_attributes: tuple[str, ...] = USER_ATTRIBUTES,
    group_attributes: tuple[str, ...] = GROUP_ATTRIBUTES,
) -> frozenset[str]:
    """What a full read is asked for: the compared attributes, ``id`` and ``members``."""
    return frozenset(slots(user_attributes) + slots(group_attributes) + ("id", "members"))


def canonical(value: Any) -> Any:
    """``value`` with empties removed and lists sorted; ``None`` when nothing is left.

    ``value`` is JSON-like data or a scim2-models object, read field by field through its
    wire names (never serialised whole: a group's members are not touched unless asked for).
    """
    if value is None:
        return None
    cls = value.__class__
    if cls is str:
        return value or None
    return (_CANONICAL.get(cls) or _canonical_for(cls))(value)


def _same(value: Any) -> Any:
    return value


def _model(value: BaseModel) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    state = value.__dict__
    for field, alias in _wire_names(value.__class__):
        v = state.get(field)
        if v is None:
            continue
        if v.__class__ is str:  # `canonical` of a str, inline: most values are
            if v:
                out[alias] = v
            continue
        if v is True:  # and of a bool
            out[alias] = v
            continue
        if v is False and alias == "primary":
            continue
        c = canonical(v)
        if c is not None:
            out[alias] = c
    return out or None


def _dict(value: dict[str, Any]) -> dict[str, Any] | None:
    out = {}
    for k, v in sorted(value.items()):
        if k in _DROPPED_SUBATTRIBUTES or (k == "primary" and v is False):
            continue
        c = canonical(v)
        if c is not None:
            out[k] = c
    return out or None


def _list(value: list[Any]) -> list[Any] | None:
    if len(value) == 1:  # most multi-valued attributes hold one value
        c = canonical(value[0])
        return None if c is None else [c]
    items = [c for c in map(canonical, value) if c is not None]
    if not items:
        return None
    if len(items) > 1:
        items.sort(key=encode)
    return items


def _enum(value: enum.Enum) -> Any:
    return canonical(value._value_)  # `value` is a property, in Python


def _text(value: str) -> str | None:  # a Reference, or another str subclass: its text
    return str(value) or None


def _bytes(value: bytes) -> str | None:  # as scim2-models' Base64Encoder writes binary values
    return base64.b64encode(value).decode("ascii") or None


def _other(value: Any) -> Any:
    return canonical(pydantic_core.to_jsonable_python(value))


_CANONICAL: dict[type, Callable[[Any], Any]] = {
    bool: _same, int: _same, float: _same, dict: _dict, list: _list, tuple: _list, bytes: _bytes,
}  # fmt: skip
"""How `canonical` treats each class it has met."""


def _canonical_for(cls: type) -> Callable[[Any], Any]:
    if issubclass(cls, BaseModel):
        handler: Callable[[Any], Any] = _model
    elif issubclass(cls, enum.Enum):
        handler = _enum
    elif issubclass(cls, str):
        handler = _text
    elif issubclass(cls, dict):
        handler = _dict
    elif issubclass(cls, list):
        handler = _list
    else:
        handler = _other
    _CANONICAL[cls] = handler
    return handler


@functools.cache
def _wire_names(cls: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """(field, wire name) of the fields `canonical` keeps (not ``schemas`` nor ``$ref``), by
    wire name: canonical dicts have their keys in order."""
    out = []
    for name, field in cls.model_fields.items():
        alias = field.serialization_alias or name
        if alias not in _DROPPED_SUBATTRIBUTES:
            out.append((name, alias))
    return tuple(sorted(out, key=lambda pair: pair[1]))


@functools.cache
def _fields_of(
    cls: type[BaseModel], attributes: tuple[str, ...]
) -> tuple[tuple[str, str | None], ...]:
    """(wire name, field or None when the class does not declare it) of each slot, by wire
    name: a projection has its keys in order."""
    fields = {f.serialization_alias or n: n for n, f in cls.model_fields.items()}
    return tuple((name, fields.get(name)) for name in ordered(attributes))


@functools.cache
def ordered(attributes: tuple[str, ...]) -> tuple[str, ...]:
    """`slots` in key order: how a projection holds them."""
    return tuple(sorted(slots(attributes)))


def encode(value: Any) -> bytes:
    """JSON (UTF-8) of canonical ``value``: what digests and the spool are made of.

    ``value`` comes from `canonical` or `project`, whose dicts have their keys in order, so
    equal values encode equally without asking orjson to sort (which costs thirty times the
    encoding). orjson, or the standard library for what orjson refuses (a lone surrogate is
    data too)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")


def decode(data: bytes) -> Any:
    """The inverse of `encode`."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data.decode("utf-8", "surrogatepass"))


def project(resource: User[Any] | Group, attributes: tuple[str, ...]) -> dict[str, Any]:
    """The canonical values of ``attributes`` that ``resource`` has, keys in order.

    Reads only those fields, by wire name; an attribute the class does not declare comes
    from the attributes scim2-models kept aside as unknown, if any.
    """
    return projector(resource.__class__, attributes)(resource)


@functools.cache
def projector(cls: type[BaseModel], attributes: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """`project` for instances of ``cls``, prepared once (the engine keeps one per class: even
    the lookup of this cache costs, hashing ``attributes``, at millions of objects)."""
    declared = [(name, field) for name, field in _fields_of(cls, attributes) if field is not None]
    fields = [field for _, field in declared]
    read: Callable[[dict[str, Any]], tuple[Any, ...]]  # the fields' values in one call, in C
    if len(fields) == 1:
        read = lambda state: (state[fields[0]],)  # noqa: E731 (itemgetter of one is no tuple)
    else:
        read = operator.itemgetter(*fields) if fields else lambda state: ()
    wire = tuple(name for name, _ in declared)
    undeclared = len(declared) < len(ordered(attributes))
    active = issubclass(cls, User) and "active" in ordered(attributes)

    def project(resource: Any) -> dict[str, Any]:
        if undeclared and (resource.__pydantic_private__ or {}).get("_unknown_attributes"):
            return _project_each(resource, attributes)  # values the class does not declare
        try:
            values = read(resource.__dict__)
        except KeyError:  # an instance without all its fields (made by hand)
            return _project_each(resource, attributes)
        out: dict[str, Any] = {}
        for name, raw in zip(wire, values, strict=True):
            if raw is None:  # most slots are empty: skipped in a few steps
                continue
            if raw.__class__ is str:  # `canonical` of a str, inline: most values are
                if raw:
                    out[name] = raw
                continue
            if raw is True or raw is False:  # and of a bool
                out[name] = raw
                continue
            raw = canonical(raw)
            if raw is not None:
                out[name] = raw
        if active and "active" not in out:
            return _project_each(resource, attributes)  # the default goes in its place
        return out

    return project


def _project_each(resource: User[Any] | Group, attributes: tuple[str, ...]) -> dict[str, Any]:
    """`project`, attribute by attribute: for what its fast path leaves out."""
    state = resource.__dict__
    user = isinstance(resource, User)
    out: dict[str, Any] = {}
    for name, field in _fields_of(resource.__class__, attributes):
        if field is not None:
            raw = state.get(field)
        else:
            private = resource.__pydantic_private__ or {}
            raw = (private.get("_unknown_attributes") or {}).get(name)
        if raw is not None:
            raw = canonical(raw)
        if raw is None and name == "active" and user:
            raw = True  # SCIM leaves it to the service; every target we know defaults to true
        if raw is not None:
            out[name] = raw
    return out


def digest(projection: dict[str, Any]) -> bytes:
    """8 bytes that change when any compared value does (and not when keys are reordered).

    One digest per object: hashing each attribute apart cost ten times the encoding. When two
    objects' digests differ, `changed_attributes` names what differs from their projections.
    """
    return blake2b(encode(canonical(projection) or {}), digest_size=DIGEST_SIZE).digest()


def changed_attributes(
    source: dict[str, Any], target: dict[str, Any], attributes: tuple[str, ...]
) -> list[str]:
    """The attributes whose canonical values differ, in `slots` order."""
    return [n for n in slots(attributes) if encode(source.get(n)) != encode(target.get(n))]


def patch_for(
    resource: User[Any] | Group, projection: dict[str, Any], changed: list[str]
) -> PatchOp[Any]:
    """The minimal PATCH that makes a target hold ``projection`` for the ``changed`` attributes.

    Each changed attribute is replaced whole, multi-valued ones included (what SCIM targets
    apply reliably), or removed when the source no longer has it. Replacing a complex
    attribute leaves the sub-attributes it does not name in place (RFC 7644 §3.5.2.3), so the
    sub-attributes the source lacks are removed first.
    """
    operations = []
    for name in changed:
        value = projection.get(name)
        if value is None:
            operations.append(PatchOperation[Any](op="remove", path=name))
            continue
        if isinstance(value, dict):
            separator = ":" if name.startswith("urn:") else "."
            operations.extend(
                PatchOperation[Any](op="remove", path=f"{name}{separator}{sub}")
                for sub in subattributes(type(resource), name)
                if sub not in value
            )
        operations.append(PatchOperation[Any](op="replace", path=name, value=value))
    model: Any = PatchOp[type(resource)]  # type: ignore[misc]
    patch: PatchOp[Any] = model(operations=operations)
    return patch


@functools.cache
def subattributes(cls: type[BaseModel], attribute: str) -> tuple[str, ...]:
    """The wire names of the sub-attributes of complex ``attribute`` of ``cls`` (else none)."""
    for field in cls.model_fields.values():
        if field.serialization_alias != attribute:
            continue
        for arg in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                return tuple(
                    f.serialization_alias or n
                    for n, f in arg.model_fields.items()
                    if n != "schemas"
                )
    return ()


def rebuild(cls: type[User[Any]] | type[Group], projection: dict[str, Any]) -> User[Any] | Group:
    """A resource of ``cls`` holding exactly ``projection``."""
    return cls.model_validate(projection)
