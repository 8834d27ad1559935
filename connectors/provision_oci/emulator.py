"""A local OCI IAM identity domain for tests, the demo and benchmarks, built on scim2-server.

`OciEmulator` serves, over real HTTP on 127.0.0.1 (werkzeug, threaded), what the OCI connector
talks to: the OAuth2 client-credentials token endpoint and SCIM under ``/admin/v1`` with the
Oracle schemas and rules that the live service enforces and plain SCIM does not (one primary
e-mail, immutable ``bypassNotification``, ``members`` returned on request only, 50-operation
bulk, per-tier rate limits, ``UserStatusChanger``). scim2-server does the SCIM protocol
(routing, validation, filters, PATCH, Bulk with ``bulkId`` references); this module adds the
Oracle layer around it, records every request, and injects latency, faults, lost answers and
another administrator's changes between two page reads.

Choices where the live service is unconfirmed (see the reference notes):

- A second Bulk request while one runs answers 429 (with ``Retry-After: 1`` when
  ``retry_after``); with ``limits=False`` it waits for the first one instead.
- Every error body carries the Oracle messages block; only
  ``error.identity.user.primaryEmailNotSpecified`` is a documented message id, the others are
  ``error.emulator.<scimType or status>`` so that nobody mistakes them for Oracle's.
- PATCH answers 200 with the resource (as OCI does), not scim2-server's default 204.
- Lists come sorted by ``id`` when no ``sortBy`` is given (scim2-server's order); Oracle
  documents no default order, so the connector always sends ``sortBy``.
- ``sortOrder`` is taken in either case: RFC 7644 spells it ``ascending``, Oracle's SDK sends
  ``ASCENDING``.

The connector never imports it: `provision_oci.sandbox` offers it to ``provision sandbox oci``
and the demo. To choose its tier, latency or faults, run it by hand:
``python -m provision_oci.emulator --port 8043 --tier premium --fault-rate 0.05``.
"""

from __future__ import annotations

import argparse
import base64
import functools
import io
import json
import logging
import math
import random
import re
import secrets
import threading
import time
import uuid
import zoneinfo
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast
from urllib.parse import parse_qs, unquote_plus
from wsgiref.util import application_uri

from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    Email,
    EnterpriseUser,
    ETag,
    Extension,
    Filter,
    ForbiddenException,
    GroupMembership,
    InvalidSyntaxException,
    InvalidValueException,
    Mutability,
    MutabilityException,
    NotFoundException,
    Patch,
    PayloadTooLargeException,
    Required,
    Resource,
    ResourceType,
    Returned,
    SCIMException,
    ScimProvider,
    SearchRequest,
    ServiceProviderConfig,
    Sort,
    UnauthorizedException,
    Uniqueness,
    User,
)
from scim2_models import Group as ScimGroup
from scim2_models.resources.group import GroupMember
from scim2_server.applications.wsgi import WSGIApplication
from scim2_server.bulk import BulkPlan
from scim2_server.memory import InMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.responses import ScimResponse
from scim2_server.service import ScimService
from scim2_server.storage import SearchPage

from provision.ratelimit import RateLimiter
from provision.sandbox import LoopbackServer, LoopbackService
from provision_oci.settings import TIERS

if TYPE_CHECKING:
    from scim2_models import PatchOp, ResponseParameters

log = logging.getLogger(__name__)

# OCI's names are spelled out here, not imported from the connector: an emulator that shares
# the connector's constants would agree with its typos.
PREFIX = "/admin/v1"
TOKEN_PATH = "/oauth2/v1/token"
SCOPE = "urn:opc:idm:__myscopes__"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
IDENTITY_SETTINGS = "urn:ietf:params:scim:schemas:oracle:idcs:IdentitySettings"
IDENTITY_SETTINGS_ID = "IdentitySettings"
ORACLE_MESSAGES = "urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error"
ORACLE_USER = "urn:ietf:params:scim:schemas:oracle:idcs:extension:user:User"
ORACLE_GROUP = "urn:ietf:params:scim:schemas:oracle:idcs:extension:group:Group"
STATUS_CHANGER = "urn:ietf:params:scim:schemas:oracle:idcs:UserStatusChanger"
PRIMARY_EMAIL_MESSAGE = "error.identity.user.primaryEmailNotSpecified"
EMAIL_TYPES = frozenset({"work", "home", "other", "recovery"})
MAX_BULK_OPERATIONS = 50
MAX_BULK_PAYLOAD = 1_048_576
DEFAULT_COUNT = 50
MAX_UNPAGED_MEMBERS = 10_000
"""SDK get_group/list_groups docstrings: an answer of more members throws."""
MAX_COUNT = 1000
PROTECTED = frozenset({"Users", "Groups", "Bulk", "UserStatusChanger"})
"""What the User Administrator app role opens: ``forbidden`` closes these."""

MEMBERS_PAGE = re.compile(
    r"members(?:\[|%5B)startIndex(?:=|%3D)(\d+)(?:&|%26)count(?:=|%3D)(\d+)(?:\]|%5D)",
    re.IGNORECASE,
)
"""Oracle's ``attributes=members[startIndex=1&count=N]``, encoded or not, in a raw query."""

