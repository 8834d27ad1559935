"""`provision.construct.build` and the engine's field-by-field projection, against pydantic.

Each fast path is checked against the slow one it replaces: objects built without validation
must equal validated ones and dump the same JSON, and projecting by reading fields must give
what serialising the whole object gave.
"""

from __future__ import annotations

import enum
import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scim2_models import (
    Address,
    Email,
    EnterpriseUser,
    Group,
    GroupMember,
    Manager,
    Name,
    PhoneNumber,
    Photo,
    User,
)

from provision import construct
from provision.construct import build, members, parse
from provision.mapping import USER_ATTRIBUTES, canonical, encode, project, slots

Enterprise = User[EnterpriseUser]
PROPERTY = settings(max_examples=150, deadline=None, database=None)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
MAYBE = st.one_of(st.none(), TEXT)
EMAILS = st.sampled_from(["ada@example.org", "b.c+d@mail.example.com", "x@y.io"])
KINDS = st.sampled_from([None, "work", "home", "other"])
URLS = st.sampled_from(["https://example.org/a.png", "http://x.example/p?q=1"])


@st.composite
def fields(draw: st.DrawFn) -> dict[str, Any]:
    """The Python field values of a user: nested parts as dicts of their own fields."""
    out: dict[str, Any] = {
        "external_id": draw(MAYBE),
        "user_name": draw(TEXT),
        "display_name": draw(MAYBE),
        "title": draw(MAYBE),
        "active": draw(st.sampled_from([None, True, False])),
    }
    if draw(st.booleans()):
        out["name"] = {"given_name": draw(MAYBE), "family_name": draw(MAYBE)}
    if draw(st.booleans()):
        primary = st.sampled_from([None, True, False])
        out["emails"] = [
            {"value": draw(EMAILS), "type": draw(KINDS), "primary": draw(primary)}
            for _ in range(draw(st.integers(1, 3)))
        ]
    if draw(st.booleans()):
        out["phone_numbers"] = [{"value": draw(TEXT), "type": "mobile", "primary": True}]
    if draw(st.booleans()):
        out["photos"] = [{"value": draw(URLS), "type": "photo"}]
    if draw(st.booleans()):
        out["addresses"] = [{"locality": draw(MAYBE), "country": "FR", "type": "home"}]
    if draw(st.booleans()):
        out["profile_url"] = draw(URLS)
    if draw(st.booleans()):
        out["EnterpriseUser"] = {
            "employee_number": draw(MAYBE),
            "manager": {"value": draw(TEXT)} if draw(st.booleans()) else None,
        }
    return out


PARTS = {
    "name": Name,
    "emails": Email,
    "phone_numbers": PhoneNumber,
    "photos": Photo,
    "addresses": Address,
    "EnterpriseUser": EnterpriseUser,
}


def built(values: dict[str, Any]) -> User[EnterpriseUser]:
    out: dict[str, Any] = {}
    for name, value in values.items():
        part = PARTS.get(name)
        if part is None:
            out[name] = value
        elif isinstance(value, list):
            out[name] = [build(part, **v) for v in value]
        else:
            inner = dict(value)
            if inner.get("manager") is not None:
                inner["manager"] = build(Manager, **inner["manager"])
            out[name] = build(part, **inner)
    return build(Enterprise, **out)


def validated(values: dict[str, Any]) -> User[EnterpriseUser]:
    return Enterprise.model_validate(values, by_name=True)


def by_serialiser(resource: User[Any] | Group, attributes: tuple[str, ...]) -> dict[str, Any]:
    """The projection as the engine made it before it read fields directly: the whole object
    serialised by pydantic, then made canonical. The oracle for `project`."""
    dumped = resource.__pydantic_serializer__.to_python(
        resource, mode="json", by_alias=True, exclude_none=True
    )
    out = {}
    for name in slots(attributes):
        value = canonical(dumped.get(name))
        if name == "active" and isinstance(resource, User) and value is None:
            value = True
        if value is not None:
            out[name] = value
    return out


