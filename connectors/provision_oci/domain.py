"""What a run learns from the domain before it compares anything: settings and schema.

Read once per run (`learn`): ``GET /admin/v1/IdentitySettings`` for ``primaryEmailRequired``
(SDK ``IdentityDomainsClient.list_identity_settings``, model ``IdentitySetting.
primary_email_required``) and ``GET /admin/v1/Schemas/{User URN}`` (SDK ``get_schema``) for the
attribute rules: required, read-only, canonical values. A domain that serves no schema is
described by the committed snapshot ``oci_schema.json``, generated from the SDK's models by
``tools/oci_schema_snapshot.py`` (it records the SDK version). Nothing here assumes what the
domain can tell.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import zoneinfo
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from provision import Kind
from provision_oci import mapping
from provision_oci.client import OciClient, OciError

log = logging.getLogger(__name__)

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@functools.cache
def snapshot() -> dict[str, Any]:
    """The committed schema snapshot (``oci_schema.json``)."""
    text = resources.files("provision_oci").joinpath("oci_schema.json").read_text()
    return dict(json.loads(text))


def snapshot_schema(urn: str) -> dict[str, Any]:
    for schema in snapshot()["Resources"]:
        if schema.get("id") == urn:
            return dict(schema)
    raise KeyError(urn)


def first_resource(body: Any) -> dict[str, Any]:
    """A resource, or the first resource of a ListResponse; ``{}`` for anything else."""
    if isinstance(body, dict) and isinstance(body.get("Resources"), list):
        body = body["Resources"][0] if body["Resources"] else {}
    return dict(body) if isinstance(body, dict) else {}


@dataclass(frozen=True, eq=False)
class DomainProfile:
    """The domain's rules that shape payloads and comparisons."""

    primary_email_required: bool
    user_schema: dict[str, Any] = field(repr=False)
    schema_source: str = "the domain"
    settings_source: str = "the domain"

    @classmethod
    def from_snapshot(cls, primary_email_required: bool = True) -> DomainProfile:
        return cls(
            primary_email_required,
            snapshot_schema(CORE_USER),
            schema_source=f"snapshot ({snapshot()['sdk']})",
            settings_source="assumed",
        )

    def attribute(self, path: str) -> dict[str, Any] | None:
        """The schema attribute of ``path`` (``"name.familyName"``), or None."""
        found: dict[str, Any] | None = None
        attributes = self.user_schema.get("attributes") or []
        for part in path.split("."):
            found = next(
                (a for a in attributes if str(a.get("name")).lower() == part.lower()), None
            )
            if found is None:
                return None
            attributes = found.get("subAttributes") or []
        return found

    def required(self, path: str) -> bool:
        return bool((self.attribute(path) or {}).get("required"))

    def read_only(self, path: str) -> bool:
        return (self.attribute(path) or {}).get("mutability") == "readOnly"

    def canonical_values(self, path: str) -> tuple[str, ...]:
        return tuple((self.attribute(path) or {}).get("canonicalValues") or ())

    def requiring(self, path: str) -> DomainProfile:
        """A copy whose schema makes ``path`` required (a domain configured so)."""
        schema = copy.deepcopy(self.user_schema)
        profile = replace(self, user_schema=schema)
        attribute = profile.attribute(path)
        if attribute is None:
            raise KeyError(path)
        attribute["required"] = True
        return profile

    @functools.cached_property
    def rules(self) -> mapping.Rules:
        """The schema's rules on the attributes the sync writes."""
        read_only = frozenset(
            f"{name}.{sub}"
            for name, subs in mapping.SUBATTRIBUTES.items()
            for sub in subs
            if self.read_only(f"{name}.{sub}")
        )
        canonical = {
            name: values for name in mapping.SIMPLE_USER if (values := self.canonical_values(name))
        }
        source = str((self.attribute("timezone") or {}).get("idcsCanonicalValueSourceFilter", ""))
        zones = frozenset(zoneinfo.available_timezones()) if "timezones" in source else None
        return mapping.Rules(
            family_name_required=self.required("name.familyName"),
            read_only=read_only,
            canonical=canonical,
            zones=zones or None,
        )

    def normalize(self, kind: Kind, attributes: dict[str, Any]) -> dict[str, Any]:
        return mapping.normalize(kind, attributes, self.rules)

    def summary(self) -> str:
        return (
            f"primary email required: {'yes' if self.primary_email_required else 'no'} "
            f"(IdentitySettings: {self.settings_source}); family name required: "
            f"{'yes' if self.required('name.familyName') else 'no'} "
            f"(User schema: {self.schema_source})"
        )


def learn(client: OciClient) -> DomainProfile:
    """Read the domain's IdentitySettings and User schema once; never raises.

    What cannot be read is assumed on the safe side, with a warning: a primary email required,
    the snapshot's schema.
    """
    required, settings_source = True, "the domain"
    try:
        setting = first_resource(client.scim("GET", "/IdentitySettings").json())
        value = setting.get("primaryEmailRequired")
        if isinstance(value, bool):
            required = value
        else:
            settings_source = "no primaryEmailRequired in the answer: assumed required"
    except (OciError, ValueError) as err:
        settings_source = "unreadable: assumed required"
        log.warning(
            "The domain's IdentitySettings cannot be read (%s): users without an email are "
            "refused, as a domain that requires a primary email would.",
            err,
        )
    try:
        schema = first_resource(client.scim("GET", f"/Schemas/{CORE_USER}").json())
        if not isinstance(schema.get("attributes"), list):
            raise ValueError("the answer has no attributes")
        source = "the domain"
    except (OciError, ValueError) as err:
        schema = snapshot_schema(CORE_USER)
        source = f"snapshot ({snapshot()['sdk']})"
        log.info("The domain's User schema cannot be read (%s): using the %s.", err, source)
    return DomainProfile(required, schema, source, settings_source)
