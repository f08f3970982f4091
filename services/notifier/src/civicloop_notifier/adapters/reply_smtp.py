"""The notifier's SMTP listener for residents' replies to its emails (aiosmtpd on the notifier's own event loop).

RCPT: only a reply address of ours whose tag was made for one of the residents hearing of its request is taken;
anything else is refused there (550), before any content is read. DATA: at most `max_bytes` (552 beyond, aiosmtpd's
SIZE), parsed, the quoted history stripped, and handed to `land` as the resident's message, its id the mail's
Message-ID (a relay that delivers twice lands it once). Nothing of the mail is kept or logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from email import message_from_bytes, policy
from functools import partial
from typing import Any
from uuid import UUID

from aiosmtpd.smtp import SMTP, Envelope, Session

from civicloop_notifier.service_layer.replies import read_reply, reply_text, tagged_resident

log = logging.getLogger("civicloop.notifier.replies")

ResidentsOf = Callable[[str], Awaitable[Sequence[UUID]]]
Land = Callable[[UUID, str, str, str], Awaitable[None]]  # resident, request number, message id, text


class ReplyHandler:
    def __init__(self, *, residents_of: ResidentsOf, land: Land, pepper: bytes, domain: str) -> None:
        self._residents_of = residents_of
        self._land = land
        self._pepper = pepper
        self._domain = domain

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if await self._addressee(address) is None:
            return "550 5.1.1 No such recipient"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def _addressee(self, address: str) -> tuple[UUID, str] | None:
        """The resident and the request a reply address of ours was made for."""
        reply = read_reply(address, domain=self._domain)
        if reply is None:
            return None
        resident = tagged_resident(reply, await self._residents_of(reply.request_number), pepper=self._pepper)
        return (resident, reply.request_number) if resident is not None else None

    async def handle_DATA(  # noqa: N802 (aiosmtpd's name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content or b""
        content = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
        message = message_from_bytes(content, policy=policy.default)
        message_id = str(message.get("Message-ID") or "") or hashlib.sha256(content).hexdigest()
        try:
            text = reply_text(message)
        except (LookupError, ValueError):  # a part in a charset Python does not know: unreadable
            return "554 5.6.0 Unreadable message"
        if text:
            for address in envelope.rcpt_tos:
                addressee = await self._addressee(address)
                if addressee is None:  # accepted at RCPT: only if its request was forgotten since
                    continue
                resident, number = addressee
                try:
                    await self._land(resident, number, message_id, text)
                except Exception as exc:  # the broker or the database away: the relay keeps it and retries
                    log.warning("a reply could not land", extra={"error": type(exc).__name__})
                    return "451 4.3.0 Try again later"
        return "250 OK"


async def start_reply_listener(
    handler: ReplyHandler, *, host: str, port: int, max_bytes: int, hostname: str
) -> asyncio.Server:
    """Listen on `host:port` on the running loop; close the returned server to stop."""
    loop = asyncio.get_running_loop()
    factory: Callable[[], Any] = partial(
        SMTP, handler, data_size_limit=max_bytes, hostname=hostname, ident="CivicLoop replies"
    )
    return await loop.create_server(factory, host=host, port=port)
