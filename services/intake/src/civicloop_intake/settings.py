"""Intake's settings (environment variables prefixed `CIVICLOOP_`).

Intake seals and digests residents' contact details, so it needs the vault pepper: the rule (required outside dev
and test, never the public development pepper) is `civicloop_runtime.settings.VaultPepperSettings`'s.
"""

from __future__ import annotations

import json
from contextlib import suppress
from pathlib import Path
from typing import Self

from civicloop_runtime.secrets import SecretNotFound, resolve_secret
from civicloop_runtime.settings import (
    DEV_PEPPER,
    Environment,
    OutboxSettings,
    PhoneRegionSettings,
    VaultPepperSettings,
)
from civicloop_staff.settings import StaffVerifierSettings
from civicloop_staff.tokens import StaffTokenIssuer, StaffTokenVerifier, new_signing_key
from pydantic import Field, model_validator

__all__ = ["DEV_PEPPER", "Environment", "IntakeSettings"]


class StaffSignInSettings(StaffVerifierSettings):
    """Staff sign-in (docs/staff.md, "Signing in"): the token signing key, lockout, reset mail, single sign-on."""

    staff_token_signing_key_ref: str = Field(
        default="staff.token-signing-key",
        description="secret ref of the private Ed25519 JWK; in dev and test an ephemeral pair when it is not set",
    )
    staff_sign_in_rate_limit_per_client: str = Field(
        default="10/minute;100/hour",
        description="sign-in, reset and SSO requests one client may make (`limits` notation), on top of the general",
    )
    staff_lockout_failures: int = Field(default=5, ge=1, description="wrong passwords or codes before a lock")
    staff_lockout_window_s: float = Field(default=900.0, gt=0)
    staff_lockout_s: float = Field(default=900.0, gt=0, description="the first lock; each next one doubles")
    staff_totp_issuer: str = Field(default="CivicLoop", description="the name authenticator apps show")
    staff_reset_link_base: str = Field(
        default="http://127.0.0.1:8001/staff/reset",
        description="the page a reset link opens; the one-time token follows in the fragment",
    )
    staff_smtp_host: str = "127.0.0.1"
    staff_smtp_port: int = 25
    staff_smtp_tls: str = Field(default="none", pattern=r"^(none|starttls|tls)$")
    staff_smtp_username: str | None = None
    staff_smtp_password_ref: str | None = None
    staff_mail_from: str = "CivicLoop <no-reply@civicloop.example>"
    staff_oidc_providers: str = Field(
        default="[]",
        description="JSON list of OpenID Connect providers, one per jurisdiction (civicloop_staff.oidc)",
    )


