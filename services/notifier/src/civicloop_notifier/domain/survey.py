"""The answer to "was it fixed?" as a resident types it back: yes or no (in English or Spanish) and a score from
0 to 10 (the Net Promoter Score question), in either order, either one alone."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

YES = frozenset({"yes", "y", "si", "s", "fixed"})
NO = frozenset({"no", "n", "not"})
_WORD = re.compile(r"[a-z0-9]+")  # a request number like 1ABC is one word, not a score


@dataclass(frozen=True)
class SurveyAnswer:
    fixed: bool | None
    nps_score: int | None


def _folded(text: str) -> str:
    """Lower case without accents (`SÍ` reads as `si`)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def parse_answer(text: str) -> SurveyAnswer | None:
    """The answer in `text`, or None when it holds neither a yes/no nor a score (then it is not an answer)."""
    fixed: bool | None = None
    score: int | None = None
    for word in _WORD.findall(_folded(text)):
        if word.isdigit():
            if score is None and 0 <= int(word) <= 10:
                score = int(word)
        elif fixed is None and word in YES:
            fixed = True
        elif fixed is None and word in NO:
            fixed = False
    if fixed is None and score is None:
        return None
    return SurveyAnswer(fixed, score)
