"""Scheduled sync jobs: one module per job, pure planning apart from the I/O that carries it out.

The map of the package, and of the ARI job step by step, is ``worker/sync/README.md``.
"""
