"""The request page's further actions on the real app, database and broker, with public-projections' agent view
and the notifier: an agent assigns by picking a colleague by name (never typing an id), changes the priority and the
category, places the request by hand, plans a visit, moves it and cancels it, and answers with reply templates; the
preview says who each action that tells residents would notify, before anything is saved. The log holds each step
once, with the agent as actor."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from civicloop_events import ServiceDefined
from civicloop_intake.adapters.postgres_catalogue import CATALOGUE_CONSUMER
from civicloop_intake.domain.work_policy import DEFAULT_POLICY, ReplyTemplate
from civicloop_intake.service_layer.staff_seed import seed_staff
from civicloop_staff.roles import Role
from civicloop_testing.consumers import assert_applied
from civicloop_testing.polling import eventually
from console_harness import ConsoleWorld, browser_client, console_world, hidden, notifier_settings
from intake_harness import Harness
from test_console_work import _signed_in_client

pytestmark = pytest.mark.integration


def _form(html: str, action: str) -> str:
    """The form posting to `action` (its first one)."""
    start = html.index(f'action="{action}')
    return html[start : html.index("</form>", start)]


async def _define_category(intake: Harness, code: str, *, active: bool) -> None:
    service = ServiceDefined(service_code=code, service_name=f"Streetlight {code[-4:]}", active=active)
    position = await intake.publish(service, request_id=None, topic=intake.topics.jurisdiction_config)
    catalogue = intake.topics.prefix + CATALOGUE_CONSUMER
    await assert_applied(intake.pool, schema="intake", consumer=catalogue, positions=[position])


async def _report(intake: Harness, description: str) -> str:
    made = await intake.client.post(
        "/api/v1/requests",
        json={
            "service_code": "pothole",
            "description": description,
            "address_string": "14 Elm St",
            "contact": {"email": "resident@example.org"},
            "preferred_channel": "email",
        },
    )
    assert made.status_code == 201, made.text
    number: str = made.json()["request_number"]
    return number


class Page:
    """The request's page as a browser without JavaScript works it: read it, post one of its forms."""

    def __init__(self, client: httpx.AsyncClient, number: str) -> None:
        self.client, self.url = client, f"/console/requests/{number}"

    async def text(self, location: str | None = None) -> str:
        page = await self.client.get(location or self.url)
        assert page.status_code == 200, page.text[-2000:]
        return page.text

    async def post(self, action: str, fields: dict[str, Any], *, html: str | None = None) -> httpx.Response:
        html = html or await self.text()
        form = {
            "csrf": hidden(html, "csrf"),
            "idempotency_key": hidden(html, "idempotency_key", f"{self.url}/{action}"),
            **fields,
        }
        return await self.client.post(f"{self.url}/{action}", data=form)

    async def done(self, action: str, fields: dict[str, Any], *, html: str | None = None) -> str:
        answer = await self.post(action, fields, html=html)
        assert answer.status_code == 303, (action, answer.text[-3000:])
        assert f"done={action}" in answer.headers["location"]
        return await self.text(answer.headers["location"])  # after the command's position: read your writes


async def _colleague(world: ConsoleWorld, intake: Harness, tag: str) -> tuple[str, str, str]:
    """A team and an agent of it with a name, as an admin makes them; (team_id, staff_id, name), once intake's
    staff directory folded them."""
    admin = world.app.state.service.staff.admin
    team_id, name = f"lights-{tag}", f"Nora Field {tag}"
    await admin.define_team(team_id, f"Street lights {tag}", jurisdiction_id="demo", by=None)

    async def team_known() -> bool:
        return team_id in await admin.store.known_teams("demo")

    await eventually(team_known, timeout=30, what="the new team in intake's staff store")
    staff_id = await seed_staff(
        admin,
        email=f"nora.{tag}@county.example",
        name=name,
        roles=(Role.agent,),
        teams=(team_id,),
        jurisdiction_id="demo",
        now=datetime.now(UTC),
    )

    async def folded() -> bool:
        async with intake.pool.connection() as conn:
            cur = await conn.execute(
                "select 1 from intake.staff_accounts where staff_id = %s and %s = any(teams)",
                (staff_id, team_id),
            )
            return await cur.fetchone() is not None

    await eventually(folded, timeout=30, what="the new colleague in intake's staff directory")
    return team_id, str(staff_id), name


