"""Reading an Open311 POST body (PR-01, PR-04, G-50) and fingerprinting it for retries (PR-11)."""

from __future__ import annotations

from functools import partial

from civicloop_open311.forms import OpenForm, attribute_code, body_digest

PEPPER = b"unit-test-pepper-0123456789"


def test_pr04_attribute_key_forms() -> None:
    """PR-04: `attribute[CODE]` and `attribute[CODE][]` both name CODE; codes may hold spaces and punctuation."""
    assert attribute_code("attribute[WHISPAWN]") == "WHISPAWN"
    assert attribute_code("attribute[HAZARDS][]") == "HAZARDS"
    assert attribute_code("attribute[What is this?]") == "What is this?"
    assert attribute_code("attribute[]") is None
    assert attribute_code("attributes[X]") is None
    assert attribute_code("description") is None


def test_pr04_multivaluelist_spec_style_with_brackets() -> None:
    """PR-04: the spec's `attribute[c][]=a&attribute[c][]=b`."""
    form = OpenForm.parse([("attribute[HAZARDS][]", "wires"), ("attribute[HAZARDS][]", "glass")])
    assert form.attributes == {"HAZARDS": ["wires", "glass"]}


def test_pr04_multivaluelist_fixmystreet_style_repeated_key() -> None:
    """PR-04: FixMyStreet's repeated `attribute[c]=a&attribute[c]=b`."""
    form = OpenForm.parse([("attribute[HAZARDS]", "wires"), ("attribute[HAZARDS]", "glass")])
    assert form.attributes == {"HAZARDS": ["wires", "glass"]}


def test_pr04_multivaluelist_single_value_style() -> None:
    """PR-04: a single `attribute[c]=a` is a list of one."""
    form = OpenForm.parse([("attribute[HAZARDS]", "wires"), ("attribute[POLE]", "SL-1")])
    assert form.attributes == {"HAZARDS": ["wires"], "POLE": ["SL-1"]}


def test_g50_empty_values_are_absent() -> None:
    """G-50: `param=` is the same as no param; FixMyStreet sends `attribute[x]=` for unanswered lists."""
    form = OpenForm.parse([("lat", ""), ("attribute[X]", ""), ("description", "  "), ("long", " -1.5 ")])
    assert form.get("lat") is None
    assert form.attributes == {}
    assert form.get("description") is None
    assert form.get("long") == "-1.5"


def test_pr07_media_url_repeats_in_order() -> None:
    """PR-07: FixMyStreet repeats `media_url`, one per photo; the order is kept."""
    form = OpenForm.parse([("media_url", "http://x/2.jpg"), ("media_url", "http://x/1.jpg ")])
    assert form.all("media_url") == ["http://x/2.jpg", "http://x/1.jpg"]


def test_single_valued_field_keeps_first_value() -> None:
    form = OpenForm.parse([("service_code", "A"), ("service_code", "B")])
    assert form.get("service_code") == "A"


def test_pr11_canonical_body_ignores_encoding_differences() -> None:
    """PR-11: attribute style, parameter order, value order of a list and the api_key do not make a new body."""
    a = OpenForm.parse(
        [
            ("api_key", "k1"),
            ("service_code", "S"),
            ("attribute[H][]", "a"),
            ("attribute[H][]", "b"),
            ("lat", "1"),
            ("long", "2"),
        ]
    )
    b = OpenForm.parse(
        [
            ("long", "2"),
            ("attribute[H]", "b"),
            ("lat", "1"),
            ("attribute[H]", "a"),
            ("service_code", "S"),
            ("api_key", "k2"),
        ]
    )
    assert a.canonical() == b.canonical()
    c = OpenForm.parse([("service_code", "S"), ("attribute[H]", "a"), ("lat", "1"), ("long", "2")])
    assert c.canonical() != a.canonical()


def test_pr11_digest_is_keyed_and_scoped_to_partner_and_jurisdiction() -> None:
    """PR-11: the digest depends on the pepper (bodies carry contact details), the partner and the jurisdiction."""
    form = OpenForm.parse([("service_code", "S"), ("email", "someone@example.org")])
    base = body_digest(form, jurisdiction_id="j", client_id="c", key=PEPPER)
    assert len(base) == 64 and all(ch in "0123456789abcdef" for ch in base)
    assert base == body_digest(form, jurisdiction_id="j", client_id="c", key=PEPPER)
    assert base != body_digest(form, jurisdiction_id="j", client_id="c", key=b"another-pepper-0123456789")
    assert base != body_digest(form, jurisdiction_id="j", client_id="other", key=PEPPER)
    assert base != body_digest(form, jurisdiction_id="k", client_id="c", key=PEPPER)
    assert "someone" not in base


def test_g10_characters_xml_cannot_carry_are_removed() -> None:
    """G-10, G-20: NUL, other C0 controls and U+FFFE are dropped from every value; tabs and line breaks stay."""
    form = OpenForm.parse(
        [
            ("description", "before\x00\x0b\x1b[31m\ufffeafter\tline\r\nnext"),
            ("attribute[A]", "\x00"),
            ("address_string", "1 Main St\x07"),
        ]
    )
    assert form.get("description") == "before[31mafter\tline\r\nnext"
    assert form.attributes == {}
    assert form.get("address_string") == "1 Main St"


def test_form_repr_never_shows_values() -> None:
    form = OpenForm.parse([("email", "someone@example.org"), ("attribute[A]", "x"), ("service_code", "S")])
    assert "someone" not in repr(form) and "someone" not in str(form)
    assert "email" in repr(form)


def test_pr11_an_idempotency_key_is_part_of_the_digest() -> None:
    form = OpenForm.parse([("service_code", "POT"), ("description", "Hole")])
    digest = partial(body_digest, form, jurisdiction_id="city.gov", client_id="app", key=b"pepper")
    assert digest() != digest(idempotency_key="k-1") != digest(idempotency_key="k-2")
    assert digest(idempotency_key="k-1") == digest(idempotency_key="k-1")


def test_pr11_what_names_a_sender_and_what_is_a_partner_s_report_id() -> None:
    anonymous = OpenForm.parse([("description", "Hole"), ("attribute[DEPTH]", "3")])
    assert not anonymous.names_its_sender() and not anonymous.carries_report_id()
    assert OpenForm.parse([("device_id", "d-1")]).names_its_sender()
    assert OpenForm.parse([("email", "   ")]).names_its_sender() is False  # empty is absent (G-50)
    assert OpenForm.parse([("attribute[fixmystreet_id]", "4711")]).carries_report_id()
    # What another CivicLoop's outbound sends: its request number marked in the description.
    assert OpenForm.parse([("description", "Hole\n\n[CivicLoop 7K2M-9QRT]")]).carries_report_id()
    assert not OpenForm.parse([("description", "Hole [CivicLoop maybe]")]).carries_report_id()
