"""Fixtures of the outbound tests (the outbound worker, SMTP and webhook peers)."""

from outbound_harness import outbound_world  # noqa: F401 - fixture for this directory
