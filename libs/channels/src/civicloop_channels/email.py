"""Email over SMTP (`aiosmtplib`) to the county's mail relay: one `OutgoingMessage` becomes one MIME message.

The message is built here (pure: `build_email`) and handed to the relay (`SmtpEmailSender`). Its `Message-ID`
comes from the notifier's idempotency key, so a resend after a crash carries the same id and the resident's mail
client (and the relay's duplicate check) can tell. What the relay answered becomes the result:

- the message's own fault, for good (a 5xx to the recipient or to the content, too big for the relay, an address
  or a header that cannot be written): `refused`, so the notifier tries the resident's next channel;
- anything else (4xx, no connection, a timeout, another 5xx to our sender address, our login or our greeting: the
  relay or our configuration, which a fix mends for every waiting message at once): `failed`, tried again later.

An error says the SMTP code and the relay's words with every address in them blanked: never the recipient.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy as email_policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, localtime
from typing import Literal, cast

import aiosmtplib
from civicloop_events import request_numbers

from civicloop_channels.message import Attachment, Channel, Outcome, OutgoingMessage, SendResult

PROVIDER = "smtp"

# What a sender sets itself: a message's own headers never replace them.
_RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "message-id", "date", "mime-version", "auto-submitted"}
)
_ID_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_ANY_ADDRESS = re.compile(r"[^\s<>\"'()\[\],;:]+@[^\s<>\"'()\[\],;:]+")
_QUEUE_ID = re.compile(r"(?:queued as|\bid=)\s*([A-Za-z0-9._-]+)")
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")  # RFC 5322 ftext: printable ASCII but ":"
_LEAF_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")  # RFC 6838 type/subtype
_CID_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a file name that is also a Content-ID's id
_MAX_ERROR = 300
_TOO_BIG = 552  # RFC 1870: the message exceeds the relay's size limit


class UnsendableEmail(ValueError):
    """The message cannot be written as an email (a bad address, a bad header); the text names no value."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where the relay is and how to speak to it. `repr` leaves the password out."""

    host: str
    port: int
    mail_from: str  # the county's sending address, e.g. "CivicLoop <no-reply@county.example>"
    tls: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 30.0
    # The right of every Message-ID; the sending address's domain if unset.
    message_id_domain: str | None = None
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)  # e.g. a county's own CA
    sessions: int = 4  # SMTP sessions open at once (messages in flight)
    messages_per_session: int = 100  # then QUIT and a new session: relays cap a session's messages
    idle_check_s: float = 10.0  # a session idle longer is asked NOOP before it carries a message

    def __post_init__(self) -> None:
        if self.sessions < 1 or self.messages_per_session < 1:
            raise ValueError("an SMTP sender needs at least one session carrying at least one message")
        if self.timeout_s <= 0 or self.idle_check_s < 0:
            raise ValueError("SMTP timeouts are positive")


def message_id_of(key: str, domain: str) -> str:
    """A `Message-ID` for an idempotency key: the same key, the same id; two keys, two ids.

    RFC 5322's id-left is a dot-atom: every character outside letters, digits, `-` and `_` is written as `=XX`
    (its UTF-8 bytes), so the mapping is reversible and never collides.
    """
    left = "".join(c if c in _ID_SAFE else "".join(f"={b:02X}" for b in c.encode()) for c in key)
    return f"<{left}@{domain}>"


