"""A service's questions as the catalogue page edits them: the definition put back whole, a question added at the
end, one replaced or removed in place, and a form opened before someone else's change refused."""

from __future__ import annotations

import pytest
from civicloop_intake.admin_pages.attributes import (
    Stale,
    typed_of,
    values_as_text,
    values_from_text,
    with_added,
    with_replaced,
    without,
)

LISTED = {
    "service_code": "pothole",
    "service_name": "Pothole",
    "description": "A hole",
    "group": "streets",
    "keywords": ["road"],
    "type": "realtime",
    "active": True,
    "attributes": [
        {
            "code": "depth",
            "variable": True,
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": "pick one",
            "order": 1,
            "description": "How deep?",
            "values": [{"key": "shallow", "name": "Shallow"}, {"key": "deep", "name": "Deep"}],
        },
        {
            "code": "note",
            "variable": False,
            "datatype": "text",
            "required": False,
            "datatype_description": None,
            "order": 3,
            "description": "Mind the traffic",
            "values": [],
        },
    ],
}


def test_choices_read_one_a_line_and_back():
    assert values_from_text("deep = Deeper than 5 cm\n\n  Shallow \n") == [
        {"key": "deep", "name": "Deeper than 5 cm"},
        {"key": "Shallow", "name": "Shallow"},
    ]
    assert values_as_text([{"key": "deep", "name": "Deep"}, {"key": "x", "name": "x"}]) == "deep = Deep\nx"
    assert typed_of(LISTED["attributes"][0])["values"] == "shallow = Shallow\ndeep = Deep"


def test_a_question_is_added_at_the_end_and_the_definition_put_back_whole():
    fields = with_added(
        LISTED,
        {"code": "size", "datatype": "number", "required": "on", "description": "Size?", "values": "x = y"},
    )
    assert set(fields) == {"service_name", "description", "group", "keywords", "type", "attributes"}
    assert [a["code"] for a in fields["attributes"]] == ["depth", "note", "size"]
    assert fields["attributes"][2] == {
        "code": "size",
        "variable": True,
        "datatype": "number",
        "required": True,
        "datatype_description": None,
        "order": 4,
        "description": "Size?",
        "values": [],  # only list kinds carry choices
    }
    assert fields["attributes"][0] == LISTED["attributes"][0]


def test_a_question_is_replaced_in_place_keeping_what_the_form_does_not_show():
    typed = {
        "code": "notice",
        "datatype": "string",
        "required": "",
        "description": "Anything else?",
        "values": "",
    }
    fields = with_replaced(LISTED, 3, "note", typed)
    changed = fields["attributes"][1]
    assert (changed["code"], changed["order"], changed["variable"], changed["required"]) == (
        "notice",
        3,
        False,
        False,
    )
    assert fields["attributes"][0] == LISTED["attributes"][0]


def test_a_question_is_removed_and_a_stale_form_refused():
    assert [a["code"] for a in without(LISTED, 1, "depth")["attributes"]] == ["note"]
    with pytest.raises(Stale):
        without(LISTED, 1, "note")  # the question at place 1 is not the one the form showed
    with pytest.raises(Stale):
        with_replaced(LISTED, 2, "depth", typed_of(LISTED["attributes"][0]))  # no question at place 2
