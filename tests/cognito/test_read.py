"""The full read over real HTTP against moto: the call floor, paging, throttling, failures."""

from __future__ import annotations

import time
from typing import Any

import pytest
from scim2_models import Group, User

from provision import Unreadable
from provision_cognito.client import ALLOWED
from provision_cognito.read import CognitoReadError
from provision_cognito.standin import CognitoStandIn, Request, cognito_error, throttled

from .conftest import floor, people, read, source


def split(objects: list[Any]) -> tuple[dict[str, User[Any]], dict[str, Group]]:
    users = {o.user_name: o for o in objects if isinstance(o, User)}
    groups = {o.display_name: o for o in objects if isinstance(o, Group)}
    return users, groups


@pytest.mark.parametrize("users", [0, 1, 59, 60, 61, 2500])
def test_a_whole_pool_is_read_at_the_floor(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any], users: int
) -> None:
    groups = {
        "all": [u for u, _ in people(users)],
        "empty": [],
        "some": [u for u, _ in people(users)][:61],
    }
    standin.seed(pool, people(users), groups)
    connector = source(**settings)
    objects = read(connector)
    found, found_groups = split(objects)
    assert len(found) == users
    assert set(found_groups) == {"all", "empty", "some"}
    expected = floor(users, [len(m) for m in groups.values()])
    calls = standin.calls()
    assert sum(calls.values()) == expected
    assert set(calls) <= {"ListUsers", "ListGroups", "ListUsersInGroup"}
    assert sum(connector.provision_request_stats().requests.values()) == expected


