"""The view's event handlers (`service_layer/folds.py`) on in-memory rows: what each event makes them write, and the
service lock taken before a submitted request reads its service's name."""

from datetime import UTC, datetime

from civicloop_events import Actor, Location, ServiceDefined, ServiceRequestSubmitted
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import PartnerKeyRevoked, StatusChanged
from civicloop_gateway.domain.catalogue import PartnerKeyRow, ServiceRow
from civicloop_gateway.domain.request_view import RequestRow, UpdateRow
from civicloop_gateway.service_layer.folds import (
    CatalogueRows,
    RequestViewRows,
    when_config_event_update_catalogue,
    when_request_event_update_view,
)
from civicloop_places import DEFAULT_RESOLUTION
from civicloop_testing.events import request_event

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CITY = "springfield.example.gov"
TESTS = Actor(kind=ActorKind.system, id="tests")


def _event(payload, request_id: str | None = "ABCD-1234"):
    return request_event(
        payload, request_id=request_id, actor=TESTS, source="web", jurisdiction_id=CITY, occurred_at=T0
    )


class MemoryViewRows(RequestViewRows):
    def __init__(self, names: dict[tuple[str, str], str] | None = None) -> None:
        self.names = names or {}
        self.requests: dict[str, RequestRow] = {}
        self.updates: list[UpdateRow] = []
        self.calls: list[str] = []

    async def lock_service(self, jurisdiction_id: str, service_code: str) -> None:
        self.calls.append(f"lock {service_code}")

    async def service_name(self, jurisdiction_id: str, service_code: str) -> str | None:
        self.calls.append(f"name {service_code}")
        return self.names.get((jurisdiction_id, service_code))

    async def load_for_update(self, service_request_id: str) -> RequestRow | None:
        return self.requests.get(service_request_id)

    async def save_request(self, row: RequestRow) -> None:
        self.requests[row.service_request_id] = row

    async def save_update(self, update: UpdateRow) -> None:
        self.updates.append(update)


class MemoryCatalogueRows(CatalogueRows):
    def __init__(self) -> None:
        self.services: list[ServiceRow] = []
        self.keys: list[PartnerKeyRow] = []
        self.revoked: list[tuple[str, str, str]] = []
        self.locks: list[str] = []

    async def lock_service(self, jurisdiction_id: str, service_code: str) -> None:
        self.locks.append(service_code)

    async def save_service(self, row: ServiceRow) -> None:
        self.services.append(row)

    async def save_partner_key(self, row: PartnerKeyRow) -> None:
        self.keys.append(row)

    async def revoke_partner_key(self, jurisdiction_id, client_id, key_id, *, at, event_id) -> None:
        self.revoked.append((jurisdiction_id, client_id, key_id))


async def test_a_submitted_request_takes_the_service_lock_then_its_name_and_is_saved():
    rows = MemoryViewRows({(CITY, "POTHOLE"): "Pothole"})
    submitted = ServiceRequestSubmitted(
        service_code="POTHOLE", description="Deep hole", location=Location(lat=38.9, long=-77.0)
    )
    await when_request_event_update_view(rows, _event(submitted), resolution=DEFAULT_RESOLUTION)
    assert rows.calls == ["lock POTHOLE", "name POTHOLE"]
    assert rows.requests["ABCD-1234"].service_name == "Pothole"


async def test_a_status_change_of_a_known_request_writes_the_row_and_an_update():
    rows = MemoryViewRows()
    submitted = ServiceRequestSubmitted(
        service_code="POTHOLE", description="Deep hole", location=Location(lat=38.9, long=-77.0)
    )
    await when_request_event_update_view(rows, _event(submitted), resolution=DEFAULT_RESOLUTION)
    await when_request_event_update_view(
        rows, _event(StatusChanged(status="closed")), resolution=DEFAULT_RESOLUTION
    )
    assert rows.requests["ABCD-1234"].status == "closed"
    assert [u.status for u in rows.updates] == ["closed"]


async def test_an_event_without_a_request_changes_nothing():
    rows = MemoryViewRows()
    await when_request_event_update_view(
        rows, _event(StatusChanged(status="closed"), request_id=None), resolution=DEFAULT_RESOLUTION
    )
    assert rows.requests == {} and rows.updates == [] and rows.calls == []


async def test_config_events_define_services_under_the_lock_and_revoke_keys():
    rows = MemoryCatalogueRows()
    await when_config_event_update_catalogue(
        rows, _event(ServiceDefined(service_code="POTHOLE", service_name="Pothole"), request_id=None)
    )
    await when_config_event_update_catalogue(
        rows, _event(PartnerKeyRevoked(client_id="cityapp", key_id="k1"), request_id=None)
    )
    assert rows.locks == ["POTHOLE"]
    assert [(s.service_code, s.service_name) for s in rows.services] == [("POTHOLE", "Pothole")]
    assert rows.revoked == [(CITY, "cityapp", "k1")]
