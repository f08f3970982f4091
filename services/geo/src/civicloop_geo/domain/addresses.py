"""US-style address text, parsed and normalised without IO: what a resident types, what a gazetteer row holds.

One normal form serves both sides: the loader stores street names, directions and suffixes the way `parse_*` emits
them, so the gazetteer compares like with like ("WEST BELLEVUE AVENUE" and "W Bellevue Av" both become
`W BELLEVUE AVE`; "Third Street" and "3rd St" both become `3RD ST`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

DIRECTIONS = {
    "N": "N",
    "NORTH": "N",
    "S": "S",
    "SOUTH": "S",
    "E": "E",
    "EAST": "E",
    "W": "W",
    "WEST": "W",
    "NE": "NE",
    "NORTHEAST": "NE",
    "NW": "NW",
    "NORTHWEST": "NW",
    "SE": "SE",
    "SOUTHEAST": "SE",
    "SW": "SW",
    "SOUTHWEST": "SW",
}

# USPS Publication 28, appendix C1 (the common part): every spelling -> the standard abbreviation.
_SUFFIX_SPELLINGS = {
    "ALY": "ALLEE ALLEY ALLY ALY",
    "AVE": "AV AVE AVEN AVENU AVENUE AVN AVNUE",
    "BLVD": "BLVD BOUL BOULEVARD BOULV",
    "BND": "BEND BND",
    "BR": "BR BRNCH BRANCH",
    "BYP": "BYP BYPA BYPAS BYPASS BYPS",
    "CIR": "CIR CIRC CIRCL CIRCLE CRCL CRCLE",
    "CT": "COURT CT",
    "CTR": "CEN CENT CENTER CENTR CENTRE CNTER CNTR CTR",
    "CV": "COVE CV",
    "CRES": "CRESCENT CRES CRSNT",
    "XING": "CROSSING CRSSNG XING",
    "DR": "DR DRIV DRIVE DRV",
    "EXPY": "EXP EXPR EXPRESS EXPRESSWAY EXPW EXPY",
    "FWY": "FREEWAY FREEWY FRWAY FRWY FWY",
    "GDNS": "GARDENS GDNS GRDNS",
    "GRN": "GREEN GRN",
    "GRV": "GROVE GROV GRV",
    "HTS": "HEIGHTS HTS",
    "HWY": "HIGHWAY HIGHWY HIWAY HIWY HWAY HWY",
    "HL": "HILL HL",
    "LN": "LANE LN",
    "LOOP": "LOOP LOOPS",
    "MALL": "MALL",
    "MNR": "MANOR MNR",
    "PARK": "PARK PRK",
    "PKWY": "PARKWAY PARKWY PKWAY PKWY PKY",
    "PASS": "PASS",
    "PATH": "PATH PATHS",
    "PIKE": "PIKE PIKES",
    "PL": "PL PLACE",
    "PLZ": "PLAZA PLZ PLZA",
    "PT": "POINT PT",
    "RD": "RD ROAD",
    "ROW": "ROW",
    "RUN": "RUN",
    "SQ": "SQ SQR SQRE SQU SQUARE",
    "ST": "ST STR STREET STRT",
    "TER": "TER TERR TERRACE",
    "TRL": "TRAIL TRAILS TRL TRLS",
    "VW": "VIEW VW",
    "WALK": "WALK WALKS",
    "WAY": "WAY WY",
}
SUFFIXES = {spelling: abbr for abbr, spellings in _SUFFIX_SPELLINGS.items() for spelling in spellings.split()}

UNIT_DESIGNATORS = {
    "APT": "APT",
    "APARTMENT": "APT",
    "UNIT": "UNIT",
    "STE": "STE",
    "SUITE": "STE",
    "RM": "RM",
    "ROOM": "RM",
    "FL": "FL",
    "FLOOR": "FL",
    "BLDG": "BLDG",
    "BUILDING": "BLDG",
    "SPC": "SPC",
    "SPACE": "SPC",
    "LOT": "LOT",
    "TRLR": "TRLR",
    "DEPT": "DEPT",
}

_ORDINAL_WORDS = {
    "FIRST": 1,
    "SECOND": 2,
    "THIRD": 3,
    "FOURTH": 4,
    "FIFTH": 5,
    "SIXTH": 6,
    "SEVENTH": 7,
    "EIGHTH": 8,
    "NINTH": 9,
    "TENTH": 10,
    "ELEVENTH": 11,
    "TWELFTH": 12,
    "THIRTEENTH": 13,
    "FOURTEENTH": 14,
    "FIFTEENTH": 15,
    "SIXTEENTH": 16,
    "SEVENTEENTH": 17,
    "EIGHTEENTH": 18,
    "NINETEENTH": 19,
    "TWENTIETH": 20,
    "THIRTIETH": 30,
    "FORTIETH": 40,
    "FIFTIETH": 50,
    "SIXTIETH": 60,
    "SEVENTIETH": 70,
    "EIGHTIETH": 80,
    "NINETIETH": 90,
}
_TENS_WORDS = {
    "TWENTY": 20,
    "THIRTY": 30,
    "FORTY": 40,
    "FIFTY": 50,
    "SIXTY": 60,
    "SEVENTY": 70,
    "EIGHTY": 80,
    "NINETY": 90,
}

_HOUSE_NUMBER = re.compile(r"^(\d{1,7})(?:-(\d{1,7}|[A-Z])|([A-Z])|\s+(1/2))?(?=\s|$)")
_UNIT = re.compile(
    r"(?:\b("
    + "|".join(sorted(UNIT_DESIGNATORS, key=len, reverse=True))
    + r")\s+|#\s*)([A-Z0-9][A-Z0-9-]*)\b"
)
_ZIP = re.compile(r"^(\d{5})(?:-\d{4})?$")
_INTERSECTION_PREFIX = re.compile(r"^(?:(?:AT|ON|NEAR)\s+)?(?:THE\s+)?(?:CORNER|INTERSECTION)\s+OF\s+")
_INTERSECTION_SPLIT = re.compile(r"\s*(?:&|@|\bAND\b|\bAT\b|(?<!\d)/(?!\d))\s*")
_LANDMARK_PREFIX = re.compile(
    r"^(?:NEAR|BY|NEXT\s+TO|IN\s+FRONT\s+OF|OUTSIDE(?:\s+OF)?|BEHIND|ACROSS(?:\s+THE\s+STREET)?\s+FROM|"
    r"OPPOSITE|BESIDE|AROUND|AT)\s+"
)
_STATES = frozenset(
    re.findall(
        r"[A-Z]{2}",
        """
    AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH
    OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR""",
    )
)


@dataclass(frozen=True)
class StreetRef:
    """A street as the gazetteer keys it: `name` without direction or suffix ("BELLEVUE", "71ST", "AVENUE 64")."""

    name: str
    predir: str = ""
    suffix: str = ""
    postdir: str = ""

    def label(self) -> str:
        return " ".join(p for p in (self.predir, self.name, self.suffix, self.postdir) if p)


@dataclass(frozen=True)
class AddressQuery:
    house_number: int
    house_number_text: str  # as written, normalised: "123", "123A", "12-14", "8731 1/2"
    street: StreetRef
    unit: str = ""
    postcode: str = ""

    def key(self) -> str:
        """What identifies the address for matching: number and street (the unit and zip only refine)."""
        return f"{self.house_number_text} {self.street.label()}"

    def format(self) -> str:
        return with_postcode(" ".join(p for p in (self.key(), self.unit) if p), self.postcode)


def with_postcode(line: str, postcode: str) -> str:
    """An address line as written, the postcode after a comma when there is one."""
    return f"{line}, {postcode}" if postcode else line


@dataclass(frozen=True)
class StreetQuery:
    """A street with no house number ("Bellevue Ave"); `text` is also tried as a landmark name."""

    street: StreetRef
    text: str
    postcode: str = ""

    def format(self) -> str:
        return with_postcode(self.street.label(), self.postcode)


@dataclass(frozen=True)
class IntersectionQuery:
    first: StreetRef
    second: StreetRef
    postcode: str = ""

    def format(self) -> str:
        return with_postcode(f"{self.first.label()} & {self.second.label()}", self.postcode)


@dataclass(frozen=True)
class LandmarkQuery:
    name: str  # cleaned, without "near"/"the": "LINCOLN ELEMENTARY", "LIBRARY"

    def format(self) -> str:
        return self.name


Query = AddressQuery | StreetQuery | IntersectionQuery | LandmarkQuery


def clean(text: str) -> str:
    """Upper case ASCII, '½' -> ' 1/2', punctuation that carries no meaning dropped, spaces collapsed."""
    text = text.replace("½", " 1/2")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    text = re.sub(r"['`.]", "", text)  # O'Melveny -> OMELVENY, St. -> ST
    text = re.sub(r"[^A-Z0-9&@#/,\- ]+", " ", text)
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s*,\s*", ", ", text)
    return re.sub(r"\s+", " ", text).strip(" ,-/")


def normalise_direction(token: str) -> str:
    return DIRECTIONS.get(clean(token), "")


def normalise_suffix(token: str) -> str:
    token = clean(token)
    return SUFFIXES.get(token, token)


def normalise_street_name(name: str) -> str:
    """The name part alone: ordinals as numbers ("THIRD" -> "3RD"), SAINT -> ST, hyphens as spaces."""
    tokens = clean(name).replace("-", " ").replace(",", " ").split()
    return " ".join(_name_tokens(tokens))


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}TH"
    return str(n) + {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH")


def _name_tokens(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if tok in _TENS_WORDS and _ORDINAL_WORDS.get(nxt, 99) < 10:  # TWENTY FIRST -> 21ST
            out.append(_ordinal(_TENS_WORDS[tok] + _ORDINAL_WORDS[nxt]))
            i += 2
            continue
        if tok in _ORDINAL_WORDS:
            out.append(_ordinal(_ORDINAL_WORDS[tok]))
        elif m := re.fullmatch(r"(\d+)(ST|ND|RD|TH|D)", tok):
            out.append(_ordinal(int(m.group(1))))  # 3D, 3RD and 3TH all mean 3RD
        elif tok == "SAINT" and nxt:
            out.append("ST")
        else:
            out.append(tok)
        i += 1
    return out


def parse_street(text: str) -> StreetRef | None:
    """'W Bellevue Avenue' -> StreetRef('BELLEVUE', 'W', 'AVE'). The last token is a suffix or a post-direction
    only when a name remains; a first-token direction is a pre-direction only when a name remains too."""
    tokens = clean(text).replace(",", " ").replace("-", " ").split()
    # Word ordinals join their tens before the suffix/direction split sees them.
    tokens = _name_tokens(tokens)
    if not tokens:
        return None
    predir = suffix = postdir = ""
    if len(tokens) >= 3 and tokens[-1] in DIRECTIONS and tokens[-2] in SUFFIXES:
        postdir, tokens = DIRECTIONS[tokens[-1]], tokens[:-1]
    if len(tokens) >= 2 and tokens[0] in DIRECTIONS and not _only_suffix(tokens[1:]):
        predir, tokens = DIRECTIONS[tokens[0]], tokens[1:]
    if len(tokens) >= 2 and tokens[-1] in SUFFIXES:
        suffix, tokens = SUFFIXES[tokens[-1]], tokens[:-1]
    name = " ".join(tokens)
    return StreetRef(name=name, predir=predir, suffix=suffix, postdir=postdir) if name else None


def _only_suffix(tokens: list[str]) -> bool:
    return len(tokens) == 1 and tokens[0] in SUFFIXES


def parse_house_number(text: str) -> tuple[int, str] | None:
    """'123A' -> (123, '123A'); '12-14' -> (12, '12-14'); '8731 1/2' -> (8731, '8731 1/2')."""
    m = _HOUSE_NUMBER.match(clean(text))
    if not m or m.end() != len(clean(text)):
        return None
    return int(m.group(1)), m.group(0)


def _split_line(text: str) -> tuple[str, str, str]:
    """(street line, unit, postcode): the first comma part is the street line; zip, unit, city and state follow
    it, or trail the line when there are no commas."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        return "", "", ""
    line, rest = parts[0], parts[1:]
    postcode = unit = ""
    tokens = line.split()
    if not rest:
        # "123 MAIN ST LOS ANGELES CA 90026": a trailing zip (and state before it) come off the line.
        if len(tokens) >= 3 and _ZIP.match(tokens[-1]):
            postcode = _ZIP.match(tokens[-1]).group(1)  # type: ignore[union-attr]
            tokens = tokens[:-1]
            if len(tokens) >= 3 and tokens[-1] in _STATES:
                tokens = tokens[:-1]
        line = " ".join(tokens)
    for part in rest:
        for token in part.split():
            if m := _ZIP.match(token):
                postcode = m.group(1)
        if not unit and (m := _UNIT.search(part)) and m.start() == 0:
            unit = _format_unit(m)
    if (m := _UNIT.search(line)) and m.start() > 0:  # a leading "#" is not a unit
        unit = unit or _format_unit(m)
        line = (line[: m.start()] + line[m.end() :]).strip()
    return line, unit, postcode


