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
    """``async with obj:`` returns ``obj`` and awaits ``obj.close()`` on the way out."""

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
