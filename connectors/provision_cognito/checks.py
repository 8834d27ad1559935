"""The checks behind ``provision test cognito``: each failure says what to fix."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from provision import Check
from provision_cognito.client import ALLOWED, NoCredentials
from provision_cognito.read import _code

if TYPE_CHECKING:
    from provision_cognito.connector import CognitoSource


NETWORK = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
"""botocore's errors for a network that does not answer: never the credentials' fault."""


class Connectivity:
    """The checks behind ``provision test cognito``: each says what to fix."""

    IMPOSSIBLE = f"provision-connectivity-check-{uuid.uuid4().hex}"

    def __init__(self, source: CognitoSource) -> None:
        self.source = source
        self.settings = source.settings
        self.checks: list[Check] = []

    def add(self, name: str, ok: bool, message: str, hint: str = "") -> bool:
        self.checks.append(Check(name, ok, message, "" if ok else hint))
        return ok

    def run(self) -> list[Check]:
        s = self.settings
        try:
            client = self.source.client
            identity = client.sts().get_caller_identity()
        except (NoCredentials, NoCredentialsError) as err:
            self.add(
                "AWS credentials",
                False,
                str(err),
                "Set access_key_id and "
                "secret_access_key, or profile, or the AWS_* environment variables.",
            )
            return self.checks
        except NETWORK as err:
            where = s.endpoint_url or f"Cognito and STS in {s.region}"
            self.add(
                "AWS answers",
                False,
                f"nothing answered at {where} within {s.timeout:g} s ({_describe(err)})",
                f"Check the Region ({s.region}, from region or the pool id) and this "
                "machine's route to AWS: a proxy, a firewall, a VPC endpoint (endpoint_url, "
                "sts_endpoint_url). The credentials were not tried yet.",
            )
            return self.checks
        except (ClientError, BotoCoreError) as err:
            self.add(
                "AWS credentials",
                False,
                _describe(err),
                "Check access_key_id and "
                "secret_access_key (or the profile): the key may be wrong or deactivated.",
            )
            return self.checks
        self.add("AWS credentials", True, f"authenticated as {identity.get('Arn')}")
        if s.role_arn:
            try:
                client.session.get_credentials().get_frozen_credentials()
            except (ClientError, BotoCoreError) as err:
                self.add(
                    "assume role",
                    False,
                    f"{s.role_arn}: {_describe(err)}",
                    f"The trust policy of {s.role_arn} must let {identity.get('Arn')} call "
                    "sts:AssumeRole, with the condition sts:ExternalId equal to [cognito] "
                    "external_id; and the service user needs sts:AssumeRole on the role.",
                )
                return self.checks
            self.add("assume role", True, f"assumed {s.role_arn}")
        pool_found = self._action(
            "ListGroups",
            "user pool",
            lambda: client.idp.list_groups(UserPoolId=s.user_pool_id, Limit=1),
            found=f"{s.user_pool_id} found in {s.region} (cognito-idp:ListGroups allowed)",
        )
        if not pool_found:
            return self.checks  # a missing pool makes every other answer meaningless
        actions: dict[str, Callable[[], Any]] = {
            "ListUsers": lambda: client.idp.list_users(UserPoolId=s.user_pool_id, Limit=1),
            "ListUsersInGroup": lambda: client.idp.list_users_in_group(
                UserPoolId=s.user_pool_id, GroupName=self.IMPOSSIBLE, Limit=1
            ),
            "AdminListGroupsForUser": lambda: client.idp.admin_list_groups_for_user(
                UserPoolId=s.user_pool_id, Username=self.IMPOSSIBLE, Limit=1
            ),
            "AdminGetUser": lambda: client.idp.admin_get_user(
                UserPoolId=s.user_pool_id, Username=self.IMPOSSIBLE
            ),
            "GetGroup": lambda: client.idp.get_group(
                UserPoolId=s.user_pool_id, GroupName=self.IMPOSSIBLE
            ),
        }
        assert set(actions) | {"ListGroups"} == ALLOWED
        for action, call in actions.items():
            self._action(action, f"permission cognito-idp:{action}", call)
        if s.groups:
            missing = []
            for name in s.groups:
                try:
                    client.group(name)
                except ClientError as err:
                    if _code(err) != "ResourceNotFoundException":
                        self.add(f"group {name}", False, _describe(err), "See the AWS error.")
                        continue
                    missing.append(name)
            self.add(
                "configured groups",
                not missing,
                f"all {len(s.groups)} found"
                if not missing
                else f"not in the pool: {', '.join(missing)}",
                "Fix [cognito] groups: names are case-sensitive, as in the Cognito console.",
            )
        return self.checks

    def _action(
        self, action: str, name: str, call: Callable[[], Any], found: str = "allowed"
    ) -> bool:
        """Run ``call``; not-found answers for the impossible name prove the permission."""
        s = self.settings
        try:
            call()
        except ClientError as err:
            code = _code(err)
            message = err.response.get("Error", {}).get("Message", "")
            if code in ("UserNotFoundException",) or (
                code == "ResourceNotFoundException" and "pool" not in message.lower()
            ):
                return self.add(name, True, found)
            if code == "ResourceNotFoundException":
                return self.add(
                    name,
                    False,
                    message,
                    f"Check user_pool_id "
                    f"({s.user_pool_id}) and region ({s.region}): the pool must "
                    "be in that Region.",
                )
            if code in ("AccessDeniedException", "AccessDenied"):
                return self.add(
                    name,
                    False,
                    message,
                    f"Grant cognito-idp:{action} on the pool's "
                    "ARN in the policy of the role (or user) provision uses.",
                )
            return self.add(name, False, f"{code}: {message}", "See the AWS error above.")
        except BotoCoreError as err:
            return self.add(
                name,
                False,
                str(err),
                "Check region and endpoint_url, and that "
                "this machine reaches the Cognito endpoint.",
            )
        return self.add(name, True, found)


def _describe(err: BaseException) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message')}"
    return f"{type(err).__name__}: {err}"
