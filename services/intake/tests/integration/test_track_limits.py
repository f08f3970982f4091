"""Track's limits on the real app, two replicas on one database: guessing phones against one number is stopped
after a few tries whoever asks and whichever replica answers, a resident following their own request never is, the
refusal ends with its window, and one client tracking too often is refused while others are not."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from civicloop_intake.entrypoints.http import create_app
from intake_harness import Harness

pytestmark = pytest.mark.integration

PHONE = "(202) 555-0177"
WRONG = [f"(202) 555-01{i:02d}" for i in range(10, 30)]
Client = Callable[[str], httpx.AsyncClient]


@asynccontextmanager
async def replicas(intake: Harness, n: int = 2, **overrides) -> AsyncIterator[list[Client]]:
    """`n` more intake apps on the harness's database and topics (without consumers: the harness folds the view);
    each gives clients at the address asked."""
    settings = intake.settings.model_copy(update={"read_your_writes_timeout_s": 0.3, **overrides})
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


async def track(client: httpx.AsyncClient, number: str, phone: str) -> httpx.Response:
    return await client.post("/api/v1/track", json={"number": number, "phone": phone})


async def submitted(intake: Harness) -> str:
    number = await intake.submit("Hole", address="1 Main St", contact={"phone": PHONE})
    assert (await track(intake.client, number, PHONE)).status_code == 200  # the view has it
    return number


async def test_guessing_phones_is_stopped_for_everyone_on_every_replica(intake):
    number, other_number = await submitted(intake), await submitted(intake)
    async with (
        replicas(intake, track_attempts_per_number=3) as (one, two),
        one("203.0.113.5") as guesser,
        two("203.0.113.5") as guesser_elsewhere,
    ):
        # Together, on both replicas: exactly three guesses are answered, the rest refused.
        answers = await asyncio.gather(
            *(track([guesser, guesser_elsewhere][i % 2], number, WRONG[i]) for i in range(8))
        )
        assert sorted(r.status_code for r in answers) == [404] * 3 + [429] * 5
        refused = next(r for r in answers if r.status_code == 429)
        assert refused.json()["error"] == "too_many_attempts"
        assert 890 <= int(refused.headers["Retry-After"]) <= 900
        # Whoever asks, even with the right phone: the number is shut for its window.
        async with two("198.51.100.20") as resident:
            assert (await track(resident, number, PHONE)).status_code == 429
        # Other numbers are not: the guesser's client may still follow one it knows.
        assert (await track(guesser, other_number, PHONE)).status_code == 200


async def test_a_resident_following_their_own_request_is_never_locked(intake):
    number = await submitted(intake)
    async with (
        replicas(intake, n=1, track_attempts_per_number=2) as (one,),
        one("198.51.100.21") as resident,
    ):
        assert [(await track(resident, number, PHONE)).status_code for _ in range(6)] == [200] * 6
        assert (await track(resident, number, WRONG[0])).status_code == 404  # one typo
        assert (await track(resident, number, PHONE)).status_code == 200


async def test_the_refusal_ends_with_its_window(intake):
    number = await submitted(intake)
    async with (
        replicas(intake, n=1, track_attempts_per_number=1, track_attempts_window_s=2) as (one,),
        one("203.0.113.6") as guesser,
    ):
        assert (await track(guesser, number, WRONG[0])).status_code == 404
        refused = await track(guesser, number, WRONG[1])
        assert refused.status_code == 429
        retry_after = int(refused.headers["Retry-After"])
        assert 1 <= retry_after <= 2
        await asyncio.sleep(retry_after)  # Retry-After's promise: the window has ended by then
        assert (await track(guesser, number, PHONE)).status_code == 200


async def test_one_client_tracking_too_often_is_refused_and_others_are_not(intake):
    number = await submitted(intake)
    async with (
        replicas(intake, n=1, track_rate_limit_per_client="2/minute") as (one,),
        one("203.0.113.7") as busy,
        one("198.51.100.22") as other,
    ):
        codes = [(await track(busy, "ZZZZ-ZZZ1", WRONG[i])).status_code for i in range(3)]
        assert codes == [404, 404, 429]
        refused = await track(busy, number, PHONE)
        assert refused.status_code == 429 and refused.json()["error"] == "too_many_requests"
        assert 1 <= int(refused.headers["Retry-After"]) <= 120  # sliding: at most twice the window
        assert (await track(other, number, PHONE)).status_code == 200
        # The rest of the API keeps its own, wider limit.
        assert (await busy.post("/api/v1/requests", json={})).status_code == 422
