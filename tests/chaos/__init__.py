"""Chaos: the soak runner (``python -m tests.chaos.soak``), the crash matrix and failure modes."""
