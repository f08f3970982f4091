"""`make run`'s notifier hears back from the local Twilio: `deploy/local/services.sh` points the SMS provider's
status callbacks at the notifier's webhook and the local Twilio's "text as a resident" route at its inbound one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_local_providers import SERVICES_SH, LocalRun, _local_run


@pytest.fixture
def local_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRun]:
    monkeypatch.delenv("CIVICLOOP_SMS_STATUS_CALLBACK_URL", raising=False)  # the run under test sets it
    yield from _local_run(tmp_path, providers=True)


def test_twilio_calls_the_notifier_s_webhooks(local_run: LocalRun) -> None:
    assert "--inbound-webhook http://127.0.0.1:8006/webhooks/twilio/inbound" in SERVICES_SH.read_text()
    started = local_run.script("start")
    assert started.returncode == 0, started.stderr
    env = local_run.service_env()
    assert env["CIVICLOOP_SMS_STATUS_CALLBACK_URL"] == "http://127.0.0.1:8006/webhooks/twilio/status"
