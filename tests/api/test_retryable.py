"""One source of truth for "retryable": the status table, read by every place that decides.

Each status is turned into an error the way the worker meets it (the site's answer through
``responses.interpret``, the webhook receiver's through ``webhook.answer_error``); the retry
policy, ``retry.is_transient`` and the circuit breaker must then say the same thing about it.
"""

from __future__ import annotations

import pytest

from worker.api.breaker import CircuitBreaker
from worker.api.responses import RETRYABLE_STATUSES, interpret
from worker.api.retry import RetryPolicy, is_transient
from worker.errors import ApiError, RateLimited
from worker.inventory.webhook import answer_error
from worker.settings import RetrySettings
from worker.testing import FakeClock

POLICY = RetryPolicy.from_settings(RetrySettings())
# Every status of the table, the 5xx that are not in it, and a plain 4xx.
STATUSES = sorted(RETRYABLE_STATUSES | {400, 404, 501, 505, 520})


def _site_error(status: int) -> ApiError:
    with pytest.raises(ApiError) as raised:
        interpret(status, {}, b"<html>error</html>", wall=lambda: 0.0)
    return raised.value


def _counted_by_breaker(error: ApiError) -> bool:
    breaker = CircuitBreaker(1, 30.0, FakeClock())
    breaker.record(error)
    return breaker.state == "open"


@pytest.mark.parametrize("status", STATUSES)
def test_policy_is_transient_and_breaker_agree_with_the_table(status: int) -> None:
    """Retried, transient and counted against the site exactly when the table lists the status
    (a rate limit excepted from the breaker: the site is up and asked us to wait)."""
    listed = status in RETRYABLE_STATUSES
    error = _site_error(status)
    assert error.retryable is listed
    assert POLICY.should_retry(error, idempotent=True) is listed
    assert is_transient(error) is listed
    assert _counted_by_breaker(error) is (listed and not isinstance(error, RateLimited))


@pytest.mark.parametrize("status", STATUSES)
def test_the_webhook_receiver_status_is_judged_by_the_same_table(status: int) -> None:
    """The receiver's answer gets the flag the site's answer gets, from the same table."""
    error = answer_error(status, None, now_wall=0.0)
    assert error is not None
    assert error.retryable is (status in RETRYABLE_STATUSES)
    assert POLICY.should_retry(error, idempotent=True) is _site_error(status).retryable


@pytest.mark.parametrize("status", [501, 505, 520])
def test_unlisted_5xx_are_server_errors_that_are_not_retried(status: int) -> None:
    """501, 505 and 520 are still server errors, but nothing retries or counts them."""
    error = _site_error(status)
    assert error.status == status
    assert type(error).__name__ == "ServerError"
    assert not POLICY.should_retry(error, idempotent=True)
    assert not _counted_by_breaker(error)