def _format_unit(m: re.Match[str]) -> str:
    designator = UNIT_DESIGNATORS.get(m.group(1) or "", "#")
    return f"{designator} {m.group(2)}"


def parse_address(text: str) -> AddressQuery | None:
    """A house-numbered address, or None when `text` does not start with a house number and a street."""
    line, unit, postcode = _split_line(clean(text))
    m = _HOUSE_NUMBER.match(line)
    if not m:
        return None
    street = parse_street(line[m.end() :])
    if street is None:
        return None
    number_text = m.group(0).replace("--", "-")
    return AddressQuery(int(m.group(1)), number_text, street, unit=unit, postcode=postcode)


def parse_query(text: str) -> Query | None:
    """What a resident typed, classified: an address, an intersection, a street, or a landmark."""
    cleaned = clean(text)
    if not cleaned:
        return None
    if address := parse_address(cleaned):
        return address
    line, _, postcode = _split_line(cleaned)
    near = _LANDMARK_PREFIX.match(line)
    body = line[near.end() :] if near else line
    if address := parse_address(body):
        return address
    if intersection := _parse_intersection(body, postcode):
        return intersection
    body = re.sub(r"^THE\s+", "", body)
    street = parse_street(body)
    if street is None:
        return None
    # "near X" is a landmark unless X ends in a street suffix ("near Main St"); bare text is a street (the
    # gazetteer also tries its words as a landmark name).
    if near and not street.suffix:
        return LandmarkQuery(" ".join(body.replace(",", " ").split()))
    return StreetQuery(street, text=" ".join(body.replace(",", " ").split()), postcode=postcode)


def _parse_intersection(line: str, postcode: str) -> IntersectionQuery | None:
    line = _INTERSECTION_PREFIX.sub("", line)
    parts = _INTERSECTION_SPLIT.split(line)
    if len(parts) != 2 or _HOUSE_NUMBER.match(parts[0]):
        return None
    first, second = parse_street(parts[0]), parse_street(parts[1])
    if first is None or second is None:
        return None
    return IntersectionQuery(first, second, postcode=postcode)


def normalise(text: str) -> str:
    """The normal form of a query ("2111 west bellevue avenue, 90026" -> "2111 W BELLEVUE AVE, 90026").

    Idempotent: cleaning can turn text no rule reads ("0##0%0") into text one does, so the form is taken again
    until it stands still (twice at most in practice; bounded all the same).
    """
    form = _form(text)
    for _ in range(4):
        again = _form(form)
        if again == form:
            break
        form = again
    return form


def _form(text: str) -> str:
    query = parse_query(text)
    return query.format() if query is not None else clean(text)