def test_a_pool_with_more_than_60_groups_pages_them(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    names = [u for u, _ in people(130)]
    groups = {f"team{g:03}": names[g : g + 3] for g in range(125)}
    standin.seed(pool, people(130), groups)
    objects = read(source(**settings))
    _, found = split(objects)
    assert len(found) == 125
    assert standin.calls()["ListGroups"] == 3
    assert sum(standin.calls().values()) == floor(130, [len(m) for m in groups.values()])


def test_every_request_asks_for_60_and_never_more(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(200), {"g": [u for u, _ in people(200)]})
    read(source(**settings))
    paged = [
        r
        for r in standin.requests
        if r.operation in ("ListUsers", "ListGroups", "ListUsersInGroup")
    ]
    assert paged
    assert all(r.params.get("Limit") == 60 for r in paged)
    assert not any("AttributesToGet" in r.params for r in paged)


def test_members_and_groups_are_keyed_by_sub_and_name(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    subs = standin.seed(
        pool, people(5), {"admins": ["user1", "user3"], "all": [f"user{i}" for i in range(5)]}
    )
    users, groups = split(read(source(**settings)))
    assert users["user1"].external_id == subs["user1"]
    assert groups["admins"].external_id == "admins"
    assert sorted(m.value for m in groups["admins"].members) == sorted(
        [subs["user1"], subs["user3"]]
    )
    assert len(groups["all"].members) == 5


def test_short_and_empty_pages_with_a_token_are_followed_to_the_end(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(100), {"g": [u for u, _ in people(100)]})
    empty_given: set[str] = set()

    def short_and_empty(request: Request) -> Any:
        if request.operation not in ("ListUsers", "ListUsersInGroup"):
            return None
        token_key = "PaginationToken" if request.operation == "ListUsers" else "NextToken"
        token = request.params.get(token_key)
        if token == "EMPTY":  # after the empty page: start over for real
            del request.params[token_key]
        elif request.operation not in empty_given:
            empty_given.add(request.operation)
            return 200, {"Users": [], token_key: "EMPTY"}
        request.params["Limit"] = 7  # moto answers 7 users and a token
        return None

    standin.faults.append(short_and_empty)
    users, groups = split(read(source(**settings)))
    assert len(users) == 100
    assert len(groups["g"].members) == 100
    assert standin.calls()["ListUsers"] == 1 + 15  # the empty page, then ceil(100 / 7)


def test_throttling_is_retried_and_counted(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(130), {"g": ["user1"]})
    left = {"ListUsers": 2, "ListUsersInGroup": 1}

    def throttle_some(request: Request) -> Any:
        if left.get(request.operation, 0) > 0:
            left[request.operation] -= 1
            return throttled()
        return None

    standin.faults.append(throttle_some)
    connector = source(**settings)
    users, _ = split(read(connector))
    assert len(users) == 130
    stats = connector.provision_request_stats()
    assert stats.throttled == 3
    assert standin.calls()["ListUsers"] == 3 + 2  # three pages, two throttled attempts
    assert stats.requests["ListUsers"] == 3 + 2  # every attempt is a request


def test_throttling_beyond_the_retries_fails_the_read(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(10))
    standin.faults.append(lambda r: throttled() if r.operation == "ListUsers" else None)
    with pytest.raises(CognitoReadError, match="TooManyRequestsException"):
        read(source(**settings, max_attempts=2))
    assert standin.calls()["ListUsers"] == 2


def test_an_error_after_some_pages_fails_the_read(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(200), {"g": [u for u, _ in people(200)]})
    seen = {"n": 0}

    def break_third_page(request: Request) -> Any:
        if request.operation == "ListUsers":
            seen["n"] += 1
            if seen["n"] == 3:
                return cognito_error("InternalErrorException", "boom", 500)
        return None

    standin.faults.append(break_third_page)
    with pytest.raises(CognitoReadError, match="InternalErrorException"):
        read(source(**settings, max_attempts=1))


def test_a_failing_group_fails_the_read_and_names_the_group(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(3), {"ok": ["user0"], "broken": ["user1"]})
    standin.faults.append(
        lambda r: (
            cognito_error("AccessDeniedException", "not allowed")
            if r.operation == "ListUsersInGroup" and r.params.get("GroupName") == "broken"
            else None
        )
    )
    with pytest.raises(CognitoReadError, match=r"members of group 'broken'.*AccessDenied"):
        read(source(**settings))


def test_a_member_that_list_users_missed_is_still_emitted(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    subs = standin.seed(pool, people(3), {"g": ["user0", "user2"]})

    def hide_user2(request: Request) -> Any:
        if request.operation == "ListUsers":
            return 200, {
                "Users": [
                    {
                        "Username": "user0",
                        "Enabled": True,
                        "Attributes": [{"Name": "sub", "Value": subs["user0"]}],
                    }
                ]
            }
        return None

    standin.faults.append(hide_user2)
    users, groups = split(read(source(**settings)))
    assert set(users) == {"user0", "user2"}  # created during the read, say
    assert users["user2"].external_id == subs["user2"]
    assert len(groups["g"].members) == 2


def test_the_group_filter_reads_only_those_groups_and_their_members(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    names = [u for u, _ in people(150)]
    groups = {"eng": names[:100], "ops": names[90:130], "other": names[140:]}
    standin.seed(pool, people(150), groups)
    users, found = split(read(source(**settings, groups=["eng", "ops"])))
    assert set(found) == {"eng", "ops"}
    assert set(users) == set(names[:130])
    calls = standin.calls()
    assert "ListUsers" not in calls
    assert "ListGroups" not in calls
    assert calls["GetGroup"] == 2
    assert calls["ListUsersInGroup"] == 2 + 1  # ceil(100/60) + ceil(40/60)


def test_a_missing_group_in_the_filter_fails_the_read(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(3), {"eng": ["user0"]})
    with pytest.raises(CognitoReadError, match="group 'nope' of \\[cognito\\] groups does not"):
        read(source(**settings, groups=["eng", "nope"]))


def test_only_the_permitted_actions_are_ever_called(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(pool, people(70), {"g": ["user1"]})
    connector = source(
        **settings, role_arn="arn:aws:iam::123456789012:role/reader", external_id="ext-1234"
    )
    from provision.plugins import Endpoint

    Endpoint.wrap(connector).hook.provision_test()
    read(connector)
    read(source(**settings, groups=["g"]))
    assert set(standin.calls()) <= ALLOWED
    assert set(standin.calls("sts")) <= {"AssumeRole", "GetCallerIdentity"}
    assert standin.calls("other") == {}
    assert "AdminGetUser" not in {
        r.operation
        for r in standin.requests
        if r.params.get("Username") != connector_check_name(standin)
    }


def connector_check_name(standin: CognitoStandIn) -> str | None:
    """The impossible user name the connectivity test probes AdminGetUser with."""
    names = {r.params.get("Username") for r in standin.requests if r.operation == "AdminGetUser"}
    assert all(n.startswith("provision-connectivity-check-") for n in names)
    return next(iter(names), None)


def test_member_pages_respect_the_user_list_budget(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    names = [u for u, _ in people(60)]
    standin.seed(pool, people(60), {f"g{i}": names[:10] for i in range(14)})
    started = time.monotonic()
    read(source(**settings, user_list_rps=5))
    elapsed = time.monotonic() - started
    # 15 UserList calls at 5 a second, 5 of them from the first second's burst: >= 2 s.
    assert elapsed >= 1.9


def test_unreadable_users_are_yielded_as_such(
    standin: CognitoStandIn, pool: str, settings: dict[str, Any]
) -> None:
    standin.seed(
        pool, [("good", {"email": "good@example.org"}), ("bad", {"email": "bad@localhost"})]
    )
    objects = read(source(**settings))
    (bad,) = [o for o in objects if isinstance(o, Unreadable)]
    assert "'bad'" in bad.message
    assert [o.user_name for o in objects if isinstance(o, User)] == ["good"]
