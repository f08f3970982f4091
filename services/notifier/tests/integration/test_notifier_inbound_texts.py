"""Residents' texts through Twilio's inbound webhook on the real broker and database: signed by the local Twilio
server over the notifier's public URL (a forged one refused), answered with TwiML; STOP/START/HELP through the
opt-out API in the resident's language; any other text an internal comment from the resident on their open request,
once however often Twilio retries; with several open requests, the resident is asked which one."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import httpx
import pytest
from civicloop_events.payloads import (
    CommentAdded,
    CommentVisibility,
    NotificationChannel,
    StatusChanged,
    SurveyAnswered,
)
from civicloop_notifier.adapters.postgres_store import store_transaction
from civicloop_notifier.service_layer.preferences import ContactPreferences
from civicloop_testing.events import read_all_events
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.twilio_server import TwilioServer, twilio_server, twilio_signature
from conftest import PEPPER
from defusedxml import ElementTree
from inbound_harness import INBOUND_URL, OUR_NUMBER, notifier_served, provider_environment
from notifier_harness import Harness, agent, new_number, settings_for
from psycopg_pool import AsyncConnectionPool

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

SMS, EMAIL = NotificationChannel.sms, NotificationChannel.email


@pytest.fixture
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as started:
        yield started


@pytest.fixture
def harness(notifier_dsn, fresh_topics, kafka_bootstrap, vault, monkeypatch, twilio, inbox) -> Harness:
    provider_environment(monkeypatch, twilio, inbox)
    settings = settings_for(
        notifier_dsn,
        fresh_topics,
        kafka_bootstrap,
        public_url="https://notifier.civicloop.example",
        notifier_providers={SMS: "twilio", EMAIL: "smtp"},
    )
    return Harness(settings, fresh_topics, kafka_bootstrap, vault)


def reply_of(answer: httpx.Response) -> str | None:
    """The text of the TwiML answer's one message, or None for an empty `<Response/>`."""
    assert answer.status_code == 200, answer.status_code
    message = ElementTree.fromstring(answer.text).find("Message")
    return message.text if message is not None else None


async def comments(harness: Harness, number: str) -> list[Any]:
    events = await read_all_events(harness.kafka, harness.topics.request_events, harness.topics.partitions)
    return [e for e in events if isinstance(e.payload, CommentAdded) and e.request_id == number]


async def known(harness: Harness, pool: AsyncConnectionPool, *numbers: str) -> None:
    """The notifier has folded these submissions (their residents' texts can land)."""

    async def folded() -> bool:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "select count(*) from notifier.requests where request_id = any(%s)", (list(numbers),)
            )
            return (await cur.fetchone())[0] == len(numbers)

    await eventually(folded, what="the submissions folded")


async def test_a_text_lands_once_on_the_residents_open_request_as_an_internal_comment(
    harness: Harness, twilio: TwilioServer, notifier_pool: AsyncConnectionPool
):
    number = new_number()
    with notifier_served(harness.settings, twilio):
        await harness.publish(await harness.submitted(number, language="es"))
        await known(harness, notifier_pool, number)

        answer = await twilio.send_inbound(INBOUND_URL, harness.phone, "El hoyo es cada vez mas grande")
        assert reply_of(answer) == f"Gracias, agregamos su mensaje a la solicitud {number}."
        [comment] = await comments(harness, number)
        # Twilio retries the webhook (the same MessageSid): it was taken, so nothing is published again.
        sid = twilio.inbound[-1]["MessageSid"]
        retried = await twilio.send_inbound(
            INBOUND_URL, harness.phone, "El hoyo es cada vez mas grande", sid=sid
        )
        assert reply_of(retried) is None
        # The same conversation over WhatsApp.
        second = reply_of(await twilio.send_inbound(INBOUND_URL, f"whatsapp:{harness.phone}", "Y hay agua"))
        assert second == reply_of(answer)
        again = await comments(harness, number)

    assert [(e.payload.text, e.source) for e in again] == [
        ("El hoyo es cada vez mas grande", "sms"),
        ("Y hay agua", "whatsapp"),
    ]
    assert again[0].event_id == comment.event_id
    assert comment.payload.text == "El hoyo es cada vez mas grande"
    assert comment.payload.visibility is CommentVisibility.internal
    assert (comment.actor.kind.value, comment.source) == ("resident", "sms")
    assert comment.actor.id == str(await harness.vault.find_resident(phone=harness.phone))
    assert harness.phone not in comment.model_dump_json()


async def test_stop_start_and_help_reach_the_opt_out_api_with_the_carriers_replies_in_spanish(
    harness: Harness, twilio: TwilioServer, notifier_pool: AsyncConnectionPool
):
    number = new_number()
    preferences = ContactPreferences(partial(store_transaction, notifier_pool), PEPPER)
    with notifier_served(harness.settings, twilio):
        await harness.publish(await harness.submitted(number, language="es"))
        await known(harness, notifier_pool, number)
        stopped = reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, "stop"))
        assert stopped is not None and "Se ha dado de baja" in stopped
        assert await preferences.is_opted_out(SMS, harness.phone)
        assert not await preferences.is_opted_out(NotificationChannel.whatsapp, harness.phone)

        # Texts from now on go by email, the resident's next channel.
        await harness.publish(agent(number, StatusChanged(status="acknowledged", previous_status="open")))

        helped = reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, "AYUDA"))
        assert helped is not None and "Responda STOP" in helped
        started = reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, "START"))
        assert started is not None and "suscrito de nuevo" in started
        assert not await preferences.is_opted_out(SMS, harness.phone)
    assert await comments(harness, number) == []  # keywords are not comments


