from datetime import UTC, datetime

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from civicloop_events.payloads import MessageKind
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain.notices import Notice
from civicloop_notifier.domain.texts import Texts, choose_language, every_msgid

CATALOGS = load_catalogs()
TEXTS = Texts(CATALOGS)
LINK = "https://civicloop.example/track/1ABC-2DEF"


def render(notice, language="en", jurisdiction="demo", texts=TEXTS):
    return texts.render(
        notice,
        number="1ABC-2DEF",
        tracking_link=LINK,
        language=language,
        jurisdiction_id=jurisdiction,
        time_zone="America/New_York",
    )


@pytest.mark.parametrize("msgid", every_msgid())
def test_every_text_has_a_spanish_translation(msgid):
    translated = CATALOGS["es"].gettext(msgid)
    assert translated != msgid and translated.count("%(") == msgid.count("%(")


def test_the_received_message_has_the_number_and_the_tracking_link():
    out = render(Notice(MessageKind.received))
    assert out.subject == "Your report 1ABC-2DEF"
    assert "1ABC-2DEF" in out.text and LINK in out.text and out.language == "en"


def test_a_spanish_speaking_resident_reads_spanish():
    out = render(Notice(MessageKind.received), language="es-US")
    assert out.language == "es"
    assert out.text.startswith("Recibimos su reporte 1ABC-2DEF") and "Sígalo en " + LINK in out.text


def test_a_language_without_a_catalog_falls_back_to_english():
    assert choose_language("fr-CA", {"en", "es"}) == "en"
    assert choose_language("es-MX", {"en", "es"}) == "es"
    assert choose_language(None, {"en", "es"}) == "en"


def test_a_close_tells_the_reason_the_referral_and_asks_the_survey_in_spanish():
    notice = Notice(
        MessageKind.closed,
        {"reason": "not_ours", "referred_to": "State DOT", "note": "Lo pasamos"},
        asks_survey=True,
    )
    out = render(notice, language="es")
    assert "Su reporte 1ABC-2DEF se cerró." in out.text
    assert "Motivo: no nos corresponde." in out.text and "comuníquese con State DOT" in out.text
    assert "Lo pasamos" in out.text and "¿Se resolvió?" in out.text


def test_a_visit_is_told_in_the_residents_language_and_the_jurisdictions_zone():
    notice = Notice(
        MessageKind.visit_scheduled,
        {"starts_at": datetime(2026, 12, 7, 14, 0, tzinfo=UTC), "address": "1 Main St", "note": ""},
    )
    assert "Dec 7, 2026, 9:00:00\u202fAM" in render(notice).text
    assert "7 dic 2026, 9:00:00" in render(notice, language="es").text


def test_a_status_is_named_in_the_residents_language():
    notice = Notice(MessageKind.status_changed, {"status": "in_progress", "note": ""})
    assert "is now in progress" in render(notice).text
    assert "ahora está en curso" in render(notice, language="es").text


def test_a_jurisdiction_words_a_message_its_own_way():
    catalog = Catalog(locale="en", domain="notifier")
    catalog.add(
        "We received your report %(number)s. Thank you.", "Metro 311 got %(number)s.", context="metro"
    )
    compiled = __import__("io").BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    texts = Texts({**CATALOGS, "en": Translations(compiled, domain="notifier")})
    assert render(Notice(MessageKind.received), jurisdiction="metro", texts=texts).text.startswith(
        "Metro 311 got 1ABC-2DEF."
    )
    assert render(Notice(MessageKind.received), jurisdiction="demo", texts=texts).text.startswith(
        "We received your report 1ABC-2DEF."
    )
