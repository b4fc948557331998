"""Fuzzing ``parse_retry_after``: any header value gives None or a finite, non-negative delay."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime, timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import fuzz_settings, header_values
from worker.api.responses import parse_retry_after

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
walls = st.one_of(
    st.just(NOW.timestamp()),
    st.datetimes(timezones=st.just(UTC)).map(datetime.timestamp),
    st.floats(allow_nan=False, allow_infinity=False),
)
numbers = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),
    st.sampled_from(["1_000", " 7 ", "\u0661\u0662", "0x10", "1e400", "-inf", "+5", "5."]),
)
http_dates = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
).map(lambda when: email.utils.format_datetime(when, usegmt=True))
values = st.one_of(st.none(), header_values, numbers, http_dates, st.text(max_size=60))


@fuzz_settings(400)
@given(value=values, now_wall=walls)
@example(
    value="Fri, 31 Dec 9999 23:59:59 +2359", now_wall=datetime(1, 1, 1, tzinfo=UTC).timestamp()
)
@example(
    value="Mon, 01 Jan 0001 00:00:00 -2359", now_wall=datetime(9999, 12, 31, tzinfo=UTC).timestamp()
)
@example(value="Wed, 21 Oct 99999 07:28:00 GMT", now_wall=NOW.timestamp())
def test_retry_after_is_none_or_a_finite_non_negative_delay(
    value: str | None, now_wall: float
) -> None:
    """Seconds, HTTP-dates and junk alike give None or a finite delay >= 0; never an exception."""
    delay = parse_retry_after(value, now_wall=now_wall)
    if delay is not None:
        assert math.isfinite(delay)
        assert delay >= 0


@fuzz_settings(150)
@given(ahead_s=st.integers(0, 10**7))
def test_http_date_in_the_future_is_the_seconds_until_it(ahead_s: int) -> None:
    """An HTTP-date ``ahead_s`` seconds from now is read back as exactly that many seconds."""
    header = email.utils.format_datetime(NOW + timedelta(seconds=ahead_s), usegmt=True)
    assert parse_retry_after(header, now_wall=NOW.timestamp()) == ahead_s


@fuzz_settings(150)
@given(seconds=st.floats(min_value=0, max_value=1e12))
def test_delta_seconds_round_trip(seconds: float) -> None:
    """A plain number of seconds is read back unchanged."""
    assert parse_retry_after(repr(seconds), now_wall=NOW.timestamp()) == seconds
