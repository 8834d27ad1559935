"""The ``cognito`` connector: an AWS Cognito user pool as a source, read with boto3.

It calls only the six read actions an administrator grants (ListUsers, ListGroups,
ListUsersInGroup, AdminListGroupsForUser, AdminGetUser, GetGroup) plus sts:AssumeRole, reads
the whole pool at the API floor (60 per page, no per-user calls), and hands users keyed by
their ``sub`` and groups keyed by their name to the core as scim2-models objects.
"""

from __future__ import annotations

from provision_cognito.connector import CognitoSource
from provision_cognito.mapping import CognitoGroup, CognitoUser
from provision_cognito.settings import CognitoSettings

__all__ = ["CognitoGroup", "CognitoSettings", "CognitoSource", "CognitoUser"]
