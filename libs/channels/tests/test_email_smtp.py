"""The SMTP sender against a real SMTP server (aiosmtpd on 127.0.0.1): what it delivers and what each answer means."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from civicloop_channels.calendar import Organizer, Visit, VisitTexts, ics_attachment, visit_request
from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_channels.message import Attachment, Channel, Outcome, OutgoingMessage
from civicloop_testing.processes import free_port
from civicloop_testing.smtp import SmtpInbox, smtp_inbox
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from icalendar import Calendar

FROM = "Springfield County <no-reply@county.example>"
RESIDENT = "ana.lopez@example.org"


def _message(message_id: str = "evt-01J:res-7:email", **changes: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {
        "channel": Channel.email,
        "to": RESIDENT,
        "text": "We received your request 7KQ4-MZT2.",
        "subject": "Request 7KQ4-MZT2 received",
        "html": "<p>We received your request <b>7KQ4-MZT2</b>.</p>",
        "headers": {
            "List-Unsubscribe": "<https://civicloop.county.example/unsubscribe/t0k3n>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    }
    fields.update(changes)
    return OutgoingMessage(message_id, **fields)


def _sender(port: int, **changes: Any) -> SmtpEmailSender:
    return SmtpEmailSender(SmtpSettings(host="127.0.0.1", port=port, mail_from=FROM, **changes))


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with smtp_inbox() as started:
        yield started


class _Answers:
    """An SMTP server that answers RCPT, DATA or MAIL with a set reply (a relay that refuses or defers)."""

    def __init__(self, *, mail: str | None = None, rcpt: str | None = None, data: str = "250 OK") -> None:
        self.mail, self.rcpt, self.data = mail, rcpt, data
        self.delivered = 0
        # One (host, port) per delivered message, and per session that said QUIT: a new port, a new session.
        self.peers: list[tuple[str, int]] = []
        self.quits: list[tuple[str, int]] = []

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail:
            return self.mail
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt:
            return self.rcpt.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits.append(session.peer)
        return "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data.startswith("250"):
            self.delivered += 1
            self.peers.append(session.peer)
        return self.data


@contextmanager
def _answering(handler: _Answers, port: int | None = None, **controller: Any) -> Iterator[int]:
    port = port or free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port, **controller)
    server.start()
    try:
        yield port
    finally:
        server.stop()


@asynccontextmanager
async def _silent_server() -> AsyncIterator[int]:
    """Takes the connection and never greets: a relay that hangs."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_message_reaches_the_relay_with_its_parts_and_headers(inbox: SmtpInbox):
    ics = b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
    message = _message(attachments=(Attachment("visit-7KQ4-MZT2.ics", "text/calendar; method=REQUEST", ics),))

    result = await _sender(inbox.port).send(message)

    assert result.outcome is Outcome.accepted and result.provider == "smtp"
    (received,) = inbox.to(RESIDENT)
    assert received.mail_from == "no-reply@county.example"
    email = received.message
    assert email["Message-ID"] == "<evt-01J=3Ares-7=3Aemail@county.example>"
    assert result.provider_id == email["Message-ID"]  # aiosmtpd names no queue id: the Message-ID stands in
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, html = email.get_body(preferencelist=("plain",)), email.get_body(preferencelist=("html",))
    assert plain is not None and "7KQ4-MZT2" in plain.get_content()
    assert html is not None and "<b>7KQ4-MZT2</b>" in html.get_content()
    (attached,) = email.iter_attachments()
    assert attached.get_payload(decode=True) == ics


async def test_a_resend_of_the_same_message_carries_the_same_message_id(inbox: SmtpInbox):
    sender = _sender(inbox.port)
    await sender.send(_message())
    await sender.send(_message())
    first, again = inbox.messages
    assert first["Message-ID"] == again["Message-ID"]


async def test_the_relay_s_queue_id_is_the_provider_id():
    with _answering(_Answers(data="250 2.0.0 Ok: queued as 4F1XyZ7")) as port:
        result = await _sender(port).send(_message())
    assert result.outcome is Outcome.accepted
    assert result.provider_id == "4F1XyZ7"


async def test_a_permanently_refused_recipient_is_refused_and_the_error_names_no_address():
    relay = _Answers(rcpt="550 5.1.1 {address}: Recipient address rejected: User unknown")
    with _answering(relay) as port:
        result = await _sender(port).send(_message())
    assert result.outcome is Outcome.refused
    assert result.error is not None and "550" in result.error and "User unknown" in result.error
    assert "ana.lopez" not in result.error and "example.org" not in result.error
    assert relay.delivered == 0