LimitGroup = Literal["token", "others", "bulk"]


# Schemas -------------------------------------------------------------------------------------


class OracleUser(Extension):
    """Oracle's user extension: the attributes the connector sets on create."""

    __schema__ = URN(ORACLE_USER)

    bypass_notification: Annotated[bool | None, Mutability.immutable, Returned.never] = None
    """True: no welcome e-mail on create. Immutable: only a create may send it."""

    is_federated_user: bool | None = None
    """True: the user signs in through a federated identity provider."""

    creation_mechanism: str | None = None
    """How the user came to be (api, bulk, sync, ...)."""


class OracleGroup(Extension):
    """Oracle's group extension."""

    __schema__ = URN(ORACLE_GROUP)

    description: str | None = None
    """A free text describing the group."""

    creation_mechanism: str | None = None
    """How the group came to be (api, bulk, sync, ...)."""


class Group(ScimGroup):
    """An OCI group: its ``displayName`` is unique, its ``members`` come on request only."""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """A human-readable name, unique in the domain whatever its case."""

    members: Annotated[list[GroupMember] | None, Returned.request] = None
    """The users in the group: ask for them with ``attributes=members``."""


BEARER = AuthenticationScheme(
    type=AuthenticationScheme.Type.oauthbearertoken,
    name="OAuth Bearer Token",
    description="Authentication scheme using the OAuth Bearer Token Standard",
    primary=True,
)


def build_provider(max_results: int = MAX_COUNT) -> ScimProvider:
    """The domain's schemas, resource types and ServiceProviderConfig (bulk supported).

    ``max_results`` caps a page below the documented 1,000: a server may return fewer
    resources than ``count`` asks for (RFC 7644 §3.4.2.4), and tests use it to make pages
    small."""
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(
            supported=True, max_operations=MAX_BULK_OPERATIONS, max_payload_size=MAX_BULK_PAYLOAD
        ),
        filter=Filter(supported=True, max_results=max_results),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[BEARER],
    )
    return ScimProvider(
        models=[User, Group, EnterpriseUser, OracleUser, OracleGroup],
        resource_types=[
            ResourceType.from_resource(User[EnterpriseUser | OracleUser]),
            ResourceType.from_resource(cast(Any, Group)[OracleGroup]),
        ],
        config=config,
    )


@functools.cache
def schema_snapshot() -> dict[str, Any]:
    """Oracle's schemas as the SDK's models describe them (``provision_oci/oci_schema.json``)."""
    text = resources.files("provision_oci").joinpath("oci_schema.json").read_text()
    return dict(json.loads(text))


def list_response(found: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(found),
        "itemsPerPage": len(found),
        "startIndex": 1,
        "Resources": found,
    }


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


# Storage -------------------------------------------------------------------------------------


