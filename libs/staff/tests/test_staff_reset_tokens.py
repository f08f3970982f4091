"""Password-reset tokens: hashed, expiring, single use, void once a newer password is set."""

from datetime import UTC, datetime, timedelta

from civicloop_staff.one_time_secrets import (
    RESET_TOKEN_TTL,
    ResetVerdict,
    check_reset_token,
    digest,
    issue_reset_token,
    spend_reset_token,
)

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def test_the_store_keeps_only_a_digest():
    token, record = issue_reset_token(now=NOW)
    assert len(token) >= 43 and token not in record.token_digest
    assert record.token_digest == digest(token) and record.expires_at == NOW + RESET_TOKEN_TTL


def test_valid_once_then_used():
    token, record = issue_reset_token(now=NOW)
    assert check_reset_token(record, token, now=NOW + timedelta(minutes=5)) is ResetVerdict.valid
    spent = spend_reset_token(record, now=NOW + timedelta(minutes=5))
    assert check_reset_token(spent, token, now=NOW + timedelta(minutes=6)) is ResetVerdict.used


def test_expired_unknown_and_superseded():
    token, record = issue_reset_token(now=NOW)
    assert check_reset_token(record, token, now=NOW + RESET_TOKEN_TTL) is ResetVerdict.expired
    assert check_reset_token(record, token + "x", now=NOW) is ResetVerdict.unknown
    assert check_reset_token(None, token, now=NOW) is ResetVerdict.unknown
    later = NOW + timedelta(minutes=1)
    assert check_reset_token(record, token, now=later, password_set_at=later) is ResetVerdict.superseded
    before = NOW - timedelta(days=1)
    assert check_reset_token(record, token, now=later, password_set_at=before) is ResetVerdict.valid
