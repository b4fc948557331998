"""Everything that speaks HTTP to BookyFlow; the only package that imports aiohttp's client.

``BookyFlowClient`` sends, retries and authenticates; ``Cmf`` offers one typed coroutine per
CMF endpoint on top of it. Nothing outside this package sees an aiohttp type or exception.
"""

from worker.api.client import BookyFlowClient, ClientStats
from worker.api.cmf import Cmf

__all__ = ["BookyFlowClient", "ClientStats", "Cmf"]
