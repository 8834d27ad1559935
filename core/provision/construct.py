"""Build scim2-models objects fast: what a full read of a million users needs.

Validating a scim2-models ``User`` costs tens of microseconds (an e-mail address alone is
half of it, in pure Python), and ``model_construct`` is slower still for a class of 25
fields; a full read of a million users builds several million such objects. Both functions
here make genuine instances, equal to validated ones and dumping the same JSON, by copying a
validated template of the class and setting the fields, with only the checks that are cheap:

- `build` (``build(User, user_name="ada", emails=[build(Email, value=...)])``) for data a
  connector has typed itself: a field the class lacks is a `TypeError` (a bug); a ``str``,
  ``bool`` or ``int`` field must hold one, a complex attribute an instance of its class, a
  multi-valued one a list of them, or `ValueError` names the field;
- `members` (``members(ids, type="User")``): a group's members, the most numerous objects
  of all, each value a ``str``;
- `parse` (``parse(User, payload)``) for a SCIM payload as an API returns it: the fast path
  when every key is a wire name of the class and every value has the plain type its field
  declares, else exactly ``model_validate`` (same result, same ``ValidationError``).

Either way an e-mail address is checked, and normalised, as pydantic's ``EmailStr`` does:
ASCII addresses of the usual form by a strict pattern (the domain lower-cased, as
``email-validator`` normalises it), anything else by ``email-validator`` itself. Other types
(a ``Reference``, an enum, a ``datetime``) are validated by pydantic, for that field only.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError
from scim2_models import GroupMember

M = TypeVar("M", bound=BaseModel)

Check = Callable[[str, Any], Any]
"""(field, value) -> the value to store; `ValueError` for a value the field cannot hold."""


def build(cls: type[M], /, **values: Any) -> M:
    """An instance of ``cls`` holding ``values`` (Python field names), checked as above.

    An extension of a resource (``User[EnterpriseUser]``) is the field named after the
    extension's class: ``build(User[EnterpriseUser], EnterpriseUser=build(EnterpriseUser,
    employee_number="42"))``.
    """
    shape = _SHAPES.get(cls) or _shape(cls)
    plain, checks = shape.plain, shape.checks
    for name, value in values.items():
        if value.__class__ is plain.get(name):  # a str, bool or int field holding one
            continue
        if value is None:
            if name not in checks:
                raise TypeError(f"{cls.__name__} has no field {name!r}")
            continue
        check = checks.get(name)
        if check is None:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        values[name] = check(name, value)
    return _assemble(cls, shape, values)


def members(values: Iterable[str], type: str | None = None) -> list[GroupMember]:
    """A group's members, one `GroupMember` per value (a user's id or key), all of ``type``:
    `build` without its per-call work, for the millions of members a large read holds."""
    shape = _SHAPES.get(GroupMember) or _shape(GroupMember)
    template, private, fresh = shape.template, shape.private, shape.private_mutable
    fields_set = {"value"} if type is None else {"value", "type"}
    out: list[GroupMember] = []
    append = out.append
    for value in values:
        if value.__class__ is not str:
            raise ValueError(f"value: expected str, got {value.__class__.__name__}")
        state = template.copy()
        state["value"] = value
        if type is not None:
            state["type"] = type
        member = _new(GroupMember)
        _set_dict(member, state)
        _set_fields_set(member, fields_set.copy())
        _set_extra(member, None)
        own = private.copy()
        for name in fresh:
            own[name] = {}
        _set_private(member, own)
        append(member)
    return out


def parse(cls: type[M], payload: Mapping[str, Any]) -> M:
    """``cls.model_validate(payload)``, fast for a payload of plain, well-typed values."""
    try:
        return _parse(cls, payload)
    except _Slow:
        return cls.model_validate(payload)


class _Slow(Exception):
    """Something `parse` leaves to pydantic: an unknown key, an unexpected type."""


def _parse(cls: type[M], payload: Mapping[str, Any]) -> M:
    shape = _SHAPES.get(cls) or _shape(cls)
    if payload.__class__ is not dict or "schemas" in payload:
        raise _Slow()  # scim2-models checks a payload's schemas: pydantic decides
    by_wire = shape.by_wire
    values: dict[str, Any] = {}
    for key, value in payload.items():
        entry = by_wire.get(key)
        if entry is None:
            raise _Slow()
        field, read = entry
        values[field] = None if value is None else read(value)
    return _assemble(cls, shape, values)


def _assemble(cls: type[M], shape: _Shape, values: dict[str, Any]) -> M:
    state = shape.template.copy()
    for name in shape.mutable:
        state[name] = state[name].copy()
    state.update(values)
    obj = _new(cls)
    _set_dict(obj, state)
    _set_fields_set(obj, shape.fields_set.union(values))
    _set_extra(obj, None)
    private = shape.private.copy()
    for name in shape.private_mutable:
        private[name] = {}
    _set_private(obj, private)
    return obj


# What pydantic's own copy sets on a new instance, each through its slot's descriptor (a
# third cheaper than object.__setattr__ by name).
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


class _Shape:
    """What `build` and `parse` need of one class: a validated template, a check per field
    and a reader per wire name."""

    def __init__(self, cls: type[BaseModel]) -> None:
        template = cls()
        self.template: dict[str, Any] = dict(template.__dict__)
        self.mutable = tuple(n for n, v in self.template.items() if isinstance(v, list | dict))
        """Defaults such as ``schemas``: each instance gets its own copy."""
        self.fields_set = set(template.__pydantic_fields_set__)
        self.private: dict[str, Any] = dict(template.__pydantic_private__ or {})
        self.private_mutable = tuple(
            n for n, v in self.private.items() if isinstance(v, dict) and not v
        )
        """``_unknown_attributes``: where scim2-models keeps unknown attributes per object
        (empty in a template: each instance gets a new empty dict)."""
        self.checks: dict[str, Check] = {}
        self.plain: dict[str, type] = {}
        """Fields of type str, bool or int: a value of exactly that class needs no check."""
        self.by_wire: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        for name, field in cls.model_fields.items():
            check, read = _field(field.annotation)
            self.checks[name] = check
            self.by_wire[field.serialization_alias or name] = (name, read)
            kind = _plain_type(field.annotation)
            if kind is not None:
                self.plain[name] = kind


_SHAPES: dict[type[BaseModel], _Shape] = {}


def _shape(cls: type[BaseModel]) -> _Shape:
    shape = _SHAPES[cls] = _Shape(cls)
    return shape


# Per field: a check for `build` (values typed by the connector) and a reader for `parse`
# (values decoded from JSON, which raises _Slow for anything but the plain case).


def _plain_type(annotation: Any) -> type | None:
    """str, bool or int for a field of that type (optional or not), else None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = rest[0] if len(rest) == 1 else None
    return annotation if annotation in (str, bool, int) else None


