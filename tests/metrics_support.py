"""Reading ``/metrics`` back: Prometheus text parsed by ``prometheus_client.parser``."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

__all__ = ["Scrape", "http_get"]


class Scrape:
    """The samples of one scrape, by sample name (``..._total``, ``..._bucket`` included)."""

    def __init__(self, text: str | bytes) -> None:
        self.text = text.decode() if isinstance(text, bytes) else text
        self.families = {f.name: f for f in text_string_to_metric_families(self.text)}
        self.samples: dict[str, list[Sample]] = {}
        for family in self.families.values():
            for sample in family.samples:
                self.samples.setdefault(sample.name, []).append(sample)

    def find(self, name: str, **labels: str) -> list[Sample]:
        """The samples of ``name`` whose labels include ``labels``."""
        return [
            s
            for s in self.samples.get(name, [])
            if all(s.labels.get(key) == value for key, value in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        """The one sample of ``name`` with ``labels`` (fails when there is not exactly one)."""
        found = self.find(name, **labels)
        assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
        return found[0].value

    def total(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.find(name, **labels))


async def http_get(port: int, path: str, method: str = "GET") -> tuple[int, str, str]:
    """Status, content type and body of one request to ``127.0.0.1:port``."""
    url = f"http://127.0.0.1:{port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()
