"""Both SMS providers behind the one port, chosen by configuration, held to the same contract against their local
servers: taken once with the provider's id, refused for a number it will never reach, failed (and taken on the next
try) through an outage, a throttle or a hang."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from civicloop_channels.sms_provider import (
    SMS_PROVIDERS,
    ClosingSender,
    UnknownSmsSetup,
    sms_sender,
    sms_settings,
)
from civicloop_channels.sms_vonage import VonageSettings, vonage_status_outcome
from civicloop_channels.twilio_sms import TwilioSettings
from civicloop_testing.polling import eventually
from civicloop_testing.twilio_server import TwilioServer, twilio_server
from civicloop_testing.vonage_server import VonageServer, vonage_server

OUR_NUMBER = "+15005550006"
RESIDENT = "+12135550147"
NEVER_REACHED = "+12135550100"


@dataclass
class Provider:
    """One provider's local server and how to configure a sender for it and break it."""

    name: str
    server: TwilioServer | VonageServer
    settings: dict[str, str]
    bar: Callable[[str], None]  # the provider will never send to this number
    taken_by: Callable[[str], int]  # how many messages the provider took for this number


@pytest.fixture(scope="module", params=SMS_PROVIDERS)
def provider(request: pytest.FixtureRequest) -> Iterator[Provider]:
    if request.param == "twilio":
        with twilio_server(numbers=(OUR_NUMBER,)) as twilio:
            yield Provider(
                "twilio",
                twilio,
                {
                    "account_sid": twilio.account_sid,
                    "auth_token": twilio.auth_token,
                    "sms_from": OUR_NUMBER,
                    "base_url": twilio.url,
                    "timeout_s": "10",
                },
                twilio.unsubscribed.add,
                lambda number: len(twilio.to(number)),
            )
    else:
        with vonage_server() as vonage:
            yield Provider(
                "vonage",
                vonage,
                {
                    "api_key": vonage.api_key,
                    "api_secret": vonage.api_secret,
                    "sms_from": OUR_NUMBER,
                    "base_url": vonage.url,
                    "timeout_s": "10",
                },
                lambda number: vonage.barred.add(number.removeprefix("+")),
                lambda number: len(vonage.to(number)),
            )


@pytest.fixture
async def sender(provider: Provider) -> AsyncIterator[ClosingSender]:
    configured = sms_sender(Channel.sms, sms_settings(provider.name, provider.settings))
    yield configured
    await configured.aclose()


def text(to: str = RESIDENT) -> OutgoingMessage:
    return OutgoingMessage(f"m-{time.monotonic_ns()}", Channel.sms, to, "Su solicitud 7KQ4-MZT2 fue recibida")


async def test_a_message_is_taken_once_with_the_provider_s_id(
    sender: ClosingSender, provider: Provider
) -> None:
    before = provider.taken_by(RESIDENT)

    result = await sender.send(text())

    assert result.outcome is Outcome.accepted and result.provider == provider.name and result.provider_id
    assert provider.taken_by(RESIDENT) == before + 1


async def test_a_number_the_provider_will_never_reach_is_refused(
    sender: ClosingSender, provider: Provider
) -> None:
    provider.bar(NEVER_REACHED)

    result = await sender.send(text(NEVER_REACHED))

    assert result.outcome is Outcome.refused and result.provider_id is None
    assert result.error and "555" not in result.error
    assert provider.taken_by(NEVER_REACHED) == 0


async def test_an_invalid_number_is_refused(sender: ClosingSender) -> None:
    result = await sender.send(text("+12"))

    assert result.outcome is Outcome.refused and result.error and "+12" not in result.error


async def test_an_outage_fails_then_the_same_message_is_taken_once(
    sender: ClosingSender, provider: Provider
) -> None:
    provider.server.answer_next(1, status=503)
    before = provider.taken_by(RESIDENT)
    message = text()

    failed, retried = await sender.send(message), await sender.send(message)

    assert failed.outcome is Outcome.failed and retried.outcome is Outcome.accepted
    assert provider.taken_by(RESIDENT) == before + 1


