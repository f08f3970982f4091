"""A resident's contact details: phone numbers to E.164, e-mail addresses checked, channels that can reach them."""

from __future__ import annotations

import phonenumbers
from civicloop_events.payloads import Channel
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType


class InvalidContact(ValueError):
    """Contact details that cannot be used; the message never repeats them."""


# Numbers that cannot receive a text message or a WhatsApp chat.
_NO_MESSAGING = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
        PhoneNumberType.VOICEMAIL,
        PhoneNumberType.PAGER,
    }
)


def normalise_phone(raw: str, *, default_region: str) -> str:
    """E.164 (`+15555550123`); a number without a country code is read in `default_region`."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidContact("not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidContact(
            f"not a valid phone number (numbers without a country code are read as {default_region})"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def can_receive_messages(e164: str) -> bool:
    return phonenumbers.number_type(phonenumbers.parse(e164)) not in _NO_MESSAGING


def normalise_email(raw: str) -> str:
    """Syntax only (no DNS lookup while the resident waits); the domain is lower-cased, the local part kept."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise InvalidContact(f"not a valid e-mail address: {exc}") from exc


def unreachable_reason(channel: Channel, *, phone: str | None, email: str | None) -> str | None:
    """Why `channel` cannot reach a resident with these (normalised) details, or None when it can.

    Push needs a phone or an e-mail too: the device subscription is registered later and can lapse, so the notifier
    must have a channel to fall back on.
    """
    if channel in (Channel.sms, Channel.whatsapp):
        if not phone:
            return f"{channel.value} needs contact.phone"
        if not can_receive_messages(phone):
            return f"{channel.value} needs a mobile number; contact.phone cannot receive messages"
    elif channel is Channel.email and not email:
        return "email needs contact.email"
    elif channel is Channel.push and not (phone or email):
        return "push needs contact.phone or contact.email to fall back on"
    return None
