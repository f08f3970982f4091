"""QR codes' limits, report links and posters: pure rules, no IO."""

import re
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from civicloop_intake.adapters.poster_pdf import poster_pdf
from civicloop_intake.domain.commands import IntakeSource, SubmitServiceRequest
from civicloop_intake.domain.link_sources import report_link_fields
from civicloop_intake.domain.posters import PosterKind, PosterSpec, poster_svg, report_link
from civicloop_intake.domain.qr_codes import (
    QR_DATA_MAX,
    QrRefused,
    checked,
    qr_link,
    qr_modules,
    qr_svg,
    tracking_page_link,
)
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

BASE = "https://report.example.gov"


@pytest.mark.parametrize(
    "data",
    [
        "Pothole hotline: call 311",
        f"{BASE}/report?source=poster-d3",
        f"{BASE}/track?number=7K3D-Q9XA",
        "HTTPS://REPORT.EXAMPLE.GOV/report",  # scheme and host are case-insensitive
        "x" * QR_DATA_MAX,
    ],
)
def test_text_and_links_to_the_own_site_make_a_code(data):
    assert checked(data, 256, own_base=BASE).data == data


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("", "empty"),
        ("x" * (QR_DATA_MAX + 1), "longer"),
        ("https://evil.example.com/report", "own site"),
        ("https://report.example.gov.evil.com/", "own site"),
        ("http://report.example.gov/report", "own site"),  # another scheme is another origin
        ("https://user:pw@report.example.gov/", "credentials"),
        ("javascript:alert(1)", "http"),
        ("tel:+12025550100", "http"),
        ("data:text/html,<b>hi</b>", "http"),
        ("line\x00break", "control"),
    ],
)
def test_what_a_code_may_not_hold(data, why):
    with pytest.raises(QrRefused, match=why):
        checked(data, 256, own_base=BASE)


def test_a_base_with_a_path_allows_only_links_under_it():
    base = "https://county.example.gov/311"
    assert checked(f"{base}/report", 256, own_base=base)
    with pytest.raises(QrRefused):
        checked("https://county.example.gov/3110/other", 256, own_base=base)


@pytest.mark.parametrize("size", [63, 1025, 0, -5])
def test_sizes_out_of_range_are_refused(size):
    with pytest.raises(QrRefused, match="size"):
        checked("hello", size, own_base=BASE)


def test_a_refusal_never_repeats_the_data():
    with pytest.raises(QrRefused) as refused:
        checked("https://phish.example.com/ana@example.org", 256, own_base=BASE)
    assert "phish" not in str(refused.value) and "ana@" not in str(refused.value)


