"""Bounded retries for transient failures, with exponential back-off and jitter.

Only TransientDeliveryError is retried: the request provably did not take
effect (429, 5xx, refused before sending). A 429 waits as long as the provider
asked. Everything else, ambiguous outcomes above all, is returned to the
caller at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from newsletter.errors import RateLimitedError, TransientDeliveryError

T = TypeVar("T")
MAX_WAIT_SECONDS = 60.0


def backoff_seconds(attempt: int, base: float) -> float:
    """base, 2·base, 4·base … capped, plus up to `base` of jitter so clients spread out."""
    delay: float = min(base * 2 ** (attempt - 1), MAX_WAIT_SECONDS)
    return delay + random.uniform(0, base)  # noqa: S311 - jitter, not cryptography


def _waiter(base: float) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RateLimitedError):
            return min(max(error.retry_after, 0.0), MAX_WAIT_SECONDS)
        return backoff_seconds(state.attempt_number, base)

    return wait


def with_retries(
    call: Callable[[], T],
    *,
    attempts: int,
    base_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `call`, retrying TransientDeliveryError up to `attempts` tries in all."""
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(TransientDeliveryError),
        stop=tenacity.stop_after_attempt(attempts),
        wait=_waiter(base_seconds),
        sleep=sleep,
        reraise=True,
    )
    return retrying(call)
