"""Reading a resident's email reply (no IO): the per-request Reply-To, whose tag names the resident, and the reply's
own words without the quoted history."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from types import SimpleNamespace

from civicloop_notifier.service_layer.replies import read_reply, reply_text, reply_to_header, tagged_resident

PEPPER = b"notifier-tests-pepper-0123456789"
DOMAIN = "reply.civicloop.example"
RESIDENT, OTHER = uuid.uuid4(), uuid.uuid4()


def test_the_reply_to_names_the_request_and_only_its_resident():
    header = reply_to_header(PEPPER, SimpleNamespace(notifier_reply_domain=DOMAIN), "1AAA-0001", RESIDENT)
    address = header["Reply-To"]
    assert address.endswith("@" + DOMAIN) and str(RESIDENT) not in address
    reply = read_reply(address.upper(), domain=DOMAIN)  # a mail system may change the case
    assert reply is not None and reply.request_number == "1AAA-0001"
    assert tagged_resident(reply, [OTHER, RESIDENT], pepper=PEPPER) == RESIDENT
    assert tagged_resident(reply, [OTHER], pepper=PEPPER) is None
    assert tagged_resident(reply, [RESIDENT], pepper=b"another-deployment-pepper-012345") is None
    assert read_reply(address, domain="elsewhere.example") is None


def test_no_reply_domain_no_reply_to():
    assert reply_to_header(PEPPER, SimpleNamespace(notifier_reply_domain=None), "1AAA-0001", RESIDENT) == {}


def _mail(plain: str | None, html: str | None = None) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Re: your request"
    if plain is not None:
        message.set_content(plain)
    if html is not None:
        if plain is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    return message


def test_the_quoted_history_is_stripped():
    text = "Sigue roto.\n\nOn Mon, Dec 7, 2026 at 9:00 AM CivicLoop <no-reply@county.example> wrote:\n> Recibimos su reporte.\n"
    assert reply_text(_mail(text, "<p>ignored: the plain part is read</p>")) == "Sigue roto."


def test_an_html_only_reply_is_read_as_text_without_its_quote():
    html = (
        "<div>Still <b>broken</b> &amp; deeper</div><div>Since Monday</div>"
        "<blockquote type=cite>Your request 1AAA-0001 was closed.</blockquote>"
    )
    assert reply_text(_mail(None, html)) == "Still broken & deeper\nSince Monday"


def test_a_long_reply_is_cut_to_a_comment():
    assert len(reply_text(_mail("x" * 10_000))) == 4000