@given(st.text(min_size=1, max_size=200).filter(lambda t: not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", t)))
def test_any_text_without_control_characters_is_encoded_exactly(text):
    try:
        wanted = checked(text, 128, own_base=BASE)
    except QrRefused:
        assert any((ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) < 0xA0 for ch in text)
        return
    # What the SVG draws is what segno encodes for the same data: the modules, module for module.
    assert qr_modules(wanted.data) == [
        [bool(m) for m in row] for row in segno.make(text, error="m", micro=False).matrix_iter(border=4)
    ]


def test_the_svg_is_the_size_asked_with_a_viewbox_in_modules():
    svg = qr_svg(checked("hello", 300, own_base=BASE), title="QR <code>")
    assert svg.startswith('<svg width="300" height="300" role="img" ')
    side = len(qr_modules("hello"))
    assert f'viewBox="0 0 {side} {side}"' in svg
    assert "<title>QR &lt;code&gt;</title>" in svg


def test_the_tracking_link_and_its_code_link():
    page = tracking_page_link(BASE + "/", "7K3D-Q9XA")
    assert page == f"{BASE}/track?number=7K3D-Q9XA"
    query = parse_qs(urlsplit(qr_link(page, 200)).query)
    assert query == {"data": [page], "size": ["200"]}


# -- report links ---------------------------------------------------------------------------------------------------

SPOT = PosterSpec(poster_id="d3", title="Elm Park", address="100 block of Elm St", lat=38.9, lng=-77.01)


def test_a_spot_posters_link_names_the_place_and_the_source():
    link = report_link(BASE, SPOT)
    assert link.startswith(f"{BASE}/report?")
    assert parse_qs(urlsplit(link).query) == {
        "address": ["100 block of Elm St"],
        "lat": ["38.900000"],
        "lng": ["-77.010000"],
        "source": ["poster-d3"],
    }
    fields = report_link_fields(link)
    assert (fields.address_string, fields.lat, fields.long, fields.source) == (
        "100 block of Elm St",
        38.9,
        -77.01,
        "poster-d3",
    )


def test_a_kiosk_poster_names_only_its_source():
    kiosk = PosterSpec(poster_id="library-kiosk", kind=PosterKind.kiosk, title="Central Library")
    assert parse_qs(urlsplit(report_link(BASE, kiosk)).query) == {"source": ["poster-library-kiosk"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lat=91&lng=0&source=poster-d3", (None, None, None, "poster-d3")),  # out of range: no point
        ("lat=38.9&source=poster-d3", (None, None, None, "poster-d3")),  # half a point is none
        ("lat=nan&lng=1", (None, None, None, None)),
        ("source=Poster%20D3!", (None, None, None, None)),  # not a slug
        ("address=" + "a" * 501, (None, None, None, None)),
        ("address=1+Main+St&lat=1&lng=2", ("1 Main St", 1.0, 2.0, None)),
    ],
)
def test_a_tampered_link_prefills_only_what_is_usable(query, expected):
    f = report_link_fields(f"{BASE}/report?{query}")
    assert (f.address_string, f.lat, f.long, f.source) == expected


@pytest.mark.parametrize("poster_id", ["D3", "-d3", "d3-", "d 3", "x" * 33, ""])
def test_a_poster_id_is_a_short_slug(poster_id):
    with pytest.raises(ValidationError):
        PosterSpec(poster_id=poster_id, title="t")


@given(st.from_regex(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$", fullmatch=True))
def test_every_posters_source_is_accepted_as_a_submissions_link_source(poster_id):
    spec = PosterSpec(poster_id=poster_id, title="t")
    body = SubmitServiceRequest.model_validate(
        {"service_code": "pothole", "description": "hole", "source": spec.source}
    )
    assert (body.source, body.link_source) == (IntakeSource.web, spec.source)


def test_a_submission_takes_a_report_links_own_names():
    body = SubmitServiceRequest.model_validate(
        {"service_code": "pothole", "description": "hole", "address": "1 Main St", "lat": 1, "lng": 2}
    )
    assert (body.address_string, body.lat, body.long, body.link_source) == ("1 Main St", 1, 2, None)


def test_a_channel_word_stays_the_channel():
    body = SubmitServiceRequest.model_validate({"service_code": "p", "description": "d", "source": "sms"})
    assert (body.source, body.link_source) == (IntakeSource.sms, None)


# -- posters --------------------------------------------------------------------------------------------------------


def test_the_svg_poster_draws_the_code_of_its_link_and_escapes_its_text():
    spec = SPOT.model_copy(update={"title": "Elm <Park> & Pond"})
    link = report_link(BASE, spec)
    svg = poster_svg(spec, link)
    dark = sum(m for row in qr_modules(link) for m in row)
    assert svg.count("<rect x=") == dark
    assert "Elm &lt;Park&gt; &amp; Pond" in svg and "<Park>" not in svg
    assert "Repórtelo" in svg


def test_the_pdf_poster_is_one_page_with_its_title_and_text():
    pdf = poster_pdf(SPOT.model_copy(update={"title": "Elm Park — Pond"}), report_link(BASE, SPOT))
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/Count 1\n" in pdf
    assert (
        b"(Elm Park - Pond: scan to report a problem)" in pdf
    )  # a core font shows Latin-1: the dash is plain
    streams = re.findall(rb"stream\n(.*?)\nendstream", pdf, re.S)
    page = b"".join(zlib.decompress(s) if s[:1] == b"x" else s for s in streams)
    assert b"(1. Scan the code with your phone's camera.)" in page or b"Scan the code" in page
    dark_runs = sum(
        1
        for row in qr_modules(report_link(BASE, SPOT))
        for i, m in enumerate(row)
        if m and (i == 0 or not row[i - 1])
    )
    assert (
        page.count(b" re f") == dark_runs
    )  # the code drawn as vector rectangles, one per run of dark modules
