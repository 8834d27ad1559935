"""The Cognito API calls: credentials, request budgets, retries, paging.

Only the six read actions the customer's policy grants are ever called, plus
``sts:AssumeRole`` and ``sts:GetCallerIdentity``. Every request (retries included) first
waits for its quota category's client-side budget; botocore's ``standard`` retry mode backs
off and retries ``TooManyRequestsException``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

from provision import RequestStats
from provision.ratelimit import RateLimiter
from provision_cognito.settings import CognitoSettings

PAGE = 60
"""Cognito's largest page; 0 or more is rejected by AWS."""

ALLOWED = frozenset(
    {
        "ListUsers",
        "ListGroups",
        "ListUsersInGroup",
        "AdminListGroupsForUser",
        "AdminGetUser",
        "GetGroup",
    }
)
"""The Cognito actions the IAM policy grants, and so the only ones called."""

CATEGORY = {
    "ListUsers": "user_list",
    "ListUsersInGroup": "user_list",
    "ListGroups": "group_read",
    "GetGroup": "group_read",
    "AdminListGroupsForUser": "user_resource_read",
    "AdminGetUser": "user_read",
}

ROLE_SESSION_SECONDS = 3600


class CognitoClient:
    """A boto3 ``cognito-idp`` client with budgets, operation counts and paging."""

    def __init__(self, settings: CognitoSettings) -> None:
        self.settings = settings
        self.stats = RequestStats()
        self._lock = threading.Lock()
        self.limiters = {
            "user_list": RateLimiter(settings.user_list_rps),
            "group_read": RateLimiter(settings.group_read_rps),
            "user_resource_read": RateLimiter(settings.user_resource_read_rps),
            "user_read": RateLimiter(settings.user_read_rps),
        }
        self.config = Config(
            region_name=settings.region,
            retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
            max_pool_connections=settings.concurrency + 4,
            connect_timeout=settings.timeout,
            read_timeout=settings.timeout,
            user_agent_extra="provision",
        )
        self.base = self._base_session()
        self.session = self._role_session() if settings.role_arn else self.base
        self.idp = self.session.client(
            "cognito-idp", endpoint_url=settings.endpoint_url, config=self.config
        )
        events = self.idp.meta.events
        events.register("before-call.cognito-idp.*", self._before_call)
        events.register("needs-retry.cognito-idp.*", self._needs_retry)
        for operation, category in CATEGORY.items():  # every attempt, retries included
            events.register(
                f"before-send.cognito-idp.{operation}",
                self._sender(operation, self.limiters[category]),
            )

    # Credentials
    def _base_session(self) -> boto3.Session:
        s = self.settings
        if s.access_key_id and s.secret_access_key:
            return boto3.Session(
                aws_access_key_id=s.access_key_id,
                aws_secret_access_key=s.secret_access_key.get_secret_value(),
                region_name=s.region,
            )
        return boto3.Session(profile_name=s.profile, region_name=s.region)

    def sts(self, session: boto3.Session | None = None) -> Any:
        return self._count_sts(
            (session or self.base).client(
                "sts", endpoint_url=self.settings.sts_endpoint_url, config=self.config
            )
        )

    def _role_session(self) -> boto3.Session:
        """A session whose credentials come from AssumeRole and refresh before they expire."""
        s = self.settings
        base_credentials = self.base.get_credentials()
        if base_credentials is None:
            raise NoCredentials()
        extra: dict[str, Any] = {
            "RoleSessionName": s.session_name,
            "DurationSeconds": ROLE_SESSION_SECONDS,
        }
        if s.external_id:
            extra["ExternalId"] = s.external_id

        def create_sts(service: str, **kwargs: Any) -> Any:
            client = self.base._session.create_client(
                service,
                region_name=s.region,
                endpoint_url=s.sts_endpoint_url,
                config=self.config,
                **kwargs,
            )
            return self._count_sts(client)

        fetcher = AssumeRoleCredentialFetcher(
            client_creator=create_sts,
            source_credentials=base_credentials,
            role_arn=s.role_arn,
            extra_args=extra,
        )
        credentials = DeferredRefreshableCredentials(
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
        core = botocore.session.Session()
        core._credentials = credentials
        return boto3.Session(botocore_session=core, region_name=s.region)

    # Events: count, budget, throttling
    def _count(self, operation: str) -> None:
        with self._lock:
            self.stats.count(operation)

    def _before_call(self, model: Any, **_: Any) -> None:
        if model.name not in ALLOWED:  # a programming error, never an operator's
            raise RuntimeError(f"{model.name} is not among the actions the policy grants")

    def _sender(self, operation: str, limiter: RateLimiter | None) -> Any:
        """Counts each HTTP attempt (retries are requests too) after waiting for its budget."""

        def handler(**_: Any) -> None:  # must return None: anything else stands for a response
            if limiter is not None:
                limiter.acquire()
            self._count(operation)

        return handler

    def _count_sts(self, client: Any) -> Any:
        for operation in ("AssumeRole", "GetCallerIdentity"):
            client.meta.events.register(
                f"before-send.sts.{operation}", self._sender(operation, None)
            )
        return client

    def _needs_retry(self, response: Any = None, **_: Any) -> None:
        if response and isinstance(response, tuple) and len(response) > 1 and response[1]:
            code = response[1].get("Error", {}).get("Code")
            if code in ("TooManyRequestsException", "ThrottlingException"):
                with self._lock:
                    self.stats.throttled += 1

    # Paging: stop only when the token is absent (short and empty pages with a token happen)
    def pages(
        self, operation: str, token_in: str, token_out: str, key: str, **params: Any
    ) -> Iterator[list[dict[str, Any]]]:
        call = getattr(self.idp, _snake(operation))
        token: str | None = None
        while True:
            answer = call(Limit=PAGE, **params, **({token_in: token} if token else {}))
            yield answer.get(key) or []
            token = answer.get(token_out)
            if not token:
                return

    def users(self) -> Iterator[list[dict[str, Any]]]:
        return self.pages(
            "ListUsers",
            "PaginationToken",
            "PaginationToken",
            "Users",
            UserPoolId=self.settings.user_pool_id,
        )

    def groups(self) -> Iterator[list[dict[str, Any]]]:
        return self.pages(
            "ListGroups", "NextToken", "NextToken", "Groups", UserPoolId=self.settings.user_pool_id
        )

    def members(self, group: str) -> Iterator[list[dict[str, Any]]]:
        return self.pages(
            "ListUsersInGroup",
            "NextToken",
            "NextToken",
            "Users",
            UserPoolId=self.settings.user_pool_id,
            GroupName=group,
        )

    def group(self, name: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.idp.get_group(
            UserPoolId=self.settings.user_pool_id, GroupName=name
        )
        return dict(answer["Group"])


class NoCredentials(Exception):
    """boto3 found no base credentials to assume the role with."""

    def __str__(self) -> str:
        return (
            "no AWS credentials found: set access_key_id and secret_access_key (secret from "
            "PROVISION_<TABLE>_SECRET_ACCESS_KEY), a profile, or the standard AWS_* variables"
        )


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
