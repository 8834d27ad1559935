"""Write the OCI identity-domain schema snapshot from Oracle's own SDK models.

    python3 -m venv /tmp/oci-sdk && /tmp/oci-sdk/bin/pip install oci
    /tmp/oci-sdk/bin/python tools/oci_schema_snapshot.py > connectors/provision_oci/oci_schema.json

The OCI Python SDK (``oci.identity_domains.models``) is generated from Oracle's API spec: every
attribute property's docstring carries its "SCIM++ Properties" (type, multiValued, required,
mutability, returned, uniqueness, caseExact) and, for enumerations, "Allowed values for this
property are: …". This script turns those into SCIM schema resources (RFC 7643 §7), as
``GET /admin/v1/Schemas`` serves them, for the User and Group resources and the extensions
they carry, and records the SDK version. The connector falls back to the snapshot when a domain
does not serve its schemas, and the emulator serves and enforces the same data. ``oci`` is
never a dependency of provision: run this in a scratch environment.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from typing import Any

ROOTS = {
    "urn:ietf:params:scim:schemas:core:2.0:User": "User",
    "urn:ietf:params:scim:schemas:core:2.0:Group": "Group",
}
PROPERTY = re.compile(r"^\s*- (\w+): (.*)$")
ALLOWED = re.compile(r"Allowed values for this property are: (.*?)\.\s*$", re.M | re.S)
KEPT = (
    "type",
    "multiValued",
    "required",
    "mutability",
    "returned",
    "uniqueness",
    "caseExact",
    "idcsCanonicalValueSourceResourceType",
    "idcsCanonicalValueSourceFilter",
)
SKIPPED = {"schemas", "meta", "id"}


def properties(doc: str) -> dict[str, Any]:
    """The "SCIM++ Properties" block and the allowed values of one docstring."""
    found: dict[str, Any] = {}
    block = doc.split("**SCIM++ Properties:**", 1)
    if len(block) == 2:
        for line in block[1].splitlines():
            match = PROPERTY.match(line)
            if match:
                found[match.group(1)] = match.group(2).strip()
            elif found and line.strip() and not line.startswith(" "):
                break
    allowed = ALLOWED.search(doc)
    if allowed:
        values = re.findall(r"[\"']([^\"']+)[\"']", allowed.group(1))
        found["canonicalValues"] = [v for v in values if v != "UNKNOWN_ENUM_VALUE"]
    return found


def attribute(models: Any, cls: type, py_name: str, wire: str) -> dict[str, Any]:
    prop = getattr(cls, py_name)
    doc = inspect.getdoc(prop.fget) or ""
    found = properties(doc)
    out: dict[str, Any] = {"name": wire}
    for key in KEPT:
        if key in found:
            value = found[key]
            out[key] = value == "true" if value in ("true", "false") else value
    if "canonicalValues" in found:
        out["canonicalValues"] = found["canonicalValues"]
    kind = maps(cls)[1][py_name]
    inner = kind[5:-1] if kind.startswith("list[") else kind
    nested = getattr(models, inner, None)
    if isinstance(nested, type):
        out.setdefault("type", "complex")
        out.setdefault("multiValued", kind.startswith("list["))
        out["subAttributes"] = [
            attribute(models, nested, name, sub) for name, sub in maps(nested)[0].items()
        ]
    return out


def maps(cls: type) -> tuple[dict[str, str], dict[str, str]]:
    """(attribute_map, swagger_types) of an SDK model: set by its constructor."""
    instance: Any = cls()
    return dict(instance.attribute_map), dict(instance.swagger_types)


def schema(models: Any, urn: str, cls: type, extensions: dict[str, type]) -> dict[str, Any]:
    attributes = []
    attribute_map, swagger_types = maps(cls)
    for py_name, wire in attribute_map.items():
        if wire in SKIPPED:
            continue
        if wire.startswith("urn:"):
            extensions[wire] = getattr(models, swagger_types[py_name])
            continue
        attributes.append(attribute(models, cls, py_name, wire))
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": urn,
        "name": urn.rsplit(":", 1)[-1],
        "attributes": attributes,
    }


def main() -> None:
    import oci  # the scratch environment's, never provision's
    from oci.identity_domains import models

    found: list[dict[str, Any]] = []
    extensions: dict[str, type] = {}
    for urn, name in ROOTS.items():
        found.append(schema(models, urn, getattr(models, name), extensions))
    for urn, cls in sorted(extensions.items()):
        found.append(schema(models, urn, cls, {}))
    snapshot = {
        "source": "oci.identity_domains.models (OCI Python SDK) property docstrings",
        "sdk": f"oci {oci.__version__}",
        "generator": "tools/oci_schema_snapshot.py",
        "Resources": found,
    }
    json.dump(snapshot, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
