"""A back-end's Retry-After is honoured: the next attempt is never scheduled before it, whatever the back-off says."""

from datetime import UTC, datetime, timedelta

from civicloop_events.payloads import BodyDefined, Location, SendMethod
from civicloop_outbound.domain.ports import BodyRecord, DispatchPayload, OutboundItem, TemporaryFailure
from civicloop_outbound.service_layer.sender_loop import SenderLoop
from civicloop_outbound.settings import OutboundSettings
from psycopg_pool import AsyncConnectionPool

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class RecordingConnection:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []

    async def execute(self, sql: str, params: tuple) -> None:
        self.calls.append((sql, params))


def item() -> OutboundItem:
    payload = DispatchPayload(
        request_id="AAAA-0001",
        jurisdiction_id="demo",
        service_code="pothole",
        service_name="Pothole",
        location=Location(lat=34.0, long=-118.0),
        submitted_at=NOW,
        source="web",
    )
    # a priority copy publishes no SendFailed, so no broker is involved in this unit test
    return OutboundItem(
        seq=1,
        delivery_id="d1",
        method=SendMethod.open311,
        purpose="priority_copy",
        attempt=1,
        payload=payload,
        request_url="https://example.org/r/AAAA-0001",
    )


def loop() -> SenderLoop:
    settings = OutboundSettings(env="test", outbound_backoff_initial_s=30, outbound_backoff_max_s=3600)
    return SenderLoop(
        pool=AsyncConnectionPool("postgresql://unused", open=False),
        producer=None,  # type: ignore[arg-type]
        senders={},
        settings=settings,
        clock=lambda: NOW,
        rand=lambda: 0.0,
    )


async def next_attempt(error: TemporaryFailure) -> datetime:
    conn = RecordingConnection()
    body = BodyRecord("demo", BodyDefined(body_id="roads", name="Roads"))
    await loop()._failed(conn, body, item(), error, (item().seq, None))  # type: ignore[arg-type]
    [(_, params)] = conn.calls
    return params[2]


async def test_retry_after_longer_than_the_back_off_wins():
    assert await next_attempt(TemporaryFailure("busy", retry_after_s=600)) == NOW + timedelta(seconds=600)


async def test_without_retry_after_the_back_off_decides():
    assert await next_attempt(TemporaryFailure("busy")) < NOW + timedelta(seconds=600)
