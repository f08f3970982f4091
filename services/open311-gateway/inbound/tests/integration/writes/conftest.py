"""Fixtures of the write side's integration tests (the gateway, the response format)."""

from write_harness import fmt, write_gw  # noqa: F401 - fixtures for this directory
