"""Identity-domain payloads and reads: pure functions, no server."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from scim2_models import Email, Group, GroupMember, Name, User

from provision import Kind, Unreadable
from provision.mapping import USER_ATTRIBUTES, canonical, digest, project
from provision_oci import OciSettings
from provision_oci.mapping import (
    ORACLE_USER,
    Rules,
    escape,
    group_payload,
    keep_recovery,
    missing_email,
    normalize,
    user_from_oci,
    user_payload,
)

SECRET = "oci-client-secret-value"


def settings(**kwargs: Any) -> OciSettings:
    return OciSettings(
        **{
            "domain_url": "https://idcs-1.identity.oraclecloud.com",
            "client_id": "c",
            "client_secret": SECRET,
            **kwargs,
        }
    )


def test_filter_values_escape_quotes_and_backslashes() -> None:
    assert escape('x" or userName pr or "') == 'x\\" or userName pr or \\"'
    assert escape("back\\slash") == "back\\\\slash"


def test_filter_values_escape_control_characters_and_keep_other_text() -> None:
    # JSON string syntax, which RFC 7644's filter ABNF gives comparison values.
    assert escape("tab\there\nnew") == "tab\\there\\nnew"
    assert escape("José Ødegård") == "José Ødegård"


def test_created_users_bypass_welcome_mail_unless_asked() -> None:
    user = User(user_name="ada", emails=[Email(value="ada@example.org", primary=True)])
    assert user_payload(user, notify=False)[ORACLE_USER] == {"bypassNotification": True}
    assert user_payload(user, notify=True)[ORACLE_USER] == {"bypassNotification": False}
    assert ORACLE_USER in user_payload(user, notify=False)["schemas"]


def test_a_user_without_email_is_refused_before_any_request() -> None:
    assert "requires one primary email" in (missing_email(User(user_name="x")) or "")
    assert missing_email(User(user_name="x", emails=[Email(value="x@example.org")])) is None


def test_normalize_keeps_one_primary_work_email_and_no_invented_family_name() -> None:
    wanted = normalize(
        Kind.USER,
        {
            "userName": "cher",
            "emails": [
                {"value": "a@example.org", "type": "internet"},
                {"value": "b@example.org", "primary": True},
                {"value": "c@example.org", "primary": True},
            ],
            "urn:provision:schemas:extension:cognito:2.0:User": {"userStatus": "CONFIRMED"},
        },
    )
    assert "name" not in wanted
    assert [(e["value"], e["type"], e["primary"]) for e in wanted["emails"]] == [
        ("a@example.org", "other", False),
        ("b@example.org", "work", True),
        ("c@example.org", "work", False),
    ]
    assert "urn:provision:schemas:extension:cognito:2.0:User" not in wanted  # not storable


def test_a_family_name_from_the_source_is_kept() -> None:
    assert normalize(Kind.USER, {"userName": "ada", "name": {"familyName": "Lovelace"}})[
        "name"
    ] == {"familyName": "Lovelace"}


def test_reading_keeps_only_what_the_sync_compares() -> None:
    sent = normalize(
        Kind.USER,
        project(
            User(
                external_id="k",
                user_name="ada",
                name=Name(given_name="Ada"),
                emails=[Email(value="ada@example.org", type="work", primary=True)],
            ),
            USER_ATTRIBUTES,
        ),
    )
    held = {
        "id": "abc",
        "userName": "ada",
        "externalId": "k",
        "active": True,
        "name": {"givenName": "Ada", "formatted": None},
        "emails": [
            {
                "value": "ada@example.org",
                "type": "work",
                "primary": True,
                "secondary": False,
                "verified": False,
            }
        ],
        "meta": {"resourceType": "User"},
        "groups": [{"value": "g1"}],
        ORACLE_USER: {"isFederatedUser": False},
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ORACLE_USER],
    }
    user = user_from_oci(held)
    assert isinstance(user, User)
    assert user.id == "abc"
    read = project(user, USER_ATTRIBUTES)
    assert digest(read) == digest({k: canonical(v) for k, v in sent.items()})


def test_reading_leaves_out_the_recovery_email_the_domain_adds() -> None:
    read = user_from_oci(
        {
            "id": "u1",
            "userName": "ada",
            "emails": [
                {"value": "ada@example.org", "type": "work", "primary": True},
                {"value": "ada@example.org", "type": "recovery"},
            ],
        }
    )
    assert isinstance(read, User)
    assert [(e.value, e.type) for e in read.emails or ()] == [("ada@example.org", "work")]


def test_a_source_email_typed_recovery_is_managed_as_other() -> None:
    out = normalize(
        Kind.USER,
        {"userName": "ada", "emails": [{"value": "a@example.org", "type": "recovery"}]},
    )
    assert out["emails"] == [{"value": "a@example.org", "type": "other", "primary": True}]


def test_an_emails_patch_keeps_the_recovery_email_it_read() -> None:
    recovery = [{"value": "old@example.org", "type": "recovery"}]
    new = [{"value": "new@example.org", "type": "work", "primary": True}]
    replace = keep_recovery([{"op": "replace", "path": "emails", "value": new}], recovery)
    assert replace == [{"op": "replace", "path": "emails", "value": new + recovery}]
    remove = keep_recovery([{"op": "remove", "path": "emails"}], recovery)
    assert remove == [{"op": "replace", "path": "emails", "value": recovery}]
    title = [{"op": "replace", "path": "title", "value": "x"}]
    assert keep_recovery(title, recovery) == title
    assert keep_recovery([{"op": "remove", "path": "emails"}], []) == [
        {"op": "remove", "path": "emails"}
    ]


def test_an_unreadable_domain_user_is_reported_not_fatal() -> None:
    result = user_from_oci({"id": "x1", "userName": "bad", "emails": [{"value": "nope"}]})
    assert isinstance(result, Unreadable)
    assert result.key == "x1"
    assert "left as it is" in result.message


def test_group_payload_carries_members_inline() -> None:
    group = Group(display_name="eng", external_id="eng", members=[GroupMember(value="u1")])
    payload = group_payload(group, ["u1", "u2"])
    assert payload["members"] == [{"value": "u1", "type": "User"}, {"value": "u2", "type": "User"}]
    assert payload["externalId"] == "eng"


@pytest.mark.parametrize(
    "url",
    [
        "http://idcs-1.identity.oraclecloud.com",
        "http://10.0.0.5:8080",
        "ftp://x",
        "https://idcs-1.identity.oraclecloud.com/admin/v1",
    ],
)
def test_a_domain_url_that_is_not_https_or_has_a_path_is_refused(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(domain_url=url)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8043", "http://localhost:9", "http://[::1]:1"])
def test_plain_http_is_accepted_for_loopback_only(url: str) -> None:
    assert settings(domain_url=url).domain_url == url


def test_tier_limits() -> None:
    assert settings().limits("others") == (20, 150)
    assert settings(tier="premium").limits("others") == (90, 5000)
    assert settings(tier="premium").limits("bulk") == (5, 200)


def test_normalize_leaves_out_read_only_sub_attributes_and_refused_values() -> None:
    rules = Rules(
        read_only=frozenset({"phoneNumbers.display"}),
        canonical={"userType": ("Employee", "Contractor")},
        zones=frozenset({"Europe/Paris"}),
    )
    out = normalize(
        Kind.USER,
        {
            "userName": "ada",
            "phoneNumbers": [{"value": "+1", "type": "work", "display": "mine"}],
            "userType": "contractor",
            "timezone": "Nowhere/Else",
        },
        rules,
    )
    assert out["phoneNumbers"] == [{"value": "+1", "type": "work"}]
    assert out["userType"] == "Contractor"
    assert "timezone" not in out
