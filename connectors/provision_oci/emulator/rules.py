"""Oracle's rules that plain SCIM lacks, as pure functions: errors with Oracle's message
block, immutable and read-only values, e-mails, canonical values, member PATCHes."""

from __future__ import annotations

import re
import zoneinfo
from typing import TYPE_CHECKING, Any

from scim2_models import (
    Email,
    InvalidValueException,
    MutabilityException,
    Resource,
    SCIMException,
    User,
)
from scim2_models.resources.group import GroupMember

if TYPE_CHECKING:
    from scim2_models import PatchOp

from provision_oci.emulator.schema import (
    CORE_USER,
    EMAIL_TYPES,
    ORACLE_MESSAGES,
    ORACLE_USER,
    PRIMARY_EMAIL_MESSAGE,
    SCIM_ERROR,
    Group,
    schema_snapshot,
)

# Errors --------------------------------------------------------------------------------------


class OciError(SCIMException):
    """A SCIM error with the status, scimType and Oracle message id the emulator chooses."""

    def __init__(self, *, status: int, detail: str, scim_type: str = "", message_id: str = ""):
        super().__init__(detail=detail)
        self.status = status
        self.scim_type = scim_type
        self.message_id = message_id


def scim_error(
    status: int, detail: str, scim_type: str = "", message_id: str = ""
) -> dict[str, Any]:
    """A SCIM error body as OCI sends it: status as a string, the Oracle messages block."""
    body: dict[str, Any] = {"schemas": [SCIM_ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    add_oracle_block(body, message_id)
    return body


def add_oracle_block(body: dict[str, Any], message_id: str | None = None) -> None:
    """Give a SCIM error body the Oracle messages block, unless it has one."""
    if SCIM_ERROR not in body.get("schemas", []) or ORACLE_MESSAGES in body:
        return
    body["schemas"] = [SCIM_ERROR, ORACLE_MESSAGES]
    generic = f"error.emulator.{body.get('scimType') or body.get('status')}"
    body[ORACLE_MESSAGES] = {"messageId": message_id or generic}


def update_violation(resource: str, method: str, data: Any) -> SCIMException | None:
    """The 400 OCI gives a PUT or PATCH of a user that sends ``bypassNotification`` or ``groups``.

    scim2-models would accept an unchanged immutable value and ignore read-only ones; OCI
    refuses both when they carry a value, so the raw payload is checked before validation.
    """
    if resource != "User" or not isinstance(data, dict):
        return None
    if method == "PUT":
        extension = data.get(ORACLE_USER)
        if isinstance(extension, dict) and extension.get("bypassNotification") is not None:
            return _immutable()
        if data.get("groups"):
            return _read_only_groups()
        return None
    for operation in data.get("Operations") or []:
        if not isinstance(operation, dict):
            continue
        path = str(operation.get("path") or "")
        value = operation.get("value")
        if "bypassnotification" in path.lower() or _sends_bypass(path, value):
            return _immutable()
        if path.lower().startswith("groups") or (isinstance(value, dict) and value.get("groups")):
            return _read_only_groups()
    return None


def active_violation(resource: str, method: str, data: Any) -> SCIMException | None:
    """With ``status_changer_only``: a PUT or PATCH of a user that sets ``active`` is 400.

    Unconfirmed for any real domain: it models one that takes ``active`` only through
    ``PUT /UserStatusChanger/{id}``, the case the connector's fallback serves."""
    if resource != "User" or not isinstance(data, dict):
        return None
    if method == "PUT":
        sets = "active" in data
    else:
        sets = any(
            isinstance(op, dict)
            and (
                str(op.get("path") or "").lower() == "active"
                or (isinstance(op.get("value"), dict) and "active" in op["value"])
            )
            for op in data.get("Operations") or []
        )
    if not sets:
        return None
    return MutabilityException(detail="Set active through PUT /UserStatusChanger/{id}.")


def _sends_bypass(path: str, value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if f"{ORACLE_USER}:bypassNotification" in value:
        return value[f"{ORACLE_USER}:bypassNotification"] is not None
    extension = value if path == ORACLE_USER else value.get(ORACLE_USER)
    return isinstance(extension, dict) and extension.get("bypassNotification") is not None


def _immutable() -> SCIMException:
    return MutabilityException(
        detail="bypassNotification is immutable: send it on create only, never on an update."
    )


def _read_only_groups() -> SCIMException:
    return MutabilityException(
        detail="groups is read-only on a user: change membership on the group."
    )


def add_recovery_email(user: User[Any]) -> None:
    """A created user gets a ``type: recovery`` copy of its primary e-mail.

    Source: terraform-provider-oci, ``identity_domains_user_test.go``: a user created with one
    email is read back with ``emails.# == "2"`` (and the provider ignores changes on
    ``emails`` for that reason). Only on create: whether a later replace of ``emails`` keeps or
    re-adds it is unconfirmed, so a replace here drops what it does not name (RFC 7644).
    """
    emails = list(user.emails or [])
    primary = next((e for e in emails if e.primary), None)
    if primary is None or any(str(e.type or "") == "recovery" for e in emails):
        return
    user.emails = [*emails, Email(value=primary.value, type="recovery")]


def user_attribute(name: str) -> dict[str, Any]:
    """The snapshot's core User attribute ``name``."""
    user = next(s for s in schema_snapshot()["Resources"] if s["id"] == CORE_USER)
    return dict(next((a for a in user["attributes"] if a["name"] == name), {}))


def check_canonical(user: Resource[Any]) -> None:
    """Values outside the schema's canonical ones are 400.

    ``userType``: the snapshot's ``canonicalValues`` (SDK ``User.user_type`` "Allowed values");
    ``timezone``: the SDK names its source (``idcsCanonicalValueSourceFilter: attrName eq
    "timezones"`` in AllowedValue), not its values: the IANA zone names stand in for them."""
    user_type = getattr(user, "user_type", None)
    allowed = user_attribute("userType").get("canonicalValues") or []
    if user_type is not None and str(user_type) not in allowed:
        raise InvalidValueException(
            detail=f"userType {user_type!r} is not one of {', '.join(allowed)}."
        )
    timezone = getattr(user, "timezone", None)
    if timezone is not None and timezone not in zoneinfo.available_timezones():
        raise InvalidValueException(detail=f"timezone {timezone!r} is not a known time zone.")


def compute_read_only(user: User[Any]) -> None:
    """``phoneNumbers[].display`` is the domain's (SDK UserPhoneNumbers.display: "READ ONLY",
    mutability readOnly): what a client sends is ignored and the value shown instead."""
    for phone in user.phone_numbers or []:
        phone.display = phone.value


def check_emails(user: Resource[Any], primary_required: bool = True) -> None:
    """OCI's rule: exactly one primary e-mail (none at all where the domain's
    ``primaryEmailRequired`` is off), each with a value and a known type."""
    emails = getattr(user, "emails", None) or []
    if not emails and not primary_required:
        return
    if sum(1 for email in emails if email.primary) != 1:
        raise OciError(
            status=400,
            detail="The primary email must be specified.",
            message_id=PRIMARY_EMAIL_MESSAGE,
        )
    for email in emails:
        if not email.value or str(email.type or "") not in EMAIL_TYPES:
            raise OciError(
                status=400,
                scim_type="invalidValue",
                detail="Each email needs a value and a type among work, home, other, recovery.",
            )


MEMBER_BY_VALUE = re.compile(r'^members\[value eq "((?:[^"\\]|\\.)*)"\]$')


def member_patch(group: Group, patch_op: PatchOp[Any]) -> bool | None:
    """Apply a PATCH made only of ``add members`` and ``remove members[value eq "…"]``;
    whether it changed the group, or None (left untouched) for any other PATCH."""
    plan: list[tuple[str, list[str]]] = []
    for operation in patch_op.operations or []:
        path, op = str(operation.path or ""), str(operation.op.value if operation.op else "")
        if op == "add" and path == "members" and isinstance(operation.value, list):
            raw = [
                m.get("value") if isinstance(m, dict) else getattr(m, "value", None)
                for m in operation.value
            ]
            if not all(isinstance(v, str) for v in raw):
                return None
            plan.append(("add", [str(v) for v in raw]))
            continue
        match = MEMBER_BY_VALUE.match(path)
        if op != "remove" or not match or operation.value is not None:
            return None
        plan.append(("remove", [re.sub(r"\\(.)", r"\1", match.group(1))]))
    if not plan:
        return None
    members = {m.value: m for m in group.members or []}
    changed = False
    for op, names in plan:
        for value in names:
            if op == "add" and value not in members:
                members[value] = GroupMember(value=value, type="User")
                changed = True
            elif op == "remove" and members.pop(value, None) is not None:
                changed = True
    group.members = list(members.values()) or None
    return changed
