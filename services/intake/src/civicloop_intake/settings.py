"""Intake's settings (environment variables prefixed `CIVICLOOP_`).

Intake seals and digests residents' contact details, so it needs the vault pepper: the rule (required outside dev
and test, never the public development pepper) is `civicloop_runtime.settings.VaultPepperSettings`'s.
"""

from __future__ import annotations

from civicloop_runtime.settings import (
    DEV_PEPPER,
    Environment,
    OutboxSettings,
    PhoneRegionSettings,
    VaultPepperSettings,
)
from pydantic import Field

__all__ = ["DEV_PEPPER", "Environment", "IntakeSettings"]


class IntakeSettings(VaultPepperSettings, OutboxSettings, PhoneRegionSettings):
    default_jurisdiction: str = Field(default="demo", min_length=1, max_length=64)
    read_your_writes_timeout_s: float = Field(
        default=2.0, gt=0, le=10, description="how long a track waits for a just-submitted request"
    )
    catalogue_keep_s: float = Field(
        default=1.0,
        ge=0,
        description="how long a catalogue answer is reused before the view is read again (0: read every time)",
    )
    kafka_connect_timeout_s: float = Field(
        default=10.0, gt=0, description="first connection attempt at start-up"
    )
