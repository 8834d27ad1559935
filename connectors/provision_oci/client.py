"""HTTP to an identity domain: OAuth token, budgets, retries, SCIM errors.

Every request waits for its category's client-side budget (token, others, bulk: per second
and per minute; by default 90 % of the tier's limits, see `OciSettings.budget_margin`). The
budgets belong to the domain, not to one client: every client of a domain in this process
spends the same ones (`shared_budgets`), so a run that follows another (a plan, then a run;
the demo's three runs) starts where the domain's own counters are, not with a fresh burst. A
429 is retried after ``Retry-After`` when the domain sends it, else after
an exponential backoff with jitter; 5xx answers and transport errors are retried a bounded
number of times; a 401 renews the token once. The token is cached and renewed before it
expires.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any
from urllib.parse import quote

import httpx

from provision import RequestStats
from provision.ratelimit import RateLimiter
from provision_oci.settings import Category, OciSettings

log = logging.getLogger(__name__)

SCIM = "/admin/v1"
TOKEN_PATH = "/oauth2/v1/token"
SCIM_JSON = "application/scim+json"
ACCEPT = "application/json, application/scim+json"
"""What Oracle's SDK sends (IdentityDomainsClient, every operation's ``accept`` header)."""
RENEW_BEFORE = 120.0
"""Seconds before expiry at which a cached token is renewed."""
RETRIED_STATUS = frozenset({429, 500, 502, 503, 504})
CATEGORIES: tuple[Category, ...] = ("token", "others", "bulk")

_budgets: dict[tuple[str, Category, float, float], RateLimiter] = {}
_budgets_lock = threading.Lock()


def shared_budgets(settings: OciSettings) -> dict[Category, RateLimiter]:
    """The budgets of ``settings``' domain, one per category, shared by all its clients here.

    Keyed by the domain and the budget's numbers: a client given other numbers (another tier,
    an override) gets a budget of its own.
    """
    with _budgets_lock:
        budgets: dict[Category, RateLimiter] = {}
        for category in CATEGORIES:
            per_second, per_minute = settings.budget(category)
            key = (settings.identity(), category, per_second, per_minute)
            if key not in _budgets:
                _budgets[key] = RateLimiter(per_second, per_minute)
            budgets[category] = _budgets[key]
        return budgets


class OciError(Exception):
    """A request the domain refused or never answered; ``str()`` is for the operator."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        message_id: str = "",
        scim_type: str = "",
        request_id: str = "",
    ) -> None:
        self.status = status
        self.detail = detail
        self.message_id = message_id
        self.scim_type = scim_type
        self.request_id = request_id
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"HTTP {self.status}: {self.detail}" if self.status else self.detail
        if self.message_id:
            text += f" ({self.message_id})"
        if self.request_id:
            text += f" [opc-request-id {self.request_id}]"
        return text

    @classmethod
    def from_response(cls, response: httpx.Response) -> OciError:
        return cls.from_body(
            response.status_code, _json(response), response.headers.get("opc-request-id", "")
        )

    @classmethod
    def from_body(cls, status: int, body: Any, request_id: str = "") -> OciError:
        body = body if isinstance(body, dict) else {}
        detail = str(
            body.get("detail")
            or body.get("error_description")
            or body.get("error")
            or "no detail given"
        )
        oracle = body.get("urn:ietf:params:scim:api:oracle:idcs:extension:messages:Error") or {}
        return cls(
            status,
            detail,
            message_id=str(oracle.get("messageId") or ""),
            scim_type=str(body.get("scimType") or ""),
            request_id=request_id,
        )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"detail": response.text[:300] or response.reason_phrase}


