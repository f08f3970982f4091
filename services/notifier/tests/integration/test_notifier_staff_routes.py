"""The staff routes over HTTP: who will be notified of a proposed action and what they will get, and what was sent."""

from __future__ import annotations

import pytest
from civicloop_events.payloads import Channel, NotificationChannel, StatusChanged
from civicloop_notifier.entrypoints.http import create_app
from civicloop_testing.asgi import serving
from civicloop_testing.polling import eventually
from civicloop_testing.staff_tokens import staff_headers, verifier_for_tests
from notifier_harness import Harness, new_number, settings_for

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault) -> Harness:
    settings = settings_for(
        notifier_dsn, fresh_topics, kafka_bootstrap, public_url="https://notifier.civicloop.example"
    )
    return Harness(settings, fresh_topics, kafka_bootstrap, vault)


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
        assert "se cerró" in preview["text"] and "Bacheado" in preview["text"] and harness.phone not in r.text
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


async def test_an_emails_unsubscribe_link_stops_email_for_that_address(harness: Harness):
    first, second = new_number(), new_number()
    email = harness.senders[NotificationChannel.email]
    app = create_app(
        harness.settings, staff_verifier=verifier_for_tests(), vault=harness.vault, senders=harness.senders
    )
    async with serving(app, "http://notifier") as client:
        await harness.publish(await harness.submitted(first, channel=Channel.email, phone=None))
        [message] = await eventually(lambda: _sent(email), what="the first email")
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = message.headers["List-Unsubscribe"].strip("<>")
        assert link.startswith("https://notifier.civicloop.example/api/v1/notifier/unsubscribe?token=")
        assert harness.email not in link and harness.email.split("@")[0] not in link
        path = link.removeprefix("https://notifier.civicloop.example")
        assert (await client.post(path.replace("token=", "token=x"))).status_code == 404
        page = await client.get(path)
        assert page.status_code == 200 and "<form method=post" in page.text
        one_click = await client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert one_click.status_code == 200 and one_click.json() == {"unsubscribed": True}

        await harness.publish(await harness.submitted(second, channel=Channel.email, phone=None))

        async def given_up() -> bool:
            r = await client.get(f"/api/v1/notifier/requests/{second}/messages", headers=staff_headers())
            return [m["state"] for m in r.json()["messages"]] == ["given_up"]

        await eventually(given_up, what="the second message given up: email was the only channel")
    assert len(email.sent) == 1


async def _sent(sender):
    return list(sender.sent)
