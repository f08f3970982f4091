"""Email replies: every email about a request carries a `Reply-To` of its own (`civicloop_channels.email.
reply_address`: the request's number and a tag that only the notifier's key makes for that request and resident), so
a resident's reply reaches the notifier's SMTP listener and lands on that request as their comment.

The listener refuses at RCPT any address that is not one of ours (an unknown request, a tag that is not the one made
for one of its residents); what it takes is stripped of the quoted history (`email-reply-parser`) and handed over as
the resident's message.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any, Protocol
from uuid import UUID

from civicloop_channels.email import ReplyAddress, read_reply_address, reply_address, reply_is_from
from email_reply_parser import EmailReplyParser  # type: ignore[import-untyped]

from civicloop_notifier.service_layer.inbound_texts import MAX_COMMENT


class ReplyPolicy(Protocol):
    notifier_reply_domain: str | None


def reply_key(pepper: bytes) -> bytes:
    """The key of reply tags, derived from the deployment's pepper (never the pepper itself in another use)."""
    return hmac.new(pepper, b"notifier:reply-address", hashlib.sha256).digest()


def reply_to_header(pepper: bytes, policy: Any, request_number: str, resident_id: UUID) -> dict[str, str]:
    """`Reply-To` for an email about `request_number` to this resident; none when no reply domain is configured."""
    domain = getattr(policy, "notifier_reply_domain", None)
    if not domain:
        return {}
    return {"Reply-To": reply_address(request_number, str(resident_id), key=reply_key(pepper), domain=domain)}


def read_reply(address: str, *, domain: str) -> ReplyAddress | None:
    """The request a reply address names, when it is shaped as ours (its tag is not checked yet)."""
    return read_reply_address(address, domain=domain)


def tagged_resident(reply: ReplyAddress, residents: Sequence[UUID], *, pepper: bytes) -> UUID | None:
    """Which of `residents` (those hearing of the request the address names) it was made for, if any."""
    key = reply_key(pepper)
    return next((r for r in residents if reply_is_from(reply, str(r), key=key)), None)


def reply_text(message: EmailMessage) -> str:
    """The resident's own words: the plain part (else the HTML's text), the quoted history and signature removed."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        html_part = message.get_body(preferencelist=("html",))
        if html_part is None:
            return ""
        text = _strip_tags(str(html_part.get_content()))
    else:
        text = str(part.get_content())
    return EmailReplyParser.parse_reply(text).strip()[:MAX_COMMENT]


_QUOTED = re.compile(r"<blockquote\b.*?</blockquote\s*>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<(br|/p|/div|/li|/tr)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t\xa0]+")


def _strip_tags(html_text: str) -> str:
    """An HTML reply's text: the quoted history (mail clients put it in a blockquote) left out, lines kept."""
    text = _TAG.sub(" ", _BREAK.sub("\n", _QUOTED.sub("", html_text)))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in html.unescape(text).splitlines())
