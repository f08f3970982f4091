"""The consumer handlers over the in-memory twins of the stores."""

from __future__ import annotations

from uuid import uuid4

import pytest
from civicloop_events import (
    CommentAdded,
    Event,
    Location,
    ServiceAreaDefined,
    ServiceDefined,
    ServiceRequestSubmitted,
    StatusChanged,
)
from civicloop_projections.domain.catalogue import InvalidAreaGeometry
from civicloop_projections.service_layer.fakes import InMemoryAgentViewStore, InMemoryCatalogueStore
from civicloop_projections.service_layer.handlers import (
    when_jurisdiction_config_changes_update_catalogue,
    when_request_event_update_agent_view,
)
from civicloop_testing.events import agent_event, config_event


def request_event(payload, number="ABCD-1234") -> Event:
    return agent_event(payload, request_id=number, agent="a1")


SUBMITTED = ServiceRequestSubmitted(service_code="pothole", location=Location(address_string="City Hall"))


async def test_every_event_of_a_known_request_is_in_its_history_and_its_row():
    store = InMemoryAgentViewStore()
    events = [
        request_event(SUBMITTED),
        request_event(StatusChanged(status="closed")),
        request_event(CommentAdded(text="done")),
    ]
    for e in events:
        await when_request_event_update_agent_view(store, e)
    assert [h.event_id for h in store.history] == [e.event_id for e in events]
    row = store.rows["ABCD-1234"]
    assert (row.status, row.event_count, row.last_event_id) == ("closed", 3, events[-1].event_id)


async def test_an_event_of_an_unknown_request_goes_to_history_only():
    store = InMemoryAgentViewStore()
    orphan = request_event(StatusChanged(status="closed"), number="ZZZZ-0000")
    await when_request_event_update_agent_view(store, orphan)
    assert store.rows == {}
    assert [h.event_id for h in store.history] == [orphan.event_id]


async def test_an_event_without_a_request_is_not_an_agent_view_concern():
    store = InMemoryAgentViewStore()
    await when_request_event_update_agent_view(
        store, config_event(ServiceDefined(service_code="x", service_name="X"))
    )
    assert store.rows == {} and store.history == []


async def test_catalogue_events_define_services_and_versioned_areas():
    store = InMemoryCatalogueStore()
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    await when_jurisdiction_config_changes_update_catalogue(
        store, config_event(ServiceDefined(service_code="pothole", service_name="Pothole"))
    )
    for _ in range(2):
        await when_jurisdiction_config_changes_update_catalogue(
            store, config_event(ServiceAreaDefined(area_id="d1", name="D1", kind="ward", geometry=square))
        )
    assert store.services == {("demo", "pothole"): "Pothole"}
    assert len(store.area_versions[("demo", "d1")]) == 2


async def test_a_point_is_rejected_as_an_area_before_anything_is_written():
    store = InMemoryCatalogueStore()
    point = config_event(
        ServiceAreaDefined(
            area_id=f"a-{uuid4().hex[:4]}",
            name="P",
            kind="ward",
            geometry={"type": "Point", "coordinates": [0, 0]},
        )
    )
    with pytest.raises(InvalidAreaGeometry):
        await when_jurisdiction_config_changes_update_catalogue(store, point)
    assert store.area_versions == {}
