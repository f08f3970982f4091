"""Which SMS provider sends is configuration: a provider's name and its flat settings (as a service reads them from
its environment) give a sender behind the one `ChannelSender` port."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

from civicloop_channels.message import Channel, OutgoingMessage, SendResult
from civicloop_channels.sms_vonage import VonageSettings, VonageSmsSender
from civicloop_channels.twilio_sms import TwilioSender, TwilioSettings

SmsSettings = TwilioSettings | VonageSettings
_SETTINGS: dict[str, type[TwilioSettings] | type[VonageSettings]] = {
    "twilio": TwilioSettings,
    "vonage": VonageSettings,
}
SMS_PROVIDERS: tuple[str, ...] = tuple(_SETTINGS)


class UnknownSmsSetup(ValueError):
    """A provider we do not have, a setting it does not take, or one it needs and lacks (names only, no values)."""


class ClosingSender(Protocol):
    """A `ChannelSender` holding a connection pool, closed when the service stops."""

    channel: Channel

    async def send(self, message: OutgoingMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


def sms_settings(provider: str, values: Mapping[str, str]) -> SmsSettings:
    """The provider's settings from flat string values (`timeout_s` as a number), refusing unknown names."""
    kind = _SETTINGS.get(provider)
    if kind is None:
        raise UnknownSmsSetup(f"no SMS provider {provider!r}; one of {', '.join(SMS_PROVIDERS)}")
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UnknownSmsSetup(f"{provider} takes no setting {', '.join(unknown)}")
    typed: dict[str, Any] = {
        name: float(value) if name == "timeout_s" else (value or None) for name, value in values.items()
    }
    missing = sorted(
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and not typed.get(name)
    )
    if missing:
        raise UnknownSmsSetup(f"{provider} needs {', '.join(missing)}")
    return kind(**typed)


def sms_sender(channel: Channel, settings: SmsSettings) -> ClosingSender:
    """The sender for `channel` through the configured provider."""
    if isinstance(settings, TwilioSettings):
        return TwilioSender(channel, settings)
    if channel is not Channel.sms:
        raise UnknownSmsSetup(f"vonage sends sms, not {channel.value}")
    return VonageSmsSender(settings)
