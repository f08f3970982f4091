"""Random residents for the public-outputs property test, and what one of them goes through: a report by intake's
submission route, then an agent's public comment and closing note through intake's commands.

Where a resident's strings are typed (description, address, the agent's comment, the closing note) is drawn too, so
each free-text field the public might see carries personal data in some examples.
"""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass

import httpx
from civicloop_testing.polling import eventually
from hypothesis import strategies as st

# Ten-digit US numbers in the 555-01xx range kept for fiction, in the forms people type them.
_AREA_CODES = ("202", "213", "310", "410", "443", "667")
_PHONE_FORMS = (
    "({a}) 555-{n}",
    "{a}-555-{n}",
    "{a}.555.{n}",
    "{a} 555 {n}",
    "+1 {a} 555 {n}",
    "1-{a}-555-{n}",
    "{a}555{n}",
)
# A box in Los Angeles: every point lands inside one jurisdiction's streets.
_LAT = (34.02, 34.10)
_LONG = (-118.32, -118.22)


@dataclass(frozen=True)
class Resident:
    given_name: str
    family_name: str
    phone: str  # as typed
    phone_digits: str  # the ten digits
    email: str
    lat: float
    long: float
    house: int
    in_description: bool
    in_address: bool  # the name, phone and email after the street
    name_in_address: bool  # the name alone after the street
    in_comment: bool
    in_close_note: bool

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def strings(self) -> dict[str, str]:
        """What must never be public, by what it is: the name, the phone in every form it may take, the email."""
        return {
            "name": self.name,
            "family name": self.family_name,
            "phone as typed": self.phone,
            "phone E.164": f"+1{self.phone_digits}",
            "phone digits": self.phone_digits,
            "phone local": f"555-{self.phone_digits[-4:]}",
            "email": self.email,
        }

    def points(self) -> list[tuple[str, str]]:
        """The exact point to 5 decimals, rounded and cut, as (lat, long) pairs of strings."""
        cut = lambda x: f"{x:.7f}"[: f"{x:.7f}".index(".") + 6]  # noqa: E731
        return [(f"{self.lat:.5f}", f"{self.long:.5f}"), (cut(self.lat), cut(self.long))]

    def contact_line(self) -> str:
        return f"{self.name}, {self.phone}, {self.email}"


def _letters(prefix: str, size: int) -> st.SearchStrategy[str]:
    """A made-up word no output holds by chance: `prefix` then `size` letters spelt from a number (hypothesis also
    draws text from constants it finds, such as "keywords", which an output may well hold)."""

    def spelt(n: int) -> str:
        letters = []
        for _ in range(size):
            n, i = divmod(n, 26)
            letters.append(string.ascii_lowercase[i])
        return prefix + "".join(letters)

    return st.integers(0, 26**size - 1).map(spelt)


@st.composite
def resident(draw: st.DrawFn) -> Resident:
    area = draw(st.sampled_from(_AREA_CODES))
    line = draw(st.integers(100, 199))
    digits = f"{area}555{line:04d}"
    form = draw(st.sampled_from(_PHONE_FORMS))
    local = draw(_letters("xq", 8))
    return Resident(
        given_name=draw(_letters("Zo", 6)),
        family_name=draw(_letters("Qu", 8)),
        phone=form.format(a=area, n=f"{line:04d}"),
        phone_digits=digits,
        email=f"{local}@{draw(st.sampled_from(('example.org', 'example.net', 'mail.example.com')))}",
        lat=draw(st.floats(*_LAT, allow_nan=False)),
        long=draw(st.floats(*_LONG, allow_nan=False)),
        house=draw(st.integers(1, 9999)),
        in_description=draw(st.booleans()),
        in_address=draw(st.booleans()),
        name_in_address=draw(st.booleans()),
        in_comment=draw(st.booleans()),
        in_close_note=draw(st.booleans()),
    )


def residents() -> st.SearchStrategy[list[Resident]]:
    return st.lists(resident(), min_size=1, max_size=3)


def submission(person: Resident) -> dict:
    said = f" I am {person.contact_line()}, call me." if person.in_description else ""
    address = f"{person.house} Sunset Blvd"
    if person.in_address:
        address += f", ring {person.name} {person.phone} {person.email}"
    if person.name_in_address:
        address += f", ask for {person.name}"
    return {
        "service_code": "pothole",
        "description": f"Deep hole by the curb.{said}",
        "address_string": address,
        "lat": person.lat,
        "long": person.long,
        "contact": {"name": person.name, "phone": person.phone, "email": person.email},
        "preferred_channel": "email",
    }


async def send_through(system, person: Resident) -> str:
    """Report as the resident, then comment and close as an agent; the request's number."""

    async def accepted() -> httpx.Response | None:  # intake learns the catalogue from the log
        r = await system.intake.post(
            "/api/v1/requests", json=submission(person), headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        return None if r.status_code == 422 and "service_code" in r.text else r

    r = await eventually(accepted, timeout=30, what="intake to accept the report", interval=0.1)
    assert r.status_code == 201, r.text
    number = r.json()["request_number"]
    comment = f"Spoke to {person.contact_line()}." if person.in_comment else "A crew goes this week."
    note = (
        f"Fixed; told {person.name} at {person.email} and {person.phone}."
        if person.in_close_note
        else "Fixed."
    )
    for path, body in (
        ("acknowledge", {"public_note": "We have it."}),
        ("comments", {"text": comment, "visibility": "public"}),
        ("comments", {"text": f"Internal: {person.contact_line()}", "visibility": "internal"}),
        ("close", {"reason": "fixed", "public_note": note}),
    ):
        r = await system.intake.post(
            f"/api/v1/agent/requests/{number}/{path}", json=body, headers=system.agent
        )
        assert r.status_code == 201, (path, r.text)
    system.sent.append(number)
    system.residents.append(person)
    return number
