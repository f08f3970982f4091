"""The MIME message an `OutgoingMessage` becomes (pure: no relay)."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from civicloop_channels.email import UnsendableEmail, build_email, message_id_of, one_click_unsubscribe
from civicloop_channels.message import Attachment, Channel, OutgoingMessage
from hypothesis import given, settings
from hypothesis import strategies as st

FROM = "Springfield County <no-reply@county.example>"
ONE_CLICK = {
    "List-Unsubscribe": "<https://civicloop.county.example/unsubscribe/t0k3n>, <mailto:unsubscribe@county.example>",
    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
}


def _message(**changes: object) -> OutgoingMessage:
    fields: dict[str, object] = {
        "message_id": "evt-01J:res-7:email",
        "channel": Channel.email,
        "to": "ana.lopez@example.org",
        "text": "Recibimos su solicitud 7KQ4-MZT2.",
        "language": "es",
        "subject": "Solicitud 7KQ4-MZT2 recibida",
        "html": "<p>Recibimos su solicitud <b>7KQ4-MZT2</b>.</p>",
        "headers": ONE_CLICK,
    }
    fields.update(changes)
    return OutgoingMessage(**fields)  # type: ignore[arg-type]


def _as_received(email: EmailMessage) -> EmailMessage:
    """What a mail client parses from the bytes on the wire."""
    parsed = message_from_bytes(email.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_text_and_the_html_are_alternatives_of_one_message():
    email = _as_received(build_email(_message(), mail_from=FROM))
    assert email.get_content_type() == "multipart/alternative"
    plain = email.get_body(preferencelist=("plain",))
    html = email.get_body(preferencelist=("html",))
    assert plain is not None and plain.get_content().strip() == "Recibimos su solicitud 7KQ4-MZT2."
    assert html is not None and "<b>7KQ4-MZT2</b>" in html.get_content()
    assert email["To"] == "ana.lopez@example.org"
    assert email["From"] == FROM
    assert email["Subject"] == "Solicitud 7KQ4-MZT2 recibida"
    assert email["Content-Language"] == "es"
    assert email["Auto-Submitted"] == "auto-generated"


def test_a_text_only_message_is_one_plain_part():
    email = _as_received(build_email(_message(html=None), mail_from=FROM))
    assert email.get_content_type() == "text/plain"
    assert "7KQ4-MZT2" in email.get_content()


def test_the_message_id_comes_from_the_idempotency_key_so_a_resend_carries_the_same():
    first = build_email(_message(), mail_from=FROM)
    again = build_email(_message(), mail_from=FROM)
    other = build_email(_message(message_id="evt-01J:res-8:email"), mail_from=FROM)
    assert first["Message-ID"] == again["Message-ID"] == "<evt-01J=3Ares-7=3Aemail@county.example>"
    assert other["Message-ID"] != first["Message-ID"]


def test_the_message_id_domain_can_be_set():
    email = build_email(_message(), mail_from=FROM, message_id_domain="notify.county.example")
    assert str(email["Message-ID"]).endswith("@notify.county.example>")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("plain-key_1", "<plain-key_1@d.example>"),
        ("a.b", "<a=2Eb@d.example>"),
        ("a=2Eb", "<a=3D2Eb@d.example>"),  # an escape in the key is escaped itself: no collision with "a.b"
        ("ñ", "<=C3=B1@d.example>"),
    ],
)
def test_a_message_id_is_a_dot_atom_that_never_collides(key: str, expected: str):
    assert message_id_of(key, "d.example") == expected


def test_one_click_unsubscribe_headers_are_passed_on():
    email = _as_received(build_email(_message(), mail_from=FROM))
    assert email["List-Unsubscribe"] == ONE_CLICK["List-Unsubscribe"]
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_one_click_post_without_an_https_unsubscribe_uri_is_not_sent():
    headers = {
        "List-Unsubscribe": "<mailto:unsubscribe@county.example>",
        "List-Unsubscribe-Post": ONE_CLICK["List-Unsubscribe-Post"],
    }
    with pytest.raises(UnsendableEmail, match="https"):
        build_email(_message(headers=headers), mail_from=FROM)


def test_a_one_click_post_must_say_one_click():
    headers = {**ONE_CLICK, "List-Unsubscribe-Post": "unsubscribe=yes"}
    with pytest.raises(UnsendableEmail, match="One-Click"):
        build_email(_message(headers=headers), mail_from=FROM)


def test_a_reply_address_may_be_set_by_the_message():
    email = build_email(_message(headers={"Reply-To": "r-7kq4mzt2@reply.county.example"}), mail_from=FROM)
    assert email["Reply-To"] == "r-7kq4mzt2@reply.county.example"


@pytest.mark.parametrize("name", ["From", "to", "Message-ID", "Subject", "Content-Type", "Bcc"])
def test_a_message_header_never_replaces_what_the_sender_sets(name: str):
    with pytest.raises(UnsendableEmail, match=name):
        build_email(_message(headers={name: "x@evil.example"}), mail_from=FROM)


def test_a_line_break_in_a_header_value_is_refused_without_quoting_it():
    with pytest.raises(UnsendableEmail) as raised:
        build_email(_message(headers={"Reply-To": "a@b.example\r\nBcc: all@evil.example"}), mail_from=FROM)
    assert "evil" not in str(raised.value)


def test_a_line_break_in_the_subject_becomes_a_space():
    email = build_email(_message(subject="Solicitud\r\nBcc: all@evil.example"), mail_from=FROM)
    assert email["Subject"] == "Solicitud Bcc: all@evil.example"
    assert email["Bcc"] is None


@pytest.mark.parametrize(
    "to", ["not-an-address", "ana@", "@example.org", "ana@localhost", "a@b.example, c@d.example"]
)
def test_a_recipient_that_is_not_one_address_is_unsendable_and_not_quoted(to: str):
    with pytest.raises(UnsendableEmail) as raised:
        build_email(_message(to=to), mail_from=FROM)
    assert to not in str(raised.value)


def test_only_email_messages_are_built():
    with pytest.raises(UnsendableEmail, match="sms"):
        build_email(_message(channel=Channel.sms), mail_from=FROM)


def test_photos_and_a_calendar_file_are_attached_after_the_alternatives():
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    photo = b"\xff\xd8\xff\xe0 not really a jpeg"
    message = _message(
        attachments=(
            Attachment("fixed.jpg", "image/jpeg", photo),
            Attachment("visit-7KQ4-MZT2.ics", "text/calendar; method=REQUEST; charset=UTF-8", ics),
        )
    )
    email = _as_received(build_email(message, mail_from=FROM))
    assert email.get_content_type() == "multipart/mixed"
    body = email.get_body(preferencelist=("html", "plain"))
    assert body is not None and "7KQ4-MZT2" in body.get_content()
    attached = list(email.iter_attachments())
    assert [a.get_filename() for a in attached] == ["fixed.jpg", "visit-7KQ4-MZT2.ics"]
    assert attached[0].get_content_type() == "image/jpeg"
    assert attached[0].get_content() == photo
    assert attached[1].get_content_type() == "text/calendar"
    assert attached[1].get_param("method") == "REQUEST"
    assert attached[1].get_payload(decode=True) == ics


def test_one_click_unsubscribe_makes_both_headers():
    headers = one_click_unsubscribe(
        "https://civicloop.county.example/u/t0k3n", mailto="unsubscribe@county.example"
    )
    assert headers == {
        "List-Unsubscribe": "<https://civicloop.county.example/u/t0k3n>, <mailto:unsubscribe@county.example>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    email = _as_received(build_email(_message(headers=headers), mail_from=FROM))
    assert email["List-Unsubscribe"] == headers["List-Unsubscribe"]


def test_one_click_unsubscribe_without_a_mailto():
    headers = one_click_unsubscribe("https://civicloop.county.example/u/t0k3n")
    assert headers["List-Unsubscribe"] == "<https://civicloop.county.example/u/t0k3n>"


@pytest.mark.parametrize(
    "url",
    [
        "http://civicloop.county.example/u/t0k3n",
        "https://x.example/u/a>,<https://evil.example",
        "https://x.example/u/a b",
    ],
)
def test_one_click_unsubscribe_wants_one_plain_https_url(url: str):
    with pytest.raises(ValueError, match="https"):
        one_click_unsubscribe(url)


_ANY_TEXT = st.text(st.characters(exclude_categories=()))  # surrogates and control characters included


def _lines(text: str) -> str:
    """What survives any mail system: the lines (SMTP writes CRLF), without the trailing line break."""
    return text.encode("utf-8", "replace").decode().replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


@settings(max_examples=300, deadline=None)
@given(text=_ANY_TEXT, subject=_ANY_TEXT, html=st.one_of(st.none(), _ANY_TEXT))
def test_any_text_is_written_and_read_back_whole(text: str, subject: str, html: str | None):
    email = _as_received(build_email(_message(text=text, subject=subject, html=html), mail_from=FROM))
    plain = email.get_body(preferencelist=("plain",))
    assert plain is not None
    assert _lines(plain.get_content()) == _lines(text)
    if html is not None:
        rich = email.get_body(preferencelist=("html",))
        assert rich is not None and _lines(rich.get_content()) == _lines(html)


def test_a_lone_surrogate_is_written_as_a_question_mark():
    email = _as_received(build_email(_message(text="bache \ud800 grande", html=None), mail_from=FROM))
    assert email.get_content().strip() == "bache ? grande"


@pytest.mark.parametrize("name", ["X Bad", "X:Bad", "Ñame", ""])
def test_a_header_name_outside_rfc_5322_is_refused(name: str):
    with pytest.raises(UnsendableEmail, match="RFC 5322"):
        build_email(_message(headers={name: "v"}), mail_from=FROM)


@pytest.mark.parametrize("content_type", ["garbage", "image/", "multipart/mixed", "message/rfc822; x=y"])
def test_an_attachment_must_have_a_file_s_content_type(content_type: str):
    message = _message(
        attachments=(Attachment("a.bin", "image/png", b"1"), Attachment("b.bin", content_type, b"2"))
    )
    with pytest.raises(UnsendableEmail, match="attachment 2"):
        build_email(message, mail_from=FROM)


def test_a_photo_the_html_names_by_cid_is_shown_in_it_and_the_rest_stay_attached():
    photo, other, ics = b"\xff\xd8 the fix", b"\xff\xd8 before", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    message = _message(
        html='<p>Fixed:</p><img src="cid:fixed-1.jpg" alt="the repaired road">',
        attachments=(
            Attachment("fixed-1.jpg", "image/jpeg", photo),
            Attachment("before-1.jpg", "image/jpeg", other),
            Attachment("visit.ics", "text/calendar; method=REQUEST", ics),
        ),
    )
    email = _as_received(build_email(message, mail_from=FROM))
    html = email.get_body(preferencelist=("html",))
    assert html is not None and 'src="cid:fixed-1.jpg"' in html.get_content()
    (related,) = [p for p in email.walk() if p.get_content_type() == "multipart/related"]
    shown = [p for p in related.iter_parts() if p.get_content_type() == "image/jpeg"]
    assert len(shown) == 1
    assert shown[0]["Content-ID"] == "<fixed-1.jpg>"
    assert shown[0].get_content_disposition() == "inline"
    assert shown[0].get_content() == photo
    assert [a.get_filename() for a in email.iter_attachments()] == ["before-1.jpg", "visit.ics"]
    plain = email.get_body(preferencelist=("plain",))
    assert plain is not None and plain.get_content().strip() == "Recibimos su solicitud 7KQ4-MZT2."


def test_a_file_name_that_cannot_be_a_content_id_stays_an_attachment():
    message = _message(
        html='<img src="cid:my photo.jpg">', attachments=(Attachment("my photo.jpg", "image/jpeg", b"1"),)
    )
    email = _as_received(build_email(message, mail_from=FROM))
    assert [a.get_filename() for a in email.iter_attachments()] == ["my photo.jpg"]
    assert not [p for p in email.walk() if p.get_content_type() == "multipart/related"]


def test_a_long_unsubscribe_url_is_written_as_is_on_the_wire():
    # A real unsubscribe URL carries a token and is longer than a 78-character line: folded by the default policy it
    # became RFC 2047 encoded-words, which parse back to the same value, but in which mail clients find no link.
    url = "https://civicloop.county.example/api/v1/notifier/unsubscribe/" + "t0k3n" * 20
    headers = one_click_unsubscribe(url, mailto="unsubscribe@county.example")
    wire = build_email(_message(headers=headers), mail_from=FROM).as_bytes()
    line = next(x for x in wire.split(b"\n") if x.startswith(b"List-Unsubscribe:"))
    assert line.rstrip(b"\r") == f"List-Unsubscribe: <{url}>, <mailto:unsubscribe@county.example>".encode()
    assert b"=?utf-8?" not in wire.split(b"\n\n", 1)[0]
