"""Fixtures of the outbound tests (the gateway with outbound sending, SMTP and webhook peers)."""

from outbound_harness import outbound_world  # noqa: F401 - fixture for this directory
