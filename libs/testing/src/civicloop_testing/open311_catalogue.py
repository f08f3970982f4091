"""The catalogue the Open311 tests run against: two cities, a realtime service with a question of every datatype
(and one that is not a question), one without questions, a batch, a blackbox and a withdrawn service; and the form of
a streetlight report that answers the required questions."""

from __future__ import annotations

import uuid
from typing import Any

from civicloop_events import ServiceDefined
from civicloop_events.payloads import AttributeDatatype, AttributeValue, ServiceAttribute, ServiceType

# Two cities, named as G-60 suggests (the website root without www).
SPRINGFIELD = "springfield.example.gov"
SHELBYVILLE = "shelbyville.example.gov"

STREETLIGHT = "STREETLIGHT-01"  # realtime, every datatype
POTHOLE = "POTHOLE"  # realtime, no attributes (metadata=false)
BULKY = "BULKY_PICKUP"  # batch
GRAFFITI = "GRAFFITI"  # blackbox
TREE = "parks.tree"  # Shelbyville only; a dot in the code (G-03: the format is split off at the LAST dot)
RETIRED = "SNOW_PLOUGH"  # Springfield, withdrawn (active=false)
SPRINGFIELD_CODES = {STREETLIGHT, POTHOLE, BULKY, GRAFFITI}
SHELBYVILLE_CODES = {POTHOLE, TREE}


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


def catalogue() -> list[tuple[str, ServiceDefined]]:
    return [
        (
            SPRINGFIELD,
            ServiceDefined(
                service_code=STREETLIGHT,
                service_name="Streetlight out",
                group="streets",
                description="A streetlight that is out, flickering or on during the day.",
                keywords=["lamp", "light", "dark street"],
                type=ServiceType.realtime,
                attributes=STREETLIGHT_ATTRIBUTES,
            ),
        ),
        (
            SPRINGFIELD,
            ServiceDefined(
                service_code=POTHOLE,
                service_name="Pothole",
                group="streets",
                description="A hole in the road surface.",
                keywords=["road", "hole"],
                type=ServiceType.realtime,
            ),
        ),
        (
            SPRINGFIELD,
            ServiceDefined(
                service_code=BULKY,
                service_name="Bulky item pickup",
                group="sanitation",
                description="Schedule a pickup of furniture or appliances.",
                keywords=["sofa", "fridge"],
                type=ServiceType.batch,
            ),
        ),
        (
            SPRINGFIELD,
            ServiceDefined(
                service_code=GRAFFITI,
                service_name="Graffiti removal",
                group="",
                description="",
                type=ServiceType.blackbox,
            ),
        ),
        (
            SHELBYVILLE,
            ServiceDefined(
                service_code=POTHOLE,
                service_name="Road damage",
                group="roads",
                description="Shelbyville's roads.",
                type=ServiceType.realtime,
            ),
        ),
        (
            SHELBYVILLE,
            ServiceDefined(
                service_code=TREE,
                service_name="Fallen tree",
                group="parks",
                type=ServiceType.realtime,
                # Orders as an older catalogue tool wrote them: one missing (0) and one used twice (SD-08, SD-15).
                attributes=[
                    ServiceAttribute(
                        code="BLOCKING",
                        datatype=AttributeDatatype.singlevaluelist,
                        required=True,
                        order=1,
                        description="Is the tree blocking the road?",
                        values=[AttributeValue(key="yes", name="Yes"), AttributeValue(key="no", name="No")],
                    ),
                    ServiceAttribute(
                        code="SPECIES", datatype=AttributeDatatype.string, description="Species"
                    ),
                    ServiceAttribute(
                        code="GIRTH_CM",
                        datatype=AttributeDatatype.number,
                        order=1,
                        description="Trunk girth in centimetres",
                    ),
                    # PR-04: codes may hold spaces and punctuation (`attribute[What is this?]`).
                    ServiceAttribute(
                        code="Is it leaning?",
                        datatype=AttributeDatatype.singlevaluelist,
                        order=3,
                        description="Is the tree leaning over something?",
                        values=[AttributeValue(key="yes", name="Yes"), AttributeValue(key="no", name="No")],
                    ),
                ],
            ),
        ),
        (
            SPRINGFIELD,
            ServiceDefined(
                service_code=RETIRED,
                service_name="Snow plough request",
                description="Withdrawn service.",
                type=ServiceType.realtime,
                active=False,
            ),
        ),
    ]


def unique(text: str) -> str:
    """Request content no other test sends (POSTs with the same body are one request, PR-11). The tag starts with a
    letter: ten hex digits are all decimal about once in a hundred, and the public text's scrub reads that as a
    phone number."""
    return f"{text} [t{uuid.uuid4().hex[:10]}]"


def streetlight_form(**overrides: Any) -> dict[str, Any]:
    """The fields of a streetlight report that answers the required questions; an override of None leaves its
    field out."""
    fields: dict[str, Any] = {
        "service_code": STREETLIGHT,
        "lat": "39.7817",
        "long": "-89.6501",
        "description": unique("Lamp out at the corner"),
        "attribute[POLE_ID]": "SL-10442",
        "attribute[LAMP_STATE]": "out",
        **overrides,
    }
    return {k: v for k, v in fields.items() if v is not None}
