"""The one reading of a service's SMS provider from its environment (`civicloop_channels.environment`)."""

from __future__ import annotations

import pytest
from civicloop_channels.environment import SECRET_REFS, secret_variable, sms_settings_from_environment
from civicloop_channels.sms_provider import UnknownSmsSetup
from civicloop_channels.sms_vonage import VonageSettings
from civicloop_channels.twilio_sms import TWILIO_API_BASE_URL, TwilioSettings
from civicloop_runtime.secrets import resolve_secret, secret_env_name

TWILIO = {
    "CIVICLOOP_SMS_PROVIDER": "twilio",
    "CIVICLOOP_SMS_ACCOUNT_SID": "AC0123",
    "CIVICLOOP_SMS_SMS_FROM": "+15005550006",
    "CIVICLOOP_SECRET_SMS_AUTH_TOKEN": "token-not-to-show",
}
VONAGE = {
    "CIVICLOOP_SMS_PROVIDER": "vonage",
    "CIVICLOOP_SMS_API_KEY": "key-1",
    "CIVICLOOP_SMS_SMS_FROM": "+15005550006",
    "CIVICLOOP_SMS_BASE_URL": "http://127.0.0.1:9999",
    "CIVICLOOP_SECRET_SMS_API_SECRET": "secret-not-to-show",
}


@pytest.mark.parametrize("environ", [{}, {"CIVICLOOP_SMS_PROVIDER": ""}, {"CIVICLOOP_SMS_PROVIDER": "  "}])
def test_no_provider_is_no_sms(environ):
    assert sms_settings_from_environment({**environ, "CIVICLOOP_SMS_SMS_FROM": "+15005550006"}) is None


def test_twilio_from_its_variables_with_the_token_from_its_secret_ref():
    settings = sms_settings_from_environment({**TWILIO, "CIVICLOOP_SMS_TIMEOUT_S": "2.5", "PATH": "/bin"})
    assert settings == TwilioSettings(
        account_sid="AC0123", auth_token="token-not-to-show", sms_from="+15005550006", timeout_s=2.5
    )
    assert settings.base_url == TWILIO_API_BASE_URL


def test_twilio_s_api_key_secret_is_a_secret_ref_too():
    settings = sms_settings_from_environment(
        {**TWILIO, "CIVICLOOP_SMS_API_KEY_SID": "SK1", "CIVICLOOP_SECRET_SMS_API_KEY_SECRET": "k"}
    )
    assert isinstance(settings, TwilioSettings)
    assert (settings.api_key_sid, settings.api_key_secret) == ("SK1", "k")


def test_vonage_from_its_variables():
    assert sms_settings_from_environment(VONAGE) == VonageSettings(
        api_key="key-1",
        api_secret="secret-not-to-show",
        sms_from="+15005550006",
        base_url="http://127.0.0.1:9999",
    )


def test_an_empty_variable_counts_as_unset_and_keeps_the_default():
    settings = sms_settings_from_environment(
        {**TWILIO, "CIVICLOOP_SMS_BASE_URL": "", "CIVICLOOP_SMS_WHATSAPP_FROM": ""}
    )
    assert isinstance(settings, TwilioSettings)
    assert (settings.base_url, settings.whatsapp_from) == (TWILIO_API_BASE_URL, None)


def test_the_secret_variables_are_the_ones_civicloop_runtime_reads_for_each_ref():
    names = {ref: secret_variable(ref) for refs in SECRET_REFS.values() for ref in refs.values()}
    assert names == {ref: secret_env_name(ref) for ref in names}
    assert set(names.values()) == {
        "CIVICLOOP_SECRET_SMS_AUTH_TOKEN",
        "CIVICLOOP_SECRET_SMS_API_KEY_SECRET",
        "CIVICLOOP_SECRET_SMS_API_SECRET",
    }
    assert resolve_secret("sms.auth-token", TWILIO) == "token-not-to-show"


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        (
            {**TWILIO, "CIVICLOOP_SMS_PROVIDER": "carrier-pigeon"},
            "CIVICLOOP_SMS_PROVIDER names no SMS provider",
        ),
        ({**TWILIO, "CIVICLOOP_SMS_SMS_FORM": "+15005550006"}, "twilio takes no CIVICLOOP_SMS_SMS_FORM"),
        ({**VONAGE, "CIVICLOOP_SMS_ACCOUNT_SID": "AC0123"}, "vonage takes no CIVICLOOP_SMS_ACCOUNT_SID"),
        (
            {**TWILIO, "CIVICLOOP_SMS_AUTH_TOKEN": "token-not-to-show"},
            "CIVICLOOP_SMS_AUTH_TOKEN is a secret: set CIVICLOOP_SECRET_SMS_AUTH_TOKEN instead",
        ),
        (
            {k: v for k, v in TWILIO.items() if k != "CIVICLOOP_SECRET_SMS_AUTH_TOKEN"},
            "CIVICLOOP_SMS_PROVIDER=twilio needs CIVICLOOP_SECRET_SMS_AUTH_TOKEN",
        ),
        (
            {k: v for k, v in VONAGE.items() if k != "CIVICLOOP_SMS_API_KEY"},
            "CIVICLOOP_SMS_PROVIDER=vonage needs CIVICLOOP_SMS_API_KEY",
        ),
        ({**TWILIO, "CIVICLOOP_SMS_TIMEOUT_S": "soon"}, "CIVICLOOP_SMS_TIMEOUT_S is a number of seconds"),
    ],
)
def test_a_wrong_setup_stops_the_start_naming_variables_never_values(environ, says):
    with pytest.raises(UnknownSmsSetup) as refused:
        sms_settings_from_environment(environ)
    assert says in str(refused.value)
    assert "token-not-to-show" not in str(refused.value) and "soon" not in str(refused.value)
