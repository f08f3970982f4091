"""A service's SMS provider from its environment: one naming, read by this one function in every service.

- `CIVICLOOP_SMS_PROVIDER`: `twilio` or `vonage`; unset or empty, no SMS provider.
- `CIVICLOOP_SMS_<FIELD>`: each non-secret field of that provider's settings, upper-cased (`CIVICLOOP_SMS_ACCOUNT_SID`,
  `CIVICLOOP_SMS_SMS_FROM`, `CIVICLOOP_SMS_BASE_URL`, `CIVICLOOP_SMS_TIMEOUT_S`, ...). An empty one counts as unset.
- The secret fields as secret refs (`civicloop_runtime.secrets`: ref `sms.auth-token` is read from
  `CIVICLOOP_SECRET_SMS_AUTH_TOKEN`): Twilio's `auth_token` and `api_key_secret`, Vonage's `api_secret`.

A misspelt or misplaced variable (a field the provider does not take, a secret in a plain variable) stops the start
instead of leaving texts unsent; errors name variables, never their values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from civicloop_channels.sms_provider import SMS_PROVIDERS, SmsSettings, UnknownSmsSetup, sms_settings
from civicloop_channels.sms_vonage import VonageSettings
from civicloop_channels.twilio_sms import TwilioSettings

PROVIDER_VARIABLE = "CIVICLOOP_SMS_PROVIDER"
FIELD_PREFIX = "CIVICLOOP_SMS_"
SECRET_PREFIX = "CIVICLOOP_SECRET_"  # noqa: S105 - the prefix of environment names, not a secret

# Each provider's secret fields and the refs they are read under (the variable is CIVICLOOP_SECRET_<REF>, the ref
# upper-cased with every other character than a letter or digit as "_", as `civicloop_runtime.secrets` reads it).
SECRET_REFS: Mapping[str, Mapping[str, str]] = {
    "twilio": {"auth_token": "sms.auth-token", "api_key_secret": "sms.api-key-secret"},
    "vonage": {"api_secret": "sms.api-secret"},
}
_SETTINGS: Mapping[str, type[TwilioSettings] | type[VonageSettings]] = {
    "twilio": TwilioSettings,
    "vonage": VonageSettings,
}


def secret_variable(ref: str) -> str:
    """The variable a secret ref is read from (`sms.auth-token` -> `CIVICLOOP_SECRET_SMS_AUTH_TOKEN`)."""
    return SECRET_PREFIX + "".join(c if c.isascii() and c.isalnum() else "_" for c in ref).upper()


def field_variable(name: str) -> str:
    return FIELD_PREFIX + name.upper()


def sms_settings_from_environment(environ: Mapping[str, str]) -> SmsSettings | None:
    """The configured provider's settings, or None when `CIVICLOOP_SMS_PROVIDER` is unset or empty.

    Raises `UnknownSmsSetup` (naming variables only) for a provider we do not have, a `CIVICLOOP_SMS_*` variable the
    provider does not take, a secret field given in a plain variable, or a required field missing.
    """
    provider = environ.get(PROVIDER_VARIABLE, "").strip().lower()
    if not provider:
        return None
    kind = _SETTINGS.get(provider)
    if kind is None:
        raise UnknownSmsSetup(f"{PROVIDER_VARIABLE} names no SMS provider; one of {', '.join(SMS_PROVIDERS)}")
    secrets = SECRET_REFS[provider]
    plain = {f.name for f in dataclasses.fields(kind)} - set(secrets)
    given = {
        name: value
        for name, value in environ.items()
        if name.startswith(FIELD_PREFIX) and name != PROVIDER_VARIABLE
    }
    misplaced = sorted(field_variable(s) for s in secrets if field_variable(s) in given)
    if misplaced:
        refs = ", ".join(secret_variable(secrets[v.removeprefix(FIELD_PREFIX).lower()]) for v in misplaced)
        raise UnknownSmsSetup(f"{', '.join(misplaced)} is a secret: set {refs} instead")
    unknown = sorted(name for name in given if name.removeprefix(FIELD_PREFIX).lower() not in plain)
    if unknown:
        raise UnknownSmsSetup(f"{provider} takes no {', '.join(unknown)}")
    values = {
        name.removeprefix(FIELD_PREFIX).lower(): value.strip()
        for name, value in given.items()
        if value.strip()
    }
    for secret, ref in secrets.items():
        value = environ.get(secret_variable(ref), "")
        if value:
            values[secret] = value
    missing = sorted(
        secret_variable(secrets[f.name]) if f.name in secrets else field_variable(f.name)
        for f in dataclasses.fields(kind)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in values
    )
    if missing:
        raise UnknownSmsSetup(f"{PROVIDER_VARIABLE}={provider} needs {', '.join(missing)}")
    try:
        return sms_settings(provider, values)
    except UnknownSmsSetup:
        raise
    except ValueError:  # a number that is not one (`timeout_s`); float's message would quote the value
        raise UnknownSmsSetup(f"{field_variable('timeout_s')} is a number of seconds") from None