def _writable(text: str) -> str:
    """The text as UTF-8 can carry it: a lone surrogate (from a note that came through JSON) becomes "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _recipient(to: str) -> Address:
    try:
        address = Address(addr_spec=to.strip())
    except (ValueError, IndexError, TypeError, HeaderParseError) as exc:  # its text quotes the address
        raise UnsendableEmail("the recipient is not an email address") from exc
    if not address.username or "." not in address.domain:
        raise UnsendableEmail("the recipient is not an email address")
    return address


def _domain_of(mail_from: str) -> str:
    sender = mail_from.rsplit("<", 1)[-1].rstrip(">").strip()
    return sender.rsplit("@", 1)[-1]


def _content_type(attachment: Attachment, position: int) -> tuple[str, str, dict[str, str]]:
    """ "text/calendar; method=REQUEST" → ("text", "calendar", {"method": "REQUEST"}); a file, not a container."""
    declared = attachment.content_type.split(";", 1)[0].strip().lower()
    if not _LEAF_TYPE.fullmatch(declared) or declared.split("/")[0] in {"multipart", "message"}:
        raise UnsendableEmail(f"attachment {position} has no content type a file can have")
    holder = EmailMessage()
    holder["Content-Type"] = attachment.content_type
    params = {k: v for k, v in holder.get_params(failobj=[])[1:] if isinstance(v, str)}
    return holder.get_content_maintype(), holder.get_content_subtype(), params


def _attach(email: EmailMessage, attachment: Attachment, position: int) -> None:
    maintype, subtype, params = _content_type(attachment, position)
    email.add_attachment(
        attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename, params=params
    )


def _shown_in(
    html: str | None, attachments: tuple[Attachment, ...]
) -> tuple[list[tuple[int, Attachment]], list[tuple[int, Attachment]]]:
    """Which attachments the HTML shows (`<img src="cid:fixed-1.jpg">`: a photo of the fix) and which it does not."""
    shown: list[tuple[int, Attachment]] = []
    attached: list[tuple[int, Attachment]] = []
    for position, attachment in enumerate(attachments, start=1):
        referenced = html is not None and f"cid:{attachment.filename}" in html
        in_body = referenced and _CID_NAME.fullmatch(attachment.filename) is not None
        (shown if in_body else attached).append((position, attachment))
    return shown, attached


def _show(html_part: EmailMessage, attachment: Attachment, position: int) -> None:
    """A file the HTML shows, beside it in a multipart/related, under the Content-ID its `cid:` names."""
    maintype, subtype, params = _content_type(attachment, position)
    html_part.add_related(
        attachment.content,
        maintype=maintype,
        subtype=subtype,
        cid=f"<{attachment.filename}>",
        disposition="inline",
        filename=attachment.filename,
        params=params,
    )


def one_click_unsubscribe(url: str, *, mailto: str | None = None) -> dict[str, str]:
    """The RFC 8058 headers for an `OutgoingMessage`: a mail client's "Unsubscribe" posts to `url` with no page.

    `url` must be HTTPS and opaque (a token naming the contact and channel, never the address itself); a `mailto`
    is offered as well for clients that only write mail.
    """
    if not url.startswith("https://") or any(c in url for c in "<>, \r\n"):
        raise ValueError(
            "a one-click unsubscribe URL is an https URL without spaces, commas or angle brackets"
        )
    value = f"<{url}>" if mailto is None else f"<{url}>, <mailto:{mailto}>"
    return {"List-Unsubscribe": value, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _check_unsubscribe(headers: Mapping[str, str]) -> None:
    """RFC 8058: a one-click `List-Unsubscribe-Post` needs a `List-Unsubscribe` with an HTTPS URI to post to."""
    lowered = {k.lower(): v for k, v in headers.items()}
    post = lowered.get("list-unsubscribe-post")
    if post is None:
        return
    if post.strip() != "List-Unsubscribe=One-Click":
        raise UnsendableEmail("List-Unsubscribe-Post must be 'List-Unsubscribe=One-Click' (RFC 8058)")
    if "<https://" not in lowered.get("list-unsubscribe", ""):
        raise UnsendableEmail("List-Unsubscribe-Post needs a List-Unsubscribe with an https URI (RFC 8058)")


# RFC 5322's own line limit rather than the default policy's 78: a header with a token longer than 78 characters (an
# unsubscribe URL) would otherwise be written as RFC 2047 encoded-words, in which mail clients find no link.
WIRE_POLICY = email_policy.default.clone(max_line_length=998)


def build_email(
    message: OutgoingMessage, *, mail_from: str, message_id_domain: str | None = None
) -> EmailMessage:
    """The MIME message: the text, the HTML as its alternative, then each attachment (photos, a visit's `.ics`).

    An attachment the HTML names as `cid:<its file name>` (a photo of the fix) is shown in the HTML instead: it goes
    beside the HTML in a `multipart/related`, with that Content-ID.

    Raises `UnsendableEmail` (naming no value) when the recipient or a header cannot be written.
    """
    if message.channel is not Channel.email:
        raise UnsendableEmail(f"an email sender cannot send on {message.channel.value}")
    recipient = _recipient(message.to)
    _check_unsubscribe(message.headers)
    email = EmailMessage(policy=WIRE_POLICY)
    email["From"] = mail_from
    email["To"] = recipient
    # A template's subject may carry a line break; a header cannot.
    email["Subject"] = " ".join(_writable(message.subject or "").split())
    email["Message-ID"] = message_id_of(message.message_id, message_id_domain or _domain_of(mail_from))
    email["Date"] = format_datetime(localtime())
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies stay away
    for name, value in message.headers.items():
        if not _FIELD_NAME.fullmatch(name):
            raise UnsendableEmail("a header name is printable ASCII without spaces or colons (RFC 5322)")
        if name.lower() in _RESERVED_HEADERS or name.lower().startswith("content-"):
            raise UnsendableEmail(f"the header {name} is the sender's to set")
        try:
            email[name] = value
        except ValueError as exc:  # a line break in a value: header injection
            raise UnsendableEmail(f"the header {name} cannot be written") from exc
    email.set_content(_writable(message.text))
    html = _writable(message.html) if message.html is not None else None
    if html is not None:
        email.add_alternative(html, subtype="html")
    shown, attached = _shown_in(html, message.attachments)
    if shown:
        html_part = cast(EmailMessage, email.get_body(preferencelist=("html",)))  # added just above
        for position, attachment in shown:
            _show(html_part, attachment, position)
    for position, attachment in attached:
        _attach(email, attachment, position)
    email["Content-Language"] = message.language  # after the content: setting the content clears Content-*
    return email


@dataclass(frozen=True)
class ReplyAddress:
    """What a reply address says: the request, and a tag that only the notifier's key makes."""

    request_number: str
    tag: str


_REPLY_LOCAL = re.compile(r"r-([0-9a-z]{8})-([a-z2-7]{16})")


def _reply_tag(request_number: str, resident_id: str, key: bytes) -> str:
    digest = hmac.new(key, f"reply|{request_number}|{resident_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()  # 80 bits: never guessed, 16 characters


def reply_address(request_number: str, resident_id: str, *, key: bytes, domain: str) -> str:
    """The `Reply-To` of a message about one request to one resident: `r-<number>-<tag>@<domain>`.

    A resident's reply to it lands on that request as their comment. Request numbers are public, so the tag (an
    HMAC of the request and the resident under the notifier's key) is what makes the address theirs; it holds no
    contact and reveals no resident id. Lower case, as some mail systems fold the local part.
    """
    number = request_numbers.parse(request_number)
    return f"r-{number.replace('-', '').lower()}-{_reply_tag(number, resident_id, key)}@{domain.lower()}"


def read_reply_address(address: str, *, domain: str) -> ReplyAddress | None:
    """The request a reply was sent to, when `address` is one of ours (any case); `None` for any other address."""
    local, _, at = address.strip().strip("<>").lower().rpartition("@")
    found = _REPLY_LOCAL.fullmatch(local)
    if at != domain.lower() or found is None:
        return None
    try:
        number = request_numbers.parse(found.group(1))
    except request_numbers.InvalidRequestNumber:
        return None
    return ReplyAddress(number, found.group(2))


def reply_is_from(reply: ReplyAddress, resident_id: str, *, key: bytes) -> bool:
    """Whether the tag is the one `reply_address` made for this request and this resident (the request's own)."""
    return hmac.compare_digest(reply.tag, _reply_tag(reply.request_number, resident_id, key))


def _blank_addresses(text: str, recipient: str) -> str:
    if recipient:
        text = re.sub(re.escape(recipient), "<address>", text, flags=re.IGNORECASE)
    text = _ANY_ADDRESS.sub("<address>", text)
    return " ".join(text.split())[:_MAX_ERROR]


def _said(code: int, words: str, recipient: str) -> str:
    return f"SMTP {code}: {_blank_addresses(words, recipient)}"


def _provider_id(reply: str, message_id: str) -> str:
    """The relay's queue id when its reply names one (Postfix "queued as", Exim "id="), else the Message-ID."""
    found = _QUEUE_ID.search(reply)
    return found.group(1) if found else message_id


@dataclass
class _Session:
    smtp: aiosmtplib.SMTP
    sent: int = 0
    last_used: float = 0.0


class SmtpEmailSender:
    """A `ChannelSender` for email: up to `sessions` SMTP sessions to the relay, each kept open for the next message.

    A session is reused for up to `messages_per_session` messages (relays cap them); one idle longer than
    `idle_check_s` is asked `NOOP` first, so a session the relay closed meanwhile is replaced before a message is
    written to it, not after. Call `close()` on shutdown to say `QUIT` to the idle ones.
    """

    channel = Channel.email

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.sessions)
        self._idle: list[_Session] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        s = self.settings
        try:
            email = build_email(message, mail_from=s.mail_from, message_id_domain=s.message_id_domain)
        except UnsendableEmail as exc:
            return SendResult(Outcome.refused, PROVIDER, error=str(exc))
        recipient = message.to.strip()
        async with self._slots:
            session: _Session | None = None
            try:
                session = await self._session()
                _rejected, reply = await session.smtp.send_message(email, timeout=s.timeout_s)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                # One recipient: its refusal is the whole answer. The session was reset: it stays.
                code = max(r.code for r in exc.recipients)
                words = "; ".join(r.message for r in exc.recipients)
                outcome = Outcome.refused if code >= 500 else Outcome.failed
                await self._keep(session)
                return SendResult(outcome, PROVIDER, error=_said(code, words, recipient))
            except (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError) as exc:
                outcome = Outcome.refused if exc.code >= 500 else Outcome.failed
                await self._keep(session)
                return SendResult(outcome, PROVIDER, error=_said(exc.code, exc.message, recipient))
            except aiosmtplib.SMTPSenderRefused as exc:
                # 552 to MAIL FROM: the relay read the announced SIZE, this message is too big for it, for good.
                # Any other refusal of our sender address is the relay's or our configuration's.
                await self._keep(session)  # the envelope was reset: the session carries the next message
                outcome = Outcome.refused if exc.code == _TOO_BIG else Outcome.failed
                return SendResult(outcome, PROVIDER, error=_said(exc.code, exc.message, recipient))
            except aiosmtplib.SMTPResponseException as exc:  # our login, our greeting
                await self._drop(session)
                return SendResult(Outcome.failed, PROVIDER, error=_said(exc.code, exc.message, recipient))
            except aiosmtplib.SMTPNotSupported:  # an address in UTF-8 to a relay without SMTPUTF8: never
                await self._keep(session)
                return SendResult(
                    Outcome.refused, PROVIDER, error="SMTP: the relay cannot carry this address"
                )
            except (aiosmtplib.SMTPException, OSError) as exc:  # no connection, a timeout, a dropped session
                await self._drop(session)
                return SendResult(Outcome.failed, PROVIDER, error=f"SMTP: {type(exc).__name__}")
            except (
                BaseException
            ):  # cancelled mid-session (a shutdown): the session's state is unknown, close it
                if session is not None:
                    session.smtp.close()
                raise
            await self._keep(session)
            return SendResult(
                Outcome.accepted, PROVIDER, provider_id=_provider_id(reply, str(email["Message-ID"]))
            )

    async def close(self) -> None:
        """Says QUIT to every idle session."""
        idle, self._idle = self._idle, []
        for session in idle:
            await self._drop(session, polite=True)

    async def _session(self) -> _Session:
        s = self.settings
        while self._idle:
            session = self._idle.pop()
            if time.monotonic() - session.last_used < s.idle_check_s:
                return session
            try:
                await session.smtp.noop(timeout=s.timeout_s)
                return session
            except (aiosmtplib.SMTPException, OSError):
                await self._drop(session)
        smtp = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.tls == "tls",
            start_tls=s.tls == "starttls",
            username=s.username,
            password=s.password,
            timeout=s.timeout_s,
            tls_context=s.tls_context,
        )
        try:
            await smtp.connect()
        except BaseException:  # a greeting or a login refused leaves a socket open: close it, then say why
            smtp.close()
            raise
        return _Session(smtp)

    async def _keep(self, session: _Session | None) -> None:
        if session is None:
            return
        session.sent += 1
        session.last_used = time.monotonic()
        if session.sent >= self.settings.messages_per_session or not session.smtp.is_connected:
            await self._drop(session, polite=True)
            return
        self._idle.append(session)

    async def _drop(self, session: _Session | None, *, polite: bool = False) -> None:
        if session is None:
            return
        if polite and session.smtp.is_connected:
            try:
                await session.smtp.quit(timeout=self.settings.timeout_s)
                return
            except (aiosmtplib.SMTPException, OSError):
                pass  # closing it below is all that is left
        session.smtp.close()
