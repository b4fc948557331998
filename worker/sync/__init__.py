"""Scheduled sync jobs: one module per job, pure planning apart from the I/O that carries it out."""
