"""Vonage's delivery receipts and inbound texts, posted by the local Vonage server, read into the same receipts and
texts as Twilio's."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.sms_vonage import (
    VonageSettings,
    VonageSmsSender,
    vonage_delivery_receipt,
    vonage_inbound_text,
)
from civicloop_channels.sms_webhooks import DeliveryState, NotAWebhook
from civicloop_testing.polling import eventually
from civicloop_testing.threaded_server import serve_in_thread
from civicloop_testing.vonage_server import VonageServer, vonage_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

OUR_NUMBER = "+15005550006"


class Webhook:
    def __init__(self) -> None:
        self.posted: list[dict[str, str]] = []
        self.url = ""
        self.app = Starlette(routes=[Route("/vonage/{kind}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        self.posted.append({k: str(v) for k, v in (await request.form()).items()})
        return Response(status_code=204)


@pytest.fixture(scope="module")
def vonage() -> Iterator[VonageServer]:
    with vonage_server() as server:
        yield server


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    with serve_in_thread(receiver.app) as url:
        receiver.url = url
        yield receiver


async def send(vonage: VonageServer, webhook: Webhook, to: str) -> str:
    settings = VonageSettings(
        api_key=vonage.api_key,
        api_secret=vonage.api_secret,
        sms_from=OUR_NUMBER,
        base_url=vonage.url,
        status_callback_url=f"{webhook.url}/vonage/receipt",
    )
    sender = VonageSmsSender(settings)
    try:
        result = await sender.send(
            OutgoingMessage(f"m-{time.monotonic_ns()}", Channel.sms, to, "Visit on Monday")
        )
    finally:
        await sender.aclose()
    assert result.outcome is Outcome.accepted and result.provider_id
    return result.provider_id


async def receipt_for(webhook: Webhook, message_id: str) -> dict[str, str]:
    async def posted() -> dict[str, str] | None:
        return next((p for p in webhook.posted if p.get("messageId") == message_id), None)

    return await eventually(posted, timeout=10, what="the delivery receipt")


async def test_a_delivery_receipt_reads_as_delivered_with_our_message_id(
    vonage: VonageServer, webhook: Webhook
) -> None:
    message_id = await send(vonage, webhook, "+12135550147")

    posted = await receipt_for(webhook, message_id)

    receipt = vonage_delivery_receipt(posted)
    assert (receipt.provider_id, receipt.state, receipt.error_code) == (
        message_id,
        DeliveryState.delivered,
        None,
    )
    assert posted["api-key"] == vonage.api_key and posted["client-ref"].startswith("m-")


async def test_an_undeliverable_number_reads_as_failed_with_vonage_s_code(
    vonage: VonageServer, webhook: Webhook
) -> None:
    vonage.undeliverable.add("12135550111")
    message_id = await send(vonage, webhook, "+12135550111")

    receipt = vonage_delivery_receipt(await receipt_for(webhook, message_id))

    assert receipt.state is DeliveryState.failed and receipt.state.final and receipt.error_code == 1


async def test_a_resident_s_text_through_vonage_reads_as_an_sms_in_e164(
    vonage: VonageServer, webhook: Webhook
) -> None:
    await vonage.send_inbound(f"{webhook.url}/vonage/inbound", "+12135550147", "STOP", to=OUR_NUMBER)

    text = vonage_inbound_text(webhook.posted[-1])
    assert (text.channel, text.sender, text.recipient, text.text) == (
        Channel.sms,
        "+12135550147",
        OUR_NUMBER,
        "STOP",
    )
    assert "2135550147" not in repr(text)


@pytest.mark.parametrize(
    "params",
    [{}, {"messageId": "0A1"}, {"messageId": "0A1", "status": "teleported"}],
    ids=["empty", "no-status", "unknown"],
)
def test_a_receipt_without_what_vonage_always_sends_is_not_a_webhook(params: dict[str, str]) -> None:
    with pytest.raises(NotAWebhook):
        vonage_delivery_receipt(params)


def test_an_inbound_text_without_a_sender_is_not_a_webhook() -> None:
    with pytest.raises(NotAWebhook):
        vonage_inbound_text({"messageId": "0A1", "to": "15005550006", "text": "hi"})
