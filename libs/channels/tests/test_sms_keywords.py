"""The carriers' keywords and our answers to them (pure)."""

from __future__ import annotations

import pytest
from civicloop_channels.sms_keywords import (
    KeywordAction,
    Program,
    keyword_action,
    keyword_reply,
    reply_language,
)

PROGRAM = Program(name="CivicLoop 311", help_contact="call 311")


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "REVOKE",
        "alto",
        "Parar!",
    ],
)
def test_every_opt_out_word_opts_out(word: str) -> None:
    assert keyword_action(word) is KeywordAction.opt_out


@pytest.mark.parametrize("word", ["START", "yes", "Unstop", "iniciar"])
def test_every_opt_in_word_opts_in(word: str) -> None:
    assert keyword_action(word) is KeywordAction.opt_in


@pytest.mark.parametrize("word", ["HELP", "info", "Ayuda?", "¿ayuda?"])
def test_every_help_word_asks_for_help(word: str) -> None:
    assert keyword_action(word) is KeywordAction.help


@pytest.mark.parametrize(
    "text", ["please don't stop the repairs", "stop sign down on Main St", "sí", "", "   ", "1", "STOP STOP"]
)
def test_a_keyword_counts_only_as_the_whole_message(text: str) -> None:
    assert keyword_action(text) is None


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "en"), ("es", "es"), ("es-US", "es"), ("es_MX", "es"), ("fr", "en"), ("EN-gb", "en")],
)
def test_the_reply_language_follows_the_resident_s_and_falls_back_to_english(
    language: str, expected: str
) -> None:
    assert reply_language(language) == expected


def test_the_opt_out_confirmation_names_the_program_and_how_to_come_back() -> None:
    english = keyword_reply(KeywordAction.opt_out, "en", PROGRAM)
    spanish = keyword_reply(KeywordAction.opt_out, "es-US", PROGRAM)

    assert english.startswith("CivicLoop 311:") and "unsubscribed" in english and "START" in english
    assert spanish.startswith("CivicLoop 311:") and "baja" in spanish and "START" in spanish


def test_help_says_who_we_are_where_to_get_help_rates_and_how_to_stop() -> None:
    for language in ("en", "es"):
        reply = keyword_reply(KeywordAction.help, language, PROGRAM)
        assert "CivicLoop 311" in reply and "call 311" in reply and "STOP" in reply
        assert ("rates" in reply) if language == "en" else ("tarifas" in reply)


def test_the_opt_in_confirmation_says_how_to_stop_again() -> None:
    assert "STOP" in keyword_reply(KeywordAction.opt_in, "en", PROGRAM)
    assert "STOP" in keyword_reply(KeywordAction.opt_in, "es", PROGRAM)
