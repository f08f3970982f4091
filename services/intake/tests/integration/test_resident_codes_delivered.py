"""Residents' codes delivered for real, on the real app, database and broker: SMS through the configured provider
(the `twilio` SDK to the local Twilio server, configured by `CIVICLOOP_SMS_*` as every service reads it) and email
through the staff SMTP relay (an aiosmtpd inbox), in the resident's language; a resident signs in with the code as
received; a provider that hangs does not hold the answer, and the code still arrives."""

import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_channels.sms_provider import UnknownSmsSetup
from civicloop_intake.adapters.access_code_sink import FileAccessCodeSink
from civicloop_intake.adapters.channel_access_codes import ChannelAccessCodeSender
from civicloop_intake.bootstrap import access_code_sender
from civicloop_intake.domain.resident_access import ContactKind
from civicloop_intake.entrypoints.http import create_app
from civicloop_testing.observability import captured_output, span_text
from civicloop_testing.polling import eventually
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from civicloop_testing.twilio_server import TwilioServer, twilio_server
from intake_harness import Harness

pytestmark = pytest.mark.integration

OUR_NUMBER = "+15005550006"
_CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


@pytest.fixture(scope="module")
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as server:
        yield server


@asynccontextmanager
async def delivering(
    intake: Harness, twilio: TwilioServer, inbox: SmtpInbox, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """An intake app on the harness's database and topics whose codes go by SMS and email (no sink)."""
    for name, value in twilio.environment(OUR_NUMBER).items():
        monkeypatch.setenv(name, value)
    settings = intake.settings.model_copy(
        update={
            "resident_code_sink_file": None,
            "staff_smtp_port": inbox.port,
            "resident_answer_floor_s": 0.3,
        }
    )
    async with AsyncExitStack() as stack:
        app = (
            await stack.enter_async_context(LifespanManager(create_app(settings, start_consumers=False)))
        ).app
        transport = httpx.ASGITransport(app=app, client=("198.51.100.50", 40000))
        yield await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30)
        )


async def _now(value):
    return value


async def tracked(intake: Harness, number: str, phone: str) -> None:
    r = await intake.client.post("/api/v1/track", json={"number": number, "phone": phone})
    assert r.status_code == 200, r.text


def texted(twilio: TwilioServer, e164: str) -> list[str]:
    return [m.body for m in twilio.to(e164)]


def mailed(inbox: SmtpInbox, address: str) -> list[str]:
    return [r.message.get_body(preferencelist=("plain",)).get_content() for r in inbox.to(address)]


