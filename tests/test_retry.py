"""`ditto.retry`: full-jitter exponential backoff that never waits less than Retry-After."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import pytest

from ditto.retry import RetryPolicy, parse_retry_after


def test_backoff_is_jittered_below_an_exponential_ceiling():
    random.seed(0)
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        delays = [policy.delay(attempt, None) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # full jitter spreads over the whole range
        assert min(delays) < 0.2 * ceiling


def test_retry_after_is_a_floor():
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert all(policy.delay(0, 3.0) >= 3.0 for _ in range(50))
    assert all(policy.delay(5, 30.0) == 30.0 for _ in range(50))  # above the backoff ceiling: exactly it


@pytest.mark.parametrize("value, expected", [("7", 7.0), ("0.25", 0.25), ("-3", 0.0), ("", None), (None, None),
                                             ("soon", None)])
def test_retry_after_in_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_retry_after_as_an_http_date():
    later = formatdate(time.time() + 20, usegmt=True)
    assert 17 <= parse_retry_after(later) <= 21
    assert parse_retry_after(formatdate(time.time() - 100, usegmt=True)) == 0.0
