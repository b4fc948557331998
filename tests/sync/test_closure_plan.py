"""The closure plan: which closures to create, reopen or forget (``worker.sync.closure_plan``)."""

from __future__ import annotations

from datetime import date

from worker.sync.closure_plan import ClosureSpec, PushedClosure, plan_closures

D = date.fromisoformat
TODAY = D("2026-12-01")


def test_closures_created_reopened_changed_and_forgotten() -> None:
    """New ids are created, vanished ones reopened, changed ones replaced, past ones forgotten."""
    keep = ClosureSpec(D("2027-01-10"), D("2027-01-12"))
    changed_old = ClosureSpec(D("2027-02-01"), D("2027-02-02"))
    changed_new = ClosureSpec(D("2027-02-01"), D("2027-02-03"))
    pushed = {
        "keep": PushedClosure(1, keep),
        "gone": PushedClosure(2, ClosureSpec(D("2027-03-01"), D("2027-03-01"))),
        "changed": PushedClosure(3, changed_old),
        "past": PushedClosure(4, ClosureSpec(D("2026-11-01"), D("2026-11-02"))),
    }
    desired = {
        "keep": keep,
        "changed": changed_new,
        "new": ClosureSpec(D("2027-04-01"), D("2027-04-02"), (7,)),
        "old": ClosureSpec(D("2026-10-01"), D("2026-10-02")),
    }
    plan = plan_closures(desired, pushed, TODAY)
    assert set(plan.reopen) == {"gone", "changed"}
    assert plan.create == {"changed": changed_new, "new": desired["new"]}
    assert plan.forget == ["past"]


def test_closure_started_in_the_past_is_created_from_today() -> None:
    """A closure that already began is clipped to today rather than sent with past nights."""
    plan = plan_closures({"c": ClosureSpec(D("2026-11-28"), D("2026-12-03"))}, {}, TODAY)
    assert plan.create == {"c": ClosureSpec(TODAY, D("2026-12-03"))}
