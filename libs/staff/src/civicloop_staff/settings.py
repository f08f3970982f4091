"""What a service reads to verify staff tokens (environment variables prefixed `CIVICLOOP_`); a service's settings
extend `StaffVerifierSettings`."""

from __future__ import annotations

from civicloop_runtime.secrets import SecretNotFound
from pydantic_settings import BaseSettings, SettingsConfigDict

from civicloop_staff.tokens import (
    DEFAULT_AUDIENCE,
    DEFAULT_ISSUER,
    VERIFY_KEYS_REF,
    StaffTokenVerifier,
    new_signing_key,
)

# Where a missing key set may be tolerated (closed, never open); elsewhere it stops the start.
_TOLERANT_ENVIRONMENTS = frozenset({"dev", "test"})


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

    def staff_verifier_or_closed(self, env: str) -> StaffTokenVerifier:
        """The verifier from the key set; in dev and test without one, a verifier of a key whose private half was
        never kept, so staff routes refuse every caller (401) rather than open. Elsewhere a missing set raises."""
        try:
            return self.staff_verifier()
        except SecretNotFound:
            if str(getattr(env, "value", env)) not in _TOLERANT_ENVIRONMENTS:
                raise
            _, public_jwks = new_signing_key("no-verify-keys-configured")  # the private key is dropped here
            return StaffTokenVerifier(
                public_jwks, issuer=self.staff_token_issuer, audience=self.staff_token_audience
            )
