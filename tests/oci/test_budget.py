"""The client's budget against the domain's limits, on fake clocks: pure, no sleeping.

The domain is modelled as the emulator enforces it: a `RateLimiter` of the tier's limits (a
token bucket per second and per minute, full when idle). The client's grants reach it late by
anything from 0 to the jitter the margin tolerates, in whatever order that makes them arrive.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from provision.ratelimit import RateLimiter
from provision_oci import OciSettings
from provision_oci.client import shared_budgets
from provision_oci.settings import MARGIN, TIERS, Category, jitter_tolerance
from tests.conftest import Clock

CATEGORIES: tuple[Category, ...] = ("token", "others", "bulk")
Delay = Callable[[int, float], float]
"""The delay of the n-th grant, made at time t, on its way to the domain."""


def settings(**kwargs: object) -> OciSettings:
    return OciSettings(
        domain_url="https://idcs-x.identity.oraclecloud.com",
        client_id="c",
        client_secret="s",
        **kwargs,  # type: ignore[arg-type]
    )


def grants(budget: tuple[float, float], seconds: float, idle: random.Random | None) -> list[float]:
    """When a client spending ``budget`` sends, asking as fast as it may for ``seconds``;
    with ``idle``, it pauses at random between requests (so its buckets refill, then burst)."""
    clock = Clock()
    limiter = RateLimiter(*budget, clock=clock, sleep=clock.sleep)
    times: list[float] = []
    while clock.now < seconds:
        if idle is not None and idle.random() < 0.05:
            clock.now += idle.choice((0.3, 1.0, 5.0, 20.0))
        limiter.acquire()
        times.append(clock.now)
    return times


def refused(limits: tuple[float, float], arrivals: list[float]) -> int:
    """How many of ``arrivals`` a domain with ``limits`` answers 429 (it starts idle)."""
    clock = Clock()
    domain = RateLimiter(*limits, clock=clock, sleep=clock.sleep)
    count = 0
    for arrival in sorted(arrivals):
        clock.now = arrival
        count += domain.try_acquire() > 0
    return count


def delays(jitter: float) -> dict[str, Delay]:
    """Ways answers arrive out of step, each within ``jitter``."""
    coin = random.Random(3)
    return {
        "on time": lambda n, t: 0.0,
        "the start late, the rest on time": lambda n, t: jitter if t < jitter else 0.0,
        "every other one late": lambda n, t: jitter * (n % 2),
        "late in runs of 7": lambda n, t: jitter if (n // 7) % 2 else 0.0,
        "late at random": lambda n, t: jitter * coin.random(),
        "late or on time at random": lambda n, t: jitter * coin.getrandbits(1),
    }


@pytest.mark.parametrize("tier", sorted(TIERS))
@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("bursty", [False, True], ids=["flat out", "pauses and bursts"])
def test_the_default_budget_never_meets_a_429_when_answers_arrive_out_of_step(
    tier: str, category: Category, bursty: bool
) -> None:
    config = settings(tier=tier)
    limits, budget = config.limits(category), config.budget(category)
    jitter = 0.999 * jitter_tolerance(MARGIN, 1.0)  # the per-second window is the tighter
    sent = grants(budget, 150, random.Random(5) if bursty else None)  # 2.5 windows of a minute
    for name, delay in delays(jitter).items():
        arrivals = [t + delay(n, t) for n, t in enumerate(sent)]
        assert refused(limits, arrivals) == 0, name


def test_the_budget_is_the_margin_of_the_limits_and_overrides_are_used_as_given() -> None:
    assert settings(tier="premium").limits("others") == (90, 5000)
    assert settings(tier="premium").budget("others") == pytest.approx((81, 4500))
    assert settings().budget("bulk") == pytest.approx((4.5, 180))
    assert settings(budget_margin=1).budget("bulk") == (5, 200)
    assert settings(tier="premium", others_per_minute=1000).budget("others") == pytest.approx(
        (81, 1000)
    )


def test_the_jitter_tolerated_is_a_ninth_of_the_window_at_the_default_margin() -> None:
    assert jitter_tolerance(MARGIN, 1.0) == pytest.approx(1 / 9)
    assert jitter_tolerance(MARGIN, 60.0) == pytest.approx(60 / 9)


def test_spending_the_limits_exactly_meets_429s_when_answers_arrive_out_of_step() -> None:
    """Why the margin: at the limits, the domain refuses as soon as one answer lags."""
    limits = TIERS["premium"]["bulk"]
    sent = grants(limits, 30, None)
    late_start = delays(0.05)["the start late, the rest on time"]
    assert refused(limits, [t + late_start(n, t) for n, t in enumerate(sent)]) > 0


def test_the_clients_of_one_domain_spend_one_budget() -> None:
    """A run that follows another in this process starts where the domain's counters are."""
    first, second = shared_budgets(settings()), shared_budgets(settings())
    assert all(first[c] is second[c] for c in CATEGORIES)
    other_domain = settings().model_copy(
        update={"domain_url": "https://idcs-y.identity.oraclecloud.com"}
    )
    assert shared_budgets(other_domain)["bulk"] is not first["bulk"]
    assert shared_budgets(settings(tier="premium"))["others"] is not first["others"]
