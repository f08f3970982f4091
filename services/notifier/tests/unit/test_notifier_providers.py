"""`CIVICLOOP_NOTIFIER_PROVIDERS` gives each channel a sender built from the environment; a provider that cannot be
built stops the start, and the reason names variables, never their values."""

import base64

import pytest
from civicloop_channels.email import SmtpEmailSender
from civicloop_channels.sms_vonage import VonageSmsSender
from civicloop_channels.twilio_sms import TwilioSender
from civicloop_channels.web_push import WebPushSender
from civicloop_events.payloads import NotificationChannel as C
from civicloop_notifier.adapters.providers import ProviderSetupError, senders_from_environment
from civicloop_notifier.adapters.recording_sender import RecordingChannelSender
from civicloop_notifier.settings import NotifierSettings
from py_vapid import Vapid

TOKEN = "tw1l10-s3cr3t-t0k3n"
TWILIO = {
    "CIVICLOOP_SMS_PROVIDER": "twilio",
    "CIVICLOOP_SMS_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "CIVICLOOP_SECRET_SMS_AUTH_TOKEN": TOKEN,
    "CIVICLOOP_SMS_SMS_FROM": "+15005550006",
    "CIVICLOOP_SMS_WHATSAPP_FROM": "+15005550006",
    "CIVICLOOP_SMS_BASE_URL": "http://127.0.0.1:24082",
}
EMAIL = {
    "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
    "CIVICLOOP_EMAIL_PORT": "24025",
    "CIVICLOOP_EMAIL_MAIL_FROM": "CivicLoop <no-reply@county.example>",
}


def _vapid_key() -> str:
    vapid = Vapid()
    vapid.generate_keys()
    number = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    return base64.urlsafe_b64encode(number).rstrip(b"=").decode()


async def test_each_channel_gets_the_sender_of_its_provider():
    env = {
        **TWILIO,
        **EMAIL,
        "CIVICLOOP_WEB_PUSH_VAPID_SUBJECT": "mailto:no-reply@county.example",
        "CIVICLOOP_SECRET_WEB_PUSH_VAPID_PRIVATE_KEY": _vapid_key(),
    }
    built = senders_from_environment(
        {C.sms: "twilio", C.whatsapp: "twilio", C.email: "smtp", C.push: "webpush"}, env
    )
    assert isinstance(built.senders[C.sms], TwilioSender) and built.senders[C.sms].channel.value == "sms"
    assert built.senders[C.whatsapp].channel.value == "whatsapp"
    assert isinstance(built.senders[C.email], SmtpEmailSender)
    assert built.senders[C.email].settings.port == 24025
    assert isinstance(built.senders[C.push], WebPushSender)
    assert len(built.closers) == 4
    await built.aclose()  # nothing was opened yet: closing is quiet


def test_vonage_sends_sms_and_fake_keeps_what_it_is_given():
    env = {
        "CIVICLOOP_SMS_PROVIDER": "vonage",
        "CIVICLOOP_SMS_API_KEY": "abcd1234",
        "CIVICLOOP_SECRET_SMS_API_SECRET": "v0nage-s3cret",
        "CIVICLOOP_SMS_SMS_FROM": "+15005550006",
    }
    built = senders_from_environment({C.sms: "vonage", C.email: "fake"}, env)
    assert isinstance(built.senders[C.sms], VonageSmsSender)
    assert isinstance(built.senders[C.email], RecordingChannelSender)
    assert C.push not in built.senders


@pytest.mark.parametrize(
    ("providers", "env", "named"),
    [
        (
            {C.sms: "twilio"},
            {k: v for k, v in TWILIO.items() if "AUTH_TOKEN" not in k},
            "CIVICLOOP_SECRET_SMS_AUTH_TOKEN",
        ),
        ({C.sms: "twilio"}, {**TWILIO, "CIVICLOOP_SMS_PROVIDER": "vonage"}, "CIVICLOOP_SMS_ACCOUNT_SID"),
        ({C.sms: "vonage"}, TWILIO, "CIVICLOOP_SMS_PROVIDER=vonage"),
        (
            {C.whatsapp: "twilio"},
            {k: v for k, v in TWILIO.items() if "WHATSAPP" not in k},
            "CIVICLOOP_SMS_WHATSAPP_FROM",
        ),
        ({C.whatsapp: "vonage"}, {}, "does not send whatsapp"),
        ({C.email: "twilio"}, TWILIO, "does not send email"),
        ({C.email: "smtp"}, {k: v for k, v in EMAIL.items() if "HOST" not in k}, "CIVICLOOP_EMAIL_HOST"),
        ({C.email: "smtp"}, {**EMAIL, "CIVICLOOP_EMAIL_PORT": "twenty-five"}, "CIVICLOOP_EMAIL_PORT"),
        ({C.email: "smtp"}, {**EMAIL, "CIVICLOOP_EMAIL_TLS": "maybe"}, "CIVICLOOP_EMAIL_TLS"),
        (
            {C.push: "webpush"},
            {"CIVICLOOP_WEB_PUSH_VAPID_SUBJECT": "mailto:a@b.example"},
            "CIVICLOOP_SECRET_WEB_PUSH_VAPID_PRIVATE_KEY",
        ),
        (
            {C.push: "webpush"},
            {
                "CIVICLOOP_WEB_PUSH_VAPID_SUBJECT": "mailto:a@b.example",
                "CIVICLOOP_SECRET_WEB_PUSH_VAPID_PRIVATE_KEY": "n0t-a-k3y",
            },
            "CIVICLOOP_SECRET_WEB_PUSH_VAPID_PRIVATE_KEY",
        ),
    ],
)
def test_a_misconfigured_provider_stops_the_start_naming_variables_only(providers, env, named):
    with pytest.raises(ProviderSetupError) as raised:
        senders_from_environment(providers, env)
    said = str(raised.value)
    assert named in said
    for value in env.values():
        if not value.startswith(("twilio", "vonage")):
            assert value not in said


def test_the_settings_refuse_a_provider_nobody_wrote():
    with pytest.raises(ValueError, match="unknown providers"):
        NotifierSettings(env="test", notifier_providers={"sms": "carrier-pigeon"})
