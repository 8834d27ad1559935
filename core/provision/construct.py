"""Build scim2-models objects fast, from data a connector has typed itself.

Validating a scim2-models ``User`` costs tens of microseconds (an e-mail address alone is
half of it, in pure Python), and ``model_construct`` is slower still for a class of 25
fields. A full read of a million users builds several million such objects. `build` makes
genuine instances, equal to validated ones and dumping the same JSON, by copying a validated
template of the class and setting the given fields, with only the checks that are cheap and
that matter:

- a field that the class does not have is a `TypeError` (a bug in the connector);
- a ``str``, ``bool`` or ``int`` field must hold one (or ``None``), a complex attribute an
  instance of its class (build it first), a multi-valued one a list of them;
- an e-mail address must look like one (`looks_like_email`): one ``@`` with something on
  both sides, a dot in the domain, no spaces or control characters. The full RFC check runs
  when the engine rebuilds an object it is about to write, so a subtler fault fails that
  object alone, by name, and never a read;
- any other type (a ``Reference``, an enum, a ``datetime``) is validated by pydantic, for
  that field only.

A check that fails raises `ValueError` naming the field: a connector turns it into an
`Unreadable` for that object, as it would a pydantic ``ValidationError``. Use
``model_validate`` instead for data you have not typed yourself (a raw API payload).
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, EmailStr, TypeAdapter, ValidationError

M = TypeVar("M", bound=BaseModel)

Check = Callable[[str, Any], Any]
"""(field, value) -> the value to store; raises for a value the field cannot hold."""

_C = r"[^@\s\x00-\x1f\x7f"  # no @, no blank, no control character
_EMAIL = re.compile(rf"{_C}]+@{_C}.]{_C}]*\.{_C}.]+")
_EMAIL_MAX = 254  # RFC 5321 §4.5.3.1.3: a path of 256 octets, less the angle brackets


def looks_like_email(value: str) -> bool:
    """The cheap half of e-mail validation: ``local@domain.tld`` without spaces."""
    return len(value) <= _EMAIL_MAX and _EMAIL.fullmatch(value) is not None


def build(cls: type[M], /, **values: Any) -> M:
    """An instance of ``cls`` holding ``values`` (Python field names), checked as above.

    An extension of a resource (``User[EnterpriseUser]``) is the field named after the
    extension's class: ``build(User[EnterpriseUser], EnterpriseUser=build(EnterpriseUser,
    employee_number="42"))``.
    """
    shape = _SHAPES.get(cls) or _shape(cls)
    state = shape.template.copy()
    for name in shape.mutable:
        state[name] = state[name].copy()
    checks = shape.checks
    for name, value in values.items():
        check = checks.get(name)
        if check is None:
            raise TypeError(f"{cls.__name__} has no field {name!r}")
        state[name] = value if value is None else check(name, value)
    obj = _new(cls)
    _set(obj, "__dict__", state)
    _set(obj, "__pydantic_fields_set__", shape.fields_set.union(values))
    _set(obj, "__pydantic_extra__", None)
    private = shape.private.copy()
    for name in shape.private_mutable:
        private[name] = private[name].copy()
    _set(obj, "__pydantic_private__", private)
    return obj


_new = object.__new__
_set = object.__setattr__


class _Shape:
    """What `build` needs of one class: a validated template and a check per field."""

    def __init__(self, cls: type[BaseModel]) -> None:
        template = cls()
        self.template: dict[str, Any] = dict(template.__dict__)
        self.mutable = tuple(n for n, v in self.template.items() if isinstance(v, list | dict))
        """Defaults such as ``schemas``: each instance gets its own copy."""
        self.fields_set = set(template.__pydantic_fields_set__)
        self.private: dict[str, Any] = dict(template.__pydantic_private__ or {})
        self.private_mutable = tuple(n for n, v in self.private.items() if isinstance(v, dict))
        """``_unknown_attributes``: where scim2-models keeps unknown attributes per object."""
        self.checks: dict[str, Check] = {
            name: _check_for(field.annotation) for name, field in cls.model_fields.items()
        }


_SHAPES: dict[type[BaseModel], _Shape] = {}


def _shape(cls: type[BaseModel]) -> _Shape:
    shape = _SHAPES[cls] = _Shape(cls)
    return shape


def _check_for(annotation: Any) -> Check:
    """The cheapest sound check for a field of this annotation."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _check_for(rest[0])
        return _validated(annotation)
    if annotation is str:
        return _plain(str)
    if annotation is bool:
        return _plain(bool)
    if annotation is int:
        return _int
    if annotation is EmailStr:
        return _email
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation)
    if typing.get_origin(annotation) is list and len(args) == 1:
        (item,) = args
        if isinstance(item, type) and issubclass(item, BaseModel):
            return _models(item)
        if item is str:
            return _strings
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _enum(annotation)
    return _validated(annotation)


def _plain(kind: type) -> Check:
    def check(name: str, value: Any) -> Any:
        if value.__class__ is not kind and not isinstance(value, kind):
            raise ValueError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
        return value

    return check


def _int(name: str, value: Any) -> Any:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name}: expected int, got {type(value).__name__}")
    return value


def _email(name: str, value: Any) -> Any:
    if not isinstance(value, str) or not looks_like_email(value):
        raise ValueError(f"{name}: {value!r} is not a valid e-mail address")
    return value


def _strings(name: str, value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name}: expected a list of str")
    return list(value)


def _model(cls: type[BaseModel]) -> Check:
    def check(name: str, value: Any) -> Any:
        if not isinstance(value, cls):
            raise ValueError(f"{name}: expected a {cls.__name__}, got {type(value).__name__}")
        return value

    return check


def _models(cls: type[BaseModel]) -> Check:
    def check(name: str, value: Any) -> Any:
        if value.__class__ is not list or not all(isinstance(v, cls) for v in value):
            raise ValueError(f"{name}: expected a list of {cls.__name__}")
        return value

    return check


def _enum(cls: type[enum.Enum]) -> Check:
    def check(name: str, value: Any) -> Any:
        try:
            return cls(value)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None

    return check


def _validated(annotation: Any) -> Check:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)

    def check(name: str, value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as err:  # one line, the field named
            raise ValueError(f"{name}: {err.errors()[0]['msg']}") from None

    return check
