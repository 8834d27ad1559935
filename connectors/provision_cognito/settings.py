"""The ``[cognito]`` table."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from provision_cognito.mapping import UserNameFrom

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
POOL_ID = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")
"""Endpoints under these domains are AWS's own (regional, FIPS, VPC): they reach the same pool."""


class CognitoSettings(BaseModel):
    """Settings of a ``cognito`` endpoint: which pool, which credentials, which budgets."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(
        description="AWS Region of the user pool, e.g. eu-west-1. Left out: the region in the "
        "pool id (eu-west-1_AbC…), else AWS_REGION."
    )
    user_pool_id: str = Field(description="The pool's id, e.g. eu-west-1_AbCdEf123.")
    groups: list[str] | None = Field(
        None,
        description="Sync only these groups, their members and those memberships "
        "(absent: every user, group and membership of the pool).",
    )
    access_key_id: str | None = Field(
        None, description="The service user's access key id (else boto3's default chain)."
    )
    secret_access_key: SecretStr | None = Field(
        None, description="The service user's secret access key; give it from the environment."
    )
    role_arn: str | None = Field(
        None, description="A role to assume (sts:AssumeRole) for reading the pool."
    )
    external_id: str | None = Field(
        None, description="The External ID the role's trust policy requires."
    )
    session_name: str = Field("provision", description="The assumed role's session name.")
    profile: str | None = Field(
        None, description="A named AWS profile for the base credentials, instead of keys."
    )
    endpoint_url: str | None = Field(
        None, description="Cognito endpoint override (VPC endpoint, local stand-in)."
    )
    sts_endpoint_url: str | None = Field(
        None, description="STS endpoint override (regional or VPC endpoint, local stand-in)."
    )
    user_name_from: UserNameFrom = Field(
        "username",
        description="What becomes the SCIM userName: the Cognito username, or the email, "
        "preferred_username or sub attribute.",
    )
    user_list_rps: float = Field(
        30, gt=0, description="Budget for ListUsers + ListUsersInGroup (quota UserList)."
    )
    group_read_rps: float = Field(
        5, gt=0, description="Budget for ListGroups + GetGroup (UserPoolResourceRead, per pool)."
    )
    user_resource_read_rps: float = Field(
        50, gt=0, description="Budget for AdminListGroupsForUser (UserResourceRead)."
    )
    user_read_rps: float = Field(120, gt=0, description="Budget for AdminGetUser (UserRead).")
    concurrency: int = Field(8, ge=1, le=64, description="Group member pages read at once.")
    max_attempts: int = Field(
        8, ge=1, le=20, description="Attempts per request (botocore 'standard' retries)."
    )
    timeout: float = Field(30, gt=0, description="Seconds to wait for an answer.")

    def identity(self) -> str:
        """The pool as the state file records it, e.g. ``cognito-idp:eu-west-1:eu-west-1_AbC``.

        An ``endpoint_url`` outside AWS (a stand-in) is part of it, so that a stand-in's pool
        never matches a real one; credentials and userinfo never are.
        """
        pool = f"cognito-idp:{self.region}:{self.user_pool_id}"
        if self.endpoint_url is None:
            return pool
        url = urlsplit(self.endpoint_url.strip())
        host = url.netloc.rpartition("@")[2].lower()
        if host.split(":")[0].endswith(AWS_HOSTS):
            return pool
        return f"{pool}@{url.scheme.lower()}://{host}{url.path.rstrip('/')}"

    @model_validator(mode="before")
    @classmethod
    def _default_region(cls, data: Any) -> Any:
        """A pool id starts with its region (Cognito's CreateUserPool: ``<region>_<id>``)."""
        if not isinstance(data, dict) or data.get("region"):
            return data
        pool = str(data.get("user_pool_id") or "")
        prefix = pool.split("_", 1)[0] if "_" in pool else ""
        region = prefix if REGION.match(prefix) else os.environ.get("AWS_REGION", "")
        return {**data, "region": region} if region else data

    @field_validator("user_pool_id")
    @classmethod
    def _pool_id(cls, value: str) -> str:
        if not POOL_ID.match(value):
            raise ValueError(f"{value!r} is not a user pool id (like eu-west-1_AbCdEf123)")
        return value

    @field_validator("role_arn")
    @classmethod
    def _role_arn(cls, value: str | None) -> str | None:
        if value is not None and not ROLE_ARN.match(value):
            raise ValueError(f"{value!r} is not a role ARN (arn:aws:iam::123456789012:role/Name)")
        return value

    @field_validator("session_name")
    @classmethod
    def _session_name(cls, value: str) -> str:
        if not SESSION_NAME.match(value):
            raise ValueError("2 to 64 characters of letters, digits and +=,.@_-")
        return value

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("list at least one group, or leave the key out to sync them all")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> CognitoSettings:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("give access_key_id and secret_access_key together, or neither")
        if self.profile and self.access_key_id:
            raise ValueError("give either profile or access keys, not both")
        if self.external_id and not self.role_arn:
            raise ValueError("external_id is used with role_arn: set role_arn too")
        if self.external_id is not None and not 2 <= len(self.external_id) <= 1224:
            raise ValueError("external_id must be 2 to 1224 characters")
        return self
