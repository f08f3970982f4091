"""TOTP two-factor sign-in (RFC 6238, `pyotp`): the secret, its enrolment URI and QR code (`segno`), and the check.

A code is accepted once: `check_totp` returns the time step it matched, the caller stores it, and a code of that
step or an earlier one is refused after (RFC 6238 §5.2), so a code seen over a shoulder cannot be replayed.
"""

from __future__ import annotations

from datetime import datetime

import pyotp
import segno

PERIOD_S = 30
DIGITS = 6
DRIFT_STEPS = 1  # a code of the step before or after is still accepted: phones' clocks drift


def new_totp_secret() -> str:
    """A random base32 secret of 160 bits (RFC 4226's recommended length)."""
    return pyotp.random_base32(length=32)


def enrolment_uri(secret: str, *, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI an authenticator app reads (from the QR code). Shown to its owner only."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_S).provisioning_uri(
        name=account, issuer_name=issuer
    )


def enrolment_qr_svg(uri: str) -> str:
    """The URI as a QR code, an SVG document to show on the enrolment page (never stored, never logged)."""
    return segno.make(uri, error="m").svg_inline(scale=4)


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // PERIOD_S


def check_totp(secret: str, code: str, *, at: datetime, last_used_step: int | None) -> int | None:
    """The time step `code` belongs to, or None when it is wrong, too old, or of a step already used."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_S)
    now = time_step(at)
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        # pyotp compares in constant time; each candidate step is checked, so the answer's time says nothing.
        if totp.verify(code, for_time=step * PERIOD_S):
            return step
    return None
