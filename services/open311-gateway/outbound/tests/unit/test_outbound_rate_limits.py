"""The outbound app's admin API is limited per client before its bearer token is checked: a client trying tokens is
answered 429 with Retry-After. Checked on the real app factory (no lifespan: refusals need no database)."""

import httpx
from civicloop_outbound.entrypoints.http import create_app
from civicloop_outbound.settings import Environment, OutboundSettings

PATH = "/open311/v2/admin/outbound/bodies.json"


def client_at(app, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://ob"
    )


async def test_a_client_trying_tokens_is_stopped_and_others_are_not():
    app = create_app(OutboundSettings(env=Environment.test, rate_limit_per_client="3/minute"))
    async with client_at(app, "198.51.100.40") as guesser, client_at(app, "198.51.100.41") as other:
        tries = [await guesser.get(PATH, headers={"Authorization": f"Bearer guess-{i}"}) for i in range(4)]
        assert [r.status_code for r in tries] == [401, 401, 401, 429]
        assert tries[-1].json()["error"] == "too_many_requests"
        assert 1 <= int(tries[-1].headers["Retry-After"]) <= 120  # sliding: at most twice the window
        assert (await other.get(PATH, headers={"Authorization": "Bearer guess"})).status_code == 401