@PROPERTY
@given(fields())
def test_a_built_user_equals_the_validated_one_and_dumps_the_same(values: dict[str, Any]) -> None:
    fast, slow = built(values), validated(values)
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)


@PROPERTY
@given(fields())
def test_projecting_by_fields_equals_projecting_the_serialised_object(
    values: dict[str, Any],
) -> None:
    attributes = (*USER_ATTRIBUTES, "profileUrl")
    for user in (built(values), validated(values)):
        assert project(user, attributes) == by_serialiser(user, attributes)


def in_key_order(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(map(in_key_order, value.values()))
    if isinstance(value, list):
        return all(map(in_key_order, value))
    return True


@PROPERTY
@given(fields())
def test_a_projection_is_canonical_with_keys_in_order_so_it_encodes_alike(
    values: dict[str, Any],
) -> None:
    projection = project(built(values), (*USER_ATTRIBUTES, "profileUrl"))
    assert in_key_order(projection)
    assert canonical(projection) == projection
    shuffled = dict(reversed(projection.items()))
    assert encode(canonical(shuffled)) == encode(projection)


def test_a_groups_projection_never_reads_its_members() -> None:
    class Members(list[GroupMember]):
        def __iter__(self) -> Any:
            raise AssertionError("the projection read the members")

    group = build(Group, external_id="g", display_name="Staff", members=[])
    group.__dict__["members"] = Members([build(GroupMember, value="u1")])
    assert project(group, ("displayName",)) == {"externalId": "g", "displayName": "Staff"}


def test_a_built_group_equals_the_validated_one() -> None:
    members = [build(GroupMember, value=v, type="User") for v in ("u1", "u2")]
    group = build(Group, external_id="g", display_name="Staff", members=members)
    assert group == Group(
        external_id="g",
        display_name="Staff",
        members=[GroupMember(value=v, type="User") for v in ("u1", "u2")],
    )


def test_built_objects_do_not_share_mutable_defaults() -> None:
    a, b = build(User, user_name="a"), build(User, user_name="b")
    a.schemas.append("urn:example:extra")
    assert b.schemas == ["urn:ietf:params:scim:schemas:core:2.0:User"]
    a._unknown_attributes["x"] = 1  # scim2-models keeps unknown attributes aside per object
    assert b._unknown_attributes == {}


def test_an_unknown_field_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match="User has no field 'username'"):
        build(User, username="ada")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"user_name": 42}, "user_name: expected str, got int"),
        ({"active": "yes"}, "active: expected bool, got str"),
        ({"name": {"given_name": "Ada"}}, "name: expected a Name, got dict"),
        ({"emails": [{"value": "a@example.org"}]}, "emails: expected a list of Email"),
        ({"profile_url": "not a url"}, "profile_url: "),
    ],
)
def test_a_value_of_the_wrong_type_is_a_value_error_naming_the_field(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(User, **values)


ADDRESSES = [
    # accepted, some normalised (the domain lower-cased, punycode decoded)
    "ada@example.org", "Ada@Example.ORG", "b.c+tag@mail.example.com", "x@y.io", "a@b.c",
    "o'brien@example.ie", "a!#$%&*+/=?^_`{|}~-z@example.org", "élodie@Exemple.FR",
    "a@xn--bcher-kva.example", "a@BÜCHER.example", "a@x-y.example.org", "a@1.example.org",
    # refused
    "ada", "ada@", "@example.org", "ada@example", "ada @example.org", "a@b@example.org",
    "ada@.example.org", "ada@example.org.", "ada\x00@example.org", "a" * 250 + "@example.org",
    "a" * 65 + "@example.org", "ada..b@example.org", ".ada@example.org", "ada.@example.org",
    "ada@-x.org", "ada@x-.org", "ada@example.123", '"a b"@example.org', "a@[1.2.3.4]",
    "ada@host.local", "ada@host.test", "ada@ab--cd.example.org", "ada@" + "a" * 64 + ".org",
]  # fmt: skip


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_address_is_accepted_and_normalised_exactly_as_pydantic_does(address: str) -> None:
    try:
        expected: str | None = Email(value=address).value
    except ValidationError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match=r"value: .* is not a valid e-mail address \("):
            build(Email, value=address)
    else:
        assert build(Email, value=address).value == expected
    payload = {"value": address}
    if expected is None:
        with pytest.raises(ValidationError):
            parse(Email, payload)
    else:
        assert parse(Email, payload).value == expected


