"""The chaos suites reuse the end-to-end fixtures: a sandbox site and worker subprocesses."""

from tests.e2e.conftest import images, site, spawn

__all__ = ["images", "site", "spawn"]  # re-exported so pytest registers them for tests/chaos
