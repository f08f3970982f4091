"""The text-message reporting conversation, pure: category by keyword or menu, address, questions, confirmation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from civicloop_channels.sms_segments import sms_segments
from civicloop_events.payloads import AttributeDatatype, AttributeValue, ServiceAttribute
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain import text_report_texts
from civicloop_notifier.domain.text_report import (
    MAX_DESCRIPTION_CHARS,
    MAX_REPLY_SEGMENTS,
    Context,
    Conversation,
    Geocode,
    Place,
    ReportableService,
    Step,
    SubmissionAnswer,
    Submit,
    Turn,
    after_geocoder_unavailable,
    after_geocoding,
    after_submission,
    matching_services,
    read_answer,
    respond,
)

CATALOGS = load_catalogs()
T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=30)

SIZE = ServiceAttribute(
    code="size",
    datatype=AttributeDatatype.singlevaluelist,
    required=True,
    order=1,
    description="How big is it?",
    values=[AttributeValue(key="small", name="Small"), AttributeValue(key="large", name="Large")],
)
DEPTH = ServiceAttribute(
    code="depth_cm", datatype=AttributeDatatype.number, required=True, order=2, description="How deep (cm)?"
)
OPTIONAL = ServiceAttribute(
    code="notes", datatype=AttributeDatatype.text, required=False, description="Notes"
)
POTHOLE = ReportableService("pothole", "Pothole", ("bache", "hole in the road"), (DEPTH, SIZE, OPTIONAL))
GRAFFITI = ReportableService("graffiti", "Graffiti", ("tag", "pintada"))
LIGHT = ReportableService("streetlight", "Street light out", ("streetlight", "farola", "light"))
TRASH = ReportableService("trash", "Missed trash pickup", ("trash", "basura", "garbage"))
SERVICES = [POTHOLE, GRAFFITI, LIGHT, TRASH]

MAIN = Place(address="12 Main St, Springfield", lat=40.1, long=-75.1, confidence=1.0)
MAIN_N = Place(address="12 N Main St, Springfield", lat=40.2, long=-75.2, confidence=0.8)
MAIN_S = Place(address="12 S Main St, Springfield", lat=40.3, long=-75.3, confidence=0.75)


def ctx(minutes: float = 0, services=SERVICES) -> Context:
    return Context(services=services, catalogs=CATALOGS, now=T0 + timedelta(minutes=minutes), timeout=TIMEOUT)


def say(
    conversation: Conversation | None, text: str, *, language="en", minutes: float = 0, services=SERVICES
) -> Turn:
    turn = respond(conversation, text, language=language, new_id="c-1", ctx=ctx(minutes, services))
    assert turn.action is not None or sms_segments(turn.reply).count <= MAX_REPLY_SEGMENTS
    return turn


def test_every_text_has_a_spanish_translation_with_the_same_placeholders():
    for msgid in text_report_texts.every_msgid():
        translated = CATALOGS["es"].gettext(msgid)
        assert translated != msgid and translated.count("%(") == msgid.count("%(")


def test_a_keyword_in_the_first_text_names_the_category_and_the_address_is_asked():
    turn = say(None, "There is a big hole in the road")
    assert turn.conversation.step is Step.address and turn.conversation.service_code == "pothole"
    assert turn.conversation.description == "There is a big hole in the road"
    assert turn.reply.startswith("Got it: Pothole.") and "street address" in turn.reply


def test_keywords_match_whole_words_without_accents_and_plurals():
    assert matching_services("Hay un BACHÉ enorme", SERVICES) == [POTHOLE]
    assert matching_services("two potholes here", SERVICES) == [POTHOLE]
    assert matching_services("the tagline is wrong", SERVICES) == []  # "tag" is not a word of it


def test_no_keyword_gives_a_numbered_menu_and_a_number_picks_from_it():
    first = say(None, "something is wrong on my street")
    assert first.conversation.step is Step.category
    assert first.conversation.menu == ("pothole", "graffiti", "streetlight", "trash")
    assert "1 Pothole" in first.reply and "4 Missed trash pickup" in first.reply
    picked = say(first.conversation, "3")
    assert picked.conversation.service_code == "streetlight" and picked.conversation.step is Step.address
    assert picked.conversation.description == "something is wrong on my street"


def test_several_matches_narrow_the_menu_and_a_word_can_answer_it():
    first = say(None, "light and trash")
    assert first.conversation.menu == ("streetlight", "trash")
    worded = say(first.conversation, "basura")
    assert worded.conversation.service_code == "trash"


def test_a_number_outside_the_menu_is_asked_again():
    first = say(None, "help me")
    again = say(first.conversation, "7")
    assert again.conversation.step is Step.category and again.reply.startswith(
        "Sorry, we did not understand."
    )


def test_a_long_catalogue_is_cut_to_fit_the_reply():
    many = [ReportableService(f"s{i}", f"A rather long service name number {i}") for i in range(30)]
    turn = say(None, "hello", services=many)
    assert 1 <= len(turn.conversation.menu) <= 9
    assert sms_segments(turn.reply).count <= MAX_REPLY_SEGMENTS
    assert f"{len(turn.conversation.menu)} A rather long" in turn.reply


def test_the_address_is_geocoded_and_a_sure_place_leads_to_the_questions_in_order():
    at_address = say(say(None, "pothole").conversation, "12 Main St")
    assert at_address.action == Geocode("12 Main St") and at_address.reply == ""
    placed = after_geocoding(at_address.conversation, [MAIN], ctx())
    assert placed.conversation.place == MAIN and placed.conversation.step is Step.attribute
    assert placed.reply.startswith("How big is it?") and "1 Small\n2 Large" in placed.reply  # order 1 first
    sized = say(placed.conversation, "2")
    assert sized.conversation.attributes == {"size": ["large"]} and sized.reply.startswith("How deep (cm)?")
    bad_depth = say(sized.conversation, "quite deep")
    assert bad_depth.reply.startswith("Sorry, we did not understand. How deep")
    deep = say(bad_depth.conversation, "7,5")
    assert deep.conversation.attributes == {"size": ["large"], "depth_cm": ["7.5"]}
    assert deep.conversation.step is Step.confirm  # the optional question is not asked
    assert (
        deep.reply
        == "Send this report? Pothole at 12 Main St, Springfield. Reply OK to send it, or NO to cancel."
    )


def test_several_places_are_a_numbered_choice_and_another_address_looks_again():
    asked = say(say(None, "graffiti").conversation, "12 Main")
    choice = after_geocoding(asked.conversation, [MAIN_N, MAIN_S], ctx())
    assert choice.conversation.step is Step.choose_address
    assert "1 12 N Main St, Springfield\n2 12 S Main St, Springfield" in choice.reply
    again = say(choice.conversation, "12 North Main Street")
    assert again.action == Geocode("12 North Main Street")
    picked = say(choice.conversation, "2")
    assert picked.conversation.place == MAIN_S and picked.conversation.step is Step.confirm


def test_a_bad_address_is_asked_again_and_an_unavailable_geocoder_says_so():
    asked = say(say(None, "graffiti").conversation, "the moon")
    nowhere = after_geocoding(
        asked.conversation, [Place(address="Moon", lat=0, long=0, confidence=0.1)], ctx()
    )
    assert nowhere.conversation.step is Step.address and nowhere.conversation.place is None
    assert nowhere.reply.startswith("We could not find that place")
    down = after_geocoder_unavailable(asked.conversation, ctx())
    assert down.conversation.step is Step.address and "cannot look up addresses" in down.reply


def confirmed(language="en") -> Conversation:
    asked = say(say(None, "graffiti on the wall", language=language).conversation, "12 Main St")
    return after_geocoding(asked.conversation, [MAIN], ctx()).conversation


def test_ok_submits_the_report_once_filed_the_conversation_keeps_nothing_written():
    conversation = confirmed()
    turn = say(conversation, "ok")
    assert turn.action == Submit(
        conversation_id="c-1",
        service_code="graffiti",
        description="graffiti on the wall",
        place=MAIN,
        attributes={},
        language="en",
    )
    filed = after_submission(turn.conversation, SubmissionAnswer.filed, ctx())
    assert filed.conversation.step is Step.submitted and filed.reply.startswith("Thank you")
    assert filed.conversation.description == "" and filed.conversation.place is None
    assert not filed.conversation.is_open(T0, TIMEOUT)


def test_a_submission_that_could_not_be_made_is_offered_again_and_a_refused_one_ends():
    conversation = confirmed()
    later = after_submission(conversation, SubmissionAnswer.unavailable, ctx())
    assert later.conversation.step is Step.confirm and "Reply OK to try again" in later.reply
    assert say(later.conversation, "OK").action is not None
    refused = after_submission(conversation, SubmissionAnswer.refused, ctx())
    assert refused.conversation.step is Step.cancelled and "call 311" in refused.reply


def test_no_at_the_confirmation_cancels_and_anything_else_asks_again():
    conversation = confirmed()
    unclear = say(conversation, "maybe")
    assert unclear.action is None and unclear.reply.startswith(
        "Sorry, we did not understand. Send this report?"
    )
    no = say(conversation, "No.")
    assert no.conversation.step is Step.cancelled and no.reply.startswith("Your report was cancelled")


@pytest.mark.parametrize("word", ["EXIT", "cancelar", "Salir"])
def test_exit_gives_up_at_any_step(word):
    for conversation in (say(None, "hello").conversation, say(None, "pothole").conversation, confirmed()):
        turn = say(conversation, word)
        assert turn.conversation.step is Step.cancelled and turn.action is None


def test_after_the_timeout_or_once_finished_a_text_starts_afresh():
    started = say(None, "pothole").conversation
    assert started.is_open(T0 + timedelta(minutes=29), TIMEOUT)
    assert not started.is_open(T0 + timedelta(minutes=30), TIMEOUT)
    fresh = respond(started, "graffiti", language="en", new_id="c-2", ctx=ctx(minutes=31))
    assert fresh.conversation.conversation_id == "c-2" and fresh.conversation.service_code == "graffiti"
    after_cancel = respond(say(started, "EXIT").conversation, "trash", language="en", new_id="c-3", ctx=ctx())
    assert (
        after_cancel.conversation.conversation_id == "c-3"
        and after_cancel.conversation.service_code == "trash"
    )


def test_a_spanish_conversation_from_first_text_to_submission():
    first = say(None, "Hay un bache enorme", language="es-US")
    assert first.reply == (
        "Entendido: Pothole. ¿Dónde está? Envíe la dirección (p. ej. 12 Main St). Envíe SALIR para dejarlo."
    )
    located = after_geocoding(say(first.conversation, "12 Main St").conversation, [MAIN], ctx())
    assert located.reply.startswith("How big is it?") and located.reply.endswith("Responda con un número.")
    sized = say(say(located.conversation, "1").conversation, "3")
    assert sized.reply.startswith("¿Enviamos este reporte? Pothole en 12 Main St")
    sent = say(sized.conversation, "Sí")
    assert isinstance(sent.action, Submit) and sent.action.language == "es-US"
    assert after_submission(sent.conversation, SubmissionAnswer.filed, ctx()).reply.startswith("Gracias")


def test_a_resident_can_switch_the_language_mid_way():
    first = say(None, "help me")
    switched = say(first.conversation, "Español")
    assert switched.conversation.language == "es" and switched.reply.startswith("¿Qué tipo de problema es?")


def test_every_text_is_cut_to_its_limit():
    turn = say(None, "pothole " + "x" * 5000)
    assert len(turn.conversation.description) == MAX_DESCRIPTION_CHARS
    asked = say(turn.conversation, "1 Main St " * 100)
    assert isinstance(asked.action, Geocode) and len(asked.action.query) == 200
    long_place = Place(address="9" * 300, lat=1, long=1, confidence=1)
    confirm = after_geocoding(say(say(None, "graffiti").conversation, "x").conversation, [long_place], ctx())
    assert sms_segments(confirm.reply).count <= MAX_REPLY_SEGMENTS


def test_answers_are_read_as_intake_takes_them():
    multi = ServiceAttribute(
        code="kinds",
        datatype=AttributeDatatype.multivaluelist,
        values=[AttributeValue(key=k, name=k.title()) for k in ("glass", "metal", "paper")],
    )
    assert read_answer(multi, "3, 1 3") == ["paper", "glass"]
    assert read_answer(multi, "4") is None and read_answer(multi, "glass") is None
    assert read_answer(SIZE, "1 2") is None
    when = ServiceAttribute(code="when", datatype=AttributeDatatype.datetime)
    assert read_answer(when, "2026-05-31 14:30") == ["2026-05-31T14:30:00"]
    assert read_answer(when, "tomorrow") is None
    assert read_answer(DEPTH, "nan") is None and read_answer(DEPTH, "inf") is None
    assert read_answer(OPTIONAL, "  ") is None and read_answer(OPTIONAL, "by the bus stop") == [
        "by the bus stop"
    ]


def test_without_a_catalogue_the_resident_is_told_to_call():
    turn = say(None, "pothole", services=[])
    assert turn.conversation.step is Step.cancelled and "call 311" in turn.reply


def test_a_language_tag_intake_would_refuse_becomes_english():
    assert say(None, "pothole", language="not a tag!").conversation.language == "en"
    assert say(None, "pothole", language="es-MX").conversation.language == "es-MX"
