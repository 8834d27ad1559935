"""`OciEmulator`: the domain on 127.0.0.1, its switches, counters and request flow."""

from __future__ import annotations

import base64
import io
import json
import logging
import math
import random
import secrets
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import parse_qs, unquote_plus

import orjson
from scim2_models import (
    Context,
    Resource,
)

from provision.ratelimit import RateLimiter
from provision.sandbox import LoopbackServer, LoopbackService
from provision_oci.settings import TIERS

if TYPE_CHECKING:
    pass

from provision_oci.emulator.rules import scim_error
from provision_oci.emulator.schema import (
    MAX_COUNT,
    MAX_UNPAGED_MEMBERS,
    ORACLE_USER,
    PREFIX,
    SCOPE,
    TOKEN_PATH,
    LimitGroup,
    build_provider,
)
from provision_oci.emulator.service import OciApplication, OciService
from provision_oci.emulator.storage import OciStorage

log = logging.getLogger(__name__)

# The emulator --------------------------------------------------------------------------------

Reply = tuple[int, dict[str, str], dict[str, Any] | None]


@dataclass(eq=False)
class PageAction:
    """What `OciEmulator.after_page` runs once, after one page of one resource type."""

    resource: str
    start_index: int
    action: Callable[[], object]

    def matches(self, resource: str, start: str) -> bool:
        return resource == self.resource and start.strip() == str(self.start_index)


