"""What a resident reads when a one-time code reaches them, in their language (English, or Spanish).

Pure: the language is chosen from what the resident's page asked for (a BCP 47 tag in the body) or, failing that,
from the browser's `Accept-Language`; English when neither names a language we write. An SMS stays within one
segment (70 characters once an accented letter makes it UCS-2), so it is sent and billed once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

DEFAULT_LANGUAGE = "en"
_RANGE = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


@dataclass(frozen=True)
class CodeTexts:
    sms: str  # `{code}` and `{minutes}` filled in
    subject: str
    email: str


TEXTS: dict[str, CodeTexts] = {
    "en": CodeTexts(
        sms="CivicLoop: your code is {code}. It expires in {minutes} min. Never share it.",
        subject="Your CivicLoop sign-in code",
        email=(
            "Your CivicLoop sign-in code is:\n\n    {code}\n\n"
            "Type it on the page where you asked for it, within {minutes} minutes. It works once.\n\n"
            "CivicLoop staff will never ask you for this code. If you did not ask for it, ignore this message: "
            "nobody can see your requests without it.\n"
        ),
    ),
    "es": CodeTexts(
        sms="CivicLoop: su código es {code}. Vence en {minutes} min. No lo comparta.",
        subject="Su código para entrar en CivicLoop",
        email=(
            "Su código para entrar en CivicLoop es:\n\n    {code}\n\n"
            "Escríbalo en la página donde lo pidió, dentro de {minutes} minutos. Sirve una sola vez.\n\n"
            "El personal de CivicLoop nunca le pedirá este código. Si usted no lo pidió, ignore este mensaje: "
            "nadie puede ver sus solicitudes sin él.\n"
        ),
    ),
}


def _primary(tag: str) -> str | None:
    """The language we write for a BCP 47 tag (`es-MX` -> `es`), or None."""
    primary = tag.strip().split("-", 1)[0].lower()
    return primary if primary in TEXTS else None


def code_language(requested: str | None, accept_language: str | None) -> str:
    """`requested` when we write it, else the browser's most wanted language we write, else English."""
    if requested and (chosen := _primary(requested)):
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")[:20]):
        found = _RANGE.fullmatch(part)
        if found is None:
            continue
        try:
            quality = float(found.group(2)) if found.group(2) is not None else 1.0
        except ValueError:
            continue
        language = _primary(found.group(1))
        if language is not None and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class CodeLetter:
    """A code's email as the resident reads it."""

    subject: str
    text: str


def minutes_left(expires_at: datetime, now: datetime) -> int:
    """Whole minutes the code still lives, rounded up (a code of 600 s read a moment later still says 10)."""
    return max(1, math.ceil((expires_at - now).total_seconds() / 60))


def sms_text(code: str, language: str, minutes: int) -> str:
    return TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE]).sms.format(code=code, minutes=minutes)


def email_letter(code: str, language: str, minutes: int) -> CodeLetter:
    texts = TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])
    return CodeLetter(texts.subject, texts.email.format(code=code, minutes=minutes))
