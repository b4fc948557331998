"""Read a channel's end state straight from the real engine, independently of the worker's client.

A deliberately small raw aiohttp reader: its own token, the channel header, and the answers as the
engine gives them (``data.response``), so a parsing bug in ``worker.api`` cannot hide a wrong end
state. Only ``delete_property`` writes (the suite's clean-up).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

import aiohttp

__all__ = ["EngineAnswerError", "EngineReader"]

CHANNEL_HEADER = "X-BOOKYFLOW-channel-name"


class EngineAnswerError(AssertionError):
    """The engine answered something the reader cannot use (an error envelope, not JSON)."""


def _items(value: Any) -> list[Any]:
    """PHP arrays arrive as lists or as objects keyed by id; an empty one may be ``[]``."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return []


class EngineReader:
    """``async with EngineReader(url, client_id, secret, channel) as engine``."""

    def __init__(self, api_url: str, client_id: str, client_secret: str, channel: str) -> None:
        self.api_url = api_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self.channel = channel
        self._session: aiohttp.ClientSession | None = None
        self._token = ""

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        async with self._session.post(f"{self.api_url}/oauth/token", data=form) as answer:
            text = await answer.text()
        try:
            self._token = json.loads(text.split("\n<", 1)[0])["access_token"]
        except (ValueError, KeyError, TypeError):
            raise EngineAnswerError(f"no token from the engine: HTTP {answer.status}") from None
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One request; the status and the JSON body as sent (``None`` when it is not JSON)."""
        assert self._session is not None
        headers = {"Authorization": f"Bearer {self._token}", CHANNEL_HEADER: self.channel}
        async with self._session.request(
            method, f"{self.api_url}/{path}", headers=headers, data=form
        ) as answer:
            text = await answer.text()
            status = answer.status
        try:
            return status, json.loads(text)
        except ValueError:
            return status, None

    async def data(self, path: str) -> Any:
        """``data`` of a 200 answer to a GET, or ``EngineAnswerError``."""
        status, body = await self.call("GET", path)
        if status != 200 or not isinstance(body, dict) or "data" not in body:
            raise EngineAnswerError(f"GET {path}: HTTP {status}: {str(body)[:300]}")
        return body["data"]

    async def response(self, path: str) -> Any:
        return (await self.data(path)).get("response")

    # --- what the suite reads ---------------------------------------------------------------

    async def owned(self) -> list[tuple[str, int]]:
        """``(remote_uid, property_uid)`` of every property the channel owns, duplicates kept."""
        pairs = [
            (str(item["remote_property_uid"]), int(item["local_property_uid"]))
            for item in _items(await self.response("cmf/properties/ids"))
        ]
        return sorted(pairs)

    async def rooms(self, property_uid: int) -> list[dict[str, Any]]:
        rooms: list[dict[str, Any]] = _items(
            await self.response(f"cmf/property/rooms/{property_uid}")
        )
        return rooms

    async def night_prices(self, property_uid: int) -> dict[int, dict[date, set[Decimal]]]:
        """Per room type and night, every price the tariffs give it (``list/prices``).

        A night priced twice (overlapping tariffs) keeps both values, so a test sees the conflict.
        """
        payload = await self.response(f"cmf/property/list/prices/{property_uid}")
        prices: dict[int, dict[date, set[Decimal]]] = defaultdict(lambda: defaultdict(set))
        sets = payload.get("tariff_sets", {}) if isinstance(payload, dict) else {}
        for tariffs in _items(sets):
            for tariff in _items(tariffs):
                price = Decimal(str(tariff["rate_per_night"]["price_including_vat"]))
                for night in tariff.get("dates", []):
                    prices[int(tariff["room_type_id"])][date.fromisoformat(night)].add(price)
        return prices

    async def calendar(self, property_uid: int, start: date, end: date) -> dict[date, Any]:
        """``{night: {"minstay", "is_blocked"}}``; empty before any tariff exists."""
        data = await self.data(f"cmf/property/calendar/{property_uid}/{start}/{end}")
        nights = data.get("response")
        if not isinstance(nights, dict):
            return {}
        return {date.fromisoformat(night): value for night, value in nights.items()}

    async def blackbookings(self, property_uid: int) -> list[tuple[date, date]]:
        """The closures' ``(date_from, date_to)`` as the engine lists them (future only)."""
        payload = await self.response(f"cmf/property/list/blackbookings/{property_uid}")
        listed = payload.get("blackbookings", {}) if isinstance(payload, dict) else {}
        return sorted(
            (date.fromisoformat(b["date_from"]), date.fromisoformat(b["date_to"]))
            for b in _items(listed)
        )

    async def bookings(self, property_uid: int) -> list[dict[str, Any]]:
        """Every booking of the property, black bookings and the channel's pushes included."""
        bookings: list[dict[str, Any]] = _items(
            await self.response(f"cmf/property/list/bookings/{property_uid}")
        )
        return bookings

    async def put(self, path: str, form: dict[str, str]) -> Any:
        """``data.response`` of a 200 answer to a PUT, or ``EngineAnswerError``."""
        status, body = await self.call("PUT", path, form)
        if status != 200 or not isinstance(body, dict) or "data" not in body:
            raise EngineAnswerError(f"PUT {path}: HTTP {status}: {str(body)[:300]}")
        return body["data"].get("response")

    async def delete_property(self, property_uid: int) -> int:
        status, _ = await self.call("DELETE", f"cmf/property/local/{property_uid}")
        return status