async def test_a_deferred_recipient_is_a_failure_to_try_again():
    relay = _Answers(rcpt="450 4.2.0 {address}: Recipient address rejected: Greylisted")
    with _answering(relay) as port:
        result = await _sender(port).send(_message())
    assert result.outcome is Outcome.failed
    assert result.error is not None and "450" in result.error and "ana.lopez" not in result.error


async def test_content_refused_for_good_is_refused():
    with _answering(_Answers(data="554 5.7.1 Message rejected as spam")) as port:
        result = await _sender(port).send(_message())
    assert result.outcome is Outcome.refused
    assert result.error == "SMTP 554: 5.7.1 Message rejected as spam"


async def test_content_deferred_is_a_failure_to_try_again():
    with _answering(_Answers(data="451 4.3.0 Local error in processing")) as port:
        result = await _sender(port).send(_message())
    assert result.outcome is Outcome.failed
    assert result.error == "SMTP 451: 4.3.0 Local error in processing"


async def test_our_sender_address_refused_is_a_failure_not_the_resident_s_address():
    # The relay or our configuration, not this resident: every waiting message goes once it is mended.
    with _answering(_Answers(mail="553 5.7.1 Sender address rejected: not owned by user")) as port:
        result = await _sender(port).send(_message())
    assert result.outcome is Outcome.failed
    assert result.error is not None and "553" in result.error


async def test_a_message_too_big_for_the_relay_is_refused():
    with _answering(_Answers(mail="552 5.3.4 Message size exceeds fixed limit")) as port:
        result = await _sender(port).send(_message())
    assert result.outcome is Outcome.refused
    assert result.error == "SMTP 552: 5.3.4 Message size exceeds fixed limit"


async def test_no_relay_listening_is_a_failure():
    result = await _sender(free_port()).send(_message())
    assert result.outcome is Outcome.failed
    assert result.error is not None and result.error.startswith("SMTP: ")


async def test_a_relay_that_hangs_is_a_failure_after_the_timeout():
    async with _silent_server() as port:
        result = await asyncio.wait_for(_sender(port, timeout_s=0.5).send(_message()), timeout=10)
    assert result.outcome is Outcome.failed
    assert result.error is not None and "Timeout" in result.error


async def test_an_address_that_does_not_parse_is_refused_without_a_session(inbox: SmtpInbox):
    result = await _sender(inbox.port).send(_message(to="ana.lopez at example.org"))
    assert result.outcome is Outcome.refused
    assert result.error is not None and "ana.lopez" not in result.error
    assert inbox.received == []


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_starttls_to_a_relay_that_requires_it(tmp_path: Path):
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    relay = _Answers()
    with _answering(relay, tls_context=server_tls, require_starttls=True) as port:
        plain = await _sender(port).send(_message())
        secured = await _sender(
            port, tls="starttls", tls_context=ssl.create_default_context(cafile=str(cert))
        ).send(_message())
    assert plain.outcome is Outcome.failed  # the relay wants STARTTLS first: nothing goes in clear
    assert secured.outcome is Outcome.accepted
    assert relay.delivered == 1


async def test_a_visit_s_calendar_file_arrives_by_email_and_a_reschedule_moves_the_same_entry(
    inbox: SmtpInbox,
):
    visit = Visit(
        visit_id="01JEVISIT7",
        request_number="7KQ4-MZT2",
        starts_at=dt.datetime(2026, 12, 8, 17, 30, tzinfo=dt.UTC),
        duration=dt.timedelta(minutes=90),
        address="1200 Main St, Springfield",
        tracking_url="https://civicloop.county.example/track/7KQ4-MZT2",
        sequence=0,
        recorded_at=dt.datetime(2026, 12, 5, 17, 2, tzinfo=dt.UTC),
    )
    texts = VisitTexts(
        "Visita por la solicitud 7KQ4-MZT2", "Un equipo irá a revisar el bache.", "Mañana: visita"
    )
    county = Organizer("no-reply@county.example", "Springfield County")
    moved = replace(visit, starts_at=visit.starts_at + dt.timedelta(days=1), sequence=1)
    sender = _sender(inbox.port)
    for key, which in (("scheduled", visit), ("rescheduled", moved)):
        ics = visit_request(which, texts, organizer=county, uid_domain="county.example")
        attachment = ics_attachment(ics, request_number="7KQ4-MZT2")
        result = await sender.send(
            _message(f"evt-{key}:res-7:email", language="es", attachments=(attachment,))
        )
        assert result.outcome is Outcome.accepted

    entries = []
    for email in inbox.messages:
        (attached,) = email.iter_attachments()
        assert attached.get_content_type() == "text/calendar" and attached.get_param("method") == "REQUEST"
        (event,) = Calendar.from_ical(attached.get_payload(decode=True)).walk("VEVENT")
        (alarm,) = event.walk("VALARM")
        assert alarm.decoded("TRIGGER") == -dt.timedelta(hours=24)
        assert str(event["SUMMARY"]) == "Visita por la solicitud 7KQ4-MZT2"
        entries.append(event)
    first, second = entries
    assert first["UID"] == second["UID"]
    assert second["SEQUENCE"] > first["SEQUENCE"]
    assert second.decoded("DTSTART") == dt.datetime(2026, 12, 9, 17, 30, tzinfo=dt.UTC)


