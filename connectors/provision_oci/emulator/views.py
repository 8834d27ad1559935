"""What a read answers with ``attributes``/``excludedAttributes``, decided once per model.

scim2-models filters a response while it serialises it: at every level of every resource it
looks up each key's ``returned`` characteristic and URN and matches them against the request
(``_is_returned``), then drops what was left empty. That decision depends on the model and the
request only, never on the values: `projection` takes it once per (model, attributes,
excludedAttributes), with scim2-models' own ``_is_returned`` on the URNs its serializer would
build, and `Projection.resource` applies it to a plain dump (``Context.DEFAULT``: nothing
filtered). tests/oci/test_emulator.py compares the two ways on every view the connector asks for.
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from scim2_models import ComplexAttribute, Extension, Returned
from scim2_models.base import BaseModel, _is_returned

UNIONS = (Union, types.UnionType)


@dataclass(frozen=True, eq=False)
class Projection:
    """The keys one level of a dump keeps: a key of ``keep`` stays (projected further by its
    value, if any), another field's key goes, a key no field declares (an unknown attribute
    scim2-models restores after filtering) stays."""

    keep: dict[str, Projection | None]
    fields: frozenset[str]
    whole: bool
    """Every key of every level stays: the value can be shared as it is."""
    extensions: tuple[str, ...] = ()
    """The URNs of a resource's extensions, left out of ``schemas`` when they are dropped."""

    def resource(self, data: dict[str, Any]) -> dict[str, Any]:
        """A resource's plain dump as the response shows it: a new top-level dict."""
        out = self.level(data)
        schemas = out.get("schemas")
        if schemas is not None:
            gone = [urn for urn in self.extensions if urn in data and urn not in out]
            if gone:
                out["schemas"] = [s for s in schemas if s not in gone]
        return out

    def level(self, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        keep = self.keep
        for key, value in data.items():
            if key in keep:
                nested = keep[key]
                if nested is not None:
                    value = nested.value(value)
                    if value is None:
                        continue
                out[key] = value
            elif key not in self.fields:
                out[key] = value
        return out

    def value(self, value: Any) -> Any:
        """A nested value projected; None when nothing is left (scim2-models drops ``{}``,
        ``[]`` and the ``{}`` entries of a list)."""
        if isinstance(value, dict):
            return self.level(value) or None
        if isinstance(value, list):
            items = [self.level(item) if isinstance(item, dict) else item for item in value]
            return [item for item in items if item != {}] or None
        return value


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The complex attribute or extension a field holds (alone or in a list), if any.

    A ``Reference[...]`` names resources too, but holds a string: it is not looked into."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return nested_model(get_args(annotation)[0])
    if origin in UNIONS or origin is list:
        for argument in get_args(annotation):
            found = nested_model(argument)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, (ComplexAttribute, Extension)):
        return annotation
    return None


@functools.cache
def projection(
    model: type[BaseModel],
    included: tuple[str, ...],
    excluded: tuple[str, ...],
    parent_urn: str | None = None,
) -> Projection:
    """What a response keeps of ``model`` for these ``attributes`` and
    ``excludedAttributes`` (as ``str()`` of scim2-models' paths, the lists its serializer
    gets). ``parent_urn``: for a complex attribute, the URN of the attribute holding it."""
    info = model.__scim_info__
    alias_of = {field: alias for alias, field in info.alias_to_field.items()}
    complex_level = issubclass(model, ComplexAttribute)
    keep: dict[str, Projection | None] = {}
    fields: set[str] = set()
    whole = True
    for name, field in model.model_fields.items():
        alias = alias_of.get(name, name)
        fields.add(alias)
        if alias == "schemas":  # RFC 7643 §3: always there (BaseModel._scim_response_serializer)
            keep[alias] = None
            continue
        # BaseModel._get_attribute_urn, or ComplexAttribute's, whose prefix the parent sets
        # (BaseModel._set_complex_attribute_urns)
        urn = (
            f"{parent_urn}.{model._scim_name(name)}" if complex_level else info.attribute_urns[name]
        )
        returned = model.get_field_annotation(name, Returned)
        if not _is_returned(returned, urn, list(included), list(excluded)):
            whole = False
            continue
        inner = nested_model(field.annotation)
        nested = None
        if inner is not None:
            prefix = urn if name in info.complex_fields else None
            nested = projection(inner, included, excluded, prefix)
            if nested.whole:
                nested = None
            else:
                whole = False
        keep[alias] = nested
    extensions = tuple(info.attribute_urns[name] for name in sorted(info.extensions))
    return Projection(keep, frozenset(fields), whole, extensions)
