"""Twilio's webhooks (delivery statuses, inbound texts) posted by the local server, signed as Twilio signs them,
checked with the SDK's `RequestValidator` through `TwilioSignatureCheck`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.sms_webhooks import (
    SIGNATURE_HEADER,
    DeliveryState,
    InboundMedia,
    NotAWebhook,
    TwilioSignatureCheck,
    delivery_receipt,
    inbound_text,
    twiml_reply,
)
from civicloop_channels.twilio_sms import TwilioSender, TwilioSettings
from civicloop_testing.polling import eventually
from civicloop_testing.threaded_server import serve_in_thread
from civicloop_testing.twilio_server import TwilioServer, twilio_server, twilio_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

OUR_NUMBER = "+15005550006"
RESIDENT = "+12135550147"


@dataclass(frozen=True)
class Posted:
    url: str
    params: dict[str, str]
    signature: str | None


class Webhook:
    """A receiver standing where the notifier's webhook will: keeps what was posted, answers as told."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.answer = ""
        self.url = ""
        self.app = Starlette(routes=[Route("/twilio/{kind}", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.posted.append(Posted(str(request.url), form, request.headers.get(SIGNATURE_HEADER)))
        return Response(self.answer, media_type="application/xml")


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    with serve_in_thread(receiver.app) as url:
        receiver.url = url
        yield receiver


@pytest.fixture
async def sms(twilio: TwilioServer, webhook: Webhook) -> AsyncIterator[TwilioSender]:
    settings = TwilioSettings(
        account_sid=twilio.account_sid,
        auth_token=twilio.auth_token,
        sms_from=OUR_NUMBER,
        base_url=twilio.url,
        status_callback_url=f"{webhook.url}/twilio/status",
    )
    sender = TwilioSender(Channel.sms, settings)
    yield sender
    await sender.aclose()


def statuses_of(webhook: Webhook, sid: str) -> list[Posted]:
    return [p for p in webhook.posted if p.params.get("MessageSid") == sid and "MessageStatus" in p.params]


async def test_delivery_statuses_arrive_signed_and_read_as_receipts(
    sms: TwilioSender, twilio: TwilioServer, webhook: Webhook
) -> None:
    result = await sms.send(
        OutgoingMessage(f"m-{time.monotonic_ns()}", Channel.sms, RESIDENT, "Visit on Monday")
    )
    assert result.outcome is Outcome.accepted and result.provider_id

    async def both() -> list[Posted]:
        posted = statuses_of(webhook, result.provider_id or "")
        return posted if len(posted) == 2 else []

    posted = await eventually(both, timeout=10, what="the sent and delivered callbacks")
    check = TwilioSignatureCheck(twilio.auth_token)
    assert all(check.is_genuine(p.url, p.params, p.signature) for p in posted)
    receipts = [delivery_receipt(p.params) for p in posted]
    assert [r.state for r in receipts] == [DeliveryState.sent, DeliveryState.delivered]
    assert receipts[-1].state.final and receipts[-1].state.reached and receipts[-1].error_code is None
    assert {r.provider_id for r in receipts} == {result.provider_id}


async def test_an_unreachable_number_reports_undelivered_with_twilio_s_code(
    sms: TwilioSender, twilio: TwilioServer, webhook: Webhook
) -> None:
    twilio.unreachable.add("+12135550111")
    result = await sms.send(
        OutgoingMessage(f"m-{time.monotonic_ns()}", Channel.sms, "+12135550111", "Closed")
    )

    async def final() -> list[Posted]:
        return [
            p for p in statuses_of(webhook, result.provider_id or "") if p.params["MessageStatus"] != "sent"
        ]

    (posted,) = await eventually(final, timeout=10, what="the final status callback")
    receipt = delivery_receipt(posted.params)
    assert receipt.state is DeliveryState.undelivered and receipt.state.final and not receipt.state.reached
    assert receipt.error_code == 30003


async def test_a_forged_or_altered_callback_is_not_genuine(twilio: TwilioServer, webhook: Webhook) -> None:
    url = f"{webhook.url}/twilio/status"
    params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "AccountSid": twilio.account_sid}
    signature = twilio_signature(twilio.auth_token, url, params)
    check = TwilioSignatureCheck(twilio.auth_token)

    assert check.is_genuine(url, params, signature)
    assert not check.is_genuine(url, {**params, "MessageStatus": "failed"}, signature)
    assert not check.is_genuine(f"{webhook.url}/twilio/other", params, signature)
    assert not check.is_genuine(url, params, None)
    assert not TwilioSignatureCheck("another-token").is_genuine(url, params, signature)


async def test_a_resident_s_text_arrives_signed_and_our_twiml_answers_it(
    twilio: TwilioServer, webhook: Webhook
) -> None:
    webhook.answer = twiml_reply("CivicLoop 311: You are unsubscribed.")
    url = f"{webhook.url}/twilio/inbound"

    answer = await twilio.send_inbound(url, RESIDENT, "STOP")

    assert (
        answer.status_code == 200 and "<Message>CivicLoop 311: You are unsubscribed.</Message>" in answer.text
    )
    posted = webhook.posted[-1]
    assert TwilioSignatureCheck(twilio.auth_token).is_genuine(url, posted.params, posted.signature)
    text = inbound_text(posted.params)
    assert (text.channel, text.sender, text.recipient, text.text) == (
        Channel.sms,
        RESIDENT,
        OUR_NUMBER,
        "STOP",
    )
    assert RESIDENT not in repr(text) and "STOP" not in repr(text)


async def test_a_whatsapp_text_is_read_without_its_prefix(twilio: TwilioServer, webhook: Webhook) -> None:
    url = f"{webhook.url}/twilio/inbound"

    await twilio.send_inbound(url, f"whatsapp:{RESIDENT}", "El bache sigue ahí")

    posted = webhook.posted[-1]
    assert posted.params["To"] == f"whatsapp:{OUR_NUMBER}"
    text = inbound_text(posted.params)
    assert (text.channel, text.sender, text.recipient) == (Channel.whatsapp, RESIDENT, OUR_NUMBER)


def test_an_empty_reply_is_an_empty_response() -> None:
    assert "<Message" not in twiml_reply(None) and "<Response" in twiml_reply(None)


@pytest.mark.parametrize(
    "params",
    [{}, {"MessageSid": "SM1"}, {"MessageSid": "SM1", "MessageStatus": "teleported"}],
    ids=["empty", "no-status", "unknown-status"],
)
def test_a_callback_without_what_twilio_always_sends_is_not_a_webhook(params: dict[str, str]) -> None:
    with pytest.raises(NotAWebhook):
        delivery_receipt(params)


def test_an_inbound_message_without_a_sender_is_not_a_webhook() -> None:
    with pytest.raises(NotAWebhook):
        inbound_text({"MessageSid": "SM1", "To": OUR_NUMBER, "Body": "hi"})


async def test_a_photo_sent_with_a_text_is_read_with_its_type(twilio: TwilioServer, webhook: Webhook) -> None:
    url = f"{webhook.url}/twilio/inbound"
    photo = f"https://api.twilio.com/2010-04-01/Accounts/{twilio.account_sid}/Messages/MM1/Media/ME1"

    await twilio.send_inbound(url, RESIDENT, "Pothole at Elm and 3rd", media=((photo, "image/jpeg"),))

    posted = webhook.posted[-1]
    assert TwilioSignatureCheck(twilio.auth_token).is_genuine(url, posted.params, posted.signature)
    text = inbound_text(posted.params)
    assert text.media == (InboundMedia(photo, "image/jpeg"),) and text.provider_id.startswith("MM")
    assert "media=1" in repr(text)


async def test_stop_blocks_further_texts_as_twilio_does_and_start_lifts_it(
    sms: TwilioSender, twilio: TwilioServer, webhook: Webhook
) -> None:
    url = f"{webhook.url}/twilio/inbound"
    resident = "+12135550177"

    await twilio.send_inbound(url, resident, " stop ")
    blocked = await sms.send(OutgoingMessage(f"m-{time.monotonic_ns()}", Channel.sms, resident, "Closed"))
    await twilio.send_inbound(url, resident, "START")
    lifted = await sms.send(OutgoingMessage(f"m-{time.monotonic_ns()}", Channel.sms, resident, "Closed"))

    assert blocked.outcome is Outcome.refused and blocked.error is not None and "21610" in blocked.error
    assert lifted.outcome is Outcome.accepted
    assert [inbound_text(p.params).text for p in webhook.posted[-2:]] == [" stop ", "START"]
