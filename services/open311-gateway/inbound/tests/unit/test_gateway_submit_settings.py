"""The write side's settings: the retry dedup window (PR-11) and the phone region of contacts (PR-08)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from civicloop_gateway.settings import GatewaySettings
from pydantic import ValidationError


def test_pr11_dedup_window_defaults_to_a_day_and_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CIVICLOOP_DEDUP_WINDOW", raising=False)
    assert GatewaySettings(env="test").dedup_window == timedelta(hours=24)
    monkeypatch.setenv("CIVICLOOP_DEDUP_WINDOW", "PT2H")
    assert GatewaySettings(env="test").dedup_window == timedelta(hours=2)
    monkeypatch.setenv("CIVICLOOP_DEDUP_WINDOW", "0")
    with pytest.raises(ValidationError):
        GatewaySettings(env="test")


def test_pr08_phone_region_must_be_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIVICLOOP_DEFAULT_PHONE_REGION", "gb")
    assert GatewaySettings(env="test").default_phone_region == "GB"
    monkeypatch.setenv("CIVICLOOP_DEFAULT_PHONE_REGION", "XX")
    with pytest.raises(ValidationError):
        GatewaySettings(env="test")
