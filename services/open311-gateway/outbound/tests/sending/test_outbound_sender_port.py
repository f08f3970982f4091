"""The Sender port as another method's sender sees it (Open311's plugs in here): one item per call, in order, with
the resident's contact details only when `outbound_include_contact` allows; retries keep the delivery id."""

from __future__ import annotations

import asyncio

import pytest
from civicloop_events import Location, PersonalData, ServiceRequestSubmitted
from civicloop_events.payloads import (
    ExternalReferenceAssigned,
    SendFailed,
    SendMethod,
)
from civicloop_outbound.domain.ports import BodyRecord, OutboundItem, Sender, SendResult, TemporaryFailure
from civicloop_outbound.service_layer.sender_loop import SenderLoop
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_testing.polling import eventually
from outbound_harness import OutboundWorld, by_open311, service

pytestmark = pytest.mark.integration


class ScriptedOpen311(Sender):
    """Stands in for the Open311 sender: fails the first `failures` calls, then answers with an id."""

    method = SendMethod.open311

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[OutboundItem] = []

    async def send(self, body: BodyRecord, item: OutboundItem) -> SendResult:
        self.calls.append(item)
        if len(self.calls) <= self.failures:
            raise TemporaryFailure("busy")
        return SendResult(
            external_id=f"SR-{item.payload.request_id}", destination=body.definition.open311.endpoint
        )


async def run_loop(loop: SenderLoop, until: asyncio.Event) -> None:
    task = asyncio.create_task(loop.run())
    try:
        await asyncio.wait_for(until.wait(), timeout=45)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.mark.parametrize("include_contact", [False, True])
async def test_contact_only_when_allowed_and_retries_keep_the_delivery_id(
    outbound_world: OutboundWorld, include_contact: bool
) -> None:
    w = outbound_world
    city = await w.new_city(
        "port",
        service("BULKY", "Bulky item"),
        by_open311("sanitation", "Sanitation", "BULKY"),
    )
    vault = ResidentKeyVault(w.pool, pepper=w.settings.pepper)
    sealed = await vault.seal(PersonalData(name="Ana Ruiz", email="ana@example.org", phone="+15551234567"))
    submitted = await w.publish_request(
        city,
        ServiceRequestSubmitted(
            service_code="BULKY",
            description="sofa",
            location=Location(lat=39.78, long=-89.65),
            contact=sealed,
        ),
    )
    rid = submitted.request_id
    await w.wait_queued(city)
    await asyncio.sleep(0.3)
    assert (await w.queue_rows(city))[0]["attempts"] == 0, "no sender for open311 in the app: the item waits"

    sender = ScriptedOpen311(failures=2)
    settings = w.settings.model_copy(update={"outbound_include_contact": include_contact})
    loop = SenderLoop(
        pool=w.pool,
        producer=w.request_producer,
        senders={SendMethod.open311: sender},
        settings=settings,
        vault=vault,
    )
    done = asyncio.Event()

    async def watch() -> None:
        await eventually(lambda: _sent(w, city), what="sent")
        done.set()

    await asyncio.gather(run_loop(loop, done), watch())
    assert len(sender.calls) == 3 and len({c.delivery_id for c in sender.calls}) == 1
    assert [c.attempt for c in sender.calls] == [1, 2, 3]
    contact = sender.calls[-1].contact
    if include_contact:
        assert contact is not None and contact.name == "Ana Ruiz" and contact.email == "ana@example.org"
    else:
        assert contact is None
    assert sender.calls[-1].payload.contact == sealed  # the queue keeps it sealed, as on the log
    [row] = await w.queue_rows(city)
    assert (row["state"], row["attempts"], row["external_id"]) == ("sent", 3, f"SR-{rid}")
    failed = await w.events_of(rid, SendFailed.event_type)
    assert [e.payload.attempt for e in failed] == [1, 2] and all(e.payload.retry_at for e in failed)
    [ref] = await w.events_of(rid, ExternalReferenceAssigned.event_type)
    assert ref.payload.external_id == f"SR-{rid}"


async def _sent(w: OutboundWorld, city: str) -> bool:
    return [r["state"] for r in await w.queue_rows(city)] == ["sent"]
