"""Cognito records to SCIM resources: pure functions, no AWS.

A user becomes a `User` keyed by its immutable ``sub`` (``externalId``); what SCIM's core schema
has no place for (status, verification flags, gender, birthdate, website, ``custom:*``
attributes) goes to the `CognitoUser` extension, so a target can map it. A value SCIM refuses
never raises here: a URL that is not one stays in the extension only, and a user whose email
is not an address, or who lacks the attribute chosen as user name, comes back as an
`Unreadable` that names the user and what to fix.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from scim2_models import URN, ComplexAttribute, Extension, Group, Meta, User

from provision import Kind, Unreadable, construct
from provision.construct import build, parse

UserNameFrom = Literal["username", "email", "preferred_username", "sub"]

USER_SCHEMA = "urn:provision:schemas:extension:cognito:2.0:User"
GROUP_SCHEMA = "urn:provision:schemas:extension:cognito:2.0:Group"

ADDRESS_PARTS = {
    "formatted": "formatted",
    "street_address": "streetAddress",
    "locality": "locality",
    "region": "region",
    "postal_code": "postalCode",
    "country": "country",
}


class CustomAttribute(ComplexAttribute):
    """One ``custom:<name>`` attribute of a Cognito user."""

    name: str | None = None
    value: str | None = None


class CognitoUser(Extension):
    """What Cognito holds of a user beyond SCIM's core schema."""

    __schema__ = URN(USER_SCHEMA)

    username: str | None = None
    user_status: str | None = None
    email_verified: bool | None = None
    phone_number_verified: bool | None = None
    gender: str | None = None
    birthdate: str | None = None
    website: str | None = None
    profile: str | None = None
    picture: str | None = None
    custom: list[CustomAttribute] | None = None


class CognitoGroup(Extension):
    """What Cognito holds of a group beyond SCIM's core schema."""

    __schema__ = URN(GROUP_SCHEMA)

    description: str | None = None
    precedence: int | None = None
    role_arn: str | None = None


CognitoUserResource = User[CognitoUser]
CognitoGroupResource = Group[CognitoGroup]  # type: ignore[type-arg]


def attributes_of(record: dict[str, Any]) -> dict[str, str]:
    """A user record's attributes as a dict (``Attributes`` or ``UserAttributes``)."""
    pairs = record.get("Attributes", record.get("UserAttributes")) or []
    return {a["Name"]: a.get("Value", "") for a in pairs if "Name" in a}


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.strip().lower() == "true"


