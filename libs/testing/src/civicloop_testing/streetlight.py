"""The streetlight service the Open311 tests submit to: a realtime service with a question of every datatype (and
one that is not a question), and the form of a report that answers the required ones."""

from __future__ import annotations

import uuid
from typing import Any

from civicloop_events.payloads import AttributeDatatype, AttributeValue, ServiceAttribute

STREETLIGHT_ATTRIBUTES = [
    ServiceAttribute(
        code="POLE_ID",
        datatype=AttributeDatatype.string,
        required=True,
        order=1,
        description="The number on the pole's metal tag",
        datatype_description="e.g. SL-10442",
    ),
    ServiceAttribute(
        code="LAMP_STATE",
        datatype=AttributeDatatype.singlevaluelist,
        required=True,
        order=2,
        description="What is the lamp doing?",
        values=[
            AttributeValue(key="out", name="Completely out"),
            AttributeValue(key="flicker", name="Flickering"),
            AttributeValue(key="day", name="On during the day"),
        ],
    ),
    ServiceAttribute(
        code="HAZARDS",
        datatype=AttributeDatatype.multivaluelist,
        order=3,
        description="Any hazards around the pole?",
        values=[
            AttributeValue(key="wires", name="Exposed wires"),
            AttributeValue(key="glass", name="Broken glass"),
            AttributeValue(key="leaning", name="Pole leaning"),
        ],
    ),
    ServiceAttribute(
        code="HEIGHT_M",
        datatype=AttributeDatatype.number,
        order=4,
        description="Approximate height of the pole in metres",
    ),
    ServiceAttribute(
        code="NOTICED_AT",
        datatype=AttributeDatatype.datetime,
        order=5,
        description="When did you first notice it?",
    ),
    ServiceAttribute(
        code="NOTES",
        datatype=AttributeDatatype.text,
        order=6,
        description="Anything else the crew should know",
    ),
    ServiceAttribute(
        code="SAFETY",
        variable=False,
        datatype=AttributeDatatype.text,
        order=7,
        description="Do not touch fallen wires. Call 911 if a wire is sparking.",
    ),
]


def unique(text: str) -> str:
    """Request content no other test sends (POSTs with the same body are one request, PR-11)."""
    return f"{text} [{uuid.uuid4().hex[:10]}]"


def streetlight_form(code: str, /, **overrides: Any) -> dict[str, Any]:
    """The fields of a POST to the service `code` (defined with `STREETLIGHT_ATTRIBUTES`) that answers the required
    questions; an override of None leaves its field out."""
    fields: dict[str, Any] = {
        "service_code": code,
        "lat": "39.7817",
        "long": "-89.6501",
        "description": unique("Lamp out at the corner"),
        "attribute[POLE_ID]": "SL-10442",
        "attribute[LAMP_STATE]": "out",
        **overrides,
    }
    return {k: v for k, v in fields.items() if v is not None}