async def test_a_throttle_fails_the_attempt(sender: ClosingSender, provider: Provider) -> None:
    provider.server.throttle_next(1)

    result = await sender.send(text())

    assert result.outcome is Outcome.failed


async def test_a_hang_fails_at_the_timeout_and_the_provider_keeps_nothing(provider: Provider) -> None:
    impatient = sms_sender(
        Channel.sms, sms_settings(provider.name, {**provider.settings, "timeout_s": "0.5"})
    )
    provider.server.hang_next(1, seconds=1.5)
    before, ended = provider.taken_by(RESIDENT), len(provider.server.hangs_ended)
    try:
        result = await impatient.send(text())
    finally:
        await impatient.aclose()

    assert result.outcome is Outcome.failed and result.error and "no answer" in result.error

    async def hang_over() -> bool:
        return len(provider.server.hangs_ended) > ended

    await eventually(hang_over, timeout=10, what="the hung request to end")
    assert provider.server.hangs_ended[-1] == "abandoned" and provider.taken_by(RESIDENT) == before


def test_the_provider_is_chosen_by_name() -> None:
    twilio = sms_settings("twilio", {"account_sid": "AC1", "auth_token": "t", "sms_from": OUR_NUMBER})
    vonage = sms_settings(
        "vonage", {"api_key": "k", "api_secret": "s", "sms_from": OUR_NUMBER, "timeout_s": "3"}
    )

    assert isinstance(twilio, TwilioSettings) and twilio.timeout_s == 10.0
    assert isinstance(vonage, VonageSettings) and vonage.timeout_s == 3.0


@pytest.mark.parametrize(
    ("provider_name", "values", "complaint"),
    [
        ("carrier-pigeon", {}, "no SMS provider"),
        (
            "vonage",
            {"api_key": "k", "api_secret": "s", "sms_from": OUR_NUMBER, "auth_token": "x"},
            "auth_token",
        ),
        ("twilio", {"account_sid": "AC1", "sms_from": OUR_NUMBER}, "needs auth_token"),
        ("vonage", {"api_key": "k", "api_secret": "", "sms_from": OUR_NUMBER}, "needs api_secret"),
    ],
    ids=["unknown-provider", "foreign-setting", "missing-setting", "empty-setting"],
)
def test_a_wrong_setup_is_named_without_its_values(
    provider_name: str, values: dict[str, str], complaint: str
) -> None:
    with pytest.raises(UnknownSmsSetup, match=complaint) as raised:
        sms_settings(provider_name, values)
    assert "AC1" not in str(raised.value)


async def test_vonage_sends_no_whatsapp() -> None:
    settings = sms_settings("vonage", {"api_key": "k", "api_secret": "s", "sms_from": OUR_NUMBER})
    with pytest.raises(UnknownSmsSetup, match="whatsapp"):
        sms_sender(Channel.whatsapp, settings)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("0", Outcome.accepted),
        ("1", Outcome.failed),
        ("4", Outcome.failed),
        ("5", Outcome.failed),
        ("3", Outcome.refused),
        ("7", Outcome.refused),
        ("99", Outcome.refused),
    ],
)
def test_vonage_s_statuses(status: str, outcome: Outcome) -> None:
    assert vonage_status_outcome(status) is outcome


@pytest.mark.parametrize(
    "raw",
    ['{"message-count": "1", "messages": [{"status": "0"}]}', '{"messages": []}', "<html>OK</html>", "[]"],
)
async def test_a_vonage_answer_without_a_readable_status_fails_instead_of_raising(raw: str) -> None:
    with vonage_server() as vonage:
        settings = sms_settings(
            "vonage",
            {
                "api_key": vonage.api_key,
                "api_secret": vonage.api_secret,
                "sms_from": OUR_NUMBER,
                "base_url": vonage.url,
            },
        )
        vonage.answer_next(1, status=200, raw=raw)
        sender = sms_sender(Channel.sms, settings)
        try:
            result = await sender.send(text())
        finally:
            await sender.aclose()

    assert result.outcome is Outcome.failed and result.error == "vonage: an answer without message statuses"
