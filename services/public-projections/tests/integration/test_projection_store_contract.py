"""One contract per store port, held by the in-memory twin (the handler tests' fake) and by PostgreSQL alike.

Each `...Contract` class states what the port promises; a subclass per implementation runs it (the persistence
tests of pyeventsourcing are built the same way).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import uuid4

import pytest
from civicloop_events.payloads import AreaRef, RequestImported, StatusChanged
from civicloop_projections.adapters.agent_store import PostgresAgentViewStore
from civicloop_projections.adapters.catalogue_store import PostgresCatalogueStore
from civicloop_projections.domain.agent_request import (
    AgentRequest,
    Delivery,
    DeliveryState,
    DuplicateCandidate,
    ExternalReference,
    Placement,
    Unplaced,
)
from civicloop_projections.domain.history import HistoryEntry
from civicloop_projections.service_layer.fakes import InMemoryAgentViewStore, InMemoryCatalogueStore
from civicloop_projections.service_layer.ports import AgentViewStore, CatalogueStore
from projection_events import area_defined, new_jurisdiction, new_number, square

pytestmark = pytest.mark.integration
Store = TypeVar("Store", AgentViewStore, CatalogueStore)


def in_memory_twin(store_class: Callable[[], Store]) -> Callable[..., AbstractAsyncContextManager[Store]]:
    """Opens a fresh in-memory twin (nothing to roll back)."""

    @asynccontextmanager
    async def open_store(projections) -> AsyncIterator[Store]:
        yield store_class()

    return open_store


def in_postgres(store_on: Callable[[Any], Store]) -> Callable[..., AbstractAsyncContextManager[Store]]:
    """Opens a store on a connection of the projection's pool, inside a transaction rolled back afterwards."""

    @asynccontextmanager
    async def open_store(projections) -> AsyncIterator[Store]:
        async with projections.pool.connection() as conn, conn.transaction(force_rollback=True):
            yield store_on(conn)

    return open_store


def opens_with(opener: Callable[..., AbstractAsyncContextManager[Store]]) -> Any:
    """The `make_store` fixture of a contract's subclass: how it opens the store under test."""

    @pytest.fixture
    def make_store(self) -> Callable[..., AbstractAsyncContextManager[Store]]:
        return opener

    return make_store


in_memory = in_memory_twin(InMemoryAgentViewStore)
postgres = in_postgres(lambda conn: PostgresAgentViewStore(conn, consumer="contract"))
in_memory_catalogue = in_memory_twin(InMemoryCatalogueStore)
postgres_catalogue = in_postgres(PostgresCatalogueStore)


def full_state(number: str) -> AgentRequest:
    return AgentRequest(
        request_number=number,
        jurisdiction_id="demo",
        service_code="pothole",
        description="très profond",
        status="in_progress",
        preferred_channel="sms",
        source="open311:partner-1",
        submitted_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        updated_at=datetime(2026, 1, 3, 3, 4, 5, tzinfo=UTC),
        event_count=7,
        last_event_id=uuid4(),
        external_status_code="WO-17",
        address_string="1 Main St",
        address_id="addr-9",
        lat=34.0522,
        long=-118.2437,
        attributes={"size": ["large", "deep"]},
        media_urls=("https://img/1.jpg", "https://img/2.jpg"),
        resident_id=uuid4(),
        closed_at=None,
        body_id="streets",
        team="north crew",
        priority="high",
        analysis_codes=("PH-1", "PH-2"),
        external_references=(ExternalReference("streets", "SR-1"), ExternalReference("parks", "WO-9")),
        delivery=Delivery(
            DeliveryState.failed,
            attempts=2,
            last_error="503 Service Unavailable",
            retry_at=datetime(2026, 1, 3, 4, 0, 0, 123456, tzinfo=UTC),
        ),
        imported_from=ExternalReference("parks", "WO-9"),
        placement=Placement(
            34.0537,
            -118.2428,
            "200 N Spring St",
            "geocoded",
            "gazetteer",
            0.92,
            datetime(2026, 1, 2, 3, 5, 0, 5, tzinfo=UTC),
        ),
        service_areas=(
            AreaRef(area_id="cd-14", kind="council_district", name="CD 14", version=3),
            AreaRef(area_id="nc-7", kind="neighborhood_council", name="Downtown NC", version=1),
        ),
        inside_jurisdiction=True,
        duplicate_candidates=(
            DuplicateCandidate(
                "AAAA-0001", "pothole", 12.25, datetime(2025, 12, 30, 8, 0, tzinfo=UTC), 0.875
            ),
        ),
        merged_into="WXYZ-9876",
        merged_at=datetime(2026, 1, 3, 3, 0, tzinfo=UTC),
        merge_note="same hole",
    )


class AgentViewStoreContract:
    """`make_store(projections)`: an agent view store inside one transaction, rolled back afterwards."""

    async def test_what_is_saved_loads_back_unchanged(self, projections, make_store):
        await what_is_saved_loads_back_unchanged(projections, make_store)

    async def test_a_batch_saves_and_loads_many_requests_at_once(self, projections, make_store):
        numbers = [new_number() for _ in range(3)]
        states = {n: full_state(n) for n in numbers}
        async with make_store(projections) as store:
            await store.save(list(states.values()))
            assert await store.load_for_update([*numbers, new_number()]) == states


class TestInMemoryAgentViewStore(AgentViewStoreContract):
    make_store = opens_with(in_memory)


class TestPostgresAgentViewStore(AgentViewStoreContract):
    make_store = opens_with(postgres)


