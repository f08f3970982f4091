"""The mailbox `make run` gives a newcomer (`civicloop_testing.mailbox`): every message kept whole as an `.eml`
file, listed on a web page and by a command, nothing outside its folder served."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from civicloop_testing.mailbox import Mailbox, main, web_app


def _mail(subject: str, text: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "no-reply@demo.example",
        "vecina@example.org",
        subject,
    )
    message.set_content(text)
    message.add_attachment(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text", "calendar", filename="visit.ics")
    return message.as_bytes()


def test_keep_writes_each_message_whole_with_its_envelope_in_arrival_order(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path / "mail")

    first = mailbox.keep("bounce@demo.example", ["vecina@example.org"], _mail("Recibimos su reporte", "uno"))
    second = mailbox.keep("bounce@demo.example", ["a@example.org", "b@example.org"], _mail("Visita", "dos"))

    assert mailbox.files() == [first, second]
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == sorted([first.name, second.name])
    kept = mailbox.message(second.name)
    assert kept is not None
    assert kept["Return-Path"] == "<bounce@demo.example>"
    assert kept.get_all("Delivered-To") == ["a@example.org", "b@example.org"]
    assert [s.subject for s in mailbox.summaries()] == ["Visita", "Recibimos su reporte"]
    assert all(s.received.endswith(" UTC") for s in mailbox.summaries())


async def test_the_web_page_lists_and_shows_messages_and_serves_nothing_else(tmp_path: Path) -> None:
    mailbox = Mailbox(tmp_path / "mail")
    kept = mailbox.keep(
        "bounce@demo.example", ["vecina@example.org"], _mail("Su cita <martes>", "Hasta pronto")
    )
    (tmp_path / "secret.txt").write_text("not for the page")
    transport = httpx.ASGITransport(app=web_app(mailbox))
    async with httpx.AsyncClient(transport=transport, base_url="http://mailbox") as client:
        index = await client.get("/")
        one = await client.get(f"/messages/{kept.name}")
        raw = await client.get(f"/messages/{kept.name}/raw")
        outside = await client.get("/messages/..%2Fsecret.txt")
        unknown = await client.get("/messages/20260101T000000000000Z-00000000.eml")
        ready = await client.get("/readyz")

    assert "Su cita &lt;martes&gt;" in index.text and f'href="/messages/{kept.name}"' in index.text
    assert "Hasta pronto" in one.text and "[attachment] visit.ics (text/calendar)" in one.text
    assert raw.content == kept.read_bytes()
    assert (outside.status_code, unknown.status_code) == (404, 404)
    assert ready.status_code == 200


def test_the_list_command_prints_newest_first_and_shows_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mailbox = Mailbox(tmp_path / "mail")
    older = mailbox.keep("b@demo.example", ["vecina@example.org"], _mail("Recibimos su reporte", "uno"))
    newer = mailbox.keep("b@demo.example", ["vecina@example.org"], _mail("Cerrado", "Arreglado, gracias"))

    main(["list", "--dir", str(tmp_path / "mail")])
    listed = capsys.readouterr().out.splitlines()
    main(["list", "--dir", str(tmp_path / "mail"), "--show", newer.name])
    shown = capsys.readouterr().out

    assert [line.split()[0] for line in listed] == [newer.name, older.name]
    assert "Subject: Cerrado" in shown and "Arreglado, gracias" in shown
    with pytest.raises(SystemExit):
        main(["list", "--dir", str(tmp_path / "mail"), "--show", "../secret.txt"])
