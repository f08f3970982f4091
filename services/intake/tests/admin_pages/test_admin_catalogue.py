"""The catalogue page of the admin pages, with the Open311 gateway's real app (its own database, the test's broker
topics): an admin defines a service and withdraws it, each asked of the gateway's admin API with the admin's own
token and on `jurisdiction.config`; the gateway's refusal (a code in use) comes back on the page with what was
typed; a forged form changes nothing; without the gateway's address the page says so. A service's questions are
added, changed and removed from its page, each a whole new definition on the log; the gateway's refusal (a list
without choices) and a form opened before another change come back on the page."""

from __future__ import annotations

from uuid import uuid4

import pytest
from admin_harness import admin_world, config_events, gateway_served, replica, sign_in
from civicloop_testing.polling import eventually
from console_harness import browser_client, hidden
from intake_harness import Harness

pytestmark = pytest.mark.integration

PAGE = "/console/admin/catalogue"


async def test_an_admin_defines_and_withdraws_a_service(intake: Harness, pg_admin_dsn: str):
    code = f"DRAIN-{uuid4().hex[:6].upper()}"
    async with admin_world(intake) as (world, _):
        with gateway_served(world, intake, pg_admin_dsn) as gateway_url:
            async with replica(world, admin_gateway_url=gateway_url) as client:
                await sign_in(client, world)
                page = await client.get(PAGE)
                assert page.status_code == 200, page.text
                csrf = hidden(page.text, "csrf", f"{PAGE}/services")
                service = {
                    "csrf": csrf,
                    "service_code": code,
                    "service_name": "Blocked drain",
                    "description": "Water that does not drain away",
                    "group": "water",
                    "keywords": "drain, flood",
                }
                forged = await client.post(f"{PAGE}/services", data={**service, "csrf": "forged"})
                assert forged.status_code == 403

                made = await client.post(f"{PAGE}/services", data=service)
                assert made.status_code == 303 and "done=defined" in made.headers["location"], made.text

                async def state(text: str) -> bool:
                    shown = await client.get(PAGE)
                    start = shown.text.find(f'id="service-{code}"')
                    return start >= 0 and text in shown.text[start : shown.text.index("</tr>", start)]

                await eventually(lambda: state("Offered"), timeout=30, what="the service listed")
                again = await client.post(f"{PAGE}/services", data={**service, "service_name": "Drain again"})
                assert again.status_code == 409 and "Refused:" in again.text
                assert 'value="Drain again"' in again.text  # what was typed, kept

                withdrawn = await client.post(f"{PAGE}/services/{code}/withdraw", data={"csrf": csrf})
                assert withdrawn.status_code == 303 and "done=withdrawn" in withdrawn.headers["location"]
                await eventually(lambda: state("Withdrawn"), timeout=30, what="the service withdrawn")

    defined = [
        e.payload
        for e in await config_events(intake)
        if e.type == "jurisdiction.service.defined" and getattr(e.payload, "service_code", None) == code
    ]
    assert [(d.service_name, d.active, d.keywords) for d in defined] == [
        ("Blocked drain", True, ["drain", "flood"]),
        ("Blocked drain", False, ["drain", "flood"]),
    ]


async def test_without_the_gateway_the_page_says_so(intake: Harness):
    async with admin_world(intake) as (world, _), browser_client(world) as client:
        await sign_in(client, world)
        page = await client.get(PAGE)
        assert page.status_code == 200 and "CIVICLOOP_ADMIN_GATEWAY_URL" in page.text


async def test_an_admin_adds_changes_and_removes_a_services_questions(intake: Harness, pg_admin_dsn: str):
    code = f"TREE-{uuid4().hex[:6].upper()}"
    service_page = f"{PAGE}/services/{code}"
    async with admin_world(intake) as (world, _):
        with gateway_served(world, intake, pg_admin_dsn) as gateway_url:
            async with replica(world, admin_gateway_url=gateway_url) as client:
                await sign_in(client, world)
                csrf = hidden((await client.get(PAGE)).text, "csrf", f"{PAGE}/services")
                made = await client.post(
                    f"{PAGE}/services",
                    data={"csrf": csrf, "service_code": code, "service_name": "Fallen tree"},
                )
                assert made.status_code == 303, made.text

                async def shown(text: str, present: bool = True) -> bool:
                    page = await client.get(service_page)
                    return page.status_code == 200 and (text in page.text) == present

                await eventually(lambda: shown("No question yet."), timeout=30, what="the service's page")
                question = {
                    "csrf": csrf,
                    "code": "size",
                    "datatype": "singlevaluelist",
                    "description": "How big is it?",
                    "values": "branch = A branch\ntrunk = A whole tree",
                }
                forged = await client.post(f"{service_page}/questions", data={**question, "csrf": "forged"})
                assert forged.status_code == 403
                empty_list = await client.post(f"{service_page}/questions", data={**question, "values": ""})
                assert empty_list.status_code == 409 and "Refused:" in empty_list.text
                assert "How big is it?" in empty_list.text  # what was typed, kept
                added = await client.post(f"{service_page}/questions", data=question)
                assert added.status_code == 303 and "done=question_added" in added.headers["location"], (
                    added.text
                )
                await eventually(lambda: shown('id="question-1"'), timeout=30, what="the question listed")
                catalogue_page = await client.get(PAGE)
                row = catalogue_page.text[catalogue_page.text.index(f'id="service-{code}"') :]
                assert f'href="{service_page}?lang=en">1<' in row[: row.index("</tr>")]

                second = {
                    **question,
                    "code": "blocking",
                    "datatype": "string",
                    "values": "",
                    "required": "on",
                }
                second["description"] = "Is the road blocked?"
                assert (await client.post(f"{service_page}/questions", data=second)).status_code == 303
                await eventually(lambda: shown('id="question-2"'), timeout=30, what="the second question")

                changed = await client.post(
                    f"{service_page}/questions/1",
                    data={
                        **question,
                        "was": "size",
                        "required": "on",
                        "values": "branch = A branch\nroot = Roots",
                    },
                )
                assert changed.status_code == 303 and "done=question_changed" in changed.headers["location"]
                await eventually(lambda: shown("A branch, Roots"), timeout=30, what="the changed choices")

                stale = await client.post(
                    f"{service_page}/questions/1/remove", data={"csrf": csrf, "was": "blocking"}
                )
                assert stale.status_code == 409 and "changed meanwhile" in stale.text
                removed = await client.post(
                    f"{service_page}/questions/1/remove", data={"csrf": csrf, "was": "size"}
                )
                assert removed.status_code == 303 and "done=question_removed" in removed.headers["location"]
                await eventually(lambda: shown('id="question-1"', present=False), timeout=30, what="removed")
                assert 'id="question-2"' in (await client.get(service_page)).text
                unknown = await client.get(f"{PAGE}/services/NO-SUCH-{code}")
                assert unknown.status_code == 404 and "no such service" in unknown.text

    definitions = [
        e.payload
        for e in await config_events(intake)
        if e.type == "jurisdiction.service.defined" and getattr(e.payload, "service_code", None) == code
    ]
    asked = [[(a.code, a.required, [v.key for v in a.values]) for a in d.attributes] for d in definitions]
    assert asked == [
        [],
        [("size", False, ["branch", "trunk"])],
        [("size", False, ["branch", "trunk"]), ("blocking", True, [])],
        [("size", True, ["branch", "root"]), ("blocking", True, [])],
        [("blocking", True, [])],
    ]
    assert all(d.service_name == "Fallen tree" and d.active for d in definitions)