def _field(annotation: Any) -> tuple[Check, Callable[[Any], Any]]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _field(rest[0])
    elif annotation in (str, bool, int):
        return _plain(annotation), _plain_read(annotation)
    elif annotation is EmailStr:
        return _email, _email_read
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation), _model_read(annotation)
    elif typing.get_origin(annotation) is list and len(args) == 1:
        (item,) = args
        if isinstance(item, type) and issubclass(item, BaseModel):
            return _models(item), _models_read(item)
        if item is str:
            return _strings, _strings_read
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum(annotation), _enum_read(annotation)
    return _validated(annotation)


def _plain(kind: type) -> Check:
    def check(name: str, value: Any) -> Any:
        if value.__class__ is kind:
            return value
        if kind is str and isinstance(value, str):
            return str.__str__(value)  # a str subclass (a str enum): its text, as pydantic keeps
        raise ValueError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")

    return check


def _plain_read(kind: type) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if value.__class__ is not kind:
            raise _Slow()
        return value

    return read


def _strings(name: str, value: Any) -> Any:
    if value.__class__ is not list or not all(v.__class__ is str for v in value):
        raise ValueError(f"{name}: expected a list of str")
    return list(value)


def _strings_read(value: Any) -> Any:
    if value.__class__ is not list or not all(v.__class__ is str for v in value):
        raise _Slow()
    return value


def _model(cls: type[BaseModel]) -> Check:
    def check(name: str, value: Any) -> Any:
        if not isinstance(value, cls):
            raise ValueError(f"{name}: expected a {cls.__name__}, got {type(value).__name__}")
        return value

    return check


