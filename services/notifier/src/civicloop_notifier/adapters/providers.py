"""The channel senders `CIVICLOOP_NOTIFIER_PROVIDERS` names, built from the environment.

- `fake`: keeps what it is given (tests, development).
- `twilio` / `vonage` (sms; whatsapp through twilio): `civicloop_channels.environment.sms_settings_from_environment`,
  the one naming every service reads (`CIVICLOOP_SMS_PROVIDER` must name the same provider).
- `smtp` (email): `CIVICLOOP_EMAIL_HOST`, `_PORT`, `_MAIL_FROM`, optional `_TLS` (none, starttls, tls), `_USERNAME`,
  and the password as secret ref `email.password` (`CIVICLOOP_SECRET_EMAIL_PASSWORD`).
- `webpush` (push): `CIVICLOOP_WEB_PUSH_VAPID_SUBJECT` and secret ref `web-push.vapid-private-key`.

A provider that cannot be built stops the start with `ProviderSetupError`, whose text names variables only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_channels.environment import PROVIDER_VARIABLE, sms_settings_from_environment
from civicloop_channels.message import Channel as WireChannel
from civicloop_channels.message import ChannelSender
from civicloop_channels.sms_provider import ClosingSender, UnknownSmsSetup, sms_sender
from civicloop_channels.sms_vonage import VonageSettings
from civicloop_channels.twilio_sms import TwilioSettings
from civicloop_channels.web_push import WebPushSender, WebPushSettings
from civicloop_events.payloads import NotificationChannel
from civicloop_runtime.secrets import secret_env_name

from civicloop_notifier.adapters.recording_sender import RecordingChannelSender

SMS_PROVIDERS = {"twilio": TwilioSettings, "vonage": VonageSettings}
PROVIDER_CHANNELS: Mapping[str, frozenset[NotificationChannel]] = {
    "fake": frozenset(NotificationChannel),
    "twilio": frozenset({NotificationChannel.sms, NotificationChannel.whatsapp}),
    "vonage": frozenset({NotificationChannel.sms}),
    "smtp": frozenset({NotificationChannel.email}),
    "webpush": frozenset({NotificationChannel.push}),
}
"""Which channels each provider can carry."""

EMAIL_PREFIX = "CIVICLOOP_EMAIL_"
EMAIL_PASSWORD_REF = "email.password"  # noqa: S105 - a ref's name, not a secret
VAPID_SUBJECT = "CIVICLOOP_WEB_PUSH_VAPID_SUBJECT"
VAPID_KEY_REF = "web-push.vapid-private-key"
_TLS_MODES = ("none", "starttls", "tls")


class ProviderSetupError(ValueError):
    """A provider that cannot be built from the environment; the text names variables, never their values."""


@dataclass
class ChannelSenders:
    """The senders per channel and how to close them (each once, on shutdown)."""

    senders: dict[NotificationChannel, ChannelSender] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            await close()


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ProviderSetupError(f"{name} is not set")
    return value


def smtp_settings_from_environment(environ: Mapping[str, str]) -> SmtpSettings:
    port_name = EMAIL_PREFIX + "PORT"
    try:
        port = int(_required(environ, port_name))
    except ValueError:
        raise ProviderSetupError(f"{port_name} is a port number") from None
    tls = environ.get(EMAIL_PREFIX + "TLS", "").strip().lower() or "none"
    if tls not in _TLS_MODES:
        raise ProviderSetupError(f"{EMAIL_PREFIX}TLS is one of {', '.join(_TLS_MODES)}")
    return SmtpSettings(
        host=_required(environ, EMAIL_PREFIX + "HOST"),
        port=port,
        mail_from=_required(environ, EMAIL_PREFIX + "MAIL_FROM"),
        tls=tls,  # type: ignore[arg-type]  # checked against _TLS_MODES above
        username=environ.get(EMAIL_PREFIX + "USERNAME", "").strip() or None,
        password=environ.get(secret_env_name(EMAIL_PASSWORD_REF)) or None,
    )


def web_push_settings_from_environment(environ: Mapping[str, str]) -> WebPushSettings:
    subject = _required(environ, VAPID_SUBJECT)
    key = _required(environ, secret_env_name(VAPID_KEY_REF))
    try:
        return WebPushSettings(vapid_private_key=key, vapid_subject=subject)
    except ValueError:
        raise ProviderSetupError(f"{VAPID_SUBJECT} is a mailto: or https:// contact") from None


def _sms_settings(provider: str, environ: Mapping[str, str]) -> TwilioSettings | VonageSettings:
    try:
        settings = sms_settings_from_environment(environ)
    except UnknownSmsSetup as error:  # its text names variables only
        raise ProviderSetupError(str(error)) from None
    if settings is None or not isinstance(settings, SMS_PROVIDERS[provider]):
        raise ProviderSetupError(f"the notifier sends through {provider}: set {PROVIDER_VARIABLE}={provider}")
    return settings


def _sms_sender(wire: WireChannel, provider: str, environ: Mapping[str, str]) -> ClosingSender:
    settings = _sms_settings(provider, environ)
    try:
        return sms_sender(wire, settings)
    except ValueError:  # a channel without its sending number
        field = "WHATSAPP_FROM" if wire is WireChannel.whatsapp else "SMS_FROM"
        raise ProviderSetupError(f"{wire.value} through {provider} needs CIVICLOOP_SMS_{field}") from None


def _web_push_sender(environ: Mapping[str, str]) -> WebPushSender:
    settings = web_push_settings_from_environment(environ)
    try:
        return WebPushSender(settings)
    except Exception:  # the key's own parser; its message could quote the key
        raise ProviderSetupError(f"{secret_env_name(VAPID_KEY_REF)} is not a VAPID private key") from None


def senders_from_environment(
    providers: Mapping[NotificationChannel, str], environ: Mapping[str, str]
) -> ChannelSenders:
    """One sender per configured channel; SMS and WhatsApp through Twilio are two senders on one account."""
    # No sender opens a connection before its first send: one that fails to build leaves nothing to close.
    built = ChannelSenders()
    for channel, provider in providers.items():
        if channel not in PROVIDER_CHANNELS.get(provider, frozenset()):
            raise ProviderSetupError(f"provider {provider} does not send {channel.value}")
        wire = WireChannel(channel.value)
        if provider == "fake":
            built.senders[channel] = RecordingChannelSender(wire)
        elif provider in SMS_PROVIDERS:
            sms = _sms_sender(wire, provider, environ)
            built.senders[channel] = sms
            built.closers.append(sms.aclose)
        elif provider == "smtp":
            email = SmtpEmailSender(smtp_settings_from_environment(environ))
            built.senders[channel] = email
            built.closers.append(email.close)
        else:  # webpush
            push = _web_push_sender(environ)
            built.senders[channel] = push
            built.closers.append(push.aclose)
    return built
