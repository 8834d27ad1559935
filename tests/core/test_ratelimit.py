"""The client-side budget, on a fake clock: pure, no sleeping."""

from __future__ import annotations

import pytest

from provision.ratelimit import RateLimiter
from tests.conftest import Clock


def limiter(per_second: float, per_minute: float | None = None) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(per_second, per_minute, clock=clock, sleep=clock.sleep), clock


def test_a_quiet_client_may_burst_one_seconds_worth_then_keeps_the_rate() -> None:
    budget, clock = limiter(5)
    assert [budget.acquire() for _ in range(5)] == [0.0] * 5
    for _ in range(10):
        budget.acquire()
    assert clock.now == pytest.approx(2.0)  # 10 more at 5 a second


def test_the_per_minute_budget_binds_after_its_burst() -> None:
    budget, clock = limiter(100, per_minute=120)
    for _ in range(120):
        budget.acquire()
    assert clock.now < 2  # the minute's worth went at up to 100 a second
    for _ in range(60):
        budget.acquire()
    assert clock.now == pytest.approx(30, abs=1)  # then 2 a second


def test_try_acquire_takes_nothing_when_it_answers_wait() -> None:
    budget, clock = limiter(1)
    assert budget.try_acquire() == 0
    wait = budget.try_acquire()
    assert wait == pytest.approx(1.0)
    clock.now += 0.5
    assert budget.try_acquire() == pytest.approx(0.5)  # the refused attempt took no room
    clock.now += 0.5
    assert budget.try_acquire() == 0


def test_waiting_is_counted() -> None:
    budget, _ = limiter(2)
    for _ in range(4):
        budget.acquire()
    assert budget.waited == pytest.approx(1.0)


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
