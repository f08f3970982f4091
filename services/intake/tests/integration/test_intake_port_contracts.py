"""One contract per port, held by the in-memory fake the handler tests use and by the PostgreSQL adapter alike.

Each `...Contract` class states what the port promises; a `TestFake...` and a `TestPostgres...` subclass run it
against each implementation (the persistence tests of pyeventsourcing are built the same way). A fake that drifts
from its adapter fails here, not in a handler test that trusted it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from civicloop_events import PersonalData
from civicloop_events.payloads import RequestStatus
from civicloop_events.personal_data import PersonalDataUnreadable
from civicloop_events.request_numbers import new_request_number
from civicloop_intake.adapters.postgres_catalogue import PostgresCatalogue, PostgresCatalogueRows
from civicloop_intake.adapters.postgres_corrections import PostgresCorrections
from civicloop_intake.adapters.postgres_merges import PostgresMerges
from civicloop_intake.adapters.postgres_submissions import PostgresSubmissions
from civicloop_intake.adapters.vault import PostgresVault
from civicloop_intake.domain.catalogue import CatalogueEntry
from civicloop_intake.domain.corrections import Correction
from civicloop_intake.domain.merging import Merge
from civicloop_intake.domain.submissions import LogPosition, Submission, SubmissionState
from civicloop_intake.domain.tracking import TrackedRequest
from civicloop_intake.service_layer.ports import (
    Catalogue,
    Merges,
    RequestNumberTaken,
    Submissions,
    Vault,
)
from civicloop_intake.settings import DEV_PEPPER
from civicloop_runtime.vault import ResidentKeyVault

# The fakes the handler tests use, imported from beside them (the repository root is on pytest's path).
from services.intake.tests.unit.intake_fakes import (
    FakeCatalogue,
    FakeCorrections,
    FakeMerges,
    FakeSubmissions,
    FakeVault,
)

pytestmark = pytest.mark.integration

POSITION = LogPosition(3, 1207)


def key() -> str:
    return f"contract-{uuid.uuid4()}"


def event_json() -> str:
    return json.dumps({"event_id": str(uuid.uuid4())})


async def mark_published(outbox: Any, key: str) -> None:
    """Claim the unpublished entry under `key` and mark it published at POSITION."""
    async with outbox.claim(key) as claim:
        assert claim.entry.key == key and not claim.entry.published
        await claim.mark_published(POSITION)


def assert_published(kept: Any) -> None:
    assert kept is not None and kept.published and kept.position == POSITION


def a_fresh(fake: Callable[[], Any]) -> Any:
    """The port fixture of a `TestFake...` class: a new fake for each test."""

    @pytest.fixture
    def port(self) -> Any:
        return fake()

    return port


def on_the_run_database(adapter: Callable[[Any], Any]) -> Any:
    """The port fixture of a `TestPostgres...` class: the adapter on the run's migrated database."""

    @pytest.fixture
    def port(self, migrated_dsn: str, pool: Any) -> Any:
        return adapter(pool)

    return port


# -- catalogue ------------------------------------------------------------------------------------------------------

CatalogueWith = Callable[..., Awaitable[Catalogue]]


class CatalogueContract:
    """`catalogue_with(*entries)`: a catalogue in which each entry was defined, in order."""

    async def test_an_undefined_service_is_none(self, catalogue_with: CatalogueWith) -> None:
        catalogue = await catalogue_with()
        assert await catalogue.get(f"j-{uuid.uuid4().hex[:8]}", "pothole") is None

    async def test_an_entry_is_read_back_whole_and_the_latest_definition_wins(
        self, catalogue_with: CatalogueWith
    ) -> None:
        j = f"j-{uuid.uuid4().hex[:8]}"
        first = CatalogueEntry(j, "pothole", "Pothole", active=True)
        latest = CatalogueEntry(j, "pothole", "Pothole (road)", active=False)
        other = CatalogueEntry(j, "graffiti", "Graffiti", active=True)
        catalogue = await catalogue_with(first, other, latest)
        assert await catalogue.get(j, "pothole") == latest
        assert await catalogue.get(j, "graffiti") == other


class TestFakeCatalogue(CatalogueContract):
    @pytest.fixture
    def catalogue_with(self) -> CatalogueWith:
        async def make(*entries: CatalogueEntry) -> Catalogue:
            return FakeCatalogue(*entries)

        return make


class TestPostgresCatalogue(CatalogueContract):
    @pytest.fixture
    def catalogue_with(self, migrated_dsn: str, pool: Any) -> CatalogueWith:
        from civicloop_events import Event, ServiceDefined
        from civicloop_events.envelope import Actor, ActorKind

        async def make(*entries: CatalogueEntry) -> Catalogue:
            for entry in entries:
                event = Event.create(
                    ServiceDefined(
                        service_code=entry.service_code, service_name=entry.service_name, active=entry.active
                    ),
                    request_id=None,
                    jurisdiction_id=entry.jurisdiction_id,
                    actor=Actor(kind=ActorKind.agent, id="contract"),
                    source="agent",
                )
                async with pool.connection() as conn:
                    await PostgresCatalogueRows(conn).save(entry, event)
            return PostgresCatalogue(pool)

        return make


# -- vault ----------------------------------------------------------------------------------------------------------

Erase = Callable[[UUID], Awaitable[None]]


