"""``async with`` for anything that has an idempotent ``close()``.

The worker's long-lived objects (the API client, the token manager, a site's ``Worker``, the
supervisor, the state store...) each release what they hold in ``close()``; this mixin gives them
the context-manager protocol once instead of five copies of the same two methods.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["AsyncClosing"]


class AsyncClosing:
    """``async with obj:`` awaits ``obj.open()``, returns ``obj``, and awaits ``obj.close()``."""

    async def open(self) -> None:
        """Acquire what ``close()`` releases (a session, a task); nothing by default."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
