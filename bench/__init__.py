"""Benchmark of Safe Passage under gunicorn in production mode: `make bench` (`python -m bench`)."""

from __future__ import annotations


class BenchError(Exception):
    """The bench could not measure what it set out to; the message says why."""
