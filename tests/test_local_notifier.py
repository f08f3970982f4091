"""`make run`'s notifier: `deploy/local/services.sh` exports `CIVICLOOP_NOTIFIER_PROVIDERS` beside the providers'
settings, and the notifier's senders built from exactly that environment reach the local Twilio and the mailbox.
(The run directory, ports and throwaway service are `test_local_providers`'s.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_events.payloads import NotificationChannel
from civicloop_notifier.adapters.providers import senders_from_environment
from civicloop_notifier.settings import NotifierSettings

from tests.test_local_providers import SERVICES_SH, LocalRun, _local_run


@pytest.fixture
def local_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalRun]:
    monkeypatch.delenv("CIVICLOOP_NOTIFIER_PROVIDERS", raising=False)  # the run under test sets it
    yield from _local_run(tmp_path, providers=True)


async def _send_through_the_notifier_s_senders(env: dict[str, str]) -> dict[NotificationChannel, Outcome]:
    settings = NotifierSettings(
        env="test", notifier_providers=json.loads(env["CIVICLOOP_NOTIFIER_PROVIDERS"])
    )
    built = senders_from_environment(settings.notifier_providers, env)
    messages = {
        NotificationChannel.sms: OutgoingMessage(
            "local-notifier-sms", Channel.sms, "+12135550100", "Received."
        ),
        NotificationChannel.email: OutgoingMessage(
            "local-notifier-email", Channel.email, "resident@example.org", "Received.", subject="Your report"
        ),
    }
    try:
        return {c: (await built.senders[c].send(m)).outcome for c, m in messages.items()}
    finally:
        await built.aclose()


def test_the_notifier_is_supervised_and_sends_through_the_local_providers(local_run: LocalRun) -> None:
    assert "notifier|8006|civicloop-notifier serve" in SERVICES_SH.read_text()
    started = local_run.script("start")
    assert started.returncode == 0, started.stderr
    env = local_run.service_env()
    assert json.loads(env["CIVICLOOP_NOTIFIER_PROVIDERS"]) == {
        "sms": "twilio",
        "whatsapp": "twilio",
        "email": "smtp",
        "push": "webpush",
    }

    outcomes = asyncio.run(_send_through_the_notifier_s_senders(env))

    assert outcomes == {
        NotificationChannel.sms: Outcome.accepted,
        NotificationChannel.email: Outcome.accepted,
    }
    outbox = httpx.get(f"http://127.0.0.1:{local_run.ports['sms']}/local/outbox").json()
    assert [(m["to"], m["body"]) for m in outbox] == [("+12135550100", "Received.")]
    kept = list((local_run.run_dir / "mail").glob("*.eml"))
    assert len(kept) == 1 and b"Subject: Your report" in kept[0].read_bytes()
