"""The soak's own checks can fail: token discipline, rate bound, log and secret scans, poisoned
bookings, and the many-sites isolation and reload checks."""

from __future__ import annotations

from typing import Any

from tests.chaos.figures import rate_bounded, rate_figures
from tests.chaos.invariants import json_log_lines, no_secret, poison_set_aside, token_figures
from tests.chaos.many_sites import sighup_reloaded, sites_isolated
from worker.inventory.sink import REPLACED_CHARACTERS
from worker.sandbox.journal import JournalEntry


def entry(request_id: str, state: str, status: int, at: float, token: str = "t1") -> JournalEntry:
    headers = {"X-Request-ID": request_id, "Authorization": f"Bearer {token}"}
    return JournalEntry("GET", "/bookyflow/api/cmf/versions", headers, {}, state, status, at)


def test_a_refused_request_must_be_replayed_with_a_valid_token() -> None:
    """A 401 on a revoked token followed by a valid replay passes; without the replay it fails."""
    replayed = token_figures([entry("a", "revoked", 401, 1.0), entry("a", "valid", 200, 1.1, "t2")])
    assert (replayed.bad, replayed.replayed, replayed.violations) == (1, 1, [])
    dropped = token_figures([entry("a", "revoked", 401, 1.0), entry("b", "valid", 200, 1.1)])
    assert len(dropped.violations) == 1


def test_a_token_refused_earlier_must_not_be_sent_again() -> None:
    """Sending a token seconds after the site refused it is a violation even if replayed."""
    entries = [entry("b", "revoked", 401, 5.0), entry("b", "valid", 200, 5.1, "t2")]
    figures = token_figures(entries, refused_at={"t1": 1.0})
    assert any("after its token was refused" in v for v in figures.violations)


def test_a_proxy_answer_on_a_revoked_token_needs_no_replay() -> None:
    """A 503 from the proxy hid the revocation: the worker could not know, so it is no violation."""
    assert token_figures([entry("c", "revoked", 503, 1.0)]).violations == []


def test_rate_bound_and_repeats() -> None:
    """Thirty-one requests in one second break a 20/s + 10 bound; repeated ids count as retries."""
    entries = [entry(str(n % 30), "valid", 200, 3.0 + n / 100) for n in range(31)]
    figures = rate_figures(entries)
    assert (figures.peak_rps, figures.repeats) == (31, 1)
    assert not rate_bounded(figures, 20.0, 10).ok


def test_log_and_secret_scans_fail_on_bad_output() -> None:
    """A plain-text line and a leaked token are both caught."""
    assert not json_log_lines(['{"timestamp": 1, "level": "info", "event": "x"}', "Traceback"]).ok
    assert not no_secret({"tok-123"}, {"stdout": "Bearer tok-123"}).ok
    assert no_secret({"tok-123"}, {"stdout": "Bearer [REDACTED]"}).ok


def _line(booking_id: int, firstname: str, **extra: Any) -> dict[str, Any]:
    booking = {"booking_id": booking_id, "guest_data": {"firstname": firstname}}
    return {"booking": booking, **extra}


def test_poisoned_bookings_must_be_set_aside() -> None:
    """A surrogate booking must be delivered flagged with U+FFFD; an unparsable one parked once."""
    poisoned = {"surrogate": 1, "unparsable": 2}
    flagged = _line(1, "Jo\ufffdse", flags=[REPLACED_CHARACTERS])
    parked = [{"event": "booking.parked", "booking_id": 2}]
    assert poison_set_aside([flagged], parked, poisoned).ok
    assert not poison_set_aside([_line(1, "Jo\ufffdse")], parked, poisoned).ok
    assert not poison_set_aside([flagged], parked * 2, poisoned).ok
    assert not poison_set_aside([], parked, poisoned).ok
    assert poison_set_aside([], [], {}).ok


def test_isolation_and_reload_checks_fail_on_a_leak() -> None:
    """A site.failed, the calm site failing a job, or a site not reloaded all fail."""
    down = [
        {"event": "worker.start_failed", "site": "down"},
        {"event": "site.ready", "site": "down"},
    ]
    assert sites_isolated(down).ok
    assert not sites_isolated([*down, {"event": "site.failed", "site": "steady"}]).ok
    assert not sites_isolated([*down, {"event": "site.failed", "site": "down"}]).ok
    assert not sites_isolated([*down, {"event": "job.finished", "site": "calm", "ok": False}]).ok
    assert not sites_isolated(down[1:]).ok  # down's start-up never retried
    summary = {"event": "supervisor.reload", "sites": ["calm", "steady"], "not_running": ["down"]}
    reloads = [
        {"event": "worker.reload", "site": label, "ok": True, "sink_reopened": True}
        for label in ("calm", "steady")
    ]
    assert sighup_reloaded([summary, *reloads], 1).ok
    assert not sighup_reloaded([summary, reloads[0]], 1).ok
    assert not sighup_reloaded([], 1).ok