class OciEmulator(LoopbackService):
    """An OCI identity domain on 127.0.0.1; a context manager.

    Attributes a test may change while it runs: ``latency_ms``, ``fault_rate``,
    ``fail_after_commit_rate``, ``retry_after``, ``tier`` (resets the budgets), ``limits``,
    ``bulk``, ``forbidden``; ``after_page()`` lets another administrator act between two
    page reads; ``throttle_next()`` answers 429 to the next requests. What it saw:
    ``counts()``, ``welcome_mails``, ``throttled``, ``faults_sent``, ``lost_answers``,
    ``users()``, ``groups()``, ``cpu_seconds``.
    """

    def __init__(
        self,
        tier: str = "free",
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        seed: int = 0,
        retry_after: bool = True,
        client_id: str = "provision-test",
        client_secret: str = "provision-test-secret",
        token_ttl: int = 3600,
        bulk: bool = True,
        limits: bool = True,
        forbidden: bool = False,
        fail_after_commit_rate: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: tuple[str, str] | None = None,
        max_results: int = MAX_COUNT,
        max_unpaged_members: int = MAX_UNPAGED_MEMBERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.latency_ms = latency_ms
        self.clock = clock
        """The rate limits' clock: a test that stops it gets one burst of each budget, then
        429s, however fast the machine runs the requests."""
        self.max_unpaged_members = max_unpaged_members
        """Members an answer may carry without the pagination filter; more: 400 tooMany."""
        self.service_provider_config: Literal["resource", "list", "forbidden"] = "resource"
        """How ``GET /ServiceProviderConfig`` answers: the resource, a ListResponse, or 403."""
        self.status_changer_only = False
        """True: a PUT or PATCH of a user's ``active`` is 400 (see `active_violation`)."""
        self.fault_rate = fault_rate
        self.fail_after_commit_rate = fail_after_commit_rate
        self.retry_after = retry_after
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self.bulk = bulk
        self.limits = limits
        self.forbidden = forbidden
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        """(certificate file, key file): serve https, as a real domain does."""
        self.welcome_mails = 0
        """Users created without ``bypassNotification: true``: each got a welcome e-mail."""
        self.throttled = 0
        """429 answers sent."""
        self.faults_sent = 0
        """500/503 answers injected by ``fault_rate`` (nothing was done)."""
        self.lose_bulk_answers = 0
        """Bulk requests still to apply and then answer 502 (a lost answer, as after a read
        timeout): the client cannot tell what was done."""
        self.lost_answers = 0
        """Creates applied but answered 502 by ``fail_after_commit_rate``."""
        self.cpu_seconds = 0.0
        """CPU time its threads spent answering requests (``time.thread_time``, latency not
        included): what the emulator costs a benchmark, apart from the client."""
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._counts: Counter[str] = Counter()
        self._accepts: Counter[str] = Counter()
        self._tokens: dict[str, float] = {}
        self._tier = ""
        self._limiters: dict[LimitGroup, RateLimiter] = {}
        self._page_actions: list[PageAction] = []
        self._throttle_next = 0
        self.tier = tier
        self.storage = OciStorage(self._user_created)
        self.service = OciService(self, build_provider(max_results))
        self.storage.group_type = self.service.get_resource_type("Group")
        self.app = OciApplication(self, self.storage, self.service)

    def make_server(self) -> LoopbackServer:
        return LoopbackServer(
            self.wsgi,
            name="oci-emulator",
            host=self.host,
            port=self.port,
            ssl_context=self.ssl_context,
        )

    # Settings
    @property
    def primary_email_required(self) -> bool:
        """IdentitySettings.primaryEmailRequired: off, users without an email are created."""
        return self.storage.primary_email_required

    @primary_email_required.setter
    def primary_email_required(self, value: bool) -> None:
        self.storage.primary_email_required = value

    @property
    def tier(self) -> str:
        """The domain type, which sets the rate limits; setting it refills every budget."""
        return self._tier

    @tier.setter
    def tier(self, tier: str) -> None:
        if tier not in TIERS:
            raise ValueError(f"Unknown tier {tier!r}. Choose one of: {', '.join(TIERS)}.")
        with self._lock:
            self._tier = tier
            self._limiters = {
                cast(LimitGroup, group): RateLimiter(*rate, clock=self.clock)
                for group, rate in TIERS[tier].items()
            }

    def throttle_next(self, n: int) -> None:
        """Answer 429 to the next ``n`` SCIM requests (not the token endpoint's), whatever the
        budgets hold: ``Retry-After: 1`` when ``retry_after``, counted in ``throttled``.

        The rate limits answer 429 only when requests outrun them, which depends on the
        machine's speed; a test that must meet 429s meets exactly these."""
        if n < 0:
            raise ValueError(f"throttle_next({n}): give a number of requests, 0 or more.")
        with self._lock:
            self._throttle_next = n

    # Someone else at work
    def after_page(self, resource: str, start_index: int, action: Callable[[], object]) -> None:
        """Once: run ``action`` when a list of ``resource`` ("Users", "Groups") from
        ``start_index`` has been read, before that page is answered.

        A client asks for the next page only after this one's answer, so ``action`` (another
        administrator deleting or creating something) falls exactly between two page reads.
        Filtered lists count too; a list without ``startIndex`` starts at 1. Actions
        registered for the same page run one per read of it, in the order given.
        """
        with self._lock:
            self._page_actions.append(PageAction(resource.strip("/"), start_index, action))

    def _after_page(self, method: str, path: str, query: str) -> None:
        if method != "GET" or not self._page_actions:
            return
        resource = path[len(PREFIX) :].strip("/")
        params = parse_qs(query)
        start = next((v[0] for k, v in params.items() if k.lower() == "startindex"), "1")
        with self._lock:
            due = next((a for a in self._page_actions if a.matches(resource, start)), None)
            if due is None:
                return
            self._page_actions.remove(due)
        try:
            due.action()
        except Exception:
            log.exception("The action after page %s of %s failed", start, resource)

    # What was asked and stored
    def counts(self) -> Counter[str]:
        """Requests received, by ``"METHOD ResourceType"`` (``"POST token"`` for tokens)."""
        with self._lock:
            return Counter(self._counts)

    def accept_headers(self) -> Counter[str]:
        """The ``Accept`` headers of the SCIM requests received, counted."""
        with self._lock:
            return Counter(self._accepts)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def users(self) -> list[dict[str, Any]]:
        """The stored users as a GET returns them (with ``groups``), oldest first."""
        return self._dump("User")

    def groups(self) -> list[dict[str, Any]]:
        """The stored groups as a GET returns them, with their members, oldest first."""
        return self._dump("Group")

    def _dump(self, name: str) -> list[dict[str, Any]]:
        base_url = f"{self.url}{PREFIX}" if self._server else PREFIX
        resource_type = self.service.get_resource_type(name)
        with self.service.provider:
            members = self.service.read_response_parameters(
                resource_type, {"attributes": "members"}
            )
            dumped = []
            for resource in self.storage.stored(name):
                published = self.service.publish(base_url, resource)
                body = published.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
                if name == "Group":
                    body.update(
                        published.model_dump(
                            scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=members
                        )
                    )
                dumped.append(body)
            return dumped

    # Tokens
    def issue_token(self) -> str:
        """A valid access token, as the token endpoint grants them."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
        return token

    def admin_headers(self) -> dict[str, str]:
        """What an administrator's own tool sends: for tests that act as one, by hand."""
        return {"Authorization": f"Bearer {self.issue_token()}"}

    def revoke_tokens(self) -> None:
        """Every token issued so far is refused (401) from now on."""
        with self._lock:
            self._tokens.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far has expired (401), as after ``token_ttl`` seconds."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def _valid_token(self, token: str) -> bool:
        with self._lock:
            return self._tokens.get(token, 0.0) > time.monotonic()

    def _token(self, method: str, environ: dict[str, Any], body: bytes) -> Reply:
        """``POST /oauth2/v1/token``: client credentials with HTTP Basic, urlencoded parts."""
        if method != "POST":
            return 405, {"Allow": "POST"}, {"error": "invalid_request"}
        scheme, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            decoded = ""
        client_id, _, secret = decoded.partition(":")
        if (
            scheme.lower() != "basic"
            or unquote_plus(client_id) != self.client_id
            or unquote_plus(secret) != self.client_secret
        ):
            description = "Client authentication failed: check the client id and secret."
            return 401, {}, {"error": "invalid_client", "error_description": description}
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        if form.get("grant_type") != "client_credentials":
            description = "Only grant_type=client_credentials is supported."
            return 400, {}, {"error": "unsupported_grant_type", "error_description": description}
        if SCOPE not in form.get("scope", "").split():
            description = f"Ask for scope {SCOPE}."
            return 400, {}, {"error": "invalid_scope", "error_description": description}
        token = self.issue_token()
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return 200, {"Cache-Control": "no-store"}, answer

    # Request flow
    def _user_created(self, user: Resource[Any]) -> None:
        extension = user.model_dump(scim_ctx=None, by_alias=True).get(ORACLE_USER) or {}
        if extension.get("bypassNotification") is not True:
            with self._lock:
                self.welcome_mails += 1

    def _count_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def _draw(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Record, delay, maybe fail or throttle, then answer: token endpoint or SCIM."""
        started = time.thread_time()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        method = environ["REQUEST_METHOD"].upper()
        path = environ.get("PATH_INFO", "")
        with self._lock:
            self._counts[count_key(method, path)] += 1
            if path.startswith(f"{PREFIX}/"):
                self._accepts[environ.get("HTTP_ACCEPT", "")] += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        status, headers, data = self._answer(environ, method, path, body)
        headers = {"opc-request-id": uuid.uuid4().hex, **headers}
        payload = b"" if data is None else encode(data)
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(payload))
        spent = time.thread_time() - started
        with self._lock:
            self.cpu_seconds += spent
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [payload]

    def _answer(self, environ: dict[str, Any], method: str, path: str, body: bytes) -> Reply:
        if self._draw(self.fault_rate):
            with self._lock:
                self.faults_sent += 1
                status = self._random.choice((500, 503))
            return status, {}, scim_error(status, "Injected fault: nothing was done.")
        group = limit_group(path)
        if group is None:
            return 404, {}, scim_error(404, f"Nothing is served at {path!r}.")
        with self._lock:
            forced = group != "token" and self._throttle_next > 0
            if forced:
                self._throttle_next -= 1
        if forced:
            wait = 1.0
        elif self.limits:
            with self._lock:
                wait = self._limiters[group].try_acquire()
        else:
            wait = 0.0
        if wait:
            self._count_throttled()
            headers = {"Retry-After": str(max(1, math.ceil(wait)))} if self.retry_after else {}
            return 429, headers, scim_error(429, "Too many requests: slow down.")
        if group == "token":
            return self._token(method, environ, body)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + PREFIX
        environ["PATH_INFO"] = path[len(PREFIX) :]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        query = environ.get("QUERY_STRING", "")
        response = self.app.serve(self.app.read_request(environ))
        self._after_page(method, path, query)
        if (
            response.status == HTTPStatus.CREATED
            and method == "POST"
            and path.rstrip("/") in (f"{PREFIX}/Users", f"{PREFIX}/Groups")
            and self._draw(self.fail_after_commit_rate)
        ):
            with self._lock:
                self.lost_answers += 1
            return 502, {}, scim_error(502, "Bad gateway: the request may have been applied.")
        if (
            response.status == HTTPStatus.OK
            and method == "POST"
            and path.rstrip("/") == (f"{PREFIX}/Bulk")
        ):
            with self._lock:
                lose = self.lose_bulk_answers > 0
                if lose:
                    self.lose_bulk_answers -= 1
                    self.lost_answers += 1
            if lose:
                return 502, {}, scim_error(502, "Bad gateway: the request may have been applied.")
        return int(response.status), dict(response.headers), response.body


def encode(data: dict[str, Any]) -> bytes:
    """A JSON body: orjson (a list of 1,000 users costs the standard library ten times
    more), or the standard library for what orjson refuses (an integer over 64 bits)."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data).encode()


def limit_group(path: str) -> LimitGroup | None:
    """The rate-limit budget a path draws on; None: nothing is served there."""
    if path.rstrip("/") == TOKEN_PATH:
        return "token"
    if path == PREFIX or path.startswith(f"{PREFIX}/"):
        return "bulk" if path.rstrip("/") == f"{PREFIX}/Bulk" else "others"
    return None


def count_key(method: str, path: str) -> str:
    """``"POST Users"``, ``"POST Users/.search"``, ``"POST token"``… for ``counts()``."""
    if path.rstrip("/") == TOKEN_PATH:
        return f"{method} token"
    if path.startswith(f"{PREFIX}/"):
        segments = path[len(PREFIX) + 1 :].strip("/").split("/")
        if len(segments) > 1 and segments[1] == ".search":
            return f"{method} {segments[0]}/.search"
        return f"{method} {segments[0]}"
    return f"{method} {path}"
