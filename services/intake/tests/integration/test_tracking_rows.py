"""`PostgresTrackingRows` against PostgreSQL: a batch's views read in one query and written in one statement."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest
from civicloop_events import SealedPersonalData
from civicloop_events.payloads import RequestStatus
from civicloop_events.request_numbers import new_request_number
from civicloop_intake.adapters.postgres_tracking import PostgresTrackingRows
from civicloop_intake.domain.tracking import (
    ExternalReference,
    HistoryEntry,
    HistoryKind,
    PlaceArea,
    TrackedRequest,
)

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def view(number: str, **changes) -> TrackedRequest:
    return replace(
        TrackedRequest(
            request_number=number,
            jurisdiction_id="demo",
            service_code="pothole",
            description="Deep hole",
            status=RequestStatus.open,
            submitted_at=T0,
            updated_at=T0,
        ),
        **changes,
    )


async def test_views_saved_in_one_batch_load_back_unchanged_and_a_later_batch_updates_them(migrated_dsn):
    a, b, c = (new_request_number() for _ in range(3))
    full = view(
        a,
        contact=SealedPersonalData(resident_id=uuid4(), nonce="bm9uY2U=", ciphertext="c2VhbGVk"),
        status=RequestStatus.in_progress,
        history=(HistoryEntry(HistoryKind.status, T0, status=RequestStatus.in_progress, note="on it"),),
        external_references=(ExternalReference("streets", "SR-1"),),
        merged_into="ABCD-EFGH",
        public_address="1200 block of Main St",
        service_areas=(PlaceArea("ward", "Ward 2"),),
    )
    async with (
        await psycopg.AsyncConnection.connect(migrated_dsn) as conn,
        conn.transaction(force_rollback=True),
    ):
        rows = PostgresTrackingRows(conn)
        await rows.save([full, view(b)])
        assert await rows.load_for_update([a, b, c]) == {a: full, b: view(b)}
        closed = replace(view(b), status=RequestStatus.closed, updated_at=datetime(2026, 11, 25, tzinfo=UTC))
        await rows.save([closed, view(c)])
        assert await rows.load_for_update([a, b, c]) == {a: full, b: closed, c: view(c)}
