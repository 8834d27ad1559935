"""Ownership end to end: the CLI between moto's Cognito and the OCI emulator.

Another administrator deleting a user while a run pages, a user taking a leaver's address,
two users swapping addresses, and a lost state file: each converges, and nothing fails open.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from provision_cognito.standin import CognitoStandIn
from provision_oci.emulator import OciEmulator
from tests.conftest import Cli
from tests.e2e.world import CLIENT, OCI_SECRET, World

PAGE = 10


@pytest.fixture
def paged(cli: Cli, cognito: CognitoStandIn) -> Iterator[World]:
    """A domain that serves at most ``PAGE`` resources a page: 40 users are 4 pages."""
    with OciEmulator(
        tier="premium", client_id=CLIENT, client_secret=OCI_SECRET, max_results=PAGE
    ) as domain:
        yield World(cli, cognito, domain)


def hand_made(world: World, name: str) -> str:
    made = httpx.post(
        f"{world.domain.url}/admin/v1/Users",
        headers=world.domain.admin_headers(),
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "emails": [{"value": f"{name}@example.org", "type": "work", "primary": True}],
        },
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def set_email(world: World, user: str, email: str) -> None:
    world.idp.admin_update_user_attributes(
        UserPoolId=world.pool, Username=user, UserAttributes=[{"Name": "email", "Value": email}]
    )


def test_a_leaver_that_slips_between_pages_is_still_deprovisioned(paged: World) -> None:
    world = paged
    code, report = world.run()
    assert code == 0, report
    # A hand-made user on the first page, so that deleting it shifts every later page.
    others: list[str] = []
    while True:
        others.append(hand_made(world, f"other{len(others)}"))
        ids = sorted(u["id"] for u in world.domain.users())
        if min(others) in ids[:PAGE]:
            break
    by_id = {u["id"]: u["userName"] for u in world.domain.users()}
    leaver = by_id[ids[PAGE]]  # first of page 2: after the shift it sits on page 1
    assert leaver.startswith("user"), leaver
    world.idp.admin_delete_user(UserPoolId=world.pool, Username=leaver)
    world.domain.after_page(
        "Users",
        1,
        lambda: httpx.delete(
            f"{world.domain.url}/admin/v1/Users/{min(others)}",
            headers=world.domain.admin_headers(),
            params={"forceDelete": "true"},
        ),
    )
    code, report = world.run()
    assert code == 0, report
    assert report["users"]["deactivated"] == 1
    assert world.users()[leaver]["active"] is False
    code, again = world.run()
    assert again["users"]["deactivated"] == again["users"]["created"] == 0


def test_a_user_taking_a_leavers_address_gets_it_in_one_run(world: World) -> None:
    world.configure(cognito='user_name_from = "email"')
    world.run()
    world.idp.admin_delete_user(UserPoolId=world.pool, Username="user005")
    code, report = world.run()
    assert report["users"]["deactivated"] == 1
    set_email(world, "user006", "user005@example.org")  # the address is given to another
    world.idp.admin_update_user_attributes(
        UserPoolId=world.pool,
        Username="user006",
        UserAttributes=[{"Name": "given_name", "Value": "Renamed"}],
    )
    code, report = world.run()
    assert code == 0, report
    held = world.users()
    assert held["user005@example.org"]["name"]["givenName"] == "Renamed"
    (leaver,) = [u for n, u in held.items() if n.startswith("user005@example.org.left-")]
    assert leaver["active"] is False
    world.domain.reset_counts()
    code, again = world.run()
    assert code == 0, again
    assert world.writes() == {}


def test_two_users_who_swap_addresses_converge_in_one_run(world: World) -> None:
    world.configure(cognito='user_name_from = "email"')
    world.run()
    set_email(world, "user007", "swap@example.org")  # Cognito: addresses are unique too
    set_email(world, "user008", "user007@example.org")
    set_email(world, "user007", "user008@example.org")
    code, report = world.run()
    assert code == 0, report
    held = world.users()
    assert held["user007@example.org"]["name"]["familyName"] == "User008"
    assert held["user008@example.org"]["name"]["familyName"] == "User007"
    world.domain.reset_counts()
    code, again = world.run()
    assert code == 0, again
    assert world.writes() == {}


def test_a_lost_state_names_every_unmatched_user_and_can_deactivate_them(
    world: World,
) -> None:
    world.run()
    (world.cli.cwd / "provision-state.db").unlink()
    for name in ("user010", "user011"):
        world.idp.admin_delete_user(UserPoolId=world.pool, Username=name)
    code, report = world.run()
    assert code == 0, report
    assert sorted(u["name"] for u in report["unmatched"]) == ["user010", "user011"]
    assert world.users()["user010"]["active"] is True
    world.configure(sync='unmatched = "deactivate"')
    code, report = world.run()
    assert code == 0, report
    assert report["users"]["deactivated"] == 2
    assert world.users()["user011"]["active"] is False
