"""Intake's settings (environment variables prefixed `CIVICLOOP_`).

Intake seals and digests residents' contact details, so it needs the vault pepper: the rule (required outside dev
and test, never the public development pepper) is `civicloop_runtime.settings.VaultPepperSettings`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from civicloop_runtime.settings import (
    DEV_PEPPER,
    Environment,
    OutboxSettings,
    PhoneRegionSettings,
    VaultPepperSettings,
)
from civicloop_staff.settings import StaffVerifierSettings
from pydantic import Field, model_validator

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
    # Resident access (one-time codes, sessions; service_layer.resident_access). Per client in each process, on top
    # of `rate_limit_per_client`; per contact in PostgreSQL for every replica.
    resident_rate_limit_per_client: str = Field(
        default="10/minute;60/hour",
        description="code requests and checks one client may make, in `limits` notation; empty: the general limit",
    )
    resident_codes_per_contact: int = Field(
        default=3, ge=1, description="codes one contact may ask for per window"
    )
    resident_code_checks_per_contact: int = Field(
        default=10, ge=1, description="code checks for one contact per window (a right one is handed back)"
    )
    resident_attempts_window_s: float = Field(default=900.0, gt=0, description="the window of both limits")
    resident_code_ttl_s: float = Field(
        default=600.0, gt=0, le=3600, description="how long a code may be used"
    )
    resident_code_wrong_tries: int = Field(default=5, ge=1, description="wrong tries that end a code")
    resident_session_ttl_s: float = Field(
        default=3600.0, gt=0, description="how long a resident's session lasts"
    )
    resident_answer_floor_s: float = Field(
        default=0.5,
        ge=0,
        description="code requests and failed checks answer this long after the call, not sooner",
    )
    resident_code_sink_file: Path | None = Field(
        default=None,
        description="development sink for codes (dev and test only) until the notifier delivers them; unset: "
        "code requests answer 503",
    )

    @model_validator(mode="after")
    def _code_sink_only_in_development(self) -> Self:
        if self.resident_code_sink_file is not None and not self.env.relaxed:
            raise ValueError(
                "CIVICLOOP_RESIDENT_CODE_SINK_FILE is for dev and test only: codes would sit in a file"
            )
        return self