class IntakeSettings(VaultPepperSettings, OutboxSettings, PhoneRegionSettings, StaffSignInSettings):
    default_jurisdiction: str = Field(default="demo", min_length=1, max_length=64)
    request_index_dsn: str | None = Field(
        default=None,
        description="records exports: the projections' database holding the request index (none: the whole topic is"
        " read for each export)",
    )
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

    # QR codes and posters (docs/posters.md): links are only ever made to, and codes only of, this public site.
    public_base_url: str = Field(
        default="http://localhost:8001",
        pattern=r"^https?://[^/?#@\s]+(/[^?#\s]*)?$",
        description="the residents' site: tracking links, poster links and the only URLs `/api/qr` encodes",
    )
    qr_rate_limit_per_client: str = Field(
        default="60/minute;600/hour",
        description="QR codes one client may ask for, in `limits` notation; empty: only the general limit",
    )
    # The residents' pages (docs/residents.md, "Pages"): the report form's address search asks geo's public geocode.
    pages_geo_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#@\s]+(/[^?#\s]*)?)?$",
        description="geo's base URL, for the report form's address search; empty: addresses are taken as typed",
    )
    pages_geo_timeout_s: float = Field(default=5.0, gt=0, le=30, description="bound on one address search")
    # The report form's map: the service areas (from geo, served by intake) on a basemap of tiles, if one is set.
    map_tile_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#@\s]+/[^?#\s]*\{z\}[^?#\s]*(\?[^#\s]*)?)?$",
        description="the report map's basemap, a tile URL template (`https://tiles.example/{z}/{x}/{y}.png`, "
        "`{s}` for subdomains); empty: no basemap, the service areas on a plain background",
    )
    map_tile_attribution: str = Field(
        default="", max_length=300, description="the basemap's credit shown on the map (as its licence asks)"
    )
    map_tile_max_zoom: int = Field(default=19, ge=1, le=22, description="the basemap's deepest zoom")
    # The agents' console (docs/agents.md, "Console"): it reads the queues from public-projections' agent API and
    # the "who will be notified" preview from the notifier, each with the signed-in staff member's own token.
    console_projections_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#@\s]+(/[^?#\s]*)?)?$",
        description="public-projections' base URL, for the console's queues and request pages; empty: no queue",
    )
    console_notifier_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#@\s]+(/[^?#\s]*)?)?$",
        description="the notifier's base URL, for the console's preview of who will be notified; empty: no preview",
    )
    console_upstream_timeout_s: float = Field(default=10.0, gt=0, le=60, description="bound on one read")
    # The admin pages (docs/staff.md, "Admin pages"): selfheal's "run now" and latest runs, with the admin's own token.
    admin_selfheal_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#@\s]+(/[^?#\s]*)?)?$",
        description="selfheal's base URL, for the admin pages' run now and latest runs; empty: not offered",
    )
    admin_selfheal_timeout_s: float = Field(
        default=60.0, gt=0, le=300, description="bound on one sweep asked for"
    )
    admin_outbound_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#@\s]+(/[^?#\s]*)?)?$",
        description="outbound's base URL, for the admin pages' bodies (queues, pause, resume); empty: not offered",
    )
    admin_gateway_url: str = Field(
        default="",
        pattern=r"^(https?://[^/?#@\s]+(/[^?#\s]*)?)?$",
        description="the Open311 gateway's base URL, for the admin pages' catalogue; empty: not offered",
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
        description="development sink (dev and test only): every code goes into this file instead of a channel",
    )
    resident_code_email: bool = Field(
        default=True,
        description="send codes to e-mail addresses through the staff SMTP relay (`STAFF_SMTP_*`); false: code "
        "requests for an e-mail address answer 503. Phones get theirs by SMS when `CIVICLOOP_SMS_PROVIDER` is set",
    )

    @model_validator(mode="after")
    def _code_sink_only_in_development(self) -> Self:
        if self.resident_code_sink_file is not None and not self.env.relaxed:
            raise ValueError(
                "CIVICLOOP_RESIDENT_CODE_SINK_FILE is for dev and test only: codes would sit in a file"
            )
        return self


# -- staff sign-in ----------------------------------------------------------------------------------------------------


def staff_token_keys(settings: IntakeSettings) -> tuple[StaffTokenIssuer, StaffTokenVerifier]:
    """The signer and the verifier of staff tokens, from the secrets. In dev and test without a signing key, an
    ephemeral pair made now (tokens die with the process), its public key added to the verify keys when those are
    set (tests mint tokens with keys of their own); elsewhere a missing key stops the start."""
    iss, aud = settings.staff_token_issuer, settings.staff_token_audience
    if settings.env in (Environment.dev, Environment.test):
        try:
            resolve_secret(settings.staff_token_signing_key_ref)
        except SecretNotFound:
            private, public = new_signing_key("ephemeral")
            keys = json.loads(public)["keys"]
            with suppress(SecretNotFound):  # no verify keys either: the ephemeral key alone
                keys += json.loads(resolve_secret(settings.staff_token_verify_keys_ref))["keys"]
            return StaffTokenIssuer(private, iss, aud), StaffTokenVerifier(
                json.dumps({"keys": keys}), iss, aud
            )
    signing = StaffTokenIssuer.from_secret(settings.staff_token_signing_key_ref)
    return StaffTokenIssuer(signing.private_jwk, iss, aud), settings.staff_verifier()