def test_the_domains_an_address_check_keeps_are_bounded_and_do_not_change_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(construct, "_DOMAINS_KEPT", 8)
    for i in range(20):  # a domain each: the cache starts again once full
        assert build(Email, value=f"a{i}@Host{i}.Example.org").value == f"a{i}@host{i}.example.org"
        assert len(construct._DOMAINS) <= 8
    for address in ADDRESSES:  # known domains and new ones, after the cache turned over
        try:
            expected: str | None = Email(value=address).value
        except ValidationError:
            expected = None
        try:
            got: str | None = build(Email, value=address).value
        except ValueError:
            got = None
        assert got == expected, address


@PROPERTY
@given(fields())
def test_parsing_a_payload_equals_validating_it(values: dict[str, Any]) -> None:
    payload = validated(values).model_dump(mode="json", by_alias=True, exclude_none=True)
    fast, slow = parse(Enterprise, payload), Enterprise.model_validate(payload)
    assert fast == slow
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.__pydantic_fields_set__ == slow.__pydantic_fields_set__


@pytest.mark.parametrize(
    "payload",
    [
        {"userName": "ada", "USERNAME": "ada"},  # a key the fast path does not know
        {"userName": "ada", "unknownAttribute": 1},
        {"userName": "ada", "active": "true"},  # pydantic's lax coercion
        {"userName": "ada", "emails": [{"value": "not an address"}]},
        {"userName": "ada", "name": "Ada"},
        {"userName": 42},
        {"userName": "ada", "meta": {"created": "2026-12-01T10:00:00Z", "resourceType": "User"}},
        {"userName": "ada", "schemas": ["urn:example:not-a-user"]},  # scim2-models refuses it
        {"userName": "ada", "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]},
    ],
)
def test_a_payload_the_fast_path_does_not_cover_gets_pydantics_answer(
    payload: dict[str, Any],
) -> None:
    def answer(validate: Any) -> Any:
        try:
            return validate(payload)
        except ValidationError as err:
            return err.errors()

    assert answer(functools.partial(parse, User)) == answer(User.model_validate)


def test_an_enumerated_value_is_stored_as_the_enum_validation_would_make() -> None:
    email = build(Email, value="a@example.org", type="work")
    assert email.type is Email.Type.work


@pytest.mark.parametrize("kind", [None, "User"])
def test_members_equal_validated_members(kind: str | None) -> None:
    fast = members(["u1", "u2"], type=kind)
    given = {} if kind is None else {"type": kind}
    slow = [GroupMember(value=v, **given) for v in ("u1", "u2")]
    assert fast == slow
    assert [m.model_dump_json() for m in fast] == [m.model_dump_json() for m in slow]
    assert [m.__pydantic_fields_set__ for m in fast] == [m.__pydantic_fields_set__ for m in slow]
    fast[0].display = "Ada"  # each member is its own object
    assert fast[1].display is None
    assert fast[1].__pydantic_fields_set__ == slow[1].__pydantic_fields_set__


def test_a_member_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ValueError, match="value: expected str, got int"):
        members(["u1", 2])  # type: ignore[list-item]


def test_a_str_enum_value_is_stored_as_its_text_as_validation_does() -> None:
    class Kind(str, enum.Enum):  # noqa: UP042 (a mixin: str() gives the name, not the text)
        ada = "ada-value"

    assert build(User, user_name=Kind.ada).user_name == User(user_name=Kind.ada).user_name


def test_a_binary_value_projects_as_the_serialiser_writes_it() -> None:
    user = User.model_validate(
        {"userName": "ada", "x509Certificates": [{"value": "YWJj"}, {"value": "//79"}]}
    )
    attributes = ("x509Certificates",)
    assert project(user, attributes) == by_serialiser(user, attributes)
