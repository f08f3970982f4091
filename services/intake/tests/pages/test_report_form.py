"""The report form's fields read as a submission; a submission's problems placed on the form's fields."""

from __future__ import annotations

from civicloop_intake.pages.report_form import attribute_field, form_field_of, submission_of
from civicloop_intake.pages.texts import CATALOGS, page_language


def test_the_fields_become_a_submission_blank_ones_left_out():
    fields = {
        "service_code": ["pothole"],
        "description": ["  Deep hole  "],
        "address": ["1 Main St"],
        "lat": [""],
        "lng": [""],
        "source": ["poster-d3"],
        "name": [""],
        "email": ["ana@example.org"],
        "phone": [""],
        "preferred_channel": ["email"],
        attribute_field("pothole", "depth"): ["deep"],
        attribute_field("pothole", "lanes"): ["left", "right", ""],
        attribute_field("pothole", "note"): [""],
        attribute_field("graffiti", "surface"): ["wall"],  # another category's question: not sent
        "idempotency_key": ["web-1"],
        "lang": ["es"],
    }
    body = submission_of(fields, media_url="http://localhost:8001/media/x.jpg", language="es")
    assert body == {
        "service_code": "pothole",
        "description": "Deep hole",
        "preferred_channel": "email",
        "language": "es",
        "address_string": "1 Main St",
        "source": "poster-d3",
        "contact": {"email": "ana@example.org"},
        "attributes": {"depth": ["deep"], "lanes": ["left", "right"]},
        "media_url": "http://localhost:8001/media/x.jpg",
    }


def test_a_point_without_contact_or_category():
    body = submission_of({"lat": ["38.9"], "lng": ["-77.0"]}, media_url=None, language="en")
    assert body == {
        "service_code": "",
        "description": "",
        "preferred_channel": "none",
        "language": "en",
        "lat": "38.9",
        "long": "-77.0",
    }


def test_problems_land_on_the_fields_the_resident_filled():
    assert form_field_of(("body", "contact", "phone")) == "phone"
    assert form_field_of(("contact", "email")) == "email"
    assert form_field_of(("body", "address_string")) == "address"
    assert form_field_of(("body", "long")) == "lng"
    assert form_field_of(("body", "attributes", "depth"), "pothole") == attribute_field("pothole", "depth")
    assert form_field_of(("body",)) == "form"
    assert form_field_of(("body", "description")) == "description"


def test_both_languages_say_everything():
    assert set(CATALOGS["en"]) == set(CATALOGS["es"])


def test_the_page_language_is_the_chosen_one_else_the_browser_s_else_english():
    assert page_language("es", "en-US") == "es"
    assert page_language(None, "fr-FR, es;q=0.8") == "es"
    assert page_language("de", "de-DE") == "en"
    assert page_language(None, None) == "en"
