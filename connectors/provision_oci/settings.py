"""The ``[oci]`` table, and the request budgets of each identity-domain tier."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

Tier = Literal["free", "oracle-apps", "oracle-apps-premium", "premium", "external-user"]
Category = Literal["token", "others", "bulk"]

TIERS: dict[str, dict[str, tuple[float, float]]] = {
    # category: (per second, per minute), from Oracle's "API rate limits" page
    # (docs.oracle.com/en-us/iaas/Content/Identity/sku/api-rate-limiting.htm: "Token Mgmt",
    # "Others", "Bulk"; the page says 429 when exceeded and nothing of how windows are counted)
    "free": {"token": (10, 150), "others": (20, 150), "bulk": (5, 200)},
    "oracle-apps": {"token": (40, 1000), "others": (50, 1500), "bulk": (5, 200)},
    "oracle-apps-premium": {"token": (50, 1700), "others": (55, 1750), "bulk": (5, 200)},
    "premium": {"token": (65, 3400), "others": (90, 5000), "bulk": (5, 200)},
    "external-user": {"token": (60, 2300), "others": (80, 4000), "bulk": (5, 200)},
}

MARGIN = 0.9
"""The share of the tier's limits the client spends by default (`OciSettings.budget_margin`).

The client's token bucket runs at ``margin`` x the limit and holds at most ``margin`` x the
limit, so however the domain counts (a token bucket of the limit, as the emulator does), a
request the client sends may reach it late or early by up to ``(1 - margin) / margin`` of the
window (111 ms of a second, 6.7 s of a minute at 0.9) without a 429: see `jitter_tolerance`.
"""


def jitter_tolerance(margin: float, window: float) -> float:
    """Seconds by which answers' arrival times may vary without the domain ever throttling.

    A client bucket (rate ``m·r``, size ``m·b``) sends at most ``m·b + m·r·L`` requests in any
    ``L`` seconds; delayed by between d and d + J, they land in the domain's ``L`` seconds
    from the client's ``L + J``: at most ``m·b + m·r·(L + J)``, which the domain's bucket
    (rate r, size b = r·window, full when idle) accepts while ``m·r·J <= (1 - m)·b``.
    """
    return (1 - margin) / margin * window


PROTECTED_GROUPS = (
    "Administrators",
    "All-Domain-Users",
    "Domain_Administrators",
    "All Domain Users",
)
"""Built-in groups: Oracle's "Groups" page (identity domains) names Administrators and
All-Domain-Users, created by IAM and not deletable; the last two are the spellings of domains
converted from Identity Cloud Service (unconfirmed)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OciSettings(BaseModel):
    """Settings of an ``oci`` endpoint: the domain, the OAuth client, budgets and behaviour."""

    model_config = ConfigDict(extra="forbid")

    domain_url: str = Field(
        description="The identity domain's URL, https://idcs-<id>.identity.oraclecloud.com."
    )
    client_id: str = Field(description="The confidential application's client id.")
    client_secret: SecretStr = Field(
        description="The application's client secret; give it from the environment."
    )
    scope: str = Field("urn:opc:idm:__myscopes__", description="OAuth scope requested.")
    notify_users: bool = Field(
        False,
        description="Let the domain e-mail created users (false: bypassNotification, so a "
        "sync of 10,000 users sends no welcome mail).",
    )
    tier: Tier = Field("free", description="The domain type, which sets the rate limits.")
    budget_margin: float = Field(
        MARGIN,
        gt=0,
        le=1,
        description="Share of the tier's published limits the client spends, rate and burst "
        "alike: 0.9 leaves 10 %, so requests reaching the domain up to 111 ms out of step "
        "(6.7 s for the per-minute limits) meet no 429; 1 spends the limits exactly. The "
        "overrides below are used as given.",
    )
    token_per_second: float | None = Field(None, gt=0, description="Override: token budget/s.")
    token_per_minute: float | None = Field(None, gt=0, description="Override: token budget/min.")
    others_per_second: float | None = Field(None, gt=0, description="Override: others budget/s.")
    others_per_minute: float | None = Field(None, gt=0, description="Override: others budget/min.")
    bulk_per_second: float | None = Field(None, gt=0, description="Override: Bulk budget/s.")
    bulk_per_minute: float | None = Field(None, gt=0, description="Override: Bulk budget/min.")
    bulk: Literal["auto", "off"] = Field(
        "auto", description="Write through SCIM Bulk when the domain offers it ('off': never)."
    )
    protected_groups: list[str] = Field(
        default_factory=lambda: list(PROTECTED_GROUPS),
        description="Domain groups the sync never adopts, changes or deletes, whatever a "
        "source group is called (compared without case); a source group of such a name "
        "fails with a message.",
    )
    concurrency: int = Field(8, ge=1, le=64, description="Requests in flight at once.")
    max_attempts: int = Field(
        6, ge=1, le=20, description="Attempts per request on 429, 5xx and transport errors."
    )
    timeout: float = Field(60, gt=0, description="Seconds to wait for an answer.")
    ca_bundle: Path | None = Field(
        None, description="A CA bundle to verify the domain's certificate with."
    )

    @field_validator("domain_url")
    @classmethod
    def _domain_url(cls, value: str) -> str:
        url = urlsplit(value.strip())
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ValueError(f"{value!r} is not a URL like https://idcs-….identity.oraclecloud.com")
        if url.scheme == "http" and not is_loopback(url.hostname):
            raise ValueError(
                f"{value!r} uses plain http: identity data and credentials need https "
                "(http is accepted only for a local emulator on a loopback address)"
            )
        if url.path.strip("/") or url.query:
            raise ValueError(f"{value!r}: give the domain URL only, without a path")
        return f"{url.scheme}://{url.netloc}"

    def is_protected(self, display_name: str | None) -> bool:
        names = {g.casefold() for g in self.protected_groups}
        return bool(display_name) and str(display_name).casefold() in names

    def identity(self) -> str:
        """The domain as the state file records it: its URL, scheme and host in lower case.

        Without userinfo, a default port or a trailing slash, so spellings of one domain agree.
        """
        url = urlsplit(self.domain_url)
        scheme, host = url.scheme.lower(), url.netloc.rpartition("@")[2].lower()
        if url.port == {"https": 443, "http": 80}[scheme]:
            host = host.rpartition(":")[0]
        return f"{scheme}://{host}"

    def limits(self, category: Category) -> tuple[float, float]:
        """(per second, per minute) the domain allows in ``category``: its tier's."""
        return TIERS[self.tier][category]

    def budget(self, category: Category) -> tuple[float, float]:
        """(per second, per minute) the client spends in ``category``: the tier's limits
        times ``budget_margin``, unless overridden (an override is used as given)."""
        per_second, per_minute = self.limits(category)
        return (
            getattr(self, f"{category}_per_second") or per_second * self.budget_margin,
            getattr(self, f"{category}_per_minute") or per_minute * self.budget_margin,
        )
