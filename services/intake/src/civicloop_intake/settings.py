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
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import Field

__all__ = ["DEV_PEPPER", "Environment", "IntakeSettings"]


class IntakeSettings(VaultPepperSettings, OutboxSettings, PhoneRegionSettings, StaffVerifierSettings):
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

    # Track's limits (civicloop_runtime.rate_limits, .attempt_limits): per client in each process, on top of
    # `rate_limit_per_client`; per tracking number in PostgreSQL, whoever asks and whichever replica answers.
    track_rate_limit_per_client: str = Field(
        default="30/minute;300/hour",
        description="track requests one client may make, in `limits` notation; empty: only the general limit",
    )
    track_attempts_per_number: int = Field(
        default=5, ge=1, description="tracks of one number with a phone that does not match, per window"
    )
    track_attempts_window_s: float = Field(
        default=900.0, gt=0, description="a number refused after too many wrong phones is refused this long"
    )

    # Staff commands (docs/agents.md): the close and reopen reasons and the reply templates, from a JSON file.
    agent_work_file: str | None = Field(
        default=None,
        description="the jurisdiction's close reasons, reopen reasons and reply templates (JSON); built-in lists "
        "when not set",
    )
