"""TOTP enrolment and checks, and the recovery codes beside them."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
from civicloop_staff.one_time_secrets import (
    RECOVERY_CODES,
    new_recovery_codes,
    recovery_code_digest,
    use_recovery_code,
)
from civicloop_staff.totp import (
    PERIOD_S,
    check_totp,
    enrolment_qr_svg,
    enrolment_uri,
    new_totp_secret,
    time_step,
)

NOW = datetime(2026, 12, 5, 9, 0, 10, tzinfo=UTC)


def code_at(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


def test_enrolment_uri_and_qr():
    secret = new_totp_secret()
    assert len(secret) == 32  # 160 bits of base32
    uri = enrolment_uri(secret, account="agent.one@demo.example", issuer="CivicLoop demo")
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    query = parse_qs(parsed.query)
    assert query["secret"] == [secret] and query["issuer"] == ["CivicLoop demo"]
    svg = enrolment_qr_svg(uri)
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg and secret not in svg


def test_the_code_of_now_is_accepted_once():
    secret = new_totp_secret()
    step = check_totp(secret, code_at(secret, NOW), at=NOW, last_used_step=None)
    assert step == time_step(NOW)
    # The same code again (a replay): refused.
    assert check_totp(secret, code_at(secret, NOW), at=NOW, last_used_step=step) is None


def test_one_step_of_drift_either_way_and_no_more():
    secret = new_totp_secret()
    period = timedelta(seconds=PERIOD_S)
    assert check_totp(secret, code_at(secret, NOW - period), at=NOW, last_used_step=None) is not None
    assert check_totp(secret, code_at(secret, NOW + period), at=NOW, last_used_step=None) is not None
    assert check_totp(secret, code_at(secret, NOW - 3 * period), at=NOW, last_used_step=None) is None


def test_an_earlier_code_is_refused_after_a_later_one_was_used():
    secret = new_totp_secret()
    later = check_totp(secret, code_at(secret, NOW), at=NOW, last_used_step=None)
    earlier = code_at(secret, NOW - timedelta(seconds=PERIOD_S))
    assert check_totp(secret, earlier, at=NOW, last_used_step=later) is None


def test_malformed_codes_are_refused():
    secret = new_totp_secret()
    for code in ("", "12345", "1234567", "abcdef"):
        assert check_totp(secret, code, at=NOW, last_used_step=None) is None
    spaced = code_at(secret, NOW)
    assert check_totp(secret, f"{spaced[:3]} {spaced[3:]}", at=NOW, last_used_step=None) is not None


def test_recovery_codes_work_once_each_and_are_stored_as_digests():
    codes = new_recovery_codes()
    assert len(codes) == len(set(codes)) == RECOVERY_CODES
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)
    stored = [recovery_code_digest(c) for c in codes]
    assert not any(c in d for c in codes for d in stored)
    left = use_recovery_code(stored, codes[3].upper().replace("-", " "))  # as typed from paper
    assert left is not None and len(left) == RECOVERY_CODES - 1
    assert use_recovery_code(left, codes[3]) is None  # spent
    assert use_recovery_code(left, "0000-0000-0000-0000") is None
