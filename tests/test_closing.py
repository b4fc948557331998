"""``worker.closing.AsyncClosing``: ``async with`` written once for every closeable class."""

from __future__ import annotations

import ast
from pathlib import Path

import worker
from worker.closing import AsyncClosing

ROOT = Path(worker.__file__).parent


class _Resource(AsyncClosing):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def open(self) -> None:
        self.events.append("open")

    async def close(self) -> None:
        self.events.append("close")


async def test_async_with_opens_returns_the_object_and_closes_on_error() -> None:
    """Entering opens and yields the object itself; leaving closes it, even on an exception."""
    resource = _Resource()
    try:
        async with resource as entered:
            assert entered is resource
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert resource.events == ["open", "close"]


def test_no_class_in_worker_writes_its_own_context_manager_methods() -> None:
    """Only ``AsyncClosing`` defines ``__aenter__``/``__aexit__`` (issue 14: one close block)."""
    owners = sorted(
        f"{path.relative_to(ROOT.parent)}:{node.name}"
        for path in ROOT.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ClassDef)
        and any(
            isinstance(item, ast.AsyncFunctionDef) and item.name in ("__aenter__", "__aexit__")
            for item in node.body
        )
    )
    assert owners == ["worker/closing.py:AsyncClosing"]
