"""What a resident's one-word text means (opt-out, opt-in, help) and what we answer, as US carriers require.

CTIA's messaging principles and the carriers' codes of conduct ask every program to honour STOP and its synonyms at
once, to confirm an opt-out with one last message, to answer HELP with who we are and how to stop, and to take START
back. A keyword counts only as the whole message (trimmed, any case, surrounding punctuation ignored): "stop." opts out,
"please don't stop the repairs" does not. Pure: no IO, no state; the notifier keeps the opt-out per contact and
channel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class KeywordAction(str, enum.Enum):
    opt_out = "opt_out"
    opt_in = "opt_in"
    help = "help"


# The carriers' and Twilio's standard keywords, then Spanish words a Spanish-speaking resident is likely to send. "SÍ"
# is left out on purpose: it answers the reporting conversation's and the survey's questions, and must not resubscribe.
_KEYWORDS: dict[str, KeywordAction] = {
    **dict.fromkeys(
        ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE", "PARAR", "ALTO"],
        KeywordAction.opt_out,
    ),
    **dict.fromkeys(["START", "YES", "UNSTOP", "INICIAR"], KeywordAction.opt_in),
    **dict.fromkeys(["HELP", "INFO", "AYUDA"], KeywordAction.help),
}


def keyword_action(text: str) -> KeywordAction | None:
    """The action a whole inbound message asks for, or None when it is anything else (a reply, a report)."""
    word = text.strip(" \t\r\n.,!¡?¿").upper()
    return _KEYWORDS.get(word)


@dataclass(frozen=True)
class Program:
    """Who the texts come from, as the HELP answer and confirmations must say (no personal data here)."""

    name: str  # e.g. "CivicLoop 311"
    help_contact: str  # a phone number or web address residents can reach for help, e.g. "311 or civicloop.example/help"


_REPLIES: dict[str, dict[KeywordAction, str]] = {
    "en": {
        KeywordAction.opt_out: (
            "{name}: You are unsubscribed and will receive no more text messages. Reply START to resubscribe."
        ),
        KeywordAction.opt_in: (
            "{name}: You are resubscribed to updates on your service requests. Msg & data rates may apply. "
            "Reply HELP for help, STOP to unsubscribe."
        ),
        KeywordAction.help: (
            "{name}: updates on the service requests you reported. Msg frequency varies. Msg & data rates may "
            "apply. Help: {help_contact}. Reply STOP to unsubscribe."
        ),
    },
    # Worded without "á", "í", "ó", "ú" (outside the GSM alphabet) so that each stays 7-bit: two segments at most.
    "es": {
        KeywordAction.opt_out: (
            "{name}: Se ha dado de baja y ya no le enviaremos mensajes de texto. Responda START para volver a "
            "suscribirse."
        ),
        KeywordAction.opt_in: (
            "{name}: Se ha suscrito de nuevo a las novedades de sus solicitudes. Pueden aplicarse tarifas de "
            "mensajes y datos. Responda HELP para obtener ayuda, STOP para darse de baja."
        ),
        KeywordAction.help: (
            "{name}: novedades de sus solicitudes de servicio. Frecuencia variable. Pueden aplicarse tarifas de "
            "mensajes y datos. Ayuda: {help_contact}. Responda STOP para darse de baja."
        ),
    },
}


def reply_language(language: str) -> str:
    """The reply texts' language for a BCP 47 tag ("es-US" -> "es"); English when we have no texts in it."""
    primary = language.split("-", 1)[0].split("_", 1)[0].lower()
    return primary if primary in _REPLIES else "en"


def keyword_reply(action: KeywordAction, language: str, program: Program) -> str:
    """The one message we answer a keyword with, in the resident's language."""
    template = _REPLIES[reply_language(language)][action]
    return template.format(name=program.name, help_contact=program.help_contact)