class OciStorage(InMemoryStorage):
    """scim2-server's in-memory storage with the domain's rules on users and groups.

    It checks the primary e-mail and the group members on every write (create, PUT, PATCH,
    bulk alike: they all end here), keeps membership both ways (``groups`` on users is
    computed, a deleted user leaves its groups) and fills members' ``display`` and ``$ref``.
    Seed it over HTTP: the ``resources`` setter bypasses these indexes.
    """

    def __init__(self, on_user_created: Callable[[Resource[Any]], None]) -> None:
        super().__init__()
        self.on_user_created = on_user_created
        self.primary_email_required = True
        """The domain's IdentitySettings.primaryEmailRequired."""
        self.user_display: dict[str, str] = {}
        self.group_display: dict[str, str] = {}
        self.memberships: dict[str, set[str]] = {}
        """User id → ids of the groups it is a member of."""
        self.group_members: dict[str, set[str]] = {}
        self.group_type: ResourceType | None = None

    # Writes
    def create(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        with self.lock:
            resource = self._checked(resource_type, resource)
            if resource_type.name == "User":
                add_recovery_email(cast(User[Any], resource))
            created = super().create(resource_type, resource)
            self._index(created)
            if resource_type.name == "User":
                self.on_user_created(created)
            return self._decorate(created)

    def update(
        self,
        resource_type: ResourceType,
        resource: Resource[Any],
        *,
        expected_version: str | None = None,
    ) -> Resource[Any]:
        with self.lock:
            resource = self._checked(resource_type, resource)
            updated = super().update(resource_type, resource, expected_version=expected_version)
            self._index(updated)
            return self._decorate(updated)

    def delete(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        expected_version: str | None = None,
    ) -> None:
        with self.lock:
            super().delete(resource_type, resource_id, expected_version=expected_version)
            if resource_type.name == "User":
                self.user_display.pop(resource_id, None)
                for group_id in sorted(self.memberships.pop(resource_id, set())):
                    self._drop_member(group_id, resource_id)
            else:
                self.group_display.pop(resource_id, None)
                for user_id in self.group_members.pop(resource_id, set()):
                    self.memberships.get(user_id, set()).discard(resource_id)

    # Reads
    def get(
        self,
        resource_type: ResourceType,
        resource_id: str,
        *,
        response_parameters: ResponseParameters[Any] | None = None,
    ) -> Resource[Any]:
        with self.lock:
            return self._decorate(super().get(resource_type, resource_id))

    def search(
        self,
        resource_types: list[ResourceType],
        search_request: SearchRequest[Any],
        *,
        position: Any = None,
    ) -> SearchPage:
        with self.lock:
            page = super().search(resource_types, search_request, position=position)
            page.resources = [self._decorate(resource) for resource in page.resources]
            return page

    def stored(self, name: str) -> list[Resource[Any]]:
        """The resources of one type, decorated as a GET shows them, oldest first."""
        with self.lock:
            found = [r for r in self.resources if r.meta and r.meta.resource_type == name]
            found.sort(key=lambda r: (str(r.meta.created if r.meta else ""), str(r.id)))
            return [self._decorate(r.model_copy(deep=True)) for r in found]

    # Rules
    def _checked(self, resource_type: ResourceType, resource: Resource[Any]) -> Resource[Any]:
        resource = resource.model_copy(deep=True)
        if resource_type.name == "User":
            check_emails(resource, self.primary_email_required)
            check_canonical(resource)
            compute_read_only(cast(User[Any], resource))
            cast(User[Any], resource).groups = None  # computed on read
        else:
            group = cast(Group, resource)
            group.members = self._checked_members(group.members)
        return resource

    def _checked_members(self, members: list[GroupMember] | None) -> list[GroupMember] | None:
        """Members as stored: known users only, once each, without what a read fills in."""
        kept: dict[str, GroupMember] = {}
        for member in members or []:
            if member.value not in self.user_display:
                raise InvalidValueException(
                    detail=f"Member {member.value!r} is not a user of this domain."
                )
            if member.type not in (None, "User"):
                raise InvalidValueException(detail="Only users can be members of a group.")
            kept.setdefault(member.value, GroupMember(value=member.value, type="User"))
        return list(kept.values()) or None

    def _index(self, resource: Resource[Any]) -> None:
        rid = cast(str, resource.id)
        if resource.meta and resource.meta.resource_type == "User":
            user = cast(User[Any], resource)
            self.user_display[rid] = user.display_name or user.user_name or rid
            return
        group = cast(Group, resource)
        self.group_display[rid] = group.display_name or rid
        members = {cast(str, m.value) for m in group.members or []}
        for user_id in self.group_members.get(rid, set()) - members:
            self.memberships.get(user_id, set()).discard(rid)
        for user_id in members:
            self.memberships.setdefault(user_id, set()).add(rid)
        self.group_members[rid] = members

    def _drop_member(self, group_id: str, user_id: str) -> None:
        """Take a deleted user out of a group, as OCI does."""
        group_type = cast(ResourceType, self.group_type)
        group = cast(Group, InMemoryStorage.get(self, group_type, group_id))
        group.members = [m for m in group.members or [] if m.value != user_id] or None
        InMemoryStorage.update(self, group_type, group)
        self.group_members.get(group_id, set()).discard(user_id)

    def _decorate(self, resource: Resource[Any]) -> Resource[Any]:
        """Fill in what a read shows and the storage does not keep."""
        if resource.meta and resource.meta.resource_type == "User":
            user = cast(User[Any], resource)
            group_ids = sorted(self.memberships.get(cast(str, user.id), set()))
            user.groups = [
                GroupMembership(
                    value=gid,
                    ref=f"Groups/{gid}",
                    display=self.group_display.get(gid),
                    type="direct",
                )
                for gid in group_ids
            ] or None
            return user
        group = cast(Group, resource)
        if group.members:
            group.members = [
                GroupMember(
                    value=m.value,
                    ref=f"Users/{m.value}",
                    type="User",
                    display=self.user_display.get(cast(str, m.value)),
                )
                for m in group.members
            ]
        return group


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


# SCIM service and application ---------------------------------------------------------------


class OciService(ScimService):
    """scim2-server's protocol with OCI's differences: default count 50, PATCH answers 200,
    bulk over 50 operations is ``tooMany``, updates refuse immutable and read-only values,
    and bulk can be switched off while running."""

    def __init__(self, emulator: OciEmulator, provider: ScimProvider) -> None:
        self.emulator = emulator
        self.message_ids: dict[int, str] = {}
        """Oracle message ids of failed bulk operations, by id() of their Error, until the
        bulk response is built (its model has no room for the Oracle block)."""
        super().__init__(provider)

    @property
    def config(self) -> ServiceProviderConfig:
        if self.emulator.bulk:
            return self._config
        return self._config.model_copy(
            update={"bulk": Bulk(supported=False, max_operations=0, max_payload_size=0)}
        )

    @config.setter
    def config(self, value: ServiceProviderConfig) -> None:
        self._config = value

    def read_search(
        self, resource_types: list[ResourceType], payload: Any
    ) -> tuple[SearchRequest[Any], Any]:
        if isinstance(payload, dict) and not any(k.lower() == "count" for k in payload):
            payload = {**payload, "count": DEFAULT_COUNT}
        if isinstance(payload, dict):
            # RFC 7644 §3.4.2.3 spells sortOrder "ascending"/"descending"; Oracle's SDK
            # (IdentityDomainsClient.list_users, oci 2.189) allows only "ASCENDING" and
            # "DESCENDING" and sends them as they are: the domain takes either spelling.
            payload = {
                k: v.lower() if k.lower() == "sortorder" and isinstance(v, str) else v
                for k, v in payload.items()
            }
        return super().read_search(resource_types, payload)

    def search_response(
        self,
        base_url: str,
        resource_types: list[ResourceType],
        page: SearchPage,
        search_request: SearchRequest[Any],
    ) -> ScimResponse:
        """scim2-server re-dumps the page through ListResponse without the request's
        ``attributes``, which drops ``returned: request`` ones (group ``members``): put the
        resources back as the request asked for them."""
        response = super().search_response(base_url, resource_types, page, search_request)
        if search_request.attributes and response.body is not None:
            response.body["Resources"] = [
                self.publish(base_url, resource).model_dump(
                    scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=search_request
                )
                for resource in page.resources
            ]
        return response

    def read_replacement(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> Resource[Any]:
        self._check_update(resource_type, "PUT", body)
        return super().read_replacement(resource_type, body, content_type)

    def read_patch(
        self, resource_type: ResourceType, body: bytes, content_type: str | None
    ) -> PatchOp[Any]:
        self._check_update(resource_type, "PATCH", body)
        return super().read_patch(resource_type, body, content_type)

    def _check_update(self, resource_type: ResourceType, method: str, body: bytes) -> None:
        try:
            data = json.loads(body or b"null")
        except ValueError as exception:
            raise InvalidSyntaxException(detail=str(exception)) from exception
        violation = update_violation(str(resource_type.name), method, data)
        if violation is None and self.emulator.status_changer_only:
            violation = active_violation(str(resource_type.name), method, data)
        if violation is not None:
            raise violation

    def apply_patch(
        self, current: Resource[Any], patch_op: PatchOp[Any], conditions: Any
    ) -> Resource[Any] | None:
        """scim2-server's PATCH, with a fast path for member adds and removes by value.

        scim2-models evaluates each ``members[value eq "…"]`` filter against every member
        (a PATCH of 1,000 removes on a group of 1,000 took 15 s); `member_patch` applies the
        same operations with the same outcome (an add skips present members, a remove that
        matches nothing changes nothing) through a set. Any other PATCH goes the usual way.
        """
        if isinstance(current, Group):
            fast = member_patch(current, patch_op)
            if fast is not None:
                self.check_preconditions(current, "PATCH", conditions)
                return current if fast else None
        return super().apply_patch(current, patch_op, conditions)

    def patch_response(
        self,
        base_url: str,
        resource: Resource[Any],
        response_parameters: ResponseParameters[Any],
    ) -> ScimResponse:
        return self.resource_response(
            self.publish(base_url, resource),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
            response_parameters,
        )

    def read_bulk(self, body: bytes, content_type: str | None) -> BulkPlan:
        try:
            plan = super().read_bulk(body, content_type)
        except PayloadTooLargeException as exception:
            if "maxOperations" in exception.detail:
                raise OciError(
                    status=413, scim_type="tooMany", detail=exception.detail
                ) from exception
            raise
        raw = json.loads(body)
        raw_operations = raw.get("Operations") if isinstance(raw, dict) else None
        for operation, sent in zip(plan.operations, raw_operations or [], strict=False):
            if not isinstance(sent, dict):
                continue
            method = str(sent.get("method", "")).upper()
            resource = "User" if str(sent.get("path", "")).lstrip("/").startswith("Users") else ""
            if method in ("PUT", "PATCH"):
                violation = update_violation(resource, method, sent.get("data"))
                if violation is None and self.emulator.status_changer_only:
                    violation = active_violation(resource, method, sent.get("data"))
                if violation is not None:
                    operation.response = violation.to_error()
                    operation.status = violation.status
        return plan

    def bulk_failure(self, outcome: dict[str, Any], exception: Exception) -> dict[str, Any]:
        failure = super().bulk_failure(outcome, exception)
        if isinstance(exception, OciError) and exception.message_id:
            self.message_ids[id(failure["response"])] = exception.message_id
        return failure

    def bulk_response(self, plan: BulkPlan) -> ScimResponse:
        message_ids = [
            self.message_ids.pop(id(outcome.get("response")), None) for outcome in plan.outcomes()
        ]
        response = super().bulk_response(plan)
        assert response.body is not None
        for outcome, message_id in zip(
            response.body.get("Operations", []), message_ids, strict=False
        ):
            if isinstance(outcome.get("response"), dict):
                add_oracle_block(outcome["response"], message_id)
        return response


@dataclass
class OciRequest(ScimRequest):
    """A SCIM request, with Oracle's members paging taken out of ``attributes``."""

    members_page: tuple[int, int] | None = None


class OciApplication(WSGIApplication):
    """scim2-server's WSGI application mounted at ``/admin/v1``, behind OCI's bearer tokens,
    app roles, ``UserStatusChanger`` and the one-bulk-at-a-time rule."""

    def __init__(self, emulator: OciEmulator, storage: OciStorage, service: OciService) -> None:
        super().__init__(storage, service.provider, service)
        self.emulator = emulator
        self.storage: OciStorage = storage
        self.bulk_lock = threading.Lock()

    @staticmethod
    def get_base_url(environ: dict[str, Any]) -> str:
        return application_uri(environ).rstrip("/")

    def read_request(self, environ: dict[str, Any]) -> OciRequest:
        query = environ.get("QUERY_STRING", "")
        page = MEMBERS_PAGE.search(query)
        if page:
            environ["QUERY_STRING"] = MEMBERS_PAGE.sub("members", query)
        request = super().read_request(environ)
        values = {f.name: getattr(request, f.name) for f in fields(ScimRequest)}
        members_page = (int(page.group(1)), int(page.group(2))) if page else None
        return OciRequest(**values, members_page=members_page)

    def needs_auth(self, request: ScimRequest) -> bool:
        return True  # OCI wants a token even for ServiceProviderConfig

    def check_auth(self, request: ScimRequest) -> None:
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not self.emulator._valid_token(token.strip()):
            raise UnauthorizedException(detail="Invalid or expired access token.")

    def dispatch_request(self, request: ScimRequest) -> ScimResponse:
        self.check_auth(request)
        head = request.path.strip("/").split("/")[0]
        if self.emulator.forbidden and head in PROTECTED:
            raise ForbiddenException(
                detail="The client's app roles do not allow this operation: "
                "grant it the User Administrator app role."
            )
        if head == "UserStatusChanger":
            return self.change_status(request)
        if head == "ServiceProviderConfig":
            return self.service_provider_config(request)
        if head == "IdentitySettings" and request.method.upper() == "GET":
            return self.identity_settings(request)
        if head == "Schemas" and request.method.upper() == "GET":
            return self.schemas(request)
        if head == "Bulk" and request.method.upper() == "POST":
            return self.bulk(request)
        return self.handler.handle(request)

    def service_provider_config(self, request: ScimRequest) -> ScimResponse:
        """The configuration as a resource, or as a ListResponse (Oracle's REST API page calls
        this GET "Search Service Provider Configs"), or refused (a client without the role)."""
        form = self.emulator.service_provider_config
        if form == "forbidden":
            raise ForbiddenException(
                detail="The client's app roles do not allow reading ServiceProviderConfig."
            )
        response = self.handler.handle(request)
        if form == "list" and response.body is not None and int(response.status) == 200:
            response.body = list_response([response.body])
        return response

    def identity_settings(self, request: ScimRequest) -> ScimResponse:
        """``GET /IdentitySettings`` (a ListResponse of the one setting) or ``…/{id}``.

        SDK ``list_identity_settings``/``get_identity_setting``, model ``IdentitySetting``
        (``primary_email_required``); the id and schema URN are the emulator's choice."""
        setting = {
            "schemas": [IDENTITY_SETTINGS],
            "id": IDENTITY_SETTINGS_ID,
            "primaryEmailRequired": self.storage.primary_email_required,
        }
        segments = request.path.strip("/").split("/")
        if len(segments) == 2:
            if segments[1] != IDENTITY_SETTINGS_ID:
                raise NotFoundException(detail=f"No IdentitySetting {segments[1]!r}.")
            return ScimResponse(HTTPStatus.OK, setting)
        return ScimResponse(HTTPStatus.OK, list_response([setting]))

    def schemas(self, request: ScimRequest) -> ScimResponse:
        """``GET /Schemas`` and ``/Schemas/{urn}`` from the snapshot of Oracle's schema
        (``oci_schema.json``, generated from the SDK's models by tools/oci_schema_snapshot.py):
        the connector learns from the same data the emulator enforces."""
        found = schema_snapshot()["Resources"]
        segments = request.path.strip("/").split("/", 1)
        if len(segments) == 2:
            schema = next((s for s in found if s["id"] == segments[1]), None)
            if schema is None:
                raise NotFoundException(detail=f"No schema {segments[1]!r} in this domain.")
            return ScimResponse(HTTPStatus.OK, schema)
        return ScimResponse(HTTPStatus.OK, list_response(found))

    def bulk(self, request: ScimRequest) -> ScimResponse:
        """Run one bulk request at a time, as the domain runs one Import/Bulk/Export job."""
        if not self.bulk_lock.acquire(blocking=not self.emulator.limits):
            self.emulator._count_throttled()
            headers = {"Retry-After": "1"} if self.emulator.retry_after else {}
            body = scim_error(429, "Another bulk request is running in this domain.")
            return ScimResponse(HTTPStatus.TOO_MANY_REQUESTS, body, headers)
        try:
            return self.handler.handle(request)
        finally:
            self.bulk_lock.release()

    def change_status(self, request: ScimRequest) -> ScimResponse:
        """``PUT /UserStatusChanger/{id}``: Oracle's way to (de)activate a user."""
        segments = request.path.strip("/").split("/")
        if request.method.upper() != "PUT" or len(segments) != 2:
            raise NotFoundException(detail="Use PUT /admin/v1/UserStatusChanger/{id}.")
        body = self.service.decode_body(request.body, request.header("Content-Type"))
        if not isinstance(body, dict) or STATUS_CHANGER not in (body.get("schemas") or []):
            raise InvalidValueException(detail=f"The schemas must hold {STATUS_CHANGER}.")
        if not isinstance(body.get("active"), bool):
            raise InvalidValueException(detail="active must be true or false.")
        user_type = self.service.get_resource_type("User")
        with self.service.provider, self.storage.operation():
            user = cast(User[Any], self.storage.get(user_type, segments[1]))
            user.active = body["active"]
            self.storage.update(user_type, user)
        return ScimResponse(HTTPStatus.OK, {**body, "id": segments[1]})

    def handle_exception(self, request: ScimRequest, exception: Exception) -> ScimResponse:
        response = super().handle_exception(request, exception)
        if response.body is not None:
            add_oracle_block(response.body, getattr(exception, "message_id", None))
        return response

    def finalize_response(self, request: ScimRequest, response: ScimResponse) -> ScimResponse:
        response = super().finalize_response(request, response)
        page = getattr(request, "members_page", None)
        if not response.body:
            return response
        limit = self.emulator.max_unpaged_members
        for resource in [response.body, *response.body.get("Resources", [])]:
            if not isinstance(resource, dict) or not isinstance(resource.get("members"), list):
                continue
            if page:
                start, count = page
                resource["members"] = resource["members"][start - 1 : start - 1 + count]
            elif len(resource["members"]) > limit:
                # SDK IdentityDomainsClient.get_group and list_groups (oci 2.189): "The Group
                # SEARCH and GET operations on users and members will throw an exception if
                # the response has more than 10,000 members. To avoid the exception, use the
                # pagination filter to GET or SEARCH group members." Status and body of that
                # exception are undocumented: 400 tooMany is the emulator's choice.
                detail = (
                    f"Group {resource.get('displayName') or resource.get('id')!r} has more "
                    f"than {limit} members: read them with the pagination filter "
                    "attributes=members[startIndex=N&count=M]."
                )
                body = scim_error(400, detail, "tooMany")
                return ScimResponse(HTTPStatus.BAD_REQUEST, body, {})
        return response


# Rate limits ---------------------------------------------------------------------------------


# The emulator --------------------------------------------------------------------------------

Reply = tuple[int, dict[str, str], dict[str, Any] | None]


@dataclass(eq=False)
class PageAction:
    """What `OciEmulator.after_page` runs once, after one page of one resource type."""

    resource: str
    start_index: int
    action: Callable[[], object]

    def matches(self, resource: str, start: str) -> bool:
        return resource == self.resource and start.strip() == str(self.start_index)


class OciEmulator(LoopbackService):
    """An OCI identity domain on 127.0.0.1; a context manager.

    Attributes a test may change while it runs: ``latency_ms``, ``fault_rate``,
    ``fail_after_commit_rate``, ``retry_after``, ``tier`` (resets the budgets), ``limits``,
    ``bulk``, ``forbidden``; ``after_page()`` lets another administrator act between two
    page reads. What it saw: ``counts()``, ``welcome_mails``, ``throttled``,
    ``faults_sent``, ``lost_answers``, ``users()``, ``groups()``.
    """

    def __init__(
        self,
        tier: str = "free",
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        seed: int = 0,
        retry_after: bool = True,
        client_id: str = "provision-test",
        client_secret: str = "provision-test-secret",
        token_ttl: int = 3600,
        bulk: bool = True,
        limits: bool = True,
        forbidden: bool = False,
        fail_after_commit_rate: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: tuple[str, str] | None = None,
        max_results: int = MAX_COUNT,
        max_unpaged_members: int = MAX_UNPAGED_MEMBERS,
    ) -> None:
        self.latency_ms = latency_ms
        self.max_unpaged_members = max_unpaged_members
        self.service_provider_config: Literal["resource", "list", "forbidden"] = "resource"
        self.status_changer_only = False
        """True: a PUT or PATCH of a user's ``active`` is 400 (see `active_violation`)."""
        """How ``GET /ServiceProviderConfig`` answers: the resource, a ListResponse, or 403."""
        """Members an answer may carry without the pagination filter; more: 400 tooMany."""
        self.fault_rate = fault_rate
        self.fail_after_commit_rate = fail_after_commit_rate
        self.retry_after = retry_after
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.bulk = bulk
        self.limits = limits
        self.forbidden = forbidden
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        """(certificate file, key file): serve https, as a real domain does."""
        self.welcome_mails = 0
        """Users created without ``bypassNotification: true``: each got a welcome e-mail."""
        self.throttled = 0
        """429 answers sent."""
        self.faults_sent = 0
        """500/503 answers injected by ``fault_rate`` (nothing was done)."""
        self.lost_answers = 0
        """Creates applied but answered 502 by ``fail_after_commit_rate``."""
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._counts: Counter[str] = Counter()
        self._accepts: Counter[str] = Counter()
        self._tokens: dict[str, float] = {}
        self._tier = ""
        self._limiters: dict[LimitGroup, RateLimiter] = {}
        self._page_actions: list[PageAction] = []
        self.tier = tier
        self.storage = OciStorage(self._user_created)
        self.service = OciService(self, build_provider(max_results))
        self.storage.group_type = self.service.get_resource_type("Group")
        self.app = OciApplication(self, self.storage, self.service)

    def make_server(self) -> LoopbackServer:
        return LoopbackServer(
            self.wsgi,
            name="oci-emulator",
            host=self.host,
            port=self.port,
            ssl_context=self.ssl_context,
        )

    # Settings
    @property
    def primary_email_required(self) -> bool:
        """IdentitySettings.primaryEmailRequired: off, users without an email are created."""
        return self.storage.primary_email_required

    @primary_email_required.setter
    def primary_email_required(self, value: bool) -> None:
        self.storage.primary_email_required = value

    @property
    def tier(self) -> str:
        """The domain type, which sets the rate limits; setting it refills every budget."""
        return self._tier

    @tier.setter
    def tier(self, tier: str) -> None:
        if tier not in TIERS:
            raise ValueError(f"Unknown tier {tier!r}. Choose one of: {', '.join(TIERS)}.")
        with self._lock:
            self._tier = tier
            self._limiters = {
                cast(LimitGroup, group): RateLimiter(*rate) for group, rate in TIERS[tier].items()
            }

    # Someone else at work
    def after_page(self, resource: str, start_index: int, action: Callable[[], object]) -> None:
        """Once: run ``action`` when a list of ``resource`` ("Users", "Groups") from
        ``start_index`` has been read, before that page is answered.

        A client asks for the next page only after this one's answer, so ``action`` (another
        administrator deleting or creating something) falls exactly between two page reads.
        Filtered lists count too; a list without ``startIndex`` starts at 1. Actions
        registered for the same page run one per read of it, in the order given.
        """
        with self._lock:
            self._page_actions.append(PageAction(resource.strip("/"), start_index, action))

    def _after_page(self, method: str, path: str, query: str) -> None:
        if method != "GET" or not self._page_actions:
            return
        resource = path[len(PREFIX) :].strip("/")
        params = parse_qs(query)
        start = next((v[0] for k, v in params.items() if k.lower() == "startindex"), "1")
        with self._lock:
            due = next((a for a in self._page_actions if a.matches(resource, start)), None)
            if due is None:
                return
            self._page_actions.remove(due)
        try:
            due.action()
        except Exception:
            log.exception("The action after page %s of %s failed", start, resource)

    # What was asked and stored
    def counts(self) -> Counter[str]:
        """Requests received, by ``"METHOD ResourceType"`` (``"POST token"`` for tokens)."""
        with self._lock:
            return Counter(self._counts)

    def accept_headers(self) -> Counter[str]:
        """The ``Accept`` headers of the SCIM requests received, counted."""
        with self._lock:
            return Counter(self._accepts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def users(self) -> list[dict[str, Any]]:
        """The stored users as a GET returns them (with ``groups``), oldest first."""
        return self._dump("User")

    def groups(self) -> list[dict[str, Any]]:
        """The stored groups as a GET returns them, with their members, oldest first."""
        return self._dump("Group")

    def _dump(self, name: str) -> list[dict[str, Any]]:
        base_url = f"{self.url}{PREFIX}" if self._server else PREFIX
        resource_type = self.service.get_resource_type(name)
        with self.service.provider:
            members = self.service.read_response_parameters(
                resource_type, {"attributes": "members"}
            )
            dumped = []
            for resource in self.storage.stored(name):
                published = self.service.publish(base_url, resource)
                body = published.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
                if name == "Group":
                    body.update(
                        published.model_dump(
                            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=members
                        )
                    )
                dumped.append(body)
            return dumped

    # Tokens
    def issue_token(self) -> str:
        """A valid access token, as the token endpoint grants them."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
        return token

    def admin_headers(self) -> dict[str, str]:
        """What an administrator's own tool sends: for tests that act as one, by hand."""
        return {"Authorization": f"Bearer {self.issue_token()}"}

    def revoke_tokens(self) -> None:
        """Every token issued so far is refused (401) from now on."""
        with self._lock:
            self._tokens.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far has expired (401), as after ``token_ttl`` seconds."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def _valid_token(self, token: str) -> bool:
        with self._lock:
            return self._tokens.get(token, 0.0) > time.monotonic()

    def _token(self, method: str, environ: dict[str, Any], body: bytes) -> Reply:
        """``POST /oauth2/v1/token``: client credentials with HTTP Basic, urlencoded parts."""
        if method != "POST":
            return 405, {"Allow": "POST"}, {"error": "invalid_request"}
        scheme, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        if (
            scheme.lower() != "basic"
            or unquote_plus(client_id) != self.client_id
            or unquote_plus(secret) != self.client_secret
        ):
            description = "Client authentication failed: check the client id and secret."
            return 401, {}, {"error": "invalid_client", "error_description": description}
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            description = "Only grant_type=client_credentials is supported."
            return 400, {}, {"error": "unsupported_grant_type", "error_description": description}
        if SCOPE not in form.get("scope", "").split():
            description = f"Ask for scope {SCOPE}."
            return 400, {}, {"error": "invalid_scope", "error_description": description}
        token = self.issue_token()
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return 200, {"Cache-Control": "no-store"}, answer

    # Request flow
    def _user_created(self, user: Resource[Any]) -> None:
        extension = user.model_dump(scim_ctx=None, by_alias=True).get(ORACLE_USER) or {}
        if extension.get("bypassNotification") is not True:
            with self._lock:
                self.welcome_mails += 1

    def _count_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def _draw(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Record, delay, maybe fail or throttle, then answer: token endpoint or SCIM."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "")
        with self._lock:
            self._counts[count_key(method, path)] += 1
            if path.startswith(f"{PREFIX}/"):
                self._accepts[environ.get("HTTP_ACCEPT", "")] += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        status, headers, data = self._answer(environ, method, path, body)
        headers = {"opc-request-id": uuid.uuid4().hex, **headers}
        payload = b"" if data is None else json.dumps(data).encode()
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(payload))
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [payload]

    def _answer(self, environ: dict[str, Any], method: str, path: str, body: bytes) -> Reply:
        if self._draw(self.fault_rate):
            with self._lock:
                self.faults_sent += 1
                status = self._random.choice((500, 503))
            return status, {}, scim_error(status, "Injected fault: nothing was done.")
        group = limit_group(path)
        if group is None:
            return 404, {}, scim_error(404, f"Nothing is served at {path!r}.")
        if self.limits:
            with self._lock:
                wait = self._limiters[group].try_acquire()
            if wait:
                self._count_throttled()
                headers = {"Retry-After": str(max(1, math.ceil(wait)))} if self.retry_after else {}
                return 429, headers, scim_error(429, "Too many requests: slow down.")
        if group == "token":
            return self._token(method, environ, body)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX
        environ["PATH_INFO"] = path[len(PREFIX) :]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        query = environ.get("QUERY_STRING", "")
        response = self.app.serve(self.app.read_request(environ))
        self._after_page(method, path, query)
        if (
            response.status == HTTPStatus.CREATED
            and method == "POST"
            and path.rstrip("/") in (f"{PREFIX}/Users", f"{PREFIX}/Groups")
            and self._draw(self.fail_after_commit_rate)
        ):
            with self._lock:
                self.lost_answers += 1
            return 502, {}, scim_error(502, "Bad gateway: the request may have been applied.")
        return int(response.status), dict(response.headers), response.body


def limit_group(path: str) -> LimitGroup | None:
    """The rate-limit budget a path draws on; None: nothing is served there."""
    if path.rstrip("/") == TOKEN_PATH:
        return "token"
    if path == PREFIX or path.startswith(f"{PREFIX}/"):
        return "bulk" if path.rstrip("/") == f"{PREFIX}/Bulk" else "others"
    return None


def count_key(method: str, path: str) -> str:
    """``"POST Users"``, ``"POST Users/.search"``, ``"POST token"``… for ``counts()``."""
    if path.rstrip("/") == TOKEN_PATH:
        return f"{method} token"
    if path.startswith(f"{PREFIX}/"):
        segments = path[len(PREFIX) + 1 :].strip("/").split("/")
        if len(segments) > 1 and segments[1] == ".search":
            return f"{method} {segments[0]}/.search"
        return f"{method} {segments[0]}"
    return f"{method} {path}"


# Command -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Serve an emulated domain until Ctrl-C, for trying the connector by hand."""
    parser = argparse.ArgumentParser(
        prog="python -m provision_oci.emulator",
        description="A local OCI IAM identity domain (SCIM + OAuth2) for tests and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8043)
    parser.add_argument("--tier", default="free", choices=sorted(TIERS))
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fail-after-commit-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--client-id", default="provision-test")
    parser.add_argument("--client-secret", default="provision-test-secret")
    parser.add_argument("--token-ttl", type=int, default=3600)
    parser.add_argument("--no-limits", action="store_true", help="disable the rate limits")
    parser.add_argument("--no-retry-after", action="store_true", help="429 without Retry-After")
    parser.add_argument("--no-bulk", action="store_true", help="announce and answer no Bulk")
    args = parser.parse_args(argv)
    emulator = OciEmulator(
        tier=args.tier,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        seed=args.seed,
        retry_after=not args.no_retry_after,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        bulk=not args.no_bulk,
        limits=not args.no_limits,
        fail_after_commit_rate=args.fail_after_commit_rate,
        host=args.host,
        port=args.port,
    )
    with emulator:
        print(f"OCI identity domain emulator ({args.tier}) at {emulator.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopped", flush=True)


if __name__ == "__main__":
    main()
