"""`jurisdiction.sla.defined`: the rules the contract itself holds, so a bad definition never reaches the log."""

from __future__ import annotations

import pytest
from civicloop_events.payloads import CategorySla, OpeningHours, SlaDefined, Weekday
from pydantic import ValidationError

WEEKDAYS = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]


def nine_to_five() -> list[OpeningHours]:
    return [OpeningHours(day=d, opens="09:00", closes="17:00") for d in WEEKDAYS]


def test_a_day_may_run_to_midnight_and_hold_several_spans():
    spans = [
        OpeningHours(day=Weekday.saturday, opens="00:00", closes="06:00"),
        OpeningHours(day=Weekday.saturday, opens="18:00", closes="24:00"),
    ]
    definition = SlaDefined(time_zone="Europe/Paris", opening_hours=spans)
    assert [s.closes for s in definition.opening_hours] == ["06:00", "24:00"]


@pytest.mark.parametrize(("opens", "closes"), [("17:00", "09:00"), ("09:00", "09:00"), ("24:00", "24:00")])
def test_a_span_closes_after_it_opens(opens: str, closes: str):
    with pytest.raises(ValidationError, match="closes must be after opens"):
        OpeningHours(day=Weekday.monday, opens=opens, closes=closes)


@pytest.mark.parametrize("wall_time", ["9:00", "25:00", "12:60", "24:01", "noon"])
def test_a_wall_time_is_hh_mm(wall_time: str):
    with pytest.raises(ValidationError):
        OpeningHours(day=Weekday.monday, opens=wall_time, closes="24:00")


def test_spans_of_one_day_may_not_overlap():
    overlapping = [*nine_to_five(), OpeningHours(day=Weekday.monday, opens="16:00", closes="20:00")]
    with pytest.raises(ValidationError, match="overlap on monday"):
        SlaDefined(time_zone="UTC", opening_hours=overlapping)
    touching = [*nine_to_five(), OpeningHours(day=Weekday.monday, opens="17:00", closes="20:00")]
    assert len(SlaDefined(time_zone="UTC", opening_hours=touching).opening_hours) == 6


def test_a_category_has_one_entry():
    pothole = CategorySla(service_code="pothole", resolve_within_minutes=600)
    with pytest.raises(ValidationError, match="more than one category entry"):
        SlaDefined(time_zone="UTC", opening_hours=nine_to_five(), categories=[pothole, pothole])


def test_a_week_without_hours_is_refused():
    with pytest.raises(ValidationError):
        SlaDefined(time_zone="UTC", opening_hours=[])
