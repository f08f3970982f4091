"""What a service reads to verify staff tokens (environment variables prefixed `CIVICLOOP_`); a service's settings
extend `StaffVerifierSettings`."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from civicloop_staff.tokens import DEFAULT_AUDIENCE, DEFAULT_ISSUER, VERIFY_KEYS_REF, StaffTokenVerifier


class StaffVerifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIVICLOOP_", extra="ignore")

    staff_token_verify_keys_ref: str = VERIFY_KEYS_REF  # the public JWKS, as a secret ref
    staff_token_issuer: str = DEFAULT_ISSUER
    staff_token_audience: str = DEFAULT_AUDIENCE

    def staff_verifier(self) -> StaffTokenVerifier:
        return StaffTokenVerifier.from_secret(
            self.staff_token_verify_keys_ref,
            issuer=self.staff_token_issuer,
            audience=self.staff_token_audience,
        )