class VaultContract:
    """`vault`: a (vault, erase) pair; `erase` forgets a resident's key."""

    async def test_what_is_sealed_unseals_to_the_same_and_is_not_readable_sealed(
        self, vault: tuple[Vault, Erase]
    ) -> None:
        port, _ = vault
        data = PersonalData(name="Ada", phone="+12025550143", email="ada@example.org")
        sealed = await port.seal(data)
        assert "2025550143" not in sealed.model_dump_json() and "ada@" not in sealed.model_dump_json()
        assert await port.unseal(sealed) == data

    async def test_an_erased_resident_cannot_be_unsealed(self, vault: tuple[Vault, Erase]) -> None:
        port, erase = vault
        sealed = await port.seal(PersonalData(phone="+12025550199"))
        await erase(sealed.resident_id)
        with pytest.raises(PersonalDataUnreadable):
            await port.unseal(sealed)


class TestFakeVault(VaultContract):
    @pytest.fixture
    def vault(self) -> tuple[Vault, Erase]:
        fake = FakeVault()

        async def erase(resident_id: UUID) -> None:
            fake.erase(resident_id)

        return fake, erase


class TestPostgresVault(VaultContract):
    @pytest.fixture
    def vault(self, migrated_dsn: str, pool: Any) -> tuple[Vault, Erase]:
        keys = ResidentKeyVault(pool, pepper=DEV_PEPPER.encode())
        return PostgresVault(keys), keys.erase


# -- kept commands: submissions and corrections ---------------------------------------------------------------------


def submission(idempotency_key: str, number: str | None = None) -> Submission:
    return Submission(idempotency_key, number or new_request_number(), uuid.uuid4(), "hash", event_json())


def correction(idempotency_key: str) -> Correction:
    return Correction(idempotency_key, new_request_number(), uuid.uuid4(), "hash", event_json())


class KeptCommandsContract:
    """What a port of commands kept under their Idempotency-Key promises (`kept`); `command(key)` makes one."""

    command: Callable[[str], Any]

    async def test_an_unknown_key_is_none(self, kept: Any) -> None:
        assert await kept.get(key()) is None

    async def test_a_stored_command_is_pending_and_its_key_answers_with_it(self, kept: Any) -> None:
        c = self.command(key())
        assert await kept.add(c) is None
        assert await kept.get(c.idempotency_key) == c
        assert c.state is SubmissionState.pending
        again = self.command(c.idempotency_key)
        assert await kept.add(again) == c

    async def test_marking_published_keeps_the_position(self, kept: Any) -> None:
        c = self.command(key())
        await kept.add(c)
        await mark_published(kept, c.idempotency_key)
        assert_published(await kept.get(c.idempotency_key))
        assert_published(await kept.stored(c.idempotency_key))


PutOnTheLog = Callable[
    [str], Awaitable[None]
]  # a request with this number is on the log (the tracking view has it)


def tracked(number: str) -> TrackedRequest:
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    return TrackedRequest(number, "demo", "pothole", "hole", RequestStatus.open, t0, t0)


class SubmissionsContract(KeptCommandsContract):
    command = staticmethod(submission)

    async def test_a_number_already_taken_is_refused(self, kept: Submissions) -> None:
        s = submission(key())
        await kept.add(s)
        with pytest.raises(RequestNumberTaken):
            await kept.add(submission(key(), s.request_number))

    async def test_a_number_a_request_on_the_log_holds_is_refused(
        self, kept: Submissions, put_on_the_log: PutOnTheLog
    ) -> None:
        number = new_request_number()
        await put_on_the_log(number)
        with pytest.raises(RequestNumberTaken):
            await kept.add(submission(key(), number))
        assert await kept.add(submission(key())) is None  # any other number is stored


class TestFakeSubmissions(SubmissionsContract):
    kept = a_fresh(FakeSubmissions)

    @pytest.fixture
    def put_on_the_log(self, kept: FakeSubmissions) -> PutOnTheLog:
        async def put(number: str) -> None:
            kept.on_the_log.rows[number] = tracked(number)

        return put


class TestPostgresSubmissions(SubmissionsContract):
    kept = on_the_run_database(PostgresSubmissions)

    @pytest.fixture
    def put_on_the_log(self, pool: Any) -> PutOnTheLog:
        async def put(number: str) -> None:
            t = tracked(number)
            async with pool.connection() as conn:
                await conn.execute(
                    "insert into intake.tracking (request_number, jurisdiction_id, service_code, description,"
                    " status, submitted_at, updated_at) values (%s, %s, %s, %s, %s, %s, %s)",
                    (
                        number,
                        t.jurisdiction_id,
                        t.service_code,
                        t.description,
                        t.status,
                        t.submitted_at,
                        t.updated_at,
                    ),
                )

        return put


class CorrectionsContract(KeptCommandsContract):
    command = staticmethod(correction)


class TestFakeCorrections(CorrectionsContract):
    kept = a_fresh(FakeCorrections)


class TestPostgresCorrections(CorrectionsContract):
    kept = on_the_run_database(PostgresCorrections)


# -- merges ---------------------------------------------------------------------------------------------------------


def merge() -> Merge:
    original = new_request_number()
    return Merge(new_request_number(), original, original, uuid.uuid4(), event_json())


class MergesContract:
    async def test_a_merge_added_in_the_ledger_is_seen_by_the_next_check(self, merges: Merges) -> None:
        m = merge()
        async with merges.serialised() as ledger:
            assert await ledger.get(m.duplicate) is None
            await ledger.add(m)
        async with merges.serialised() as ledger:
            assert await ledger.get(m.duplicate) == m

    async def test_marking_a_merge_published_keeps_the_position(self, merges: Merges) -> None:
        m = merge()
        async with merges.serialised() as ledger:
            await ledger.add(m)
        await mark_published(merges, m.duplicate)
        async with merges.serialised() as ledger:
            assert_published(await ledger.get(m.duplicate))


class TestFakeMerges(MergesContract):
    merges = a_fresh(FakeMerges)


class TestPostgresMerges(MergesContract):
    merges = on_the_run_database(PostgresMerges)