def _model_read(cls: type[BaseModel]) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        return _parse(cls, value)

    return read


def _models(cls: type[BaseModel]) -> Check:
    def check(name: str, value: Any) -> Any:
        if value.__class__ is list:
            for v in value:  # a loop: most lists hold one item, and a generator costs more
                if not isinstance(v, cls):
                    break
            else:
                return value
        raise ValueError(f"{name}: expected a list of {cls.__name__}")

    return check


def _models_read(cls: type[BaseModel]) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if value.__class__ is not list:
            raise _Slow()
        return [_parse(cls, v) for v in value]

    return read


def _enum(cls: type[enum.Enum]) -> Check:
    members = _enum_members(cls)

    def check(name: str, value: Any) -> Any:
        member = members.get(value) if value.__class__ is str else None
        if member is not None:
            return member
        try:
            return cls(value)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None

    return check


def _enum_read(cls: type[enum.Enum]) -> Callable[[Any], Any]:
    members = _enum_members(cls)

    def read(value: Any) -> Any:
        member = members.get(value) if value.__class__ is str else None
        if member is not None:
            return member
        try:
            return cls(value)
        except ValueError:
            raise _Slow() from None

    return read


def _enum_members(cls: type[enum.Enum]) -> dict[str, enum.Enum]:
    """The members by value, looked up before calling the class (which costs a microsecond)."""
    return {m.value: m for m in cls if isinstance(m.value, str)}


def _validated(annotation: Any) -> tuple[Check, Callable[[Any], Any]]:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def check(name: str, value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as err:  # one line, the field named
            raise ValueError(f"{name}: {err.errors()[0]['msg']}") from None

    def read(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError:
            raise _Slow() from None

    return check, read


# E-mail addresses, as pydantic's EmailStr (email-validator, check_deliverability off) takes
# them: an ASCII dot-atom local part (RFC 5322 §3.2.3, at most 64 characters), a domain of
# LDH labels (RFC 1035 §2.3.1) whose top level starts with a letter, the whole at most 254
# characters (RFC 5321 §4.5.3.1), normalised by lower-casing the domain. Whatever this
# pattern does not cover (quoted local parts, Unicode, punycode, special-use domains such
# as .local and .test) goes to email-validator itself.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+([A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?)")
_SPECIAL_USE = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
"""Top-level domains email-validator refuses by default (RFC 6761 and kin)."""
_EMAIL_ADAPTER: TypeAdapter[str] = TypeAdapter(EmailStr)
_DOMAINS: dict[str, str] = {}
"""Each domain met: lower-cased, or "" when only email-validator can tell. A read holds
few domains for many addresses; the pattern runs once per domain (at most `_DOMAINS_KEPT`
are kept, then the cache starts again)."""
_DOMAINS_KEPT = 4096


def _fast_email(value: str) -> str | None:
    """The normalised address, or None when only email-validator can tell."""
    if not value.isascii() or len(value) > 254:
        return None
    local, _, domain = value.partition("@")
    normal = _DOMAINS.get(domain)
    if normal is None:
        normal = _domain(domain)
        if len(_DOMAINS) >= _DOMAINS_KEPT:
            _DOMAINS.clear()
        _DOMAINS[domain] = normal
    if not normal or len(local) > 64 or _LOCAL.fullmatch(local) is None:
        return None
    return value if normal == domain else f"{local}@{normal}"


def _domain(domain: str) -> str:
    """``domain`` lower-cased if the fast path takes it, else ""."""
    m = _DOMAIN.fullmatch(domain)
    if m is None or len(domain) > 253 or "--" in domain or m[1].lower() in _SPECIAL_USE:
        return ""
    return domain.lower()


def _email(name: str, value: Any) -> Any:
    if value.__class__ is str:
        fast = _fast_email(value)
        if fast is not None:
            return fast
    try:
        return _EMAIL_ADAPTER.validate_python(value)
    except ValidationError as err:
        raise ValueError(f"{name}: {value!r} is not a valid e-mail address ({_why(err)})") from None


def _email_read(value: Any) -> Any:
    fast = _fast_email(value) if value.__class__ is str else None
    if fast is None:
        raise _Slow()
    return fast


def _why(err: ValidationError) -> str:
    return str(err.errors()[0]["msg"])
