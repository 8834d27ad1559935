"""SCIM resources to identity-domain payloads and back: pure functions.

What the domain returns carries more than the sync compares (Oracle extensions, read-only
sub-attributes such as ``emails[].verified``): reading keeps only the attributes and
sub-attributes the sync writes, so an unchanged user compares equal. `normalize` tells the
engine what the domain will hold for what it is sent (one primary email, known email types, a
family name where the domain's schema requires one), so a no-op run writes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from scim2_models import EnterpriseUser, Group, User

from provision import Kind, Unreadable, construct
from provision import mapping as core
from provision.construct import build, parse

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ORACLE_USER = "urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User"
ORACLE_GROUP = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
STATUS_CHANGER = "urn:ietf:params:scim:schemas:oracle:idcs:UserStatusChanger"

RECOVERY = "recovery"
EMAIL_TYPES = frozenset({"work", "home", "other"})
"""The email types the sync manages. The domain adds a ``recovery`` copy of the primary email
on create (terraform-provider-oci identity_domains_user_test.go reads two emails back): that
one is the domain's, never compared and never overwritten (`keep_recovery`)."""
MULTI = ("value", "type", "primary", "display")
SUBATTRIBUTES: dict[str, tuple[str, ...]] = {
    "name": (
        "formatted",
        "familyName",
        "givenName",
        "middleName",
        "honorificPrefix",
        "honorificSuffix",
    ),
    "emails": MULTI,
    "phoneNumbers": MULTI,
    "ims": MULTI,
    "photos": MULTI,
    "entitlements": MULTI,
    "roles": MULTI,
    "addresses": (
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "type",
        "primary",
    ),
    ENTERPRISE: (
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
        "manager",
    ),
}
SIMPLE_USER = (
    *(name for name in core.USER_ATTRIBUTES if name not in SUBATTRIBUTES),
    core.EXTERNAL_ID,
)
USER_ATTRIBUTES = frozenset(SIMPLE_USER) | frozenset(SUBATTRIBUTES)
"""What the domain stores of a user, as the sync compares it."""
GROUP_ATTRIBUTES = frozenset({"displayName", "externalId"})

EnterpriseResource = User[EnterpriseUser]
log = logging.getLogger(__name__)


def _keep(value: Any, allowed: tuple[str, ...]) -> Any:
    if isinstance(value, list):
        items = [_keep(v, allowed) for v in value]
        return [i for i in items if i] or None
    if isinstance(value, dict):
        kept = {k: v for k, v in value.items() if k in allowed and v not in (None, "", [], {})}
        if "manager" in kept and isinstance(kept["manager"], dict):
            kept["manager"] = {k: v for k, v in kept["manager"].items() if k == "value"}
        return kept or None
    return None


def user_from_oci(
    data: dict[str, Any], read_only: frozenset[str] = frozenset()
) -> User[Any] | Unreadable:
    """The user as the sync compares it, from what the domain returned (without the recovery
    email and the ``read_only`` sub-attributes the domain computes)."""
    clean: dict[str, Any] = {"id": data.get("id")}
    for name in SIMPLE_USER:
        if data.get(name) not in (None, ""):
            clean[name] = data[name]
    for name, allowed in SUBATTRIBUTES.items():
        raw = data.get(name)
        if name == "emails":
            raw = [e for e in raw or () if not is_recovery(e)]
        value = _keep(without_read_only(name, raw, read_only), allowed)
        if value:
            clean[name] = value
    try:
        return parse(EnterpriseResource, clean)  # model_validate, fast when clean
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        return Unreadable(
            Kind.USER,
            str(data.get("id")),
            f"domain user {data.get('userName')!r} cannot be read ({problems}); "
            "it is left as it is",
        )


def is_recovery(email: Any) -> bool:
    return isinstance(email, dict) and str(email.get("type") or "").lower() == RECOVERY


