"""``provision sandbox cognito``: moto's Cognito with an empty user pool, to try the source on.

`CognitoSource.provision_sandbox` imports this module only when asked for; it needs the
``sandbox`` extra (``moto[server]``). moto checks no request signature, so any access key
works; the sandbox hands out fixed fake ones so that the configuration it prints is complete.
"""

from __future__ import annotations

import os
from typing import Any, Self

from provision.sandbox import Person, Sample
from provision_cognito.standin import CognitoStandIn

REGION = "eu-west-1"
ACCESS_KEY_ID = "AKIADEMOSTANDIN"
SECRET_ACCESS_KEY = "demo-secret-access-key"
"""Fake: moto accepts any key, this one is only what the printed configuration names."""

CUSTOM = ("department",)
"""The pool's custom attributes (``custom:department``): the sample's department goes there."""


class CognitoSandbox:
    """A user pool in moto on 127.0.0.1 (a `provision.sandbox.SourceSandbox`)."""

    def __init__(self, port: int = 0) -> None:
        self.standin = CognitoStandIn(region=REGION, port=port)
        self.pool = ""

    def __enter__(self) -> Self:
        os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # never look for a cloud
        self.standin.start()
        try:
            self.pool = self.standin.create_pool(name="provision-sandbox", custom=CUSTOM)
        except BaseException:
            self.standin.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.standin.stop()

    @property
    def url(self) -> str:
        return self.standin.url

    @property
    def label(self) -> str:
        return f"Cognito (moto, {self.url})"

    def settings(self) -> dict[str, Any]:
        return {
            "region": REGION,
            "user_pool_id": self.pool,
            "access_key_id": ACCESS_KEY_ID,
            "endpoint_url": self.url,
            "sts_endpoint_url": self.url,
        }

    def secrets(self) -> dict[str, str]:
        return {"secret_access_key": SECRET_ACCESS_KEY}

    def comments(self) -> dict[str, str]:
        return {"endpoint_url": "the local stand-in; leave out for AWS"}

    def summary(self) -> list[str]:
        return []

    # The demo's source
    def seed(self, sample: Sample) -> None:
        enabled = {p.username: p.enabled for p in sample.people}
        self.standin.seed(
            self.pool,
            [(p.username, attributes(p)) for p in sample.people],
            sample.groups,
            enabled=enabled.__getitem__,
        )

    def rename_user(self, username: str, given_name: str) -> str:
        self._admin().admin_update_user_attributes(
            UserPoolId=self.pool,
            Username=username,
            UserAttributes=[{"Name": "given_name", "Value": given_name}],
        )
        return f"AdminUpdateUserAttributes: {username} now has given_name {given_name!r}"

    def remove_member(self, group: str, username: str) -> str:
        self._admin().admin_remove_user_from_group(
            UserPoolId=self.pool, Username=username, GroupName=group
        )
        return f"AdminRemoveUserFromGroup: {username} left {group}"

    def delete_user(self, username: str) -> str:
        self._admin().admin_delete_user(UserPoolId=self.pool, Username=username)
        return f"AdminDeleteUser: {username}"

    def _admin(self) -> Any:
        self.standin.reset()  # the record is for tests; a long session keeps none of it
        return self.standin.client()


def attributes(person: Person) -> dict[str, str]:
    """A sample person as Cognito user attributes."""
    return {
        "email": person.email,
        "email_verified": "true",
        "given_name": person.given_name,
        "family_name": person.family_name,
        "phone_number": person.phone_number,
        "locale": person.locale,
        "custom:department": person.department,
    }
