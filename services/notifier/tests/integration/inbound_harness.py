"""The notifier's app served over HTTP on 127.0.0.1 behind a public address, as Twilio reaches it: the local Twilio
server signs each webhook over the public URL and delivers it to the local one (a reverse proxy's job)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from civicloop_notifier.entrypoints.http import create_app
from civicloop_notifier.entrypoints.webhooks import INBOUND_PATH, STATUS_PATH
from civicloop_notifier.settings import NotifierSettings
from civicloop_testing.smtp import SmtpInbox
from civicloop_testing.staff_tokens import verifier_for_tests
from civicloop_testing.threaded_server import serve_in_thread
from civicloop_testing.twilio_server import TwilioServer

OUR_NUMBER = "+15005550006"
PUBLIC_URL = "https://notifier.civicloop.example"
STATUS_URL = PUBLIC_URL + STATUS_PATH
INBOUND_URL = PUBLIC_URL + INBOUND_PATH


def provider_environment(monkeypatch: pytest.MonkeyPatch, twilio: TwilioServer, inbox: SmtpInbox) -> None:
    """The variables the notifier reads its providers (and Twilio's auth token) from, as `make run` sets them."""
    for name, value in {
        "CIVICLOOP_SMS_PROVIDER": "twilio",
        "CIVICLOOP_SMS_ACCOUNT_SID": twilio.account_sid,
        "CIVICLOOP_SECRET_SMS_AUTH_TOKEN": twilio.auth_token,
        "CIVICLOOP_SMS_SMS_FROM": OUR_NUMBER,
        "CIVICLOOP_SMS_WHATSAPP_FROM": OUR_NUMBER,
        "CIVICLOOP_SMS_BASE_URL": twilio.url,
        "CIVICLOOP_SMS_STATUS_CALLBACK_URL": STATUS_URL,
        "CIVICLOOP_EMAIL_HOST": "127.0.0.1",
        "CIVICLOOP_EMAIL_PORT": str(inbox.port),
        "CIVICLOOP_EMAIL_MAIL_FROM": "CivicLoop <no-reply@county.example>",
    }.items():
        monkeypatch.setenv(name, value)


@contextmanager
def notifier_served(settings: NotifierSettings, twilio: TwilioServer, **adapters: Any) -> Iterator[str]:
    """The notifier's whole app (consumer, sender, webhooks) in a thread; yields its local URL."""
    app = create_app(settings, staff_verifier=verifier_for_tests(), **adapters)
    with serve_in_thread(app, lifespan="on") as url:
        twilio.proxies[PUBLIC_URL] = url
        yield url
