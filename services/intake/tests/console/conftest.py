import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from civicloop_testing.smtp import SmtpInbox, smtp_inbox

# The integration harness (an intake per test on the real broker and database) lives beside these tests.
sys.path.insert(0, str(Path(__file__).parent.parent / "integration"))

from intake_harness import intake, migrated_dsn, producer  # noqa: F401 - fixtures for this directory


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpInbox]:
    """A real SMTP server the notifier's e-mail sender is pointed at, as `make run` points it."""
    with smtp_inbox() as started:
        for name, value in {
            "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
            "CIVICLOOP_EMAIL_PORT": str(started.port),
            "CIVICLOOP_EMAIL_MAIL_FROM": "CivicLoop <no-reply@county.example>",
        }.items():
            monkeypatch.setenv(name, value)
        yield started