def recovery_emails(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The recovery emails the domain holds for a user, as a PATCH must send them back."""
    return [
        {k: v for k, v in e.items() if k in ("value", "type")}
        for e in data.get("emails") or ()
        if is_recovery(e) and e.get("value")
    ]


def keep_recovery(
    operations: list[dict[str, Any]], recovery: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``operations`` of a user PATCH, with the recovery emails kept.

    A ``replace`` of ``emails`` replaces every value (RFC 7644 §3.5.2.3), so it carries the
    recovery emails read from the domain; a ``remove`` of ``emails`` becomes a replace with
    them alone.
    """
    if not recovery:
        return operations
    kept = []
    for op in operations:
        if str(op.get("path") or "") == "emails":
            if op.get("op") == "replace":
                op = {**op, "value": [*(op.get("value") or []), *recovery]}
            elif op.get("op") == "remove":
                op = {"op": "replace", "path": "emails", "value": list(recovery)}
        kept.append(op)
    return kept


def group_from_oci(data: dict[str, Any], members: list[str]) -> Group:
    return build(
        Group,
        id=data.get("id"),
        external_id=data.get("externalId") or None,
        display_name=data.get("displayName"),
        members=construct.members(members, type="User") or None,
    )


def member_ids(data: dict[str, Any]) -> list[str]:
    return [str(m["value"]) for m in data.get("members") or () if m.get("value")]


@dataclass(frozen=True)
class Rules:
    """What the domain's schema says about the attributes the sync writes."""

    family_name_required: bool = False
    read_only: frozenset[str] = frozenset()
    """Sub-attributes the domain computes (``"phoneNumbers.display"``): never sent or compared."""
    canonical: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Simple attributes whose values the domain enumerates (``userType``)."""
    zones: frozenset[str] | None = None
    """The time zones ``timezone`` may hold, when the domain restricts it."""


def without_read_only(name: str, value: Any, read_only: frozenset[str]) -> Any:
    """``value`` of complex attribute ``name`` without the sub-attributes the domain computes."""
    dropped = {path.split(".", 1)[1] for path in read_only if path.startswith(f"{name}.")}
    if not dropped:
        return value
    if isinstance(value, list):
        return [{k: v for k, v in i.items() if k not in dropped} for i in value]
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in dropped}
    return value


def _accepted(out: dict[str, Any], rules: Rules) -> None:
    """Leave out the values the domain would refuse (with a warning naming the user), and
    spell the accepted ones as the domain does (canonical values are not case-exact)."""
    user = out.get("userName")
    for name, allowed in rules.canonical.items():
        value = out.get(name)
        if value is None:
            continue
        spelled = next((a for a in allowed if a.lower() == str(value).lower()), None)
        if spelled is None:
            del out[name]
            log.warning(
                "user %r: %s %r is not one the domain accepts (%s): it is left out; correct "
                "it in the source",
                user,
                name,
                value,
                ", ".join(allowed),
            )
        else:
            out[name] = spelled
    zone = out.get("timezone")
    if zone is not None and rules.zones is not None and zone not in rules.zones:
        del out["timezone"]
        log.warning(
            "user %r: timezone %r is not a time zone the domain knows (an IANA name such as "
            "Europe/Paris): it is left out; correct it in the source",
            user,
            zone,
        )


def normalize(kind: Kind, attributes: dict[str, Any], rules: Rules | None = None) -> dict[str, Any]:
    """What the domain will hold for ``attributes`` (the engine's desired state).

    ``name.familyName`` is filled with the ``userName`` only where the domain's schema makes it
    required (the SDK's schema says ``required: false``): an address is no surname.
    Sub-attributes the domain computes are left out, and so are values it would refuse.
    """
    rules = rules or Rules()
    if kind is not Kind.USER:
        return {k: v for k, v in attributes.items() if k in GROUP_ATTRIBUTES}
    out = {
        k: without_read_only(k, v, rules.read_only)
        for k, v in attributes.items()
        if k in USER_ATTRIBUTES
    }
    _accepted(out, rules)
    if rules.family_name_required:
        name = dict(out.get("name") or {})
        if not name.get("familyName"):
            name["familyName"] = out.get("userName")
        out["name"] = name
    emails = [dict(e) for e in out.get("emails") or () if e.get("value")]
    if emails:
        primary = next((i for i, e in enumerate(emails) if e.get("primary")), 0)
        for i, email in enumerate(emails):
            email["primary"] = i == primary
            kind_ = str(email.get("type") or "work").lower()
            email["type"] = kind_ if kind_ in EMAIL_TYPES else "other"
        out["emails"] = emails
    return out


def user_payload(user: User[Any], notify: bool) -> dict[str, Any]:
    """A create payload: Oracle's schemas, and no welcome mail unless asked for."""
    data = user.model_dump(mode="json", exclude={"id", "meta"})
    schemas = [CORE_USER] + ([ENTERPRISE] if ENTERPRISE in data else [])
    data["schemas"] = [*schemas, ORACLE_USER]
    data[ORACLE_USER] = {"bypassNotification": not notify}
    return data


def group_payload(group: Group, members: list[str]) -> dict[str, Any]:
    data = group.model_dump(mode="json", exclude={"id", "meta", "members"})
    data["schemas"] = [CORE_GROUP]
    if members:
        data["members"] = [{"value": m, "type": "User"} for m in members]
    return data


def missing_email(user: User[Any]) -> str | None:
    """Why a domain that requires a primary email would refuse ``user``, or None."""
    if any(e.value for e in user.emails or ()):
        return None
    return (
        f"user {user.user_name!r} has no email, and the identity domain requires one "
        "primary email: add an email to the user in the source"
    )


def patch_body(operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": operations}


def add_members(members: list[str]) -> dict[str, Any]:
    return {
        "op": "add",
        "path": "members",
        "value": [{"value": m, "type": "User"} for m in members],
    }


def remove_member(member: str) -> dict[str, Any]:
    return {"op": "remove", "path": f'members[value eq "{escape(member)}"]'}


def escape(value: str) -> str:
    """``value`` as the inside of a SCIM filter string.

    RFC 7644's filter grammar takes comparison values as JSON strings: quotes, backslashes and
    control characters escaped as JSON does (as scim2-models' ``Filter.quote``), other text
    kept as it is, since no Oracle source says its parser decodes ``\\u`` escapes.
    """
    return json.dumps(value, ensure_ascii=False)[1:-1]
