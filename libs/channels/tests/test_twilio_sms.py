"""The Twilio sender through the real `twilio` SDK against a local server speaking Twilio's Messages API."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.twilio_sms import TwilioSender, TwilioSettings
from civicloop_testing.polling import eventually
from civicloop_testing.processes import free_port
from civicloop_testing.twilio_server import OUTBOX_PATH, TwilioServer, twilio_server

OUR_NUMBER = "+15005550006"
RESIDENT = "+12135550147"


@pytest.fixture(scope="module")
def twilio() -> Iterator[TwilioServer]:
    with twilio_server(numbers=(OUR_NUMBER,)) as server:
        yield server


def settings_for(server: TwilioServer, **changes: object) -> TwilioSettings:
    values: dict[str, object] = {
        "account_sid": server.account_sid,
        "auth_token": server.auth_token,
        "sms_from": OUR_NUMBER,
        "whatsapp_from": OUR_NUMBER,
        "base_url": server.url,
        "timeout_s": 5.0,
    }
    values.update(changes)
    return TwilioSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def sms(twilio: TwilioServer) -> AsyncIterator[TwilioSender]:
    sender = TwilioSender(Channel.sms, settings_for(twilio))
    yield sender
    await sender.aclose()


def text(
    to: str = RESIDENT, body: str = "Your request 7KQ4-MZT2 was received", channel: Channel = Channel.sms
) -> OutgoingMessage:
    return OutgoingMessage(f"m-{time.monotonic_ns()}", channel, to, body)


async def test_an_sms_is_accepted_with_twilio_s_sid_and_reaches_the_api_as_sent(
    sms: TwilioSender, twilio: TwilioServer
) -> None:
    result = await sms.send(text(body="Your request 7KQ4-MZT2 was received"))

    assert result.outcome is Outcome.accepted and result.provider == "twilio"
    assert (
        result.provider_id is not None
        and result.provider_id.startswith("SM")
        and len(result.provider_id) == 34
    )
    kept = next(m for m in twilio.accepted if m.sid == result.provider_id)
    assert (kept.to, kept.sender, kept.body) == (RESIDENT, OUR_NUMBER, "Your request 7KQ4-MZT2 was received")


async def test_whatsapp_goes_with_the_whatsapp_prefix_on_both_sides(twilio: TwilioServer) -> None:
    sender = TwilioSender(Channel.whatsapp, settings_for(twilio))
    try:
        result = await sender.send(text(channel=Channel.whatsapp))
    finally:
        await sender.aclose()

    assert result.outcome is Outcome.accepted
    kept = next(m for m in twilio.accepted if m.sid == result.provider_id)
    assert (kept.to, kept.sender) == (f"whatsapp:{RESIDENT}", f"whatsapp:{OUR_NUMBER}")


async def test_a_messaging_service_stands_for_the_sender(twilio: TwilioServer) -> None:
    sender = TwilioSender(
        Channel.sms, settings_for(twilio, sms_from=None, messaging_service_sid="MG" + "0" * 32)
    )
    try:
        result = await sender.send(text())
    finally:
        await sender.aclose()

    kept = next(m for m in twilio.accepted if m.sid == result.provider_id)
    assert (kept.sender, kept.messaging_service_sid) == (None, "MG" + "0" * 32)


@pytest.mark.parametrize(
    ("to", "code"),
    [("2135550147", 21211), ("+1 213 555 0147", 21211), ("+12135550199", 21610)],
    ids=["no-plus", "spaces", "unsubscribed"],
)
async def test_twilio_s_permanent_errors_refuse_without_the_number_in_the_error(
    sms: TwilioSender, twilio: TwilioServer, to: str, code: int
) -> None:
    twilio.unsubscribed.add("+12135550199")

    result = await sms.send(text(to=to))

    assert result.outcome is Outcome.refused and result.provider_id is None
    assert result.error is not None and str(code) in result.error
    assert "555" not in result.error


async def test_a_body_over_twilio_s_limit_is_refused(sms: TwilioSender) -> None:
    result = await sms.send(text(body="x" * 1601))

    assert result.outcome is Outcome.refused and result.error is not None and "21617" in result.error


async def test_an_outage_fails_the_attempt_and_the_next_one_goes(
    sms: TwilioSender, twilio: TwilioServer
) -> None:
    twilio.answer_next(2, status=500)
    before = len(twilio.accepted)

    first, second = await sms.send(text()), await sms.send(text())
    third = await sms.send(text())

    assert [first.outcome, second.outcome] == [Outcome.failed, Outcome.failed]
    assert first.error is not None and "500" in first.error
    assert third.outcome is Outcome.accepted and len(twilio.accepted) == before + 1


async def test_a_429_fails_with_twilio_s_retry_after(sms: TwilioSender, twilio: TwilioServer) -> None:
    twilio.throttle_next(1, retry_after_s=7)

    result = await sms.send(text())

    assert result.outcome is Outcome.failed and result.retry_after_s == 7.0
    assert result.error is not None and "20429" in result.error


async def test_a_hanging_api_fails_at_the_timeout_and_keeps_no_message(twilio: TwilioServer) -> None:
    sender = TwilioSender(Channel.sms, settings_for(twilio, timeout_s=0.3))
    twilio.hang_next(1, seconds=1.5)
    before = len(twilio.accepted)
    try:
        started = time.monotonic()
        result = await sender.send(text())
        took = time.monotonic() - started
    finally:
        await sender.aclose()

    assert result.outcome is Outcome.failed and result.error is not None and "no answer" in result.error
    assert took < 1.4  # the hang lasts 1.5 s: the sender did not wait for it
    await eventually(lambda: _true(twilio.hangs_ended), timeout=10, what="the hung request to end")
    assert twilio.hangs_ended[-1] == "abandoned" and len(twilio.accepted) == before


async def test_a_slow_api_within_the_timeout_delays_the_message_and_takes_it_once(
    twilio: TwilioServer,
) -> None:
    sender = TwilioSender(Channel.sms, settings_for(twilio, timeout_s=5.0))
    twilio.hang_next(1, seconds=0.5)
    before = len(twilio.accepted)
    try:
        result = await sender.send(text())
    finally:
        await sender.aclose()

    assert result.outcome is Outcome.accepted
    assert twilio.hangs_ended[-1] == "answered" and len(twilio.accepted) == before + 1


async def _true(value: object) -> bool:
    return bool(value)


async def test_wrong_credentials_fail_rather_than_refuse(twilio: TwilioServer) -> None:
    sender = TwilioSender(Channel.sms, settings_for(twilio, auth_token="not-the-token"))
    try:
        result = await sender.send(text())
    finally:
        await sender.aclose()

    assert result.outcome is Outcome.failed and result.error is not None and "20003" in result.error


async def test_nobody_listening_fails(twilio: TwilioServer) -> None:
    sender = TwilioSender(Channel.sms, settings_for(twilio, base_url=f"http://127.0.0.1:{free_port()}"))
    try:
        result = await sender.send(text())
    finally:
        await sender.aclose()

    assert (
        result.outcome is Outcome.failed and result.error is not None and result.error.startswith("twilio:")
    )


def test_settings_never_show_the_token() -> None:
    settings = TwilioSettings(account_sid="AC1", auth_token="s3cr3t-token", sms_from=OUR_NUMBER)
    assert "s3cr3t" not in repr(settings)


def test_a_sender_needs_a_sending_number_for_its_channel() -> None:
    with pytest.raises(ValueError, match="whatsapp_from"):
        TwilioSender(Channel.whatsapp, TwilioSettings(account_sid="AC1", auth_token="t", sms_from=OUR_NUMBER))
    with pytest.raises(ValueError, match="email"):
        TwilioSender(Channel.email, TwilioSettings(account_sid="AC1", auth_token="t", sms_from=OUR_NUMBER))


async def test_the_local_twilio_runs_on_its_own_for_a_developer_and_shows_what_went_out(
    tmp_path: Path,
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "civicloop_testing.twilio_server", "--port", str(port)]
    command += ["--account-sid", "AC" + "a" * 32, "--auth-token", "local-token", "--number", OUR_NUMBER]
    with (tmp_path / "twilio.log").open("w") as log:
        process = await asyncio.create_subprocess_exec(*command, stdout=log, stderr=asyncio.subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url) as http:

            async def outbox() -> httpx.Response | None:
                try:
                    return await http.get(OUTBOX_PATH)
                except httpx.TransportError:
                    return None

            assert (await eventually(outbox, timeout=30, what="the local Twilio to serve")).json() == []
            settings = TwilioSettings(
                account_sid="AC" + "a" * 32, auth_token="local-token", sms_from=OUR_NUMBER, base_url=base_url
            )
            sender = TwilioSender(Channel.sms, settings)
            try:
                result = await sender.send(text(body="Hello from the local Twilio"))
            finally:
                await sender.aclose()
            shown = (await http.get(OUTBOX_PATH)).json()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)

    assert result.outcome is Outcome.accepted
    assert [(m["sid"], m["to"], m["body"]) for m in shown] == [
        (result.provider_id, RESIDENT, "Hello from the local Twilio")
    ]


async def test_free_form_whatsapp_outside_the_24_hour_window_is_refused(twilio: TwilioServer) -> None:
    twilio.whatsapp_window_closed.add("+12135550122")
    sender = TwilioSender(Channel.whatsapp, settings_for(twilio))
    try:
        result = await sender.send(text(to="+12135550122", channel=Channel.whatsapp))
    finally:
        await sender.aclose()

    assert result.outcome is Outcome.refused and result.error is not None and "63016" in result.error


async def test_concurrent_sends_each_get_their_own_answer(sms: TwilioSender, twilio: TwilioServer) -> None:
    twilio.throttle_next(5, retry_after_s=3)
    messages = [text(to=f"+1213555{n:04d}") for n in range(40)]

    started = time.monotonic()
    results = await asyncio.gather(*(sms.send(m) for m in messages))
    took = time.monotonic() - started

    throttled = [r for r in results if r.outcome is Outcome.failed]
    accepted = [r for r in results if r.outcome is Outcome.accepted]
    assert len(throttled) == 5 and all(r.retry_after_s == 3.0 for r in throttled)
    assert len(accepted) == 35 and all(r.retry_after_s is None for r in accepted)
    assert len({r.provider_id for r in accepted}) == 35
    print(f"40 concurrent sends through the SDK to the local Twilio in {took:.2f} s")


async def test_a_send_logs_neither_the_number_nor_the_text(
    sms: TwilioSender, twilio: TwilioServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio.throttle_next(1)

    results = [await sms.send(text(body="Pothole on 1200 Elm St fixed")) for _ in range(2)]

    assert [r.outcome for r in results] == [Outcome.failed, Outcome.accepted]
    assert caplog.records, "the SDK logs each request: this test reads those lines"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "2135550147" not in logged and "Elm St" not in logged and twilio.auth_token not in logged


def test_a_sender_can_be_made_before_any_event_loop_runs() -> None:
    sender = TwilioSender(Channel.sms, TwilioSettings(account_sid="AC1", auth_token="t", sms_from=OUR_NUMBER))
    assert sender.channel is Channel.sms


async def test_a_proxy_s_html_error_page_fails_the_attempt(sms: TwilioSender, twilio: TwilioServer) -> None:
    twilio.answer_next(1, status=502, raw="<html><body>502 Bad Gateway</body></html>")

    result = await sms.send(text())

    assert result.outcome is Outcome.failed and result.error is not None and "502" in result.error


async def test_an_unreadable_success_fails_the_attempt_instead_of_raising(
    sms: TwilioSender, twilio: TwilioServer
) -> None:
    twilio.answer_next(1, status=201, raw="<html>created?</html>")

    result = await sms.send(text())

    assert result.outcome is Outcome.failed and result.error == "twilio: an answer that is not a message"


async def test_a_wrong_account_in_the_url_fails_rather_than_refuses(twilio: TwilioServer) -> None:
    sender = TwilioSender(Channel.sms, settings_for(twilio, base_url=f"{twilio.url}/not-twilio"))
    try:
        result = await sender.send(text())
    finally:
        await sender.aclose()

    assert result.outcome is Outcome.failed and result.error is not None and "404" in result.error


async def test_an_api_key_authenticates_instead_of_the_auth_token(twilio: TwilioServer) -> None:
    twilio.api_keys["SK" + "b" * 32] = "key-secret"
    right = settings_for(
        twilio, auth_token="unused", api_key_sid="SK" + "b" * 32, api_key_secret="key-secret"
    )
    wrong = settings_for(twilio, auth_token="unused", api_key_sid="SK" + "b" * 32, api_key_secret="not-it")
    results = []
    for settings in (right, wrong):
        sender = TwilioSender(Channel.sms, settings)
        try:
            results.append(await sender.send(text()))
        finally:
            await sender.aclose()

    assert [r.outcome for r in results] == [Outcome.accepted, Outcome.failed]
    assert results[1].error is not None and "20003" in results[1].error
    assert "key-secret" not in repr(right)
