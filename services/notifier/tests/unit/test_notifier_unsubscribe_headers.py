"""An email's unsubscribe headers: one-click (RFC 8058) only behind an HTTPS link, which the email sender requires;
a notifier reached over plain HTTP (development) still offers its link, and its mail still goes."""

from types import SimpleNamespace

import pytest
from civicloop_channels.email import build_email
from civicloop_channels.message import Channel, OutgoingMessage
from civicloop_events.payloads import NotificationChannel
from civicloop_notifier.service_layer.sending import _unsubscribe_headers


def _headers(public_url: str) -> dict[str, str]:
    deps = SimpleNamespace(policy=SimpleNamespace(public_url=public_url), pepper=b"p" * 32)
    return _unsubscribe_headers(deps, NotificationChannel.email, b"d" * 32)  # type: ignore[arg-type]


@pytest.mark.parametrize("public_url", ["https://notifier.county.example", "http://127.0.0.1:8006"])
def test_the_headers_make_an_email_the_sender_can_write(public_url):
    headers = _headers(public_url)
    assert headers["List-Unsubscribe"].startswith(f"<{public_url}/")
    assert ("List-Unsubscribe-Post" in headers) is public_url.startswith("https://")
    message = OutgoingMessage("m-1", Channel.email, "ana@example.org", "Hello", headers=headers)
    written = build_email(message, mail_from="CivicLoop <no-reply@county.example>")
    assert written["List-Unsubscribe"] == headers["List-Unsubscribe"]
