"""The view's event handlers (`service_layer/folds.py`) on in-memory rows: what each event makes them write, and the
service lock taken before a submitted request reads its service's name."""

from datetime import UTC, datetime

from civicloop_events import Actor, Location, ServiceDefined, ServiceRequestSubmitted
from civicloop_events.envelope import ActorKind
from civicloop_events.payloads import PartnerKeyRevoked, StatusChanged
from civicloop_gateway.domain.catalogue import PartnerKeyRow, ServiceRow
from civicloop_gateway.domain.request_view import ImportRow, RequestRow, UpdateRow
from civicloop_gateway.service_layer.folds import (
    CatalogueRows,
    RequestViewRows,
    when_config_event_update_catalogue,
    when_config_events_update_catalogue,
    when_request_event_update_view,
    when_request_events_update_view,
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
        self.imports: dict[str, ImportRow] = {}
        self.calls: list[str] = []

    async def lock_services(self, services) -> None:
        self.calls.extend(f"lock {code}" for _, code in services)

    async def service_names(self, services) -> dict[tuple[str, str], str]:
        self.calls.extend(f"name {code}" for _, code in services)
        return {s: self.names[s] for s in services if s in self.names}

    async def load_for_update(self, service_request_ids) -> dict[str, RequestRow]:
        return {i: self.requests[i] for i in service_request_ids if i in self.requests}

    async def save_requests(self, rows) -> None:
        self.requests |= {row.service_request_id: row for row in rows}

    async def save_updates(self, updates) -> None:
        known = {u.update_id for u in self.updates}
        self.updates.extend(u for u in updates if u.update_id not in known)

    async def imports_of(self, service_request_ids) -> dict[str, ImportRow]:
        return {i: self.imports[i] for i in service_request_ids if i in self.imports}

    async def save_imports(self, imports) -> None:
        for i in imports:
            self.imports.setdefault(i.service_request_id, i)


class MemoryCatalogueRows(CatalogueRows):
    def __init__(self) -> None:
        self.services: list[ServiceRow] = []
        self.keys: list[PartnerKeyRow] = []
        self.revoked: list[tuple[str, str, str]] = []
        self.locks: list[str] = []

    async def lock_services(self, services) -> None:
        self.locks.extend(code for _, code in services)

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


async def test_a_batch_takes_every_service_lock_before_it_reads_the_names_then_saves_each_request_once():
    rows = MemoryViewRows({(CITY, "POTHOLE"): "Pothole"})
    located = Location(lat=38.9, long=-77.0)
    events = [
        _event(ServiceRequestSubmitted(service_code="POTHOLE", description="Hole", location=located), "A-1"),
        _event(ServiceRequestSubmitted(service_code="GRAFFITI", description="Tags", location=located), "B-2"),
        _event(StatusChanged(status="closed"), "A-1"),
    ]
    await when_request_events_update_view(rows, events, resolution=DEFAULT_RESOLUTION)
    assert rows.calls == ["lock GRAFFITI", "lock POTHOLE", "name GRAFFITI", "name POTHOLE"]
    assert rows.requests["A-1"].status == "closed" and rows.requests["A-1"].service_name == "Pothole"
    assert rows.requests["B-2"].service_name is None
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


async def test_a_batch_of_config_events_takes_its_service_locks_first_then_writes_what_one_by_one_writes():
    events = [
        _event(ServiceDefined(service_code="TREE", service_name="Tree"), request_id=None),
        _event(PartnerKeyRevoked(client_id="cityapp", key_id="k1"), request_id=None),
        _event(ServiceDefined(service_code="POTHOLE", service_name="Pothole"), request_id=None),
        _event(ServiceDefined(service_code="TREE", service_name="Fallen tree"), request_id=None),
    ]
    one_by_one, at_once = MemoryCatalogueRows(), MemoryCatalogueRows()
    for event in events:
        await when_config_event_update_catalogue(one_by_one, event)
    await when_config_events_update_catalogue(at_once, events)
    assert at_once.locks == ["POTHOLE", "TREE"]  # once each, in one order, before any write
    assert at_once.services == one_by_one.services
    assert [s.service_name for s in at_once.services] == ["Tree", "Pothole", "Fallen tree"]
    assert at_once.revoked == one_by_one.revoked == [(CITY, "cityapp", "k1")]
