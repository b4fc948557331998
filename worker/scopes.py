"""OAuth scopes: the one parser of scope lists, what a set of jobs needs, and the preflight rule.

Which scopes a job needs is written once, as its ``Job.scopes``; prune's (the properties job
deleting what the vendor removed) is ``PRUNE_SCOPES``; the worker's own start-up's (announcing
the channel) is ``START_SCOPES``. ``needed_by`` derives what a worker's jobs need (the preflight
checks that), ``to_request`` what its token request asks for; ``parse_scopes`` reads every scope
list (``BOOKYFLOW_SCOPES``, a token response's ``scope``), space or comma separated. Pure: it
imports nothing of the worker's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

__all__ = [
    "KNOWN_SCOPES",
    "PRUNE_SCOPES",
    "START_SCOPES",
    "missing_scopes",
    "needed_by",
    "parse_scopes",
    "to_request",
]

# The scope names of the BookyFlow spec (§2.3); a site may speak its own vocabulary instead.
KNOWN_SCOPES = ("read", "write", "delete")
# ``settings.prune``: the properties job deletes properties the vendor no longer lists.
PRUNE_SCOPES = ("delete",)
# The worker's start-up: the announce is a GET, then a POST when the site has no such channel.
START_SCOPES = ("read", "write")


class Scoped(Protocol):
    """Anything that declares the scopes its requests need (every ``Job``)."""

    @property
    def scopes(self) -> tuple[str, ...]: ...


def parse_scopes(raw: str | None) -> tuple[str, ...]:
    """Scope names from a space- or comma-separated list, first occurrence first; none → ()."""
    return tuple(dict.fromkeys((raw or "").replace(",", " ").split()))


def needed_by(jobs: Iterable[Scoped], *, prune: bool = False) -> tuple[str, ...]:
    """The scopes ``jobs`` need (and prune's with ``prune``), each once, in first-use order."""
    needed = [scope for job in jobs for scope in job.scopes]
    if prune:
        needed.extend(PRUNE_SCOPES)
    return tuple(dict.fromkeys(needed))


def to_request(needed: Iterable[str]) -> tuple[str, ...]:
    """What a worker whose jobs need ``needed`` asks for: its start-up's scopes, then those."""
    return tuple(dict.fromkeys((*START_SCOPES, *needed)))


def missing_scopes(needed: Iterable[str], granted: Iterable[str]) -> tuple[str, ...] | None:
    """Needed scopes that were not granted; None when the site's vocabulary is foreign.

    A site that grants only names we do not know (``channel_management``) cannot be judged
    from the names: its 403 answers decide (spec §2.3 Compatibility).
    """
    granted_set = frozenset(granted)
    if granted_set and granted_set.isdisjoint(KNOWN_SCOPES):
        return None
    return tuple(scope for scope in dict.fromkeys(needed) if scope not in granted_set)
