"""What a back-end says, served by Open311 (SR-03, SR-07, SR-10, FX-01): an imported request's agency, a later one
named by a back-end update, and a note-only update (a public comment) as the request's status_notes and as an
update. Events on the real broker, folded by the gateway's own consumers into PostGIS, read through the real app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from civicloop_events import Actor, Event, Location, ServiceDefined, ServiceRequestSubmitted, StatusChanged
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import (
    BackendUpdateReceived,
    CommentAdded,
    CommentVisibility,
    ExternalReferenceAssigned,
    RequestImported,
    RequestStatus,
)
from civicloop_events.producer import EventProducer
from civicloop_events.request_numbers import new_request_number
from civicloop_open311.dates import format_w3c
from civicloop_testing import make_topics
from civicloop_testing.events import config_event
from civicloop_testing.lifecycle import started
from civicloop_testing.open311_reading import FORMATS, leaf_text, read
from read_harness import caught_up, migrate, running_app, settings_for, unique_jurisdiction

pytestmark = pytest.mark.integration

BASE = "/open311/v2"
BACKEND = Actor(kind=ActorKind.system, id="backend:hki")
REQUESTED = datetime(2016, 5, 2, 8, 30, tzinfo=UTC)
RENAMED_AT = REQUESTED + timedelta(days=2)
NOTED_AT = REQUESTED + timedelta(days=5)
CLOSED_AT = REQUESTED + timedelta(days=1)
CLOSED_NOTE_AT = REQUESTED + timedelta(days=9)


def _on(number: str, j: str, payload: Any, at: datetime) -> Event[Any]:
    return Event.create(
        payload, request_id=number, jurisdiction_id=j, actor=BACKEND, source="backend:hki", occurred_at=at
    )


def _imported(number: str, j: str, external_id: str, agency: str | None) -> list[Event[Any]]:
    """What `open311 import` publishes for a back-end row."""
    return [
        _on(
            number,
            j,
            RequestImported(
                body_id="hki", external_id=external_id, backend_service_code="171", agency_responsible=agency
            ),
            REQUESTED,
        ),
        _on(
            number,
            j,
            ServiceRequestSubmitted(
                service_code="graffiti",
                description="Töhryjä seinässä",
                location=Location(lat=60.1699, long=24.9384),
            ),
            REQUESTED,
        ),
        _on(number, j, ExternalReferenceAssigned(body_id="hki", external_id=external_id), REQUESTED),
    ]


@pytest.fixture
def read_dsn(database_dsn: str) -> str:
    return migrate(database_dsn)


async def test_SR_07_SR_03_what_the_back_end_says_is_served(read_dsn: str, kafka_bootstrap: str):
    topics = await make_topics(kafka_bootstrap)
    settings = settings_for(read_dsn, topics, kafka_bootstrap, consumer_batch_max_records=1)
    j = unique_jurisdiction("helsinki")
    open_one, closed_one = new_request_number(), new_request_number()
    note = CommentAdded(text="Maalaus tilattu", visibility=CommentVisibility.public)
    events = [
        *_imported(open_one, j, "SR-1", "Rakennusvirasto"),
        _on(
            open_one,
            j,
            BackendUpdateReceived(
                body_id="hki",
                external_id="SR-1",
                update_id="SR-1-u1",
                backend_status="open",
                updated_at=RENAMED_AT,
                agency_responsible="Kaupunkiympäristö",
            ),
            RENAMED_AT,
        ),
        # A note-only update at the back-end: the import publishes it as a public comment.
        _on(
            open_one,
            j,
            BackendUpdateReceived(
                body_id="hki",
                external_id="SR-1",
                update_id="SR-1-u2",
                backend_status="open",
                description=note.text,
                updated_at=NOTED_AT,
            ),
            NOTED_AT,
        ),
        _on(open_one, j, note, NOTED_AT),
        *_imported(closed_one, j, "SR-2", None),
        _on(closed_one, j, StatusChanged(status=RequestStatus.closed, public_note="Puhdistettu"), CLOSED_AT),
        _on(
            closed_one,
            j,
            CommentAdded(text="Uusia töhryjä", visibility=CommentVisibility.public),
            CLOSED_NOTE_AT,
        ),
    ]
    async with running_app(settings) as (app, client):
        async with started(
            EventProducer(kafka_bootstrap, topics.request_events, client_id="backend-words")
        ) as p:
            positions = [await p.publish(e) for e in events]
        async with started(
            EventProducer(kafka_bootstrap, topics.jurisdiction_config, client_id="backend-words")
        ) as config:
            defined = await config.publish(
                config_event(
                    ServiceDefined(service_code="graffiti", service_name="Graffiti"), jurisdiction_id=j
                )
            )
        await caught_up(app.state.service, settings.config_consumer_group, [defined])
        # One event a batch: the import and the submission it precedes are folded in separate transactions.
        await caught_up(app.state.service, settings.request_consumer_group, positions)

        for fmt in FORMATS:
            r = await client.get(
                f"{BASE}/requests.{fmt}",
                params={"jurisdiction_id": j, "service_request_id": f"{open_one},{closed_one}"},
            )
            assert r.status_code == 200, r.text
            served = {
                row["service_request_id"]: row for row in leaf_text(read(r, fmt, root="service_requests"))
            }
            shown = served[open_one]
            assert shown["agency_responsible"] == "Kaupunkiympäristö"
            assert shown["status_notes"] == "Maalaus tilattu"
            assert (shown["requested_datetime"], shown["updated_datetime"]) == (
                format_w3c(REQUESTED),
                format_w3c(NOTED_AT),
            )
            shown = served[closed_one]
            assert shown["agency_responsible"] in (None, "")  # the back-end named none
            assert (shown["status"], shown["status_notes"]) == ("closed", "Puhdistettu")  # the close note
            assert shown["updated_datetime"] == format_w3c(CLOSED_AT)  # SR-10: the close time

            r = await client.get(
                f"{BASE}/servicerequestupdates.{fmt}",
                params={
                    "jurisdiction_id": j,
                    "start_date": format_w3c(REQUESTED),
                    "end_date": format_w3c(REQUESTED + timedelta(days=30)),
                },
            )
            assert r.status_code == 200, r.text
            updates = leaf_text(read(r, fmt, root="service_request_updates"))
            assert [(u["service_request_id"], u["description"]) for u in updates] == [
                (closed_one, "Puhdistettu"),
                (open_one, "Maalaus tilattu"),
                (closed_one, "Uusia töhryjä"),
            ]
