"""Cognito records to SCIM: pure functions, no server."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import User

from provision import Unreadable
from provision.mapping import USER_ATTRIBUTES, digest, project
from provision_cognito.mapping import (
    USER_SCHEMA,
    CognitoUser,
    group_from_cognito,
    user_from_cognito,
)

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def record(username: str = "jdoe", **attributes: str) -> dict[str, Any]:
    attrs = {"sub": "5f0e1a2b-0000-4000-8000-000000000001", **attributes}
    return {
        "Username": username,
        "Attributes": [{"Name": k, "Value": v} for k, v in attrs.items()],
        "UserCreateDate": WHEN,
        "UserLastModifiedDate": WHEN,
        "Enabled": True,
        "UserStatus": "CONFIRMED",
    }


def mapped(**kwargs: Any) -> User[Any]:
    user = user_from_cognito(record(**kwargs))
    assert isinstance(user, User), user
    return user


def test_sub_is_the_external_id_and_username_the_user_name() -> None:
    user = mapped()
    assert user.external_id == "5f0e1a2b-0000-4000-8000-000000000001"
    assert user.user_name == "jdoe"
    assert user.meta is not None
    assert user.meta.created == WHEN


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("username", "jdoe"),
        ("email", "j.doe@example.org"),
        ("preferred_username", "johnny"),
        ("sub", "5f0e1a2b-0000-4000-8000-000000000001"),
    ],
)
def test_user_name_comes_from_the_configured_attribute(source: Any, expected: str) -> None:
    user = user_from_cognito(record(email="j.doe@example.org", preferred_username="johnny"), source)
    assert isinstance(user, User)
    assert user.user_name == expected


def test_a_missing_user_name_attribute_is_unreadable_with_what_to_do() -> None:
    result = user_from_cognito(record(), "preferred_username")
    assert isinstance(result, Unreadable)
    assert result.key == "5f0e1a2b-0000-4000-8000-000000000001"
    assert "has no preferred_username" in result.message
    assert "user_name_from" in result.message


def test_standard_attributes_map_to_scim() -> None:
    user = mapped(
        given_name="John",
        family_name="Doe",
        middle_name="Q",
        nickname="JD",
        email="j.doe@example.org",
        phone_number="+15555550100",
        locale="en-US",
        zoneinfo="Europe/Paris",
        profile="https://example.org/jdoe",
        picture="https://example.org/jdoe.png",
        website="https://jdoe.example.org",
        email_verified="true",
        gender="x",
        birthdate="1970-01-01",
    )
    assert (user.name.given_name, user.name.family_name, user.name.middle_name) == (
        "John",
        "Doe",
        "Q",
    )
    assert user.display_name == "John Doe"
    assert user.nick_name == "JD"
    assert [(e.value, e.primary) for e in user.emails] == [("j.doe@example.org", True)]
    assert user.phone_numbers[0].value == "+15555550100"
    assert (user.locale, user.timezone) == ("en-US", "Europe/Paris")
    assert user.profile_url == "https://example.org/jdoe"
    assert user.photos[0].value == "https://example.org/jdoe.png"
    assert user.active is True
    ext = user[CognitoUser]
    assert (ext.website, ext.gender, ext.birthdate, ext.email_verified, ext.user_status) == (
        "https://jdoe.example.org",
        "x",
        "1970-01-01",
        True,
        "CONFIRMED",
    )


def test_display_name_falls_back_from_name_to_given_family_to_preferred_to_user_name() -> None:
    assert mapped(name="Dr J. Doe", given_name="J").display_name == "Dr J. Doe"
    assert mapped(given_name="J", family_name="Doe").display_name == "J Doe"
    assert mapped(preferred_username="jd").display_name == "jd"
    assert mapped().display_name == "jdoe"


def test_a_missing_family_name_is_not_invented() -> None:
    assert mapped(given_name="Cher").name.family_name is None


def test_a_json_address_is_structured_and_any_other_is_formatted() -> None:
    structured = mapped(
        address=json.dumps(
            {
                "street_address": "1 Main St",
                "locality": "Paris",
                "postal_code": "75001",
                "country": "FR",
            }
        )
    )
    address = structured.addresses[0]
    assert (address.street_address, address.locality, address.postal_code, address.country) == (
        "1 Main St",
        "Paris",
        "75001",
        "FR",
    )
    plain = mapped(address="1 Main St, Paris {not json")
    assert plain.addresses[0].formatted == "1 Main St, Paris {not json"


def test_custom_attributes_go_to_the_extension() -> None:
    user = mapped(**{"custom:department": "R&D", "custom:level": "7"})
    custom = {c.name: c.value for c in user[CognitoUser].custom}
    assert custom == {"department": "R&D", "level": "7"}
    assert USER_SCHEMA in user.model_dump(mode="json")


def test_a_disabled_user_is_inactive_and_its_status_kept() -> None:
    data = record()
    data.update(Enabled=False, UserStatus="UNCONFIRMED")
    user = user_from_cognito(data)
    assert isinstance(user, User)
    assert user.active is False
    assert user[CognitoUser].user_status == "UNCONFIRMED"


def test_an_invalid_email_makes_the_user_unreadable_with_the_value() -> None:
    result = user_from_cognito(record(email="not-an-email"))
    assert isinstance(result, Unreadable)
    assert "'not-an-email'" in result.message
    assert "fix it in the pool" in result.message


def test_urls_scim_refuses_stay_in_the_extension_only() -> None:
    user = mapped(profile="not a url", picture="also not")
    assert user.profile_url is None
    assert user.photos is None
    assert (user[CognitoUser].profile, user[CognitoUser].picture) == ("not a url", "also not")


def test_a_user_without_sub_is_unreadable() -> None:
    data = record()
    data["Attributes"] = [a for a in data["Attributes"] if a["Name"] != "sub"]
    assert isinstance(user_from_cognito(data), Unreadable)


def test_admin_get_user_records_name_their_attributes_user_attributes() -> None:
    data = record(email="a@example.org")
    data["UserAttributes"] = data.pop("Attributes")
    user = user_from_cognito(data)
    assert isinstance(user, User)
    assert user.emails[0].value == "a@example.org"


def test_a_group_is_keyed_by_its_name_with_members_by_sub() -> None:
    group = group_from_cognito(
        {"GroupName": "admins", "Description": "Admins", "Precedence": 1, "CreationDate": WHEN},
        ["sub-a", "sub-b"],
    )
    assert (group.external_id, group.display_name) == ("admins", "admins")
    assert [m.value for m in group.members] == ["sub-a", "sub-b"]
    assert (
        group.model_dump(mode="json")["urn:provision:schemas:extension:cognito:2.0:Group"][
            "description"
        ]
        == "Admins"
    )


HOSTILE = [
    "🙂" * 50,
    "x" * 2000,
    'x" or userName pr or "',
    "back\\slash",
    "שלום עולם",
    "\u202eevil",
    "\x00nul",
    "",
    " ",
    "{not json",
    "null",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_never_raise(value: str) -> None:
    attrs = {
        name: value
        for name in (
            "given_name",
            "family_name",
            "name",
            "nickname",
            "locale",
            "zoneinfo",
            "address",
            "website",
            "profile",
            "picture",
            "phone_number",
            "custom:x",
            "email",
        )
    }
    result = user_from_cognito(record(**attrs))
    assert isinstance(result, User | Unreadable)
    if isinstance(result, User):
        digest(project(result, USER_ATTRIBUTES))


attribute_names = st.sampled_from(
    [
        "email",
        "given_name",
        "family_name",
        "middle_name",
        "name",
        "nickname",
        "preferred_username",
        "phone_number",
        "locale",
        "zoneinfo",
        "profile",
        "picture",
        "website",
        "address",
        "gender",
        "birthdate",
        "email_verified",
        "custom:dept",
        "custom:level",
        "updated_at",
    ]
)


@settings(max_examples=150, deadline=None, database=None)
@given(
    attributes=st.dictionaries(attribute_names, st.text(max_size=300), max_size=12),
    username=st.text(min_size=1, max_size=128),
    enabled=st.booleans(),
    user_name_from=st.sampled_from(["username", "email", "preferred_username", "sub"]),
)
def test_any_attributes_a_pool_can_hold_map_or_are_unreadable_never_raise(
    attributes: dict[str, str], username: str, enabled: bool, user_name_from: Any
) -> None:
    data = record(username, **attributes)
    data["Enabled"] = enabled
    result = user_from_cognito(data, user_name_from)
    if isinstance(result, Unreadable):
        assert result.message
        return
    assert result.external_id == "5f0e1a2b-0000-4000-8000-000000000001"
    assert result.active is enabled
    assert result.user_name
    digest(project(result, USER_ATTRIBUTES))


def test_unconfirmed_users_and_unverified_email_names_are_unverified() -> None:
    from provision_cognito.read import unverified

    def record(status: str, verified: str) -> dict[str, Any]:
        attributes = [{"Name": "sub", "Value": "s"}, {"Name": "email_verified", "Value": verified}]
        return {"Username": "u", "UserStatus": status, "Attributes": attributes}

    assert "UNCONFIRMED" in unverified(record("UNCONFIRMED", "true"), "username")
    assert "not verified" in unverified(record("CONFIRMED", "false"), "email")
    assert unverified(record("CONFIRMED", "false"), "username") == ""  # the email is no name
    assert unverified(record("CONFIRMED", "true"), "email") == ""
