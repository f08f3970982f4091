"""The submit handler's order of checks and its retry rules, with in-memory ports (G-70, PR-02, PR-09, PR-11).

The same rules run against the real broker and PostgreSQL in tests/integration/test_gateway_write_api.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from civicloop_events import Event, PersonalData, SealedPersonalData, request_numbers
from civicloop_events.outbox_memory import InMemoryOutbox
from civicloop_events.payloads import ServiceType
from civicloop_gateway.domain.partner_keys import issue_key
from civicloop_gateway.domain.submit_errors import BadRequest, Forbidden, NotFound
from civicloop_gateway.domain.submit_record import (
    LogPosition,
    Submission,
    SubmissionState,
    checked_idempotency_key,
    retry_window,
)
from civicloop_gateway.domain.submit_validation import ServiceEntry
from civicloop_gateway.service_layer.submit_ports import (
    Catalogue,
    EventLog,
    EventLogUnavailable,
    Jurisdictions,
    KnownRequest,
    PartnerKey,
    Partners,
    Requests,
    Submissions,
    Vault,
)
from civicloop_gateway.service_layer.submit_request import SubmitContext, submit_request
from civicloop_open311.forms import OpenForm

J = "springfield.example.gov"
KEY = issue_key()
REVOKED = issue_key()
ELSEWHERE = issue_key()


class FakePartners(Partners):
    def __init__(self) -> None:
        self.uses: list[tuple[str, bool]] = []

    async def by_digest(self, key_sha256: str) -> list[PartnerKey]:
        rows = {
            KEY.key_sha256: [PartnerKey(J, "cityapp", "City app", KEY.key_id, revoked=False)],
            REVOKED.key_sha256: [PartnerKey(J, "cityapp", "City app", REVOKED.key_id, revoked=True)],
            ELSEWHERE.key_sha256: [PartnerKey("other.gov", "cityapp", "City app", ELSEWHERE.key_id, False)],
        }
        return rows.get(key_sha256, [])

    async def record_use(self, key: PartnerKey, *, let_in: bool) -> None:
        self.uses.append((key.key_id, let_in))


class FakeJurisdictions(Jurisdictions):
    async def resolve(self, given: str | None) -> str:
        if given is None:
            raise BadRequest("jurisdiction_id was not provided")
        if given not in (J, "other.gov"):
            raise NotFound(f"jurisdiction_id {given!r} not found")
        return given


class FakeCatalogue(Catalogue):
    async def get(self, jurisdiction_id: str, service_code: str) -> ServiceEntry | None:
        kinds = {
            "POTHOLE": ServiceType.realtime,
            "BULKY": ServiceType.batch,
            "GRAFFITI": ServiceType.blackbox,
        }
        if service_code not in kinds:
            return None
        return ServiceEntry(
            jurisdiction_id=jurisdiction_id, service_code=service_code, type=kinds[service_code]
        )


class FakeVault(Vault):
    def __init__(self) -> None:
        self.sealed = 0

    async def seal(self, data: PersonalData) -> SealedPersonalData:
        self.sealed += 1
        return SealedPersonalData(resident_id=uuid4(), nonce="bm9uY2U=", ciphertext="c2VhbGVk")


class FakeEventLog(EventLog):
    def __init__(self) -> None:
        self.published: list[Event[Any]] = []
        self.down = False

    async def publish(self, event: Event[Any]) -> LogPosition:
        if self.down:
            raise EventLogUnavailable("down")
        self.published.append(event)
        return LogPosition(0, len(self.published) - 1)


class FakeSubmissions(InMemoryOutbox, Submissions):
    def __init__(self) -> None:
        super().__init__("gateway.submissions")
        self.rows: dict[UUID, Submission] = {}

    async def recent(self, digest: str, *, window: timedelta) -> Submission | None:
        return next((s for s in self.rows.values() if s.digest == digest), None)

    async def add(self, submission: Submission, *, window: timedelta) -> Submission | None:
        earlier = await self.recent(submission.digest, window=window)
        if earlier is not None:
            return earlier
        self.rows[submission.event_id] = submission
        self.put(str(submission.event_id), [submission.event_json])
        return None

    def on_published(self, key: str, position: LogPosition | None) -> None:
        row = self.rows[UUID(key)]
        self.rows[row.event_id] = replace(row, state=SubmissionState.published, position=position)

    async def submitted_by(self, request_number: str) -> tuple[str, str] | None:
        return None


@pytest.fixture
def ctx() -> SubmitContext:
    return SubmitContext(
        partners=FakePartners(),
        jurisdictions=FakeJurisdictions(),
        catalogue=FakeCatalogue(),
        submissions=FakeSubmissions(),
        vault=FakeVault(),
        event_log=FakeEventLog(),
        pepper=b"unit-test-pepper-0123456789",
        dedup_window=timedelta(hours=24),
    )


def body(**fields: str) -> OpenForm:
    base = {
        "jurisdiction_id": J,
        "service_code": "POTHOLE",
        "lat": "39.78",
        "long": "-89.65",
        "description": "Hole",
        "email": "resident@example.org",
    }
    base.update(fields)
    return OpenForm.parse(list(base.items()))


async def refused(f: OpenForm, api_key: str | None, ctx: SubmitContext, kind: type[Exception]) -> Any:
    with pytest.raises(kind) as info:
        await submit_request(f, api_key=api_key, ctx=ctx)
    assert ctx.event_log.published == []  # type: ignore[attr-defined]
    return info.value


async def test_g70_missing_unknown_revoked_or_foreign_key_is_403(ctx: SubmitContext) -> None:
    """G-70/G-73: every api_key problem is a 403, checked before anything else (even a missing service_code)."""
    assert "not provided" in (await refused(body(service_code=""), None, ctx, Forbidden)).descriptions[0]
    assert "Invalid api_key" in (await refused(body(), "o311_nope", ctx, Forbidden)).descriptions[0]
    assert "revoked" in (await refused(body(), REVOKED.key, ctx, Forbidden)).descriptions[0]
    assert "not authorised" in (await refused(body(), ELSEWHERE.key, ctx, Forbidden)).descriptions[0]


async def test_a_recognised_keys_use_is_counted_let_in_or_refused(ctx: SubmitContext) -> None:
    """The admins' listing counts each key's requests: let in, or refused (revoked, another jurisdiction's); a key
    not recognised is no key's use."""
    await refused(body(), None, ctx, Forbidden)
    await refused(body(), "o311_nope", ctx, Forbidden)
    await refused(body(), REVOKED.key, ctx, Forbidden)
    await refused(body(), ELSEWHERE.key, ctx, Forbidden)
    await submit_request(body(), api_key=KEY.key, ctx=ctx)
    assert ctx.partners.uses == [  # type: ignore[attr-defined]
        (REVOKED.key_id, False),
        (ELSEWHERE.key_id, False),
        (KEY.key_id, True),
    ]


async def test_g61_jurisdiction_missing_400_unknown_404(ctx: SubmitContext) -> None:
    await refused(body(jurisdiction_id=""), KEY.key, ctx, BadRequest)
    await refused(body(jurisdiction_id="nowhere.gov"), KEY.key, ctx, NotFound)


async def test_pr02_service_code_missing_400_unknown_404(ctx: SubmitContext) -> None:
    await refused(body(service_code=""), KEY.key, ctx, BadRequest)
    await refused(body(service_code="NOPE"), KEY.key, ctx, NotFound)


async def test_pr09_realtime_answers_the_number_and_publishes_partner_event(ctx: SubmitContext) -> None:
    answer = await submit_request(body(), api_key=KEY.key, ctx=ctx)
    published = ctx.event_log.published  # type: ignore[attr-defined]
    assert len(published) == 1 and answer.created
    event = published[0]
    assert answer.service_request_id == event.request_id and answer.token is None
    assert (
        event.source == "open311:cityapp"
        and event.actor.kind.value == "partner"
        and event.actor.id == "cityapp"
    )
    assert event.payload.contact is not None and "resident@example.org" not in event.model_dump_json()


async def test_pr09_batch_answers_a_token_blackbox_neither(ctx: SubmitContext) -> None:
    batch = await submit_request(body(service_code="BULKY"), api_key=KEY.key, ctx=ctx)
    assert batch.token and batch.service_request_id is None
    blackbox = await submit_request(body(service_code="GRAFFITI"), api_key=KEY.key, ctx=ctx)
    assert blackbox.token is None and blackbox.service_request_id is None
    assert len(ctx.event_log.published) == 2  # type: ignore[attr-defined]


async def test_pr11_retry_of_the_same_body_is_the_same_request(ctx: SubmitContext) -> None:
    first = await submit_request(body(), api_key=KEY.key, ctx=ctx)
    again = await submit_request(body(), api_key=KEY.key, ctx=ctx)
    assert again.service_request_id == first.service_request_id and not again.created
    assert len(ctx.event_log.published) == 1  # type: ignore[attr-defined]
    assert ctx.vault.sealed == 1  # type: ignore[attr-defined]
    other = await submit_request(body(description="Another hole"), api_key=KEY.key, ctx=ctx)
    assert other.service_request_id != first.service_request_id


async def test_pr11_pending_submission_is_published_with_the_same_event_on_retry(ctx: SubmitContext) -> None:
    log: FakeEventLog = ctx.event_log  # type: ignore[assignment]
    log.down = True
    with pytest.raises(EventLogUnavailable):
        await submit_request(body(), api_key=KEY.key, ctx=ctx)
    (pending,) = ctx.submissions.rows.values()  # type: ignore[attr-defined]
    assert not pending.published
    log.down = False
    answer = await submit_request(body(), api_key=KEY.key, ctx=ctx)
    assert answer.service_request_id == pending.request_number
    assert [e.event_id for e in log.published] == [pending.event_id]


async def test_numbers_are_drawn_inside_the_gateways_tag(ctx: SubmitContext) -> None:
    answer = await submit_request(body(), api_key=KEY.key, ctx=ctx)
    assert answer.service_request_id is not None
    assert request_numbers.producer_of(answer.service_request_id) == "open311-gateway"


class RequestsOnTheLog(Requests):
    def __init__(self, *numbers: str) -> None:
        self.numbers = set(numbers)

    async def get(self, service_request_id: str) -> KnownRequest | None:
        if service_request_id not in self.numbers:
            return None
        return KnownRequest(service_request_id, "city.gov", None, submitted_by=None)


async def test_a_number_a_request_on_the_log_already_has_is_drawn_again(
    ctx: SubmitContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number made before the producer tags, by intake say, may lie inside the gateway's tag."""
    draws = iter(["2AAA-AAAA", "2BBB-BBBB"])
    monkeypatch.setattr(request_numbers, "draw", lambda producer, randbits=None: next(draws))
    ctx = replace(ctx, on_the_log=RequestsOnTheLog("2AAA-AAAA"))
    answer = await submit_request(body(), api_key=KEY.key, ctx=ctx)
    assert answer.service_request_id == "2BBB-BBBB"


# -- what is a retry (PR-11) ------------------------------------------------------------------------------------


async def test_pr11_two_anonymous_identical_bodies_without_a_key_are_two_requests(ctx: SubmitContext) -> None:
    """Two residents sending the same form through the same partner: nothing proves a retry, nothing is folded."""
    first = await submit_request(body(email=""), api_key=KEY.key, ctx=ctx)
    second = await submit_request(body(email=""), api_key=KEY.key, ctx=ctx)
    assert first.service_request_id != second.service_request_id and second.created
    assert len(ctx.event_log.published) == 2  # type: ignore[attr-defined]


async def test_pr11_an_idempotency_key_folds_the_same_body_and_only_that(ctx: SubmitContext) -> None:
    anonymous = body(email="")
    first = await submit_request(anonymous, api_key=KEY.key, ctx=ctx, idempotency_key="k-1")
    again = await submit_request(anonymous, api_key=KEY.key, ctx=ctx, idempotency_key="k-1")
    assert again.service_request_id == first.service_request_id and not again.created
    other_key = await submit_request(anonymous, api_key=KEY.key, ctx=ctx, idempotency_key="k-2")
    other_body = await submit_request(
        body(email="", description="Another hole"), api_key=KEY.key, ctx=ctx, idempotency_key="k-1"
    )
    numbers = {first.service_request_id, other_key.service_request_id, other_body.service_request_id}
    assert len(numbers) == 3
    assert len(ctx.event_log.published) == 3  # type: ignore[attr-defined]


def test_pr11_retry_window_by_what_proves_a_retry() -> None:
    day, short = timedelta(hours=24), timedelta(minutes=10)

    def window(form: OpenForm, key: str | None = None) -> timedelta | None:
        return retry_window(form, idempotency_key=key, dedup_window=day, sender_window=short)

    anonymous = body(email="")
    assert window(anonymous) is None
    assert window(anonymous, "k") == day
    assert window(body(email="", **{"attribute[fixmystreet_id]": "4711"})) == day
    assert window(body(email="", description="Hole\n\n[CivicLoop 7K2M-9QRT]")) == day
    assert window(body()) == short  # names its sender (email)
    assert window(body(email="", phone="+1 217 555 0100")) == short


@pytest.mark.parametrize("raw", ["", "   ", "x" * 256, "key with spaces", "clé"])
def test_an_idempotency_key_that_cannot_be_one_is_400(raw: str) -> None:
    with pytest.raises(BadRequest):
        checked_idempotency_key(raw)


def test_an_idempotency_key_is_kept_as_sent() -> None:
    assert checked_idempotency_key(None) is None
    assert checked_idempotency_key(" 0f8c-41d2 ") == "0f8c-41d2"