async def test_with_several_open_requests_the_resident_is_asked_which_and_the_text_waits(
    harness: Harness, twilio: TwilioServer, notifier_pool: AsyncConnectionPool
):
    first, second, closed = new_number(), new_number(), new_number()
    with notifier_served(harness.settings, twilio):
        await harness.publish(
            await harness.submitted(closed),
            agent(closed, StatusChanged(status="closed", previous_status="open", reason="fixed")),
            await harness.submitted(first),
            await harness.submitted(second),
        )
        await known(harness, notifier_pool, first, second, closed)

        asked = reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, "Trash again on the corner"))
        assert asked is not None and asked.startswith("Which of your requests")
        assert closed not in asked and first in asked and second in asked
        listed = asked.split(": ", 1)[1].split()
        choice = listed[listed.index(first) - 1].rstrip(")")
        assert await comments(harness, first) == [] and await comments(harness, second) == []

        picked = reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, choice))
        assert picked == f"Thanks, we added your message to request {first}."
        # The request the resident talks about stays the conversation: the next text needs no question.
        follow_up = reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, "It smells too"))
        assert follow_up == picked

        texts = [e.payload.text for e in await comments(harness, first)]
    assert texts == ["Trash again on the corner", "It smells too"]
    assert await comments(harness, second) == [] and await comments(harness, closed) == []
    async with notifier_pool.connection() as conn:
        cur = await conn.execute(
            "select pending_text from notifier.conversations where request_id = %s", (first,)
        )
        assert (await cur.fetchone())[0] is None  # the waiting text is gone once it landed


async def test_a_stranger_without_requests_gets_the_help_text_and_a_forged_text_is_refused(
    harness: Harness, twilio: TwilioServer
):
    with notifier_served(harness.settings, twilio):
        answer = reply_of(await twilio.send_inbound(INBOUND_URL, "+12025550199", "There is a hole"))
        assert answer is not None and answer.startswith("We could not find an open request of yours")
        # The local server's own route texts "as a resident" (what a newcomer uses under `make run`).
        twilio.inbound_webhook = INBOUND_URL
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(
                f"{twilio.url}/local/inbound", json={"from": "+12025550199", "body": "AYUDA"}
            )
        assert r.status_code == 200 and r.json()["webhook_status"] == 200
        assert "Responda STOP" in r.json()["reply"]
        params = {"MessageSid": "SM" + "0" * 32, "From": harness.phone, "To": OUR_NUMBER, "Body": "hi"}
        async with httpx.AsyncClient(timeout=10) as client:
            local = twilio.behind_proxy(INBOUND_URL)
            for signature in ("", twilio_signature("not-the-token", INBOUND_URL, params)):
                r = await client.post(local, data=params, headers={"X-Twilio-Signature": signature})
                assert r.status_code == 403
            big = await client.post(
                local,
                data={**params, "Body": "x" * 20000},
                headers={"X-Twilio-Signature": twilio_signature(twilio.auth_token, INBOUND_URL, params)},
            )
            assert big.status_code == 413


async def test_an_answer_to_was_it_fixed_is_a_survey_answer(
    harness: Harness, twilio: TwilioServer, notifier_pool: AsyncConnectionPool
):
    number = new_number()
    with notifier_served(harness.settings, twilio):
        await harness.publish(
            await harness.submitted(number, language="es"),
            agent(number, StatusChanged(status="closed", previous_status="open", reason="fixed")),
        )

        async def asked() -> list | None:
            texts = twilio.to(harness.phone)
            return texts if len(texts) == 2 else None

        await eventually(asked, what="the received and closed texts")
        answer = reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, "Si, 9"))
        assert answer == "Gracias por su respuesta."

        async def answered() -> list | None:
            events = await read_all_events(
                harness.kafka, harness.topics.request_events, harness.topics.partitions
            )
            return [
                e for e in events if isinstance(e.payload, SurveyAnswered) and e.request_id == number
            ] or None

        [survey] = await eventually(answered, what="the survey answer on the log")
    assert (survey.payload.fixed, survey.payload.nps_score, survey.payload.channel) == (True, 9, SMS)
    assert await comments(harness, number) == []


class ReportingByText:
    """Reporting by text as the webhook sees it (`TextReportingPort`): a report under way for one number."""

    def __init__(self, under_way_for: str) -> None:
        self.under_way_for = under_way_for
        self.handed: list[tuple[str, NotificationChannel, str, str]] = []

    async def in_progress(self, sender: str, channel: NotificationChannel) -> bool:
        return sender == self.under_way_for

    async def handle(self, sender: str, channel: NotificationChannel, text: str, language: str) -> str:
        self.handed.append((sender, channel, text, language))
        return "What is the address?"


async def test_texts_about_no_open_request_and_a_report_under_way_go_to_reporting_by_text(
    harness: Harness, twilio: TwilioServer, notifier_pool: AsyncConnectionPool
):
    number, stranger = new_number(), "+12025550177"
    reporting = ReportingByText(under_way_for=harness.phone)
    with notifier_served(harness.settings, twilio, text_reporting=reporting):
        await harness.publish(await harness.submitted(number))
        await known(harness, notifier_pool, number)
        assert (
            reply_of(await twilio.send_inbound(INBOUND_URL, stranger, "Pothole on Elm"))
            == "What is the address?"
        )
        # The resident has an open request, but their report by text under way keeps the conversation.
        assert (
            reply_of(await twilio.send_inbound(INBOUND_URL, harness.phone, "5 Main St"))
            == "What is the address?"
        )
    assert reporting.handed == [
        (stranger, NotificationChannel.sms, "Pothole on Elm", "en"),
        (harness.phone, NotificationChannel.sms, "5 Main St", "en"),
    ]
    assert await comments(harness, number) == []
