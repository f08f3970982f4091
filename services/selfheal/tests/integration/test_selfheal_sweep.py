"""Each stuck condition, made of events on the real log, found and repaired or escalated exactly once across repeated
sweeps, concurrent sweeps and a restart (time moved with time-machine)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
import time_machine
from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import (
    BodyPaused,
    BodyPollFailing,
    CategorySla,
    ClusterDetected,
    Location,
    MessageKind,
    NotificationFailed,
    NotificationOutcome,
    OpeningHours,
    PublicPlace,
    RequestAssigned,
    RequestStatus,
    Routed,
    SendFailed,
    SendMethod,
    ServiceRequestSubmitted,
    SlaClock,
    SlaDefined,
    StatusChanged,
    VisitScheduled,
    Weekday,
)
from civicloop_events.producer import EventProducer
from civicloop_runtime.db import open_pool
from civicloop_selfheal.adapters.kafka_publisher import KafkaEventPublisher
from civicloop_selfheal.adapters.postgres_sweep import sweep_lock
from civicloop_selfheal.domain.runs import Outcome, RunReport, Trigger
from civicloop_selfheal.service_layer.sweep import run_sweep
from civicloop_testing.events import config_event, request_event
from selfheal_harness import (
    config_folded,
    dead_letter,
    folded,
    publish,
    running,
    selfheal_events,
    selfheal_settings,
)

pytestmark = pytest.mark.integration

RESIDENT = Actor(kind=ActorKind.resident, id="resident-1")
AGENT = Actor(kind=ActorKind.agent, id="0193a1b2-0000-7000-8000-00000000a001")
OUTBOUND = Actor(kind=ActorKind.system, id="outbound")
ASSIGNEE = "0193a1b2-0000-7000-8000-00000000a002"
H = timedelta(hours=1)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def number() -> str:
    symbols = random.choice("ABCDEFGHJK") + "".join(random.choices(CROCKFORD, k=7))
    return f"{symbols[:4]}-{symbols[4:]}"


def sla(jurisdiction: str) -> Event[Any]:
    definition = SlaDefined(
        time_zone="UTC",
        opening_hours=[OpeningHours(day=Weekday.monday, opens="08:00", closes="17:00")],
        categories=[
            CategorySla(
                service_code="pothole",
                acknowledge_within_minutes=60,
                resolve_within_minutes=48 * 60,
                clock=SlaClock.all_hours,
            )
        ],
        dormant_after_days=30,
    )
    return config_event(definition, jurisdiction_id=jurisdiction)


class Story:
    """Events of several requests in one jurisdiction, each at the instant the test names."""

    def __init__(self, jurisdiction: str) -> None:
        self.jurisdiction = jurisdiction
        self.events: list[Event[Any]] = []

    def on(self, n: str, payload: Any, at: datetime, actor: Actor = AGENT) -> Story:
        self.events.append(
            request_event(
                payload,
                request_id=n,
                actor=actor,
                source="test",
                jurisdiction_id=self.jurisdiction,
                occurred_at=at,
            )
        )
        return self

    def submitted(self, n: str, at: datetime) -> Story:
        payload = ServiceRequestSubmitted(
            service_code="pothole", description="a hole", location=Location(lat=41.88, long=-87.63)
        )
        return self.on(n, payload, at, RESIDENT)

    def acknowledged(self, n: str, at: datetime) -> Story:
        return self.on(n, StatusChanged(status=RequestStatus.acknowledged), at)


def _key(e: Event[Any]) -> tuple[str, str | None, str]:
    p = e.payload
    subject = e.request_id or getattr(p, "body_id", None) or getattr(p, "cluster_id", None)
    reason = getattr(p, "reason", None)
    return (e.type, subject, reason.value if reason is not None else "")


async def test_every_stuck_condition_is_acted_on_once_across_repeated_concurrent_sweeps_and_a_restart(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str
) -> None:
    settings = selfheal_settings(fresh_database_dsn, kafka_bootstrap, fresh_topics)
    j = f"j{uuid4().hex[:8]}"
    t0 = datetime.now(UTC).replace(microsecond=0)
    unacked, given_up, not_sent, paused, visit, notified, dead, closed, member = (number() for _ in range(9))
    story = Story(j)
    story.submitted(unacked, t0)
    story.submitted(given_up, t0).acknowledged(given_up, t0 + 0.1 * H).on(
        given_up, Routed(body_id="roads"), t0, OUTBOUND
    ).on(
        given_up,
        SendFailed(body_id="roads", method=SendMethod.email, attempt=5, error="SMTPRecipientsRefused"),
        t0 + 0.2 * H,
        OUTBOUND,
    )
    story.submitted(not_sent, t0).acknowledged(not_sent, t0 + 0.1 * H).on(
        not_sent, Routed(body_id="roads"), t0, OUTBOUND
    )
    story.submitted(paused, t0).acknowledged(paused, t0 + 0.1 * H).on(
        paused, Routed(body_id="parks"), t0, OUTBOUND
    )
    story.submitted(visit, t0).acknowledged(visit, t0 + 0.1 * H).on(
        visit, RequestAssigned(team_id="roads-crew", staff_id=ASSIGNEE), t0 + 0.1 * H
    ).on(
        visit,
        VisitScheduled(
            visit_id="v-1", starts_at=t0 + 0.2 * H, duration_minutes=30, address="100 block of Main St"
        ),
        t0 + 0.15 * H,
    )
    story.submitted(notified, t0).acknowledged(notified, t0 + 0.1 * H).on(
        notified,
        NotificationFailed(
            notification_id=uuid4(),
            cause_event_id=uuid4(),
            resident_id=uuid4(),
            kind=MessageKind.acknowledged,
            channel=None,
            language="en",
            attempt=0,
            outcome=NotificationOutcome.no_channel,
        ),
        t0 + 0.2 * H,
        Actor(kind=ActorKind.system, id="notifier"),
    )
    story.submitted(dead, t0).acknowledged(dead, t0 + 0.1 * H)
    story.submitted(closed, t0).on(closed, StatusChanged(status=RequestStatus.closed), t0 + 0.1 * H)
    story.submitted(member, t0).acknowledged(member, t0 + 0.1 * H)
    cluster = request_event(
        ClusterDetected(
            cluster_id=f"c-{uuid4().hex[:8]}",
            service_code="pothole",
            request_ids=[unacked, member],
            centre=PublicPlace(h3_cell="8929a1d44c7ffff", h3_resolution=9, lat=41.88, long=-87.63),
            radius_m=120.0,
            area_ids=["ward-3"],
            window_start=t0 - 72 * H,
            window_end=t0,
            eps_m=250.0,
            min_points=2,
        ),
        request_id=None,
        actor=Actor(kind=ActorKind.system, id="geo"),
        source="geo",
        jurisdiction_id=j,
        occurred_at=t0 + 0.5 * H,  # after the acknowledgements: only what staff do after it counts as acting
    )
    config = [
        sla(j),
        config_event(BodyPaused(body_id="parks"), jurisdiction_id=j),
        config_event(
            BodyPollFailing(body_id="roads", failing_since=t0, failures=3, error="ConnectTimeout"),
            jurisdiction_id=j,
        ),
    ]
    numbers = [unacked, given_up, not_sent, paused, visit, notified, dead, closed, member]

    async with running(settings) as service:
        await publish(settings, [*config, *story.events, cluster])
        await dead_letter(settings, story.events[-1], consumer="geo.requests.v1", reason="handler")
        await folded(service, numbers)
        await config_folded(service, "select count(*) = 1 from selfheal.sla_definitions")
        await config_folded(service, "select count(*) = 2 from selfheal.bodies")
        await config_folded(service, "select count(*) = 1 from selfheal.clusters")
        with time_machine.travel(t0 + 26 * H, tick=True):
            first = await service.sweep_now(Trigger.cron)
            concurrent = await asyncio.gather(*(service.sweep_now(Trigger.cron) for _ in range(5)))
            again = await service.sweep_now(Trigger.cron)

    assert first is not None and first.outcome is Outcome.done, first
    assert any(r is None for r in concurrent) or all(r is not None and r.done == {} for r in concurrent)
    assert again is not None and again.done == {} and again.outcome is Outcome.done
    expected = {
        ("request.escalated", unacked, "unacknowledged"),
        ("request.declared_late", unacked, "unacknowledged"),
        ("request.delivery.requeued", given_up, "delivery_given_up"),
        ("request.delivery.requeued", not_sent, "not_sent"),
        ("request.assignee.reminded", visit, "visit_passed"),
        ("request.escalated", visit, "visit_passed"),
        ("request.declared_late", visit, "visit_passed"),
        ("request.escalated", notified, "notification_failed"),
        ("request.escalated", member, "dead_lettered"),
        ("jurisdiction.body.poll_nudged", "roads", ""),
        ("cluster.escalated", cluster.payload.cluster_id, ""),
    }
    events = await selfheal_events(settings)
    seen = Counter(_key(e) for e in events)
    assert set(seen) == expected, (first.found.get("dead_lettered"), first.errors)
    assert all(n == 1 for n in seen.values()), seen
    assert first.found["not_sent"] == 1 and "closed" not in str(first.found)
    assert not [e for e in events if e.request_id in (closed, paused)]

    # A restart, the requeued delivery given up again, and time moved past the cooldown: the requeue is not done
    # twice, the second give-up is escalated once, and nothing already done is done again.
    async with running(settings) as service:
        again_given_up = SendFailed(
            body_id="roads", method=SendMethod.email, attempt=6, error="SMTPRecipientsRefused"
        )
        await publish(settings, Story(j).on(given_up, again_given_up, t0 + 27 * H, OUTBOUND).events)
        await folded(service, [given_up], check="(view->>'send_attempts')::int = 6")
        with time_machine.travel(t0 + 33 * H, tick=True):
            reports = await asyncio.gather(*(service.sweep_now(Trigger.schedule) for _ in range(3)))
    seen = Counter(_key(e) for e in await selfheal_events(settings))
    # Given up again after its requeue: escalated, once; still not sent an hour after its requeue: escalated, once.
    assert seen[("request.escalated", given_up, "delivery_given_up")] == 1
    assert seen[("request.delivery.requeued", given_up, "delivery_given_up")] == 1
    assert seen[("request.escalated", not_sent, "not_sent")] == 1
    # A poll streak still going past the cooldown is nudged again: once per cooldown.
    assert seen.pop(("jurisdiction.body.poll_nudged", "roads", "")) == 2
    assert all(n == 1 for n in seen.values()), seen
    assert sum(1 for r in reports if r is not None and r.done) == 1


async def test_actions_a_run_could_not_publish_stay_pending_and_the_next_run_publishes_them_once(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str
) -> None:
    settings = selfheal_settings(fresh_database_dsn, kafka_bootstrap, fresh_topics)
    j = f"j{uuid4().hex[:8]}"
    t0 = datetime.now(UTC).replace(microsecond=0)
    stuck = number()
    async with running(settings) as service:
        await publish(settings, [sla(j), *Story(j).submitted(stuck, t0).events])
        await folded(service, [stuck])
        await config_folded(service, "select count(*) = 1 from selfheal.sla_definitions")
        never_started = EventProducer(
            kafka_bootstrap, settings.topics.request_events, client_id="never-started"
        )
        cut_off = replace(
            service.deps(),
            publisher=KafkaEventPublisher(never_started, settings.topics, timeout_s=2),
            dead_letters=None,
        )
        with time_machine.travel(t0 + 2 * H, tick=True):
            report = RunReport(run_id=uuid4(), trigger=Trigger.command, started_at=datetime.now(UTC))
            failed = await run_sweep(cut_off, report, now=report.started_at)
            assert (failed.outcome, failed.done, failed.errors) == (Outcome.partial, {}, [failed.errors[0]])
            assert failed.errors[0].startswith("actions: ")
            assert await selfheal_events(settings) == []
            next_run = await service.sweep_now(Trigger.schedule)
    assert next_run is not None and next_run.done == {"republished": 2}, next_run
    seen = Counter(_key(e) for e in await selfheal_events(settings))
    assert seen == Counter(
        {
            ("request.escalated", stuck, "unacknowledged"): 1,
            ("request.declared_late", stuck, "unacknowledged"): 1,
        }
    )


async def test_an_intake_that_does_not_answer_is_recorded_as_the_run_s_error_and_the_rest_is_done(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str
) -> None:
    settings = selfheal_settings(
        fresh_database_dsn,
        kafka_bootstrap,
        fresh_topics,
        selfheal_intake_url="http://127.0.0.1:1/?token=secret",
    )
    j = f"j{uuid4().hex[:8]}"
    stuck = number()
    async with running(settings) as service:
        await publish(settings, [sla(j), *Story(j).submitted(stuck, datetime.now(UTC) - 3 * H).events])
        await folded(service, [stuck])
        await config_folded(service, "select count(*) = 1 from selfheal.sla_definitions")
        report = await service.sweep_now(Trigger.cron)
    assert report is not None
    assert (report.outcome, report.errors) == (Outcome.partial, ["submissions_pending: ConnectError"])
    assert report.done == {"escalate": 1, "declare_late": 1}


async def test_while_another_replica_sweeps_a_call_is_answered_busy_at_once_and_nothing_is_recorded(
    fresh_database_dsn: str, fresh_topics, kafka_bootstrap: str
) -> None:
    settings = selfheal_settings(fresh_database_dsn, kafka_bootstrap, fresh_topics)
    other_replica = await open_pool(fresh_database_dsn, min_size=1, max_size=1, name="other-replica")
    try:
        async with running(settings) as service:
            async with sweep_lock(other_replica) as held:
                assert held
                assert await service.sweep_now(Trigger.cron) is None
            after = await service.sweep_now(Trigger.cron)
            async with service.pool.connection() as conn:
                runs = await (await conn.execute("select trigger from selfheal.runs")).fetchall()
    finally:
        await other_replica.close()
    assert after is not None and after.outcome is Outcome.done
    assert runs == [("cron",)]
