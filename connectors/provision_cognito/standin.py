"""A local Cognito for tests, the demo and benchmarks: moto's server on 127.0.0.1.

`CognitoStandIn` serves moto over real HTTP in a thread, behind a thin WSGI layer that
records every request (operation and parameters) and lets a test answer in moto's place:
throttling, short or empty pages with a token, failures. It also seeds pools fast, straight
into moto's backend. Needs the ``sandbox`` extra (``moto[server]``). The connector never
imports it: `provision_cognito.sandbox` offers it to ``provision sandbox cognito`` and the demo.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from provision.sandbox import LoopbackServer, LoopbackService

ACCOUNT = "123456789012"
TARGET_PREFIX = "AWSCognitoIdentityProviderService."

Answer = tuple[int, dict[str, Any] | str]
"""An HTTP status and a body given in moto's place: JSON (Cognito) or XML text (STS)."""

Fault = Callable[["Request"], Answer | None]
"""Sees each request; answers for moto, or returns None to let moto answer (it may rewrite
``request.params`` first: moto then answers the rewritten request; the record keeps what the
client sent)."""


@dataclass
class Request:
    """One request the stand-in received."""

    service: str
    operation: str
    params: dict[str, Any] = field(default_factory=dict)
    access_key: str = ""
    """The access key id that signed it."""


def throttled(message: str = "Rate exceeded") -> Answer:
    return 400, {"__type": "TooManyRequestsException", "message": message}


def cognito_error(code: str, message: str, status: int = 400) -> Answer:
    return status, {"__type": code, "message": message}


STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


def sts_error(code: str, message: str, status: int = 403) -> Answer:
    return status, (
        f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>standin</RequestId></ErrorResponse>"
    )


def sts_credentials(access_key: str, expires: str, role: str = "provision") -> Answer:
    """An AssumeRole answer with these keys, expiring at ISO time ``expires``."""
    return 200, (
        f'<AssumeRoleResponse xmlns="{STS_NS}"><AssumeRoleResult><Credentials>'
        f"<AccessKeyId>{access_key}</AccessKeyId><SecretAccessKey>standin-secret"
        f"</SecretAccessKey><SessionToken>standin-token-{access_key}</SessionToken>"
        f"<Expiration>{expires}</Expiration></Credentials><AssumedRoleUser>"
        f"<AssumedRoleId>AROASTANDIN:{role}</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{ACCOUNT}:assumed-role/{role}/provision</Arn></AssumedRoleUser>"
        "</AssumeRoleResult><ResponseMetadata><RequestId>standin</RequestId>"
        "</ResponseMetadata></AssumeRoleResponse>"
    )


class CognitoStandIn(LoopbackService):
    """moto's Cognito (and STS) on 127.0.0.1, recording requests; a context manager."""

    def __init__(self, region: str = "eu-west-1", port: int = 0) -> None:
        self.region = region
        self.port = port
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def make_server(self) -> LoopbackServer:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = self._middleware(DomainDispatcherApplication(create_backend_app))
        return LoopbackServer(app, name="cognito-standin", port=self.port)

    def _middleware(self, app: Any) -> Any:
        def handle(environ: dict[str, Any], start_response: Any) -> Any:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            request = _parse(environ, body)
            sent = json.dumps(request.params, sort_keys=True)
            with self._lock:  # the record keeps what the client sent; faults may rewrite request
                self.requests.append(
                    Request(
                        request.service, request.operation, json.loads(sent), request.access_key
                    )
                )
                faults = list(self.faults)
            for fault in faults:
                answer = fault(request)
                if answer is not None:
                    status, payload = answer
                    if isinstance(payload, str):
                        data, kind = payload.encode(), "text/xml"
                    else:
                        data, kind = json.dumps(payload).encode(), "application/x-amz-json-1.1"
                    headers = [("Content-Type", kind), ("Content-Length", str(len(data)))]
                    if isinstance(payload, dict) and status >= 400 and "__type" in payload:
                        headers.append(("x-amzn-ErrorType", payload["__type"]))
                    start_response(f"{status} {'OK' if status < 400 else 'Error'}", headers)
                    return [data]
            if (
                request.service == "cognito-idp"
                and json.dumps(request.params, sort_keys=True) != sent
            ):
                data = json.dumps(request.params).encode()  # a fault rewrote what moto gets
                environ["wsgi.input"] = io.BytesIO(data)
                environ["CONTENT_LENGTH"] = str(len(data))
            return app(environ, start_response)

        return handle

    # What was asked
    def calls(self, service: str = "cognito-idp") -> Counter[str]:
        with self._lock:
            return Counter(r.operation for r in self.requests if r.service == service)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()

    # Clients and seeding
    def client(self, service: str = "cognito-idp") -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id="AKIASTANDIN",
            aws_secret_access_key="standin",
        )

    def create_pool(self, name: str | None = None, custom: Iterable[str] = ()) -> str:
        schema = [{"Name": c, "AttributeDataType": "String", "Mutable": True} for c in custom]
        answer = self.client().create_user_pool(
            PoolName=name or f"pool-{uuid.uuid4().hex[:8]}",
            **({"Schema": schema} if schema else {}),
        )
        with self._lock:  # seeding requests are not the connector's: forget them
            self.requests = [r for r in self.requests if r.operation != "CreateUserPool"]
        return str(answer["UserPool"]["Id"])

    def backend_pool(self, pool_id: str) -> Any:
        from moto.backends import get_backend

        return get_backend("cognito-idp")[ACCOUNT][self.region].user_pools[pool_id]

    def seed(
        self,
        pool_id: str,
        users: Iterable[tuple[str, dict[str, str]]],
        groups: Mapping[str, Iterable[str]] | None = None,
        enabled: Callable[[str], bool] = lambda _: True,
    ) -> dict[str, str]:
        """Insert users (username, attributes) and groups (name → usernames) in moto directly.

        Fast (no HTTP), for large pools. Returns username → sub.
        """
        from moto.cognitoidp.models import CognitoIdpGroup, CognitoIdpUser

        pool = self.backend_pool(pool_id)
        subs = {}
        for username, attributes in users:
            user = CognitoIdpUser(
                pool_id,
                username,
                None,
                "CONFIRMED",
                [{"Name": k, "Value": v} for k, v in attributes.items()],
            )
            user.enabled = enabled(username)
            pool.users[username] = user
            subs[username] = user.id
        for name, members in (groups or {}).items():
            no_role: Any = None  # moto's own create_group passes None for both
            group = pool.groups.get(name) or CognitoIdpGroup(
                pool_id, name, f"{name} group", no_role, no_role
            )
            pool.groups[name] = group
            for username in members:
                user = pool.users[username]
                group.users.add(user)
                user.groups.add(group)
        return subs


def _parse(environ: dict[str, Any], body: bytes) -> Request:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    auth = environ.get("HTTP_AUTHORIZATION", "")
    key = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""
    if target.startswith(TARGET_PREFIX):
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return Request("cognito-idp", target[len(TARGET_PREFIX) :], params, key)
    form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
    service = "sts" if form.get("Action") in ("AssumeRole", "GetCallerIdentity") else "other"
    return Request(service, form.get("Action", target or "?"), form, key)
