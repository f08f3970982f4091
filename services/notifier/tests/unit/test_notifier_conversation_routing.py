"""Where a resident's message lands (pure): their one open request, the conversation they are in, or a question."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain import conversation
from civicloop_notifier.domain.conversation import (
    MAX_CHOICES,
    Conversation,
    Decision,
    Route,
    ask_text,
    guess_language,
    landed_text,
    picked_choice,
    route_reply,
)

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=24)
A, B, C = "1AAA-0001", "1BBB-0002", "1CCC-0003"


CATALOGS = load_catalogs()


def route(text: str, open_requests: list[str], conversation: Conversation | None = None):
    return route_reply(text, open_requests=open_requests, conversation=conversation, now=NOW, ttl=TTL)


def test_one_open_request_takes_the_text():
    assert route("the hole is bigger", [A]) == Decision(Route.land, A)


def test_no_open_request_is_no_conversation():
    assert route("hello", []).route is Route.none


def test_several_open_requests_ask_which_newest_first_at_most_a_few():
    many = [f"1AAA-000{i}" for i in range(1, 9)]
    decision = route("trash again", many)
    assert decision.route is Route.ask
    assert decision.choices == tuple(many[:MAX_CHOICES])


def test_the_answer_picks_by_place_in_the_list_or_by_number():
    waiting = Conversation(None, (A, B), True, NOW - timedelta(minutes=2))
    assert route("2", [A, B], waiting).request_id == B
    assert route("2", [A, B], waiting).route is Route.picked
    assert route(" #1. ", [A, B], waiting).request_id == A
    assert route(B.lower(), [A, B], waiting).route is Route.picked


def test_an_answer_outside_the_list_asks_again():
    waiting = Conversation(None, (A, B), True, NOW)
    assert route("7", [A, B], waiting).route is Route.ask
    assert picked_choice("0", (A, B)) is None


def test_a_picked_request_closed_since_is_not_picked():
    waiting = Conversation(None, (A, B), True, NOW)
    assert route("2", [A], waiting) == route("anything", [A])


def test_the_request_last_talked_about_stays_the_conversation_for_a_while():
    talking = Conversation(B, (), False, NOW - timedelta(hours=3))
    assert route("still there", [A, B], talking).request_id == B
    stale = Conversation(B, (), False, NOW - TTL - timedelta(seconds=1))
    assert route("still there", [A, B], stale).route is Route.ask


def test_a_stale_question_is_not_answered_by_a_number():
    stale = Conversation(None, (A, B), True, NOW - TTL - timedelta(minutes=1))
    assert route("2", [A, B], stale).route is Route.ask


def test_texts_in_english_and_spanish():
    assert (
        ask_text(CATALOGS, (A, B), "en")
        == f"Which of your requests is this about? Reply with its number: 1) {A} 2) {B}"
    )
    assert ask_text(CATALOGS, (A, B), "es-US").startswith("¿A cuál de sus solicitudes")
    assert B in landed_text(CATALOGS, B, "es") and landed_text(CATALOGS, B, "es").startswith("Gracias")
    assert landed_text(CATALOGS, B, "fr").startswith("Thanks")


@pytest.mark.parametrize("msgid", conversation.every_msgid())
def test_every_reply_has_a_spanish_translation_with_the_same_placeholders(msgid: str) -> None:
    translated = CATALOGS["es"].gettext(msgid)
    assert translated != msgid and sorted(re.findall(r"%\((\w+)\)s", translated)) == sorted(
        re.findall(r"%\((\w+)\)s", msgid)
    )


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hay un bache enorme frente a mi casa", "es"),
        ("La luz de la calle está rota", "es"),
        ("¿Pueden venir hoy?", "es"),
        ("There is a huge pothole in front of my house", "en"),
        ("streetlight out on the corner of 5th and Main", "en"),
        ("12 Main St", "en"),
        ("", "en"),
    ],
)
def test_a_strangers_first_text_chooses_the_language_of_the_reply(text: str, language: str) -> None:
    assert guess_language(text) == language
