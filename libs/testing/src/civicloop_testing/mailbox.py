"""A mailbox a developer can read: an SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts as an
`.eml` file in a folder, with a small web page listing them and a command printing the list.

`make run` points the services' mail at it, so a resident's code, a staff reset link or a notification lands in
`.run/mail/` instead of anyone's inbox. It relays nothing.

  python -m civicloop_testing.mailbox serve --smtp-port 24025 --http-port 24083 --dir .run/mail
  python -m civicloop_testing.mailbox list --dir .run/mail [--show <file>]
"""

from __future__ import annotations

import argparse
import html
import os
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

# The only file names the mailbox writes and serves: nothing else in (or above) the folder can be asked for.
_FILE_NAME = re.compile(r"^\d{8}T\d{6}\d{6}Z-[0-9a-f]{8}\.eml$")
_STAMP = "%Y%m%dT%H%M%S%fZ"  # the file name's start: arrival order is name order


@dataclass(frozen=True)
class Summary:
    file: str
    received: str  # when the mailbox took it, UTC (a message's own Date may be missing or anything)
    mail_from: str
    to: str
    subject: str


class Mailbox:
    """The folder of `.eml` files; names sort in the order the messages arrived."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def keep(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        """Write the message as an MTA delivers it (envelope sender and recipients as headers on top), whole or not
        at all: a reader never sees half a file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime(_STAMP)
        path = self.directory / f"{stamp}-{secrets.token_hex(4)}.eml"
        envelope = [f"Return-Path: <{mail_from}>"] + [f"Delivered-To: {rcpt}" for rcpt in rcpt_tos]
        partial = path.with_suffix(".partial")
        partial.write_bytes(("\r\n".join(envelope) + "\r\n").encode() + content)
        os.replace(partial, path)
        return path

    def files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if _FILE_NAME.match(p.name))

    def message(self, file: str) -> EmailMessage | None:
        if not _FILE_NAME.match(file) or not (self.directory / file).is_file():
            return None
        return message_from_bytes((self.directory / file).read_bytes(), policy=policy.default)

    def summaries(self) -> list[Summary]:
        """Newest first."""
        listed = []
        for path in reversed(self.files()):
            message = self.message(path.name)
            if message is None:
                continue
            listed.append(
                Summary(
                    path.name,
                    datetime.strptime(path.name[:22], _STAMP).strftime("%Y-%m-%d %H:%M:%S UTC"),
                    str(message.get("From", "")),
                    str(message.get("To", "")),
                    str(message.get("Subject", "")),
                )
            )
        return listed


def readable(message: EmailMessage) -> str:
    """The text a person reads: the plain part (or the HTML one), then the attachments' names and types."""
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    attachments = [
        f"[attachment] {part.get_filename() or '(no name)'} ({part.get_content_type()})"
        for part in message.iter_attachments()
    ]
    return "\n".join([text.rstrip(), *attachments]) if attachments else text


class _Keep:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.mailbox.keep(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
        return "250 OK: kept in the local mailbox"


def web_app(mailbox: Mailbox, smtp: Controller | None = None) -> Starlette:
    """The list (`/`), one message (`/messages/<file>`, its raw form at `/messages/<file>/raw`), and `/readyz`."""

    async def index(request: Request) -> Response:
        rows = "".join(
            f'<tr><td><a href="/messages/{s.file}">{html.escape(s.subject) or "(no subject)"}</a></td>'
            f"<td>{html.escape(s.to)}</td><td>{html.escape(s.mail_from)}</td><td>{s.received}</td></tr>"
            for s in mailbox.summaries()
        )
        page = (
            "<!doctype html><meta charset=utf-8><title>CivicLoop local mailbox</title>"
            f"<h1>Local mailbox</h1><p>Every message sent to this machine's SMTP server, newest first; files in "
            f"<code>{html.escape(str(mailbox.directory))}</code>.</p>"
            f"<table border=1 cellpadding=4><tr><th>subject</th><th>to</th><th>from</th><th>received</th></tr>{rows}"
            "</table>"
        )
        return HTMLResponse(page)

    async def one(request: Request) -> Response:
        file = request.path_params["file"]
        message = mailbox.message(file)
        if message is None:
            return PlainTextResponse("no such message", 404)
        headers = "".join(
            f"<tr><th>{name}</th><td>{html.escape(str(message.get(name, '')))}</td></tr>"
            for name in ("From", "To", "Subject", "Date")
        )
        page = (
            f"<!doctype html><meta charset=utf-8><title>{html.escape(str(message.get('Subject', '')))}</title>"
            f'<p><a href="/">all messages</a> · <a href="/messages/{file}/raw">raw</a></p>'
            f"<table>{headers}</table><pre>{html.escape(readable(message))}</pre>"
        )
        return HTMLResponse(page)

    async def raw(request: Request) -> Response:
        file = request.path_params["file"]
        if mailbox.message(file) is None:
            return PlainTextResponse("no such message", 404)
        return Response((mailbox.directory / file).read_bytes(), media_type="message/rfc822")

    async def ready(request: Request) -> Response:
        return PlainTextResponse("ready")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The web page answers only once the SMTP side listens: /readyz means both.
        if smtp is not None:
            smtp.start()
        try:
            yield
        finally:
            if smtp is not None:
                smtp.stop()

    return Starlette(
        routes=[
            Route("/", index),
            Route("/readyz", ready),
            Route("/messages/{file}", one),
            Route("/messages/{file}/raw", raw),
        ],
        lifespan=lifespan,
    )


def smtp_server(mailbox: Mailbox, port: int) -> Controller:
    return Controller(_Keep(mailbox), hostname="127.0.0.1", port=port)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="the SMTP server and the web page")
    serve.add_argument("--smtp-port", type=int, required=True)
    serve.add_argument("--http-port", type=int, required=True)
    serve.add_argument("--dir", type=Path, required=True)
    listing = commands.add_parser("list", help="the messages kept, newest first (or one of them with --show)")
    listing.add_argument("--dir", type=Path, required=True)
    listing.add_argument("--show", metavar="FILE", help="print this message's text")
    args = parser.parse_args(argv)
    mailbox = Mailbox(args.dir)
    if args.command == "serve":
        app = web_app(mailbox, smtp_server(mailbox, args.smtp_port))
        print(
            f"mailbox: SMTP on 127.0.0.1:{args.smtp_port}, messages on http://127.0.0.1:{args.http_port}/ "
            f"and in {args.dir}",
            flush=True,
        )
        uvicorn.run(app, host="127.0.0.1", port=args.http_port, log_level="warning", access_log=False)
    elif args.show:
        message = mailbox.message(args.show)
        if message is None:
            raise SystemExit(f"no message {args.show} in {args.dir}")
        for name in ("From", "To", "Subject", "Date"):
            print(f"{name}: {message.get(name, '')}")
        print()
        print(readable(message))
    else:
        summaries = mailbox.summaries()
        if not summaries:
            print(f"no message in {args.dir}")
        for s in summaries:
            print(f"{s.file}  {s.received}  {s.to}  {s.subject}")


if __name__ == "__main__":
    main()
