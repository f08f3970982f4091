"""The check of Twilio's webhook signatures, from the environment every service reads its SMS provider from: with
`CIVICLOOP_SMS_PROVIDER=twilio`, the account's auth token (`CIVICLOOP_SECRET_SMS_AUTH_TOKEN`) signs its webhooks."""

from __future__ import annotations

from collections.abc import Mapping

from civicloop_channels.environment import sms_settings_from_environment
from civicloop_channels.sms_provider import UnknownSmsSetup
from civicloop_channels.sms_webhooks import TwilioSignatureCheck
from civicloop_channels.twilio_sms import TwilioSettings


def twilio_signature_from_environment(environ: Mapping[str, str]) -> TwilioSignatureCheck | None:
    """None when Twilio is not the SMS provider (its webhooks are then refused)."""
    try:
        settings = sms_settings_from_environment(environ)
    except UnknownSmsSetup:
        return None  # a notifier sending SMS through it stops at its providers, which name the variable
    if not isinstance(settings, TwilioSettings):
        return None
    return TwilioSignatureCheck(settings.auth_token)
