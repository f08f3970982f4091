"""Single sign-on through intake's routes against a real OpenID Connect provider process (`oidc-provider-mock` on
127.0.0.1), driven as a browser drives it: the start route sends the browser to the provider, its login form sends
it back to the callback, which answers a CivicLoop staff token with the roles the claims map to. The first sign-in
creates the account (an event), later ones find it by issuer + subject; a state answers once; someone whose claims
map to no role, or whose account was disabled, is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from civicloop_testing.oidc_provider import oidc_provider, put_person
from civicloop_testing.polling import eventually
from staff_harness import StaffHarness, staff_intake

pytestmark = pytest.mark.integration

CALLBACK = "http://127.0.0.1:8001/api/v1/staff/auth/oidc/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with oidc_provider() as issuer:
        yield issuer


def providers(issuer: str) -> str:
    return json.dumps(
        [
            {
                "jurisdiction_id": "demo",
                "issuer": issuer,
                "client_id": "civicloop-demo",
                "client_secret_ref": "demo.oidc-client",
                "redirect_uri": CALLBACK,
                "claims": {
                    "roles": {"311-agents": ["agent"], "311-leads": ["agent", "supervisor"]},
                    "teams": {"dept-roads": "roads"},
                },
            }
        ]
    )


async def through_provider(h: StaffHarness, browser: httpx.AsyncClient, sub: str) -> httpx.Response:
    """Start at intake, log in at the provider as `sub`, come back to intake's callback: its answer."""
    start = await h.client.get("/api/v1/staff/auth/oidc/demo/start")
    assert start.status_code == 302, start.text
    authorization_url = start.headers["location"]
    assert (await browser.get(authorization_url)).status_code == 200
    back = await browser.post(authorization_url, data={"sub": sub})
    assert back.status_code == 302, back.text
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    return await h.client.get("/api/v1/staff/auth/oidc/callback?" + location.query)


async def test_single_sign_on_creates_then_finds_the_account(
    provider, migrated_dsn, kafka_bootstrap, fresh_topics, monkeypatch
):
    monkeypatch.setenv("CIVICLOOP_SECRET_DEMO_OIDC_CLIENT", "client-secret-for-tests")
    async with (
        staff_intake(
            migrated_dsn, kafka_bootstrap, fresh_topics, staff_oidc_providers=providers(provider)
        ) as h,
        httpx.AsyncClient(timeout=10) as browser,
    ):
        sub = f"lead-{fresh_topics.prefix.strip('.')}"
        person = {"email": h.email("lead"), "groups": ["311-leads", "dept-roads", "canteen"]}
        await put_person(browser, provider, sub, person)

        first = await through_provider(h, browser, sub)
        assert first.status_code == 200, first.text
        token = first.json()["access_token"]
        me = (await h.client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {token}"})).json()
        assert me["roles"] == ["agent", "supervisor"] and me["methods"] == ["oidc"]
        assert me["teams"] == []  # `roads` is not a team the jurisdiction defined

        again = await through_provider(h, browser, sub)
        assert again.status_code == 200, again.text
        me_again = (
            await h.client.get(
                "/api/v1/staff/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"}
            )
        ).json()
        assert me_again["staff_id"] == me["staff_id"]

        events = await h.config_events()
        created = [
            e for e in events if e.type == "staff.created" and str(e.payload.staff_id) == me["staff_id"]
        ]
        assert len(created) == 1 and created[0].actor.id == f"oidc:{provider}"
        assert person["email"].encode() not in b"".join(e.model_dump_json().encode() for e in events)

        # Disabled by an admin: the provider still vouches, CivicLoop refuses.
        await h.folded(created[0].payload.staff_id)
        auth = {"Authorization": f"Bearer {await h.admin_token()}"}
        r = await h.client.post(
            f"/api/v1/staff/accounts/{me['staff_id']}/disable", json={"reason": "left"}, headers=auth
        )
        assert r.json() == {"changed": True}

        async def disabled() -> bool:
            row = await h.staff.store.account(created[0].payload.staff_id)
            return row is not None and not row.account.active

        await eventually(disabled, what="the disable folded")
        assert (await through_provider(h, browser, sub)).status_code == 401


async def test_a_state_answers_once_and_no_role_means_no_entry(
    provider, migrated_dsn, kafka_bootstrap, fresh_topics, monkeypatch
):
    monkeypatch.setenv("CIVICLOOP_SECRET_DEMO_OIDC_CLIENT", "client-secret-for-tests")
    async with (
        staff_intake(
            migrated_dsn, kafka_bootstrap, fresh_topics, staff_oidc_providers=providers(provider)
        ) as h,
        httpx.AsyncClient(timeout=10) as browser,
    ):
        canteen = f"canteen-{fresh_topics.prefix.strip('.')}"
        await put_person(browser, provider, canteen, {"groups": ["canteen"]})
        refused = await through_provider(h, browser, canteen)
        assert refused.status_code == 401 and refused.json()["error"] == "sign_in_refused"

        agent = f"agent-{fresh_topics.prefix.strip('.')}"
        await put_person(browser, provider, agent, {"groups": ["311-agents"]})
        start = await h.client.get("/api/v1/staff/auth/oidc/demo/start")
        url = start.headers["location"]
        await browser.get(url)
        back = urlsplit((await browser.post(url, data={"sub": agent})).headers["location"])
        query = {k: v[0] for k, v in parse_qs(back.query).items()}
        first = await h.client.get("/api/v1/staff/auth/oidc/callback", params=query)
        assert first.status_code == 200, first.text
        replayed = await h.client.get("/api/v1/staff/auth/oidc/callback", params=query)
        assert replayed.status_code == 401
        made_up = await h.client.get("/api/v1/staff/auth/oidc/callback", params=query | {"state": "made-up"})
        assert made_up.status_code == 401
        assert (await h.client.get("/api/v1/staff/auth/oidc/elsewhere/start")).status_code == 404