async def signs_in(client: httpx.AsyncClient, contact: str, received: str) -> None:
    code = _CODE.search(received)
    assert code is not None, "no code in what the resident received"
    r = await client.post("/api/v1/residents/sessions", json={"contact": contact, "code": code.group(1)})
    assert r.status_code == 201, r.text
    mine = await client.get(
        "/api/v1/residents/me/requests", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert mine.status_code == 200 and len(mine.json()["requests"]) == 1


async def test_a_phone_gets_its_code_by_sms_and_an_address_by_email_in_the_residents_language(
    intake, twilio, inbox, monkeypatch
):
    phone, email = "(202) 555-0191", "Lucia.Mendez@Example.org"
    number = await intake.submit("Bache", address="1 Main St", contact={"phone": phone, "email": email})
    await tracked(intake, number, phone)
    async with delivering(intake, twilio, inbox, monkeypatch) as client:
        spanish = {"Accept-Language": "es-US,es;q=0.9,en;q=0.5"}
        r = await client.post("/api/v1/residents/codes", json={"contact": phone}, headers=spanish)
        assert r.status_code == 202, r.text
        [sms] = await eventually(lambda: _now(texted(twilio, "+12025550191")), timeout=10, what="the SMS")
        assert sms.startswith("CivicLoop: su código es ")
        await signs_in(client, phone, sms)

        r = await client.post("/api/v1/residents/codes", json={"contact": email, "language": "en"})
        assert r.status_code == 202, r.text
        [mail] = await eventually(
            lambda: _now(inbox.to("Lucia.Mendez@example.org")), timeout=10, what="the mail"
        )
        assert (
            mail.message["Subject"] == "Your CivicLoop sign-in code"
            and mail.message["Content-Language"] == "en"
        )
        await signs_in(client, email, mailed(inbox, "Lucia.Mendez@example.org")[0])

        # An unknown contact: the same answer, and nothing sent anywhere.
        sent_before = (len(twilio.accepted), len(inbox.received))
        r = await client.post("/api/v1/residents/codes", json={"contact": "(202) 555-0192"})
        assert r.status_code == 202 and (len(twilio.accepted), len(inbox.received)) == sent_before


async def test_a_hanging_sms_provider_does_not_hold_the_answer_and_the_code_still_arrives(
    intake, twilio, inbox, monkeypatch
):
    phone = "(202) 555-0193"
    number = await intake.submit("Hole", address="1 Main St", contact={"phone": phone})
    await tracked(intake, number, phone)
    async with delivering(intake, twilio, inbox, monkeypatch) as client:
        twilio.hang_next(1, 2.0)
        started = time.monotonic()
        r = await client.post("/api/v1/residents/codes", json={"contact": phone})
        answered_after = time.monotonic() - started
        assert r.status_code == 202 and answered_after < 1.5  # the floor (0.3 s), not the provider's 2 s
        assert texted(twilio, "+12025550193") == []

        async def arrived() -> list[str]:
            return texted(twilio, "+12025550193")

        [sms] = await eventually(arrived, timeout=10, what="the code held by the hanging provider")
        await signs_in(client, phone, sms)


async def test_where_codes_go_is_configuration(intake, twilio, tmp_path):
    async with AsyncExitStack() as opened:
        settings = intake.settings.model_copy(update={"resident_code_sink_file": None})
        both = access_code_sender(settings, opened, twilio.environment(OUR_NUMBER))
        assert isinstance(both, ChannelAccessCodeSender)
        assert both.delivers(ContactKind.phone) and both.delivers(ContactKind.email)
        email_only = access_code_sender(settings, opened, {})
        assert email_only is not None and not email_only.delivers(ContactKind.phone)
        nothing = settings.model_copy(update={"resident_code_email": False})
        assert access_code_sender(nothing, opened, {}) is None  # code requests answer 503
        sink = settings.model_copy(update={"resident_code_sink_file": tmp_path / "codes.jsonl"})
        assert isinstance(
            access_code_sender(sink, opened, twilio.environment(OUR_NUMBER)), FileAccessCodeSink
        )
        wrong = {k: v for k, v in twilio.environment(OUR_NUMBER).items() if "SECRET" not in k}
        with pytest.raises(UnknownSmsSetup, match="CIVICLOOP_SECRET_SMS_AUTH_TOKEN"):
            access_code_sender(settings, opened, wrong)


async def test_no_contact_or_code_reaches_a_log_line_or_a_span_whatever_the_provider_answers(
    intake, twilio, inbox, monkeypatch
):
    phone, refused_phone, email = "(202) 555-0194", "(202) 555-0195", "nadia.k@example.org"
    for number_phone, contact in (
        (phone, {"phone": phone, "email": email}),
        (refused_phone, {"phone": refused_phone}),
    ):
        number = await intake.submit("Hole", address="1 Main St", contact=contact)
        await tracked(intake, number, number_phone)
    twilio.unsubscribed.add("+12025550195")  # replied STOP once: Twilio refuses it (21610)
    with captured_output("civicloop-intake") as out:
        async with delivering(intake, twilio, inbox, monkeypatch) as client:
            for contact in (phone, email, refused_phone):
                r = await client.post("/api/v1/residents/codes", json={"contact": contact})
                assert r.status_code == 202, r.text
            [sms] = await eventually(lambda: _now(texted(twilio, "+12025550194")), timeout=10, what="the SMS")
            [mail] = await eventually(lambda: _now(mailed(inbox, email)), timeout=10, what="the mail")
    not_handed = [e for e in out.log_lines() if e["message"] == "access code not handed to the sender"]
    assert len(not_handed) == 1 and "21610" in str(not_handed[0]["error"])
    assert [
        e["contact_kind"] for e in out.log_lines() if e["message"] == "access code handed to the sender"
    ] == [
        "phone",
        "email",
    ]
    # Every line but the test relay's own (aiosmtpd logs each envelope under `mail.log`), and every span.
    ours = [line for line in out.logs.getvalue().splitlines() if '"logger": "mail.log"' not in line]
    captured = "\n".join(ours) + "\n".join(span_text(s) for s in out.spans)
    assert len(ours) > 3
    codes = [_CODE.search(text).group(1) for text in (sms, mail)]
    for secret in ("555-0194", "5550194", "5550195", "nadia", twilio.auth_token, *codes):
        assert secret not in captured
