"""The domain's names, limits and schemas: Oracle's extensions, the snapshot of its
schema (``provision_oci/oci_schema.json``) and the ServiceProviderConfig."""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    EnterpriseUser,
    ETag,
    Extension,
    Filter,
    Mutability,
    Patch,
    Required,
    ResourceType,
    Returned,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    User,
)
from scim2_models import Group as ScimGroup
from scim2_models.resources.group import GroupMember

if TYPE_CHECKING:
    pass


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