def _address(text: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts = {scim: str(data[oidc]) for oidc, scim in ADDRESS_PARTS.items() if data.get(oidc)}
        if parts:
            return parts
    return {"formatted": text}


def _meta(record: dict[str, Any], resource_type: str, created: str, modified: str) -> Any:
    times = {k: record.get(v) for k, v in (("created", created), ("last_modified", modified))}
    return Meta(
        resource_type=resource_type,
        **{k: v for k, v in times.items() if isinstance(v, datetime)},
    )


def user_from_cognito(
    record: dict[str, Any], user_name_from: UserNameFrom = "username"
) -> User[Any] | Unreadable:
    """A `User` (or the `Unreadable` that says why not) from one Cognito user record."""
    attrs = attributes_of(record)
    username = str(record.get("Username") or "")
    sub = attrs.get("sub") or ""
    if not sub:
        return Unreadable(
            Kind.USER,
            username or "(no username)",
            f"Cognito user {username!r} has no 'sub' attribute",
        )
    names = {
        "username": username,
        "sub": sub,
        "email": attrs.get("email", ""),
        "preferred_username": attrs.get("preferred_username", ""),
    }
    user_name = names[user_name_from]
    if not user_name:
        return Unreadable(
            Kind.USER,
            sub,
            f"Cognito user {username!r} has no {user_name_from}, which [cognito] user_name_from "
            "makes its user name; set it in the pool, or choose another user_name_from",
        )
    given, family = attrs.get("given_name"), attrs.get("family_name")
    display = (
        attrs.get("name")
        or " ".join(p for p in (given, family) if p)
        or attrs.get("preferred_username")
        or user_name
    )
    extension = {
        "username": username,
        "userStatus": record.get("UserStatus"),
        "emailVerified": _flag(attrs.get("email_verified")),
        "phoneNumberVerified": _flag(attrs.get("phone_number_verified")),
        "gender": attrs.get("gender"),
        "birthdate": attrs.get("birthdate"),
        "website": attrs.get("website"),
        "custom": [
            {"name": k[7:], "value": v} for k, v in sorted(attrs.items()) if k.startswith("custom:")
        ]
        or None,
    }
    data: dict[str, Any] = {
        "externalId": sub,
        "userName": user_name,
        "name": {
            "formatted": attrs.get("name"),
            "givenName": given,
            "familyName": family,
            "middleName": attrs.get("middle_name"),
        },
        "displayName": display,
        "nickName": attrs.get("nickname"),
        "profileUrl": attrs.get("profile"),
        "locale": attrs.get("locale"),
        "timezone": attrs.get("zoneinfo"),
        "active": bool(record.get("Enabled", True)),
        "emails": [{"value": attrs["email"], "type": "work", "primary": True}]
        if attrs.get("email")
        else None,
        "phoneNumbers": [{"value": attrs["phone_number"], "type": "mobile", "primary": True}]
        if attrs.get("phone_number")
        else None,
        "photos": [{"value": attrs["picture"], "type": "photo", "primary": True}]
        if attrs.get("picture")
        else None,
        "addresses": [{**_address(attrs["address"]), "type": "home", "primary": True}]
        if attrs.get("address")
        else None,
        USER_SCHEMA: extension,
    }
    for _ in range(3):  # each round drops what SCIM refused, keeping it in the extension
        try:
            user = parse(CognitoUserResource, _prune(data))  # model_validate, fast when clean
        except ValidationError as err:
            fields = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
            if "emails" in fields:
                return Unreadable(
                    Kind.USER,
                    sub,
                    f"Cognito user {username!r} has email "
                    f"{attrs.get('email')!r}, which is not a valid address; fix it "
                    "in the pool",
                )
            movable = fields & {"profileUrl": "profile", "photos": "picture"}.keys()
            if not movable or fields - movable:
                problems = "; ".join(
                    f"{e['loc'][0] if e['loc'] else ''}: {e['msg']}" for e in err.errors()
                )
                return Unreadable(
                    Kind.USER,
                    sub,
                    f"Cognito user {username!r} cannot be mapped "
                    f"to SCIM ({problems}); fix the attribute in the pool",
                )
            for name in movable:
                extension["profile" if name == "profileUrl" else "picture"] = (
                    attrs.get("profile") if name == "profileUrl" else attrs.get("picture")
                )
                data[name] = None
            continue
        user.meta = _meta(record, "User", "UserCreateDate", "UserLastModifiedDate")
        return user
    raise AssertionError("unreachable: every round removes at least one field")


def group_from_cognito(record: dict[str, Any], member_subs: list[str]) -> Group:
    """A `Group` keyed by its name, with members named by their ``sub``."""
    name = str(record["GroupName"])
    group = build(
        CognitoGroupResource,
        external_id=name,
        display_name=name,
        members=construct.members(member_subs, type="User") or None,
    )
    extension = CognitoGroup(
        description=record.get("Description") or None,
        precedence=record.get("Precedence"),
        role_arn=record.get("RoleArn") or None,
    )
    if extension.model_dump(exclude_none=True, exclude={"schemas"}):
        group[CognitoGroup] = extension
    group.meta = _meta(record, "Group", "CreationDate", "LastModifiedDate")
    return group


def _prune(value: Any) -> Any:
    """``value`` without None, empty strings, empty lists and empty dicts."""
    if isinstance(value, dict):
        out = {k: p for k, v in value.items() if (p := _prune(v)) not in (None, "", [], {})}
        return out or None
    if isinstance(value, list):
        items = [p for v in value if (p := _prune(v)) not in (None, "", [], {})]
        return items or None
    return value
