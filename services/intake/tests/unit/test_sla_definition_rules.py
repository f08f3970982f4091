"""The checks an SLA definition passes before intake publishes it (pure): a time zone of the tz database, categories
the catalogue defines, nothing published when the definition in force is the same."""

import pytest
from civicloop_events.payloads.service_levels import SlaDefined
from civicloop_intake.domain.sla_definitions import (
    SlaDefinitionRejected,
    SlaProblem,
    decide_definition,
    known_time_zone,
)
from civicloop_intake.service_layer.sla_seed import demo_sla


def definition(time_zone: str = "America/Chicago", codes: tuple[str, ...] = ("pothole",)) -> SlaDefined:
    return SlaDefined.model_validate(
        {
            "time_zone": time_zone,
            "opening_hours": [{"day": "monday", "opens": "08:00", "closes": "17:00"}],
            "categories": [
                {"service_code": c, "acknowledge_within_minutes": 60, "resolve_within_minutes": 600}
                for c in codes
            ],
        }
    )


def refused(d: SlaDefined, *, known: set[str], current: SlaDefined | None = None) -> SlaDefinitionRejected:
    with pytest.raises(SlaDefinitionRejected) as caught:
        decide_definition(d, current=current, known_codes=known)
    return caught.value


def test_a_definition_of_known_categories_in_a_real_zone_is_published():
    d = definition(codes=("pothole", "graffiti"))
    assert decide_definition(d, current=None, known_codes={"pothole", "graffiti", "other"}) == d


def test_a_zone_the_tz_database_does_not_have_is_refused():
    # Each of these has the contract's shape of a zone name; none is a zone.
    for name in ("America/Springfield", "Mars/Olympus_Mons", "Chicago"):
        assert not known_time_zone(name)
        assert refused(definition(time_zone=name), known={"pothole"}).problem is SlaProblem.unknown_time_zone
    assert known_time_zone("UTC") and known_time_zone("Europe/Paris")


def test_categories_the_catalogue_does_not_define_are_named_in_the_refusal():
    rejection = refused(definition(codes=("pothole", "zeppelin", "kraken")), known={"pothole"})
    assert rejection.problem is SlaProblem.unknown_category
    assert "kraken, zeppelin" in str(rejection)


def test_the_definition_in_force_is_not_published_again_and_a_change_is():
    d = definition()
    assert decide_definition(d, current=d, known_codes={"pothole"}) is None
    other = definition(time_zone="America/New_York")
    assert decide_definition(other, current=d, known_codes={"pothole"}) == other


def test_the_demo_definition_passes_its_own_checks_with_the_categories_the_catalogue_has():
    d = demo_sla({"graffiti", "pothole"})
    assert [c.service_code for c in d.categories] == ["graffiti", "pothole"]
    assert decide_definition(d, current=None, known_codes={"graffiti", "pothole"}) == d
    assert d.default is not None and len(d.holidays) == 20
