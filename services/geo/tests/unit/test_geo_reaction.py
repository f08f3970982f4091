"""geo's reactions carry the cause's request and an id derived from the cause, so a replay publishes the same."""

from civicloop_events import Actor, ActorKind, Event, Location, ServiceRequestSubmitted, derived_event_id
from civicloop_events.payloads import LocationUnresolved, UnresolvedReason
from civicloop_geo.service_layer.handlers import GEO_ACTOR, GEO_SOURCE, reaction


def _cause() -> Event[ServiceRequestSubmitted]:
    return Event.create(
        ServiceRequestSubmitted(service_code="pothole", location=Location(address_string="1 Main St")),
        request_id="0000-0042",
        jurisdiction_id="springfield",
        actor=Actor(kind=ActorKind.resident),
        source="web",
    )


def test_a_reaction_is_about_the_cause_s_request_and_caused_by_it() -> None:
    cause = _cause()
    event = reaction(LocationUnresolved(reason=UnresolvedReason.address_not_found), cause, kind="location")
    assert (event.request_id, event.jurisdiction_id) == ("0000-0042", "springfield")
    assert (event.actor, event.source) == (GEO_ACTOR, GEO_SOURCE)
    assert event.causation_id == cause.event_id
    assert event.correlation_id == cause.correlation_id


def test_its_id_derives_from_the_cause_and_the_kind_so_a_replay_gives_the_same() -> None:
    cause = _cause()
    unresolved = LocationUnresolved(reason=UnresolvedReason.low_confidence)
    first = reaction(unresolved, cause, kind="location")
    assert first.event_id == derived_event_id("location", cause.event_id)
    assert reaction(unresolved, cause, kind="location").event_id == first.event_id
    assert reaction(unresolved, cause, kind="duplicates").event_id != first.event_id
