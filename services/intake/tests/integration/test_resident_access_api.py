"""Resident access on the real app, database and broker: a resident asks for a code at the contact given with their
requests, finds it in the development sink, signs in and sees their own requests and no one else's; the stores hold
digests only; guessing a code, on two replicas, is stopped."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_intake.adapters.access_code_sink import read_sink
from civicloop_intake.entrypoints.http import create_app
from intake_harness import Harness

pytestmark = pytest.mark.integration

PHONE = "(202) 555-0161"
EMAIL = "Rosa.Diaz@Example.org"
Client = Callable[[str], httpx.AsyncClient]


@asynccontextmanager
async def replicas(intake: Harness, sink: Path, n: int = 1, **overrides) -> AsyncIterator[list[Client]]:
    """`n` more intake apps on the harness's database and topics, with the development sink at `sink` (without
    consumers: the harness folds the view); each gives clients at the address asked."""
    settings = intake.settings.model_copy(
        update={"resident_code_sink_file": sink, "resident_answer_floor_s": 0.2, **overrides}
    )
    async with AsyncExitStack() as stack:
        apps = [
            (
                await stack.enter_async_context(LifespanManager(create_app(settings, start_consumers=False)))
            ).app
            for _ in range(n)
        ]

        def clients_of(app) -> Client:
            def client(address: str) -> httpx.AsyncClient:
                transport = httpx.ASGITransport(app=app, client=(address, 40000))
                return httpx.AsyncClient(transport=transport, base_url="http://intake", timeout=30)

            return client

        yield [clients_of(app) for app in apps]


async def tracked(intake: Harness, number: str, phone: str) -> None:
    """Waits for the track view to hold `number` (the harness's app folds it)."""
    r = await intake.client.post("/api/v1/track", json={"number": number, "phone": phone})
    assert r.status_code == 200, r.text


async def sign_in(client: httpx.AsyncClient, sink: Path, contact: str) -> str:
    r = await client.post("/api/v1/residents/codes", json={"contact": contact})
    assert r.status_code == 202, r.text
    code = read_sink(sink)[-1]["code"]
    r = await client.post("/api/v1/residents/sessions", json={"contact": contact, "code": code})
    assert r.status_code == 201, r.text
    assert r.json()["token_type"] == "bearer" and r.headers["Cache-Control"] == "no-store"
    return r.json()["access_token"]


async def test_a_resident_signs_in_with_a_code_and_sees_their_own_requests(intake, tmp_path):
    sink = tmp_path / "codes.jsonl"
    first = await intake.submit("Hole", address="1 Main St", contact={"phone": PHONE, "email": EMAIL})
    second = await intake.submit("Another hole", address="2 Main St", contact={"phone": PHONE})
    someone_else = await intake.submit("Hole", address="3 Main St", contact={"phone": "(202) 555-0162"})
    for number, phone in ((first, PHONE), (second, PHONE), (someone_else, "(202) 555-0162")):
        await tracked(intake, number, phone)

    async with replicas(intake, sink) as (one,), one("198.51.100.30") as resident:
        token = await sign_in(resident, sink, "rosa.diaz@example.org")  # the e-mail, typed differently
        [sent] = read_sink(sink)
        assert (sent["kind"], sent["to"]) == ("email", "rosa.diaz@example.org")
        assert sink.stat().st_mode & 0o777 == 0o600
        auth = {"Authorization": f"Bearer {token}"}

        mine = await resident.get("/api/v1/residents/me/requests", headers=auth)
        assert mine.status_code == 200, mine.text
        assert [r["request_number"] for r in mine.json()["requests"]] == [second, first]  # the latest first
        assert mine.json()["requests"][0]["service_name"] == "Pothole"
        one_of_mine = await resident.get(f"/api/v1/residents/me/requests/{first.lower()}", headers=auth)
        assert one_of_mine.status_code == 200 and one_of_mine.json()["description"] == "Hole"
        theirs = await resident.get(f"/api/v1/residents/me/requests/{someone_else}", headers=auth)
        assert theirs.status_code == 404 and theirs.json()["error"] == "not_found"

        # Signed out, the token opens nothing; nor does no token, or a made-up one.
        assert (await resident.delete("/api/v1/residents/sessions/current", headers=auth)).status_code == 204
        for headers in (auth, {}, {"Authorization": "Bearer made-up"}):
            refused = await resident.get("/api/v1/residents/me/requests", headers=headers)
            assert refused.status_code == 401 and refused.json()["error"] == "not_signed_in"
            assert refused.headers["WWW-Authenticate"] == "Bearer"

        # The phone on file works as well as the e-mail, and reaches the same resident.
        token = await sign_in(resident, sink, PHONE)
        assert read_sink(sink)[-1]["to"] == "+12025550161"
        mine = await resident.get(
            "/api/v1/residents/me/requests", headers={"Authorization": f"Bearer {token}"}
        )
        assert [r["request_number"] for r in mine.json()["requests"]] == [second, first]

    # Neither a code, a token nor a contact in clear in intake's tables: digests only.
    async with intake.pool.connection() as conn:
        for table in ("resident_codes", "resident_sessions"):
            cur = await conn.execute(f"select coalesce(string_agg(t::text, ' '), '') from intake.{table} t")
            (text,) = await cur.fetchone()
            for secret in (token, "5550161", "rosa", *(s["code"] for s in read_sink(sink))):
                assert secret not in text


async def test_an_unknown_contact_gets_the_same_answer_and_no_code(intake, tmp_path):
    sink = tmp_path / "codes.jsonl"
    async with replicas(intake, sink) as (one,), one("198.51.100.31") as client:
        known_number = await intake.submit("Hole", address="1 Main St", contact={"phone": "(202) 555-0163"})
        await tracked(intake, known_number, "(202) 555-0163")
        known = await client.post("/api/v1/residents/codes", json={"contact": "(202) 555-0163"})
        unknown = await client.post("/api/v1/residents/codes", json={"contact": "(202) 555-0164"})
        assert (
            (known.status_code, known.json())
            == (unknown.status_code, unknown.json())
            == (
                202,
                {"detail": "if this contact is on file, a code is on its way", "expires_in_s": 600},
            )
        )
        assert [s["to"] for s in read_sink(sink)] == ["+12025550163"]
        wrong = await client.post(
            "/api/v1/residents/sessions", json={"contact": "(202) 555-0164", "code": "123456"}
        )
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_code"
        malformed = await client.post("/api/v1/residents/codes", json={"contact": "hello there"})
        assert malformed.status_code == 422 and malformed.json()["detail"][0]["loc"] == ["body", "contact"]


async def test_guessing_a_code_is_stopped_on_every_replica(intake, tmp_path):
    sink = tmp_path / "codes.jsonl"
    phone = "(202) 555-0165"
    number = await intake.submit("Hole", address="1 Main St", contact={"phone": phone})
    await tracked(intake, number, phone)
    async with (
        replicas(intake, sink, n=2, resident_code_checks_per_contact=4, resident_code_wrong_tries=100) as (
            a,
            b,
        ),
        a("203.0.113.40") as guesser,
        b("203.0.113.41") as guesser_elsewhere,
    ):
        assert (await guesser.post("/api/v1/residents/codes", json={"contact": phone})).status_code == 202
        right = read_sink(sink)[-1]["code"]
        guesses = [f"{(int(right) + i) % 1_000_000:06d}" for i in range(1, 9)]
        answers = await asyncio.gather(
            *(
                [guesser, guesser_elsewhere][i % 2].post(
                    "/api/v1/residents/sessions", json={"contact": phone, "code": g}
                )
                for i, g in enumerate(guesses)
            )
        )
        assert sorted(r.status_code for r in answers) == [401] * 4 + [429] * 4
        refused = next(r for r in answers if r.status_code == 429)
        assert (
            refused.json()["error"] == "too_many_attempts" and 1 <= int(refused.headers["Retry-After"]) <= 900
        )
        # The contact is shut for its window, even to the right code.
        late = await guesser.post("/api/v1/residents/sessions", json={"contact": phone, "code": right})
        assert late.status_code == 429


async def test_a_code_dies_after_its_wrong_tries(intake, tmp_path):
    sink = tmp_path / "codes.jsonl"
    phone = "(202) 555-0166"
    number = await intake.submit("Hole", address="1 Main St", contact={"phone": phone})
    await tracked(intake, number, phone)
    async with replicas(intake, sink, resident_code_wrong_tries=2) as (one,), one("198.51.100.32") as client:
        await client.post("/api/v1/residents/codes", json={"contact": phone})
        right = read_sink(sink)[-1]["code"]
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        for _ in range(2):
            r = await client.post("/api/v1/residents/sessions", json={"contact": phone, "code": wrong})
            assert r.status_code == 401
        r = await client.post("/api/v1/residents/sessions", json={"contact": phone, "code": right})
        assert r.status_code == 401  # the code is gone; a new one must be asked for
        await client.post("/api/v1/residents/codes", json={"contact": phone})
        r = await client.post(
            "/api/v1/residents/sessions", json={"contact": phone, "code": read_sink(sink)[-1]["code"]}
        )
        assert r.status_code == 201


async def test_asking_for_codes_is_limited_per_contact_and_per_client(intake, tmp_path):
    sink = tmp_path / "codes.jsonl"
    async with (
        replicas(intake, sink, resident_codes_per_contact=2, resident_rate_limit_per_client="4/minute") as (
            one,
        ),
        one("203.0.113.42") as busy,
        one("198.51.100.33") as other,
    ):
        codes = [
            (await busy.post("/api/v1/residents/codes", json={"contact": "(202) 555-0170"})).status_code
            for _ in range(3)
        ]
        assert codes == [202, 202, 429]
        codes = [
            (await busy.post("/api/v1/residents/codes", json={"contact": "(202) 555-0171"})).status_code
            for _ in range(2)
        ]
        assert codes == [202, 429]  # the client's fifth call in the minute
        refused = await busy.post("/api/v1/residents/codes", json={"contact": "(202) 555-0172"})
        assert refused.json()["error"] == "too_many_requests"
        assert (
            await other.post("/api/v1/residents/codes", json={"contact": "(202) 555-0172"})
        ).status_code == 202


async def test_without_a_sender_codes_are_unavailable(intake):
    r = await intake.client.post("/api/v1/residents/codes", json={"contact": PHONE})
    assert r.status_code == 503 and r.json()["error"] == "codes_unavailable"
