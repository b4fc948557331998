"""Which properties on the site are this channel's: the one type every layer shares.

It imports nothing of the worker's, so the API layer's ownership guard, sharding, the state
store's users and the sync jobs can all depend on it without depending on each other.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["OwnedProperties"]


class OwnedProperties:
    """The properties this channel created on the site: property uid ↔ vendor remote uid."""

    def __init__(self, pairs: Iterable[tuple[int, str]] = ()) -> None:
        self._remote_by_uid: dict[int, str] = dict(pairs)

    def __contains__(self, property_uid: object) -> bool:
        return property_uid in self._remote_by_uid

    def __len__(self) -> int:
        return len(self._remote_by_uid)

    def owns(self, property_uid: int) -> bool:
        """The ownership guard handed to ``Cmf``."""
        return property_uid in self._remote_by_uid

    def add(self, property_uid: int, remote_uid: str) -> None:
        self._remote_by_uid[property_uid] = remote_uid

    def discard(self, property_uid: int) -> None:
        self._remote_by_uid.pop(property_uid, None)

    def replace(self, pairs: Iterable[tuple[int, str]]) -> None:
        """Adopt the site's list (``properties/ids``) as the truth."""
        self._remote_by_uid = dict(pairs)

    def remote_uid(self, property_uid: int) -> str | None:
        return self._remote_by_uid.get(property_uid)

    def uid_of(self, remote_uid: str) -> int | None:
        for uid, remote in self._remote_by_uid.items():
            if remote == remote_uid:
                return uid
        return None

    def items(self) -> list[tuple[int, str]]:
        return sorted(self._remote_by_uid.items())
