"""W3C dates out (G-40) and in (G-41), and the format from the path suffix (G-01, G-03, G-05, G-11)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from civicloop_open311.dates import W3C_OUTPUT, InvalidDate, format_w3c, parse_w3c
from civicloop_open311.errors import Open311Error
from civicloop_open311.formats import (
    JSON_CONTENT_TYPE,
    XML_CONTENT_TYPE,
    Format,
    UnknownFormat,
    format_of_path,
    split_resource,
)
from civicloop_open311.http import requested_format


def test_G_40_output_has_seconds_and_a_zone():
    text = format_w3c(datetime(2024, 5, 1, 12, 30, 5, 999999, tzinfo=timezone(timedelta(hours=2))))
    assert text == "2024-05-01T10:30:05Z"
    assert W3C_OUTPUT.match(text)


def test_G_40_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="must carry a timezone"):
        format_w3c(datetime(2024, 5, 1))


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("2010-01-01T00:00:00Z", datetime(2010, 1, 1, tzinfo=UTC)),
        ("1994-11-05T08:15:30-05:00", datetime(1994, 11, 5, 13, 15, 30, tzinfo=UTC)),
        ("2010-01-01T00:00:00 01:00", datetime(2009, 12, 31, 23, tzinfo=UTC)),  # '+' decoded to a space
        ("2010-01-01T00:00:00+0100", datetime(2009, 12, 31, 23, tzinfo=UTC)),
        ("2012-09-18T15:37-05", datetime(2012, 9, 18, 20, 37, tzinfo=UTC)),
        ("2018-09-06T19:51:48.000Z", datetime(2018, 9, 6, 19, 51, 48, tzinfo=UTC)),
        ("2011-02-03 14:18", datetime(2011, 2, 3, 14, 18, tzinfo=UTC)),
        ("2016-01-12", datetime(2016, 1, 12, tzinfo=UTC)),
        ("2016-01", datetime(2016, 1, 1, tzinfo=UTC)),
        ("2016", datetime(2016, 1, 1, tzinfo=UTC)),
    ],
)
def test_G_41_lenient_w3c_input(text, start):
    assert parse_w3c(text).start == start


def test_G_41_reduced_precision_covers_its_whole_period():
    day = parse_w3c("2024-02-29")
    assert day.end_exclusive - day.start == timedelta(days=1)
    assert day.last == datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    assert parse_w3c("2024-12").end_exclusive == datetime(2025, 1, 1, tzinfo=UTC)
    assert parse_w3c("2024-05-01T10:00:00Z").end_exclusive - parse_w3c(
        "2024-05-01T10:00:00Z"
    ).start == timedelta(seconds=1)


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2010-02-30",
        "2010-13-01",
        "10/01/2010",
        "2010-01-01T25:00:00Z",
        "2010-01-01T00:00:00+25:00",
        "",
    ],
)
def test_G_41_unparsable_dates_are_refused(text):
    with pytest.raises(InvalidDate):
        parse_w3c(text)


def test_G_11_content_types_are_the_spec_ones():
    assert Format.xml.content_type == XML_CONTENT_TYPE == "text/xml; charset=utf-8"
    assert Format.json.content_type == JSON_CONTENT_TYPE == "application/json; charset=utf-8"
    assert (Format.xml.media_type, Format.json.media_type) == ("text/xml", "application/json")


def test_G_03_the_suffix_is_split_on_the_last_dot():
    assert split_resource("graffiti.removal.json") == ("graffiti.removal", Format.json)
    assert split_resource("SRQ-0123-4567.xml") == ("SRQ-0123-4567", Format.xml)


@pytest.mark.parametrize("name", ["services.csv", "services", "services.XML", ".xml", "services.json5"])
def test_G_05_unknown_suffixes_are_refused(name):
    with pytest.raises(UnknownFormat):
        split_resource(name)


def test_G_05_errors_follow_the_path_format_and_fall_back_to_none():
    assert format_of_path("/open311/v2/requests/ABCD-1234.json") is Format.json
    assert format_of_path("/open311/v2/services.xml") is Format.xml
    assert format_of_path("/open311/v2/services.csv") is None
    assert format_of_path("/open311/v2/nowhere") is None


def test_G_05_a_route_suffix_is_a_format_or_an_open311_404():
    assert requested_format("json") is Format.json
    with pytest.raises(Open311Error) as refused:
        requested_format("JSON")
    assert refused.value.status == 404
    assert refused.value.errors[0].code == 404
    assert "we support .xml and .json" in refused.value.errors[0].description