class OciClient:
    """One domain: a pooled httpx client, a cached token, budgets and request counts."""

    def __init__(self, settings: OciSettings, transport_attempts: int | None = None) -> None:
        self.settings = settings
        self.transport_attempts = transport_attempts or settings.max_attempts
        """Tries when nothing answers (``provision test`` keeps it short; 429s and 5xx still
        get ``max_attempts``)."""
        self.stats = RequestStats()
        self.limiters = shared_budgets(settings)
        verify: Any = str(settings.ca_bundle) if settings.ca_bundle else True
        self.http = httpx.Client(
            base_url=settings.domain_url,
            timeout=settings.timeout,
            verify=verify,
            limits=httpx.Limits(max_connections=settings.concurrency + 2),
            headers={"User-Agent": "provision"},
        )
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self._token_lock = threading.Lock()
        """Held while a token is fetched: one fetch at a time."""
        self._spc: dict[str, Any] | None = None

    def close(self) -> None:
        self.http.close()

    def _count(self, name: str, throttled: bool = False) -> None:
        with self._lock:
            self.stats.count(name)
            if throttled:
                self.stats.throttled += 1

    # OAuth2 client credentials
    def token(self, renew: bool = False, stale: str | None = None) -> str:
        """The cached token, renewed before it expires or when asked to.

        ``stale``: the token a 401 answered; when another thread has renewed it meanwhile,
        its successor is returned, so requests refused together fetch one new token.
        """
        with self._token_lock:
            return self._token_locked(renew, stale)

    def _token_locked(self, renew: bool, stale: str | None) -> str:
        with self._lock:
            current = self._token
            if current and stale is not None and current != stale:
                return current
            if not renew and current and time.monotonic() < self._renew_at:
                return current
        s = self.settings
        auth = httpx.BasicAuth(
            quote(s.client_id, safe=""), quote(s.client_secret.get_secret_value(), safe="")
        )
        response = self._send(
            "POST",
            TOKEN_PATH,
            "token",
            "POST token",
            auth=auth,
            data={"grant_type": "client_credentials", "scope": s.scope},
        )
        if response.status_code != 200:
            raise OciError.from_response(response)
        body = response.json()
        with self._lock:
            self._token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 3600)
            # Renewed RENEW_BEFORE seconds before it expires, or half-way through a shorter
            # life: a 60-second token is not renewed on every call.
            self._renew_at = time.monotonic() + max(lifetime - RENEW_BEFORE, lifetime / 2)
            return self._token

    # Requests
    def scim(
        self,
        method: str,
        path: str,
        *,
        category: Category = "others",
        params: dict[str, Any] | None = None,
        body: Any = None,
        ok: tuple[int, ...] = (200, 201, 204),
    ) -> httpx.Response:
        """A SCIM request; raises `OciError` unless the answer's status is in ``ok``."""
        resource = path.strip("/").split("/", 1)[0].split("?", 1)[0]
        name = f"{method} {resource}"
        renewed = False
        while True:
            token = self.token()
            headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
            if body is not None:
                headers["Content-Type"] = SCIM_JSON
            response = self._send(
                method, SCIM + path, category, name, params=params, json=body, headers=headers
            )
            if response.status_code == 401 and not renewed:
                renewed = True
                self.token(renew=True, stale=token)
                continue
            if response.status_code not in ok:
                raise OciError.from_response(response)
            return response

    def _send(
        self, method: str, url: str, category: Category, name: str, **kwargs: Any
    ) -> httpx.Response:
        """Send with budget and retries: 429 (Retry-After or backoff), 5xx, transport."""
        attempts = self.settings.max_attempts
        for attempt in range(1, attempts + 1):
            self.limiters[category].acquire()
            try:
                response = self.http.request(method, url, **kwargs)
            except httpx.TransportError as err:
                self._count(name)
                if attempt >= min(attempts, self.transport_attempts):
                    raise OciError(0, f"{method} {url}: {type(err).__name__}: {err}") from err
                log.warning(  # said each time: a silent network must not look like a hang
                    "no answer from %s%s (%s); attempt %d of %d, retrying",
                    self.settings.domain_url,
                    url,
                    type(err).__name__,
                    attempt,
                    min(attempts, self.transport_attempts),
                )
                self._backoff(attempt)
                continue
            self._count(name, throttled=response.status_code == 429)
            if response.status_code not in RETRIED_STATUS or attempt == attempts:
                return response
            retry_after = _retry_after(response) if response.status_code == 429 else None
            log.debug(
                "%s %s answered %s; attempt %d of %d",
                method,
                url,
                response.status_code,
                attempt,
                attempts,
            )
            self._backoff(attempt, retry_after)
        raise AssertionError("unreachable")

    @staticmethod
    def _backoff(attempt: int, retry_after: float | None = None) -> None:
        if retry_after is not None:
            time.sleep(min(retry_after, 60.0))
        else:  # full jitter: spreads the retries of many threads
            time.sleep(random.uniform(0, min(10.0, 0.1 * 2**attempt)))

    # What the domain offers
    def read_service_provider_config(self) -> dict[str, Any]:
        """The domain's ServiceProviderConfig, as a resource or as the first resource of a
        ListResponse (Oracle's REST API page calls this GET "Search Service Provider
        Configs"); raises `OciError` when it cannot be read."""
        body = self.scim("GET", "/ServiceProviderConfig").json()
        if isinstance(body, dict) and isinstance(body.get("Resources"), list):
            first = body["Resources"][0] if body["Resources"] else {}
            body = first if isinstance(first, dict) else {}
        if not isinstance(body, dict):
            raise OciError(0, "GET /ServiceProviderConfig answered something that is not JSON")
        return dict(body)

    def service_provider_config(self) -> dict[str, Any]:
        """The configuration, read once; ``{}`` (no Bulk) with a warning if it is unreadable."""
        if self._spc is None:
            try:
                spc = self.read_service_provider_config()
            except (OciError, ValueError) as err:
                log.warning(
                    "The domain's ServiceProviderConfig cannot be read (%s): writes will use "
                    "one request per change instead of Bulk. Grant the application the User "
                    "Administrator app role to let it read the configuration.",
                    err,
                )
                spc = {}
            with self._lock:
                self._spc = spc
        return self._spc

    def bulk_limits(self) -> tuple[int, int] | None:
        """(max operations, max payload bytes) when the domain offers Bulk, else None."""
        if self.settings.bulk == "off":
            return None
        bulk = self.service_provider_config().get("bulk") or {}
        if not bulk.get("supported"):
            return None
        operations = int(bulk.get("maxOperations") or 50)
        payload = int(bulk.get("maxPayloadSize") or 1_048_576)
        return max(1, min(50, operations)), max(1, payload)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