class CatalogueStoreContract:
    """`make_store(projections)`: a catalogue store inside one transaction, rolled back afterwards."""

    async def test_each_definition_of_an_area_is_its_next_version(self, projections, make_store):
        j, area = new_jurisdiction(), "cd-1"
        async with make_store(projections) as store:
            first = area_defined(j, area, square(-118.3, 34.0, 0.01))
            second = area_defined(j, area, square(-118.3, 34.0, 0.02))
            other = area_defined(j, "cd-2", square(-118.3, 34.1, 0.01))
            assert await store.define_service_area(first, first.payload.geometry) == 1
            assert await store.define_service_area(other, other.payload.geometry) == 1
            assert await store.define_service_area(second, second.payload.geometry) == 2


class TestInMemoryCatalogueStore(CatalogueStoreContract):
    make_store = opens_with(in_memory_catalogue)


class TestPostgresCatalogueStore(CatalogueStoreContract):
    make_store = opens_with(postgres_catalogue)


async def what_is_saved_loads_back_unchanged(projections, make_store):
    number = new_number()
    async with make_store(projections) as store:
        assert await store.load_for_update([number]) == {}
        state = full_state(number)
        await store.save([state])
        assert await store.load_for_update([number]) == {number: state}

        closed = AgentRequest(
            **{
                **state.__dict__,
                "status": "closed",
                "closed_at": state.updated_at,
                "lat": None,
                "long": None,
                "media_urls": (),
                "resident_id": None,
                "body_id": None,
                "team": None,
                "priority": None,
                "analysis_codes": (),
                "external_references": (),
                "delivery": None,
                "imported_from": None,
                "placement": None,
                "service_areas": None,
                "inside_jurisdiction": None,
                "unplaced": Unplaced("low_confidence", None, "", state.updated_at),
                "duplicate_candidates": (),
                "merged_into": None,
                "merged_at": None,
                "merge_note": None,
            }
        )
        await store.save([closed])
        assert await store.load_for_update([number]) == {number: closed}

        outside = AgentRequest(
            **{**closed.__dict__, "unplaced": None, "service_areas": (), "inside_jurisdiction": False}
        )
        await store.save([outside])
        assert await store.load_for_update([number]) == {number: outside}


@pytest.mark.parametrize("make_store", [in_memory, postgres], ids=["in-memory", "postgres"])
async def test_history_summaries_of_a_type_include_rows_kept_under_its_earlier_name(projections, make_store):
    """Rows applied before `outbound.request_imported` became `request.imported` keep the name they had."""
    number = new_number()
    names = [RequestImported.event_type, "outbound.request_imported", StatusChanged.event_type]
    async with make_store(projections) as store:
        for offset, name in enumerate(names):
            entry = HistoryEntry(
                event_id=uuid4(),
                request_number=number,
                jurisdiction_id="demo",
                type=name,
                schema_version=1,
                occurred_at=datetime(2026, 1, 2, tzinfo=UTC),
                recorded_at=datetime(2026, 1, 2, tzinfo=UTC),
                actor_kind="system",
                actor_id=None,
                source="outbound",
                causation_id=None,
                correlation_id=None,
                summary={"n": offset},
            )
            if isinstance(store, PostgresAgentViewStore):  # a history row sits where its inbox row places it
                await store.conn.execute(
                    "insert into projections.inbox (consumer, event_id, topic, partition, kafka_offset)"
                    " values ('contract', %s, 'requests.events', 0, %s)",
                    (entry.event_id, offset),
                )
            await store.append_history([entry])
        assert await store.history_summaries([number], RequestImported.event_type) == {
            number: [{"n": 0}, {"n": 1}]
        }


@pytest.mark.parametrize("count", [1, 200], ids=["one statement", "copied"])
async def test_a_batch_of_history_rows_sits_where_the_inbox_places_it(projections, count):
    """Small batches go in by one INSERT, large ones by COPY: both take each row's place on the log from its inbox
    row, and both refuse an event the runner has not claimed."""
    number = new_number()
    entries = [
        HistoryEntry(
            event_id=uuid4(),
            request_number=number,
            jurisdiction_id="demo",
            type=RequestImported.event_type,
            schema_version=1,
            occurred_at=datetime(2026, 1, 2, tzinfo=UTC),
            recorded_at=datetime(2026, 1, 2, tzinfo=UTC),
            actor_kind="system",
            actor_id=None,
            source="outbound",
            causation_id=None,
            correlation_id=uuid4(),
            summary={"n": n, "text": 'l\'été "quoted"\ttab'},
        )
        for n in range(count)
    ]
    async with projections.pool.connection() as conn, conn.transaction(force_rollback=True):
        store = PostgresAgentViewStore(conn, consumer="contract")
        # Places in the reverse of list order: the history's order is the log's, not the batch's.
        await conn.execute(
            "insert into projections.inbox (consumer, event_id, topic, partition, kafka_offset)"
            " select 'contract', e, 'requests.events', 2, 1000 - o from unnest(%s::uuid[]) with ordinality as t(e, o)",
            ([e.event_id for e in entries],),
        )
        await store.append_history(entries)
        summaries = await store.history_summaries([number], RequestImported.event_type)
        assert summaries == {number: [e.summary for e in reversed(entries)]}
        cur = await conn.execute(
            "select count(*) from projections.agent_request_history h join projections.inbox i using (event_id)"
            " where h.request_number = %s and (h.partition, h.kafka_offset) = (i.partition, i.kafka_offset)",
            (number,),
        )
        assert await cur.fetchone() == (count,)
        unclaimed = replace(entries[0], event_id=uuid4())
        with pytest.raises(LookupError, match="no inbox row"):
            await store.append_history([*entries[1:], unclaimed])
