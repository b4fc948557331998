"""The soak's own checks can fail: token discipline, rate bound, log and secret scans."""

from __future__ import annotations

from tests.chaos.figures import rate_bounded, rate_figures
from tests.chaos.invariants import json_log_lines, no_secret, token_figures
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
