"""The staff routes over HTTP: who will be notified of a proposed action and what they will get, and what was sent."""

from __future__ import annotations

import pytest
from civicloop_events.payloads import StatusChanged
from civicloop_notifier.entrypoints.http import create_app
from civicloop_testing.asgi import serving
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from notifier_harness import PHONE, Harness, new_number, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault) -> Harness:
    return Harness(
        settings_for(notifier_dsn, fresh_topics, kafka_bootstrap), fresh_topics, kafka_bootstrap, vault
    )


async def test_staff_preview_an_action_and_read_what_was_sent(harness: Harness):
    number = new_number()
    app = create_app(
        harness.settings,
        staff_verifier=verifier_for_tests(),
        vault=harness.vault,
        senders=harness.senders,
        clock=harness.clock,
    )
    async with serving(app, "http://notifier") as client:
        await harness.publish(await harness.submitted(number, language="es"))

        async def sent() -> list:
            r = await client.get(f"/api/v1/notifier/requests/{number}/messages", headers=staff_headers())
            messages = r.json()["messages"]
            return messages if messages and messages[0]["state"] == "sent" else []

        [message] = await eventually(sent, what="the received message sent")
        assert message["kind"] == "received" and message["channel"] == "sms"
        assert [a["outcome"] for a in message["attempts"]] == ["accepted"]
        assert message["attempts"][0]["provider"] == "fake"

        close = {
            "status": "closed",
            "previous_status": "in_progress",
            "reason": "fixed",
            "public_note": "Bacheado",
        }
        r = await client.post(
            "/api/v1/notifier/preview",
            json={"request_id": number, "type": StatusChanged.event_type, "payload": close},
            headers=staff_headers(),
        )
        assert r.status_code == 200
        [preview] = r.json()["messages"]
        assert (preview["request_id"], preview["channel"], preview["language"], preview["kind"]) == (
            number,
            "sms",
            "es",
            "closed",
        )
        assert "se cerró" in preview["text"] and "Bacheado" in preview["text"] and PHONE not in r.text
        assert len(harness.senders[next(iter(harness.senders))].sent) == 1  # a preview sends nothing

        other = await client.post(
            "/api/v1/notifier/preview",
            json={"request_id": number, "type": StatusChanged.event_type, "payload": close},
            headers=staff_headers(jurisdiction_id="elsewhere"),
        )
        assert other.status_code == 200 and other.json()["messages"] == []
        anonymous_preview = await client.post(
            "/api/v1/notifier/preview",
            json={"request_id": number, "type": StatusChanged.event_type, "payload": close},
        )
        assert anonymous_preview.status_code == 401
        unknown = await client.post(
            "/api/v1/notifier/preview",
            json={"request_id": number, "type": "request.unknown", "payload": {}},
            headers=staff_headers(),
        )
        assert unknown.status_code == 422
        anonymous = await client.get(f"/api/v1/notifier/requests/{number}/messages")
        assert anonymous.status_code == 401