async def test_messages_share_a_session_up_to_the_cap():
    relay = _Answers()
    with _answering(relay) as port:
        sender = _sender(port, messages_per_session=2)
        for n in range(5):
            assert (await sender.send(_message(f"m-{n}"))).outcome is Outcome.accepted
        await sender.close()
    assert relay.delivered == 5
    first, second, third = sorted(set(relay.peers), key=relay.peers.index)
    assert relay.peers == [first, first, second, second, third]
    assert relay.quits == [first, second, third]  # two at the cap, the last on close


async def test_messages_in_flight_at_once_use_no_more_sessions_than_configured():
    relay = _Answers()
    with _answering(relay) as port:
        sender = _sender(port, sessions=2)
        results = await asyncio.gather(*(sender.send(_message(f"m-{n}")) for n in range(8)))
        await sender.close()
    assert {r.outcome for r in results} == {Outcome.accepted}
    assert relay.delivered == 8
    assert len(set(relay.peers)) == 2


async def test_a_session_the_relay_closed_while_idle_is_replaced_before_a_message_is_written_to_it():
    first_relay, second_relay = _Answers(), _Answers()
    port = free_port()
    sender = _sender(port, idle_check_s=0)
    with _answering(first_relay, port=port):
        assert (await sender.send(_message("m-1"))).outcome is Outcome.accepted
    # The relay restarted: the kept session is dead, which only a NOOP finds out.
    with _answering(second_relay, port=port):
        result = await sender.send(_message("m-2"))
        await sender.close()
    assert result.outcome is Outcome.accepted
    assert (first_relay.delivered, second_relay.delivered) == (1, 1)


@asynccontextmanager
async def _relay_stuck_in_data(in_data: asyncio.Event, closed: asyncio.Event) -> AsyncIterator[int]:
    """Takes a message's data and never answers it; notes when the client closes the session."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 relay.test ESMTP\r\n")
        while line := await reader.readline():
            verb = line[:4].upper()
            if verb == b"EHLO":
                writer.write(b"250 relay.test\r\n")
            elif verb == b"DATA":
                writer.write(b"354 go ahead\r\n")
                while (await reader.readline()) not in (b".\r\n", b""):
                    pass  # the message, to its end: the client now waits for a reply that never comes
                in_data.set()
                await reader.read()  # until the client closes the session
                break
            else:
                writer.write(b"250 OK\r\n")
        closed.set()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_send_cancelled_mid_session_closes_that_session():
    in_data, closed = asyncio.Event(), asyncio.Event()
    async with _relay_stuck_in_data(in_data, closed) as port:
        sending = asyncio.create_task(_sender(port).send(_message()))
        await asyncio.wait_for(in_data.wait(), timeout=10)
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        await asyncio.wait_for(closed.wait(), timeout=10)


@pytest.mark.parametrize(
    "changes", [{"sessions": 0}, {"messages_per_session": 0}, {"timeout_s": 0}, {"idle_check_s": -1}]
)
def test_settings_that_could_never_send_are_refused(changes: dict[str, Any]):
    with pytest.raises(ValueError, match="SMTP"):
        SmtpSettings(host="127.0.0.1", port=25, mail_from=FROM, **changes)


def test_the_settings_repr_hides_the_password():
    assert "s3cret" not in repr(SmtpSettings(host="relay", port=587, mail_from=FROM, password="s3cret"))
