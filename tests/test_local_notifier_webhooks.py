"""`make run`'s notifier hears back: `deploy/local/services.sh` points the SMS provider's status callbacks at the
notifier's webhook, the local Twilio's "text as a resident" route at its inbound one, and gives emails a reply domain
whose replies reach the notifier's SMTP listener."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_local_providers import SERVICES_SH, LocalRun, _local_run


@pytest.fixture
def local_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRun]:
    for name in (
        "CIVICLOOP_SMS_STATUS_CALLBACK_URL",
        "CIVICLOOP_NOTIFIER_REPLY_DOMAIN",
        "CIVICLOOP_NOTIFIER_REPLY_SMTP_PORT",
    ):
        monkeypatch.delenv(name, raising=False)  # the run under test sets them
    yield from _local_run(tmp_path, providers=True)


def test_twilio_calls_the_notifier_s_webhooks(local_run: LocalRun) -> None:
    assert "--inbound-webhook http://127.0.0.1:8006/webhooks/twilio/inbound" in SERVICES_SH.read_text()
    started = local_run.script("start")
    assert started.returncode == 0, started.stderr
    env = local_run.service_env()
    assert env["CIVICLOOP_SMS_STATUS_CALLBACK_URL"] == "http://127.0.0.1:8006/webhooks/twilio/status"
    # Emails carry a reply address of that domain; replies go to the notifier's listener.
    assert (env["CIVICLOOP_NOTIFIER_REPLY_DOMAIN"], env["CIVICLOOP_NOTIFIER_REPLY_SMTP_PORT"]) == (
        "reply.demo.civicloop.example",
        "24026",
    )