async def test_an_agent_works_a_request_with_every_action_of_its_page(intake: Harness):
    tag = uuid4().hex[:8]
    category = f"light{tag}"
    await _define_category(intake, category, active=True)
    try:
        async with console_world(intake) as world, browser_client(world) as client:
            await _signed_in_client(client, world)
            team_id, staff_id, name = await _colleague(world, intake, tag)
            number = await _report(intake, "Streetlight flickers all night")
            page = Page(client, number)

            async def shown() -> str | None:
                answer = await client.get(page.url)
                return answer.text if answer.status_code == 200 else None

            html = await eventually(shown, timeout=30, what="the request's page")

            # The assignment picker: teams and active agents and supervisors by name and email, no id to type.
            assign = _form(html, f"{page.url}/assign")
            assert f'<option value="{team_id}">Street lights {tag}</option>' in assign
            assert (
                f'<option value="{staff_id}">{name} · nora.{tag}@county.example — Street lights {tag}'
                in assign
            )
            assert 'type="text" id="assign-staff"' not in assign
            html = await page.done("assign", {"team_id": team_id, "staff_id": staff_id, "note": ""})
            assert re.search(rf'<dd id="assignee">{name}</dd>', html), "the assignee by name"
            assert f'<dd id="team">Street lights {tag}</dd>' in html
            assert staff_id not in html.split('id="assignee"')[1].split("</dd>")[0]

            # Templates are offered for the request's category and action; the API fills the chosen one in.
            ack = _form(html, f"{page.url}/acknowledge")
            assert '<option value="ack-default">' in ack and "close-fixed" not in ack
            assert 'value="close-not-ours"' in _form(html, f"{page.url}/close")
            html = await page.done(
                "acknowledge", {"template_id": "ack-default", "public_note": ""}, html=html
            )

            html = await page.done("priority", {"priority": "high", "note": "school route"}, html=html)
            assert '<dd id="priority">High</dd>' in html
            assert f'<option value="{category}">Streetlight {tag[-4:]}</option>' in _form(
                html, f"{page.url}/category"
            )
            html = await page.done("category", {"service_code": category, "note": "misfiled"}, html=html)
            assert f"(<code>{category}</code>)" in html

            html = await page.done(
                "location", {"lat": "38.8977", "long": "-77.0365", "address": ""}, html=html
            )

            # A visit planned, then moved, then cancelled: each planned visit has forms of its own.
            start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
            html = await page.done(
                "visit",
                {"starts_at": start.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": "45", "address": ""},
                html=html,
            )
            assert "No visit planned." not in html
            visit_id = hidden(_form(html, f"{page.url}/reschedule"), "visit_id")
            later = start + timedelta(days=1)
            html = await page.done(
                "reschedule",
                {
                    "visit_id": visit_id,
                    "starts_at": later.strftime("%Y-%m-%dT%H:%M"),
                    "duration_minutes": "45",
                },
                html=html,
            )
            assert f'value="{later.strftime("%Y-%m-%dT%H:%M")}"' in _form(html, f"{page.url}/reschedule")
            html = await page.done("cancel_visit", {"visit_id": visit_id, "public_note": "Rain"}, html=html)
            assert "No visit planned." in html and f"{page.url}/reschedule" not in html

            # A refusal says why: the request's own category again is no change.
            same = await page.post("category", {"service_code": category}, html=html)
            assert same.status_code == 409 and "Refused:" in same.text

        events = [e for e in await world.events_of(intake, number) if e.actor.kind == "agent"]
        assert [e.type for e in events] == [
            "request.assigned",
            "request.status.changed",
            "request.priority.changed",
            "request.category.changed",
            "request.location.corrected",
            "request.visit.scheduled",
            "request.visit.rescheduled",
            "request.visit.cancelled",
        ]
        assert {e.actor.id for e in events} == {str(world.agent.staff_id)}
        assigned, acknowledged = events[0].payload, events[1].payload
        assert (assigned.team_id, assigned.staff_id) == (team_id, staff_id)
        assert acknowledged.public_note == f"Thank you: we received report {number} and will look into it."
        assert events[6].payload.starts_at == later and events[7].payload.public_note == "Rain"
    finally:
        await _define_category(intake, category, active=False)  # the other tests' catalogue as it was


async def test_the_preview_covers_templates_visits_and_merges(intake: Harness, inbox: object, tmp_path: Path):
    policy = tmp_path / "agent-work.json"
    policy.write_text(
        DEFAULT_POLICY.model_copy(
            update={
                "templates": (
                    *DEFAULT_POLICY.templates,
                    ReplyTemplate(
                        template_id="bench-crew",
                        action="comment",
                        service_code="pothole",
                        text="Report {request_number}: a crew is on its way.",
                    ),
                    ReplyTemplate(
                        template_id="graffiti-only", action="comment", service_code="graffiti", text="Gone."
                    ),
                )
            }
        ).model_dump_json(),
        encoding="utf-8",
    )
    async with (
        console_world(intake, notifier=notifier_settings(intake), agent_work_file=str(policy)) as world,
        browser_client(world) as client,
    ):
        await _signed_in_client(client, world)
        number = await _report(intake, "Broken bench in the square")
        original = await _report(intake, "The bench again")
        page = Page(client, number)

        async def previewed(action: str, fields: dict[str, Any]) -> str:
            answer = await page.post(action, {**fields, "preview": "1"})
            assert answer.status_code == 200, answer.text[-2000:]
            return answer.text

        async def names_the_resident() -> str | None:  # the notifier folds the request on its own consumer
            answer = await client.get(page.url)
            if answer.status_code != 200:
                return None
            text = await previewed("acknowledge", {"template_id": "ack-default", "public_note": ""})
            return text if f"{number} · email ·" in text else None

        shown = await eventually(names_the_resident, timeout=45, what="the preview to name the resident")
        assert f"we received report {number} and will look into it" in shown  # the template, filled in
        assert '<option value="ack-default" selected>' in shown  # the form as it was

        start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=30, second=0, microsecond=0)
        visit = {"starts_at": start.strftime("%Y-%m-%dT%H:%M"), "duration_minutes": "30", "address": ""}
        planned = await previewed("visit", visit)
        assert f"{number} · email ·" in planned and "14 Elm St" in planned
        assert f'value="{visit["starts_at"]}"' in planned  # kept for saving

        unclear = await previewed("visit", {**visit, "starts_at": ""})
        assert "Fill in the form first" in unclear

        html = await page.done("visit", visit)
        visit_id = hidden(_form(html, f"{page.url}/cancel_visit"), "visit_id")
        moved = await previewed(
            "reschedule",
            {"visit_id": visit_id, "starts_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
        )
        assert f"{number} · email ·" in moved.split('id="preview-v1-reschedule"')[1]
        cancelled = await previewed("cancel_visit", {"visit_id": visit_id, "public_note": "Crew ill"})
        assert "Crew ill" in cancelled.split('id="preview-v1-cancel"')[1]

        merged = await previewed("merge", {"original": original})
        assert f"{number} · email ·" in merged.split('id="preview-merge"')[1]

        quiet = await previewed("comment", {"text": "Crew notes", "visibility": "internal"})
        assert "Nobody: no resident is told of this." in quiet

        # A comment's templates are those of its category: chosen, previewed, then saved as the comment's text.
        comment = _form(quiet, f"{page.url}/comment")
        assert 'value="bench-crew"' in comment and "graffiti-only" not in comment
        crew = {"template_id": "bench-crew", "text": "", "visibility": "public"}
        told = await previewed("comment", crew)
        assert f"Report {number}: a crew is on its way." in told.split('id="preview-comment"')[1]
        kinds = [e.type for e in await world.events_of(intake, number) if e.actor.kind == "agent"]
        assert kinds == ["request.visit.scheduled"]  # previews saved nothing
        await page.done("comment", crew, html=told)

    comments = [e for e in await world.events_of(intake, number) if e.type == "request.comment.added"]
    assert [(e.payload.text, e.payload.visibility.value) for e in comments] == [
        (f"Report {number}: a crew is on its way.", "public")
    ]
