"""The console's queue on the real app, database and broker, with public-projections' real agent view: counts per
queue, status and team, each request's SLA in words with its due time, filters kept in the URL; bulk actions over a
selection through intake's bulk API, each request's outcome shown (done, or refused and why), a bulk close summed up
before anything is done, the same form sent twice doing it once; forged forms and staff who do not work requests do
nothing."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from civicloop_staff.roles import Role
from civicloop_testing.polling import eventually
from console_harness import browser_client, console_world, hidden, sign_in
from intake_harness import Harness
from queue_world import new_jurisdiction, seed_queue

pytestmark = pytest.mark.integration


def row_of(page: str, number: str) -> str | None:
    """The queue's row of `number` as plain text (its cells joined by " | "), None when not listed."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        if f">{number}</a>" in row:
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
            texts = [
                html_lib.unescape(re.sub(r"<br>", " ", re.sub(r"<(?!br)[^>]+>", "", c))).strip()
                for c in cells
            ]
            return " | ".join(re.sub(r"\s+", " ", t) for t in texts)
    return None


def fields(*pairs: tuple[str, str]) -> dict[str, list[str]]:
    """A form's fields, a name repeated as a browser repeats it (each ticked box)."""
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    return data


def result_of(page: str) -> str:
    found = re.search(r'<section class="notice bulk-result"[^>]*>(.*?)</section>', page, flags=re.S)
    assert found, "no bulk result on the page"
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", "", found.group(1)))).strip()


async def test_the_queue_counts_and_says_each_sla_in_words_with_filters_kept(intake: Harness):
    jurisdiction = new_jurisdiction()
    async with console_world(intake, jurisdiction_id=jurisdiction) as world, browser_client(world) as client:
        await sign_in(client, world)
        made = await seed_queue(intake, jurisdiction)

        async def folded() -> str | None:
            page = await client.get("/console/queue")
            assert page.status_code == 200, page.text
            rows = [row_of(page.text, n) for n in made.all()]
            ready = all(rows) and "Late" in (rows[0] or "") and "No target" in (rows[3] or "")
            # The counts are read a moment before the rows: both caught up.
            counted = re.search(r">streets <span class=\"count\">1</span>", page.text)
            return (
                page.text
                if ready and counted and 'Open work <span class="count">5</span>' in page.text
                else None
            )

        queue = await eventually(folded, timeout=30, what="the seeded requests and their SLA in the queue")
        late = row_of(queue, made.late)
        assert late and "Late acknowledgement due" in late and "streets" in late
        assert "Due soon acknowledgement due" in (row_of(queue, made.soon) or "")
        assert "On time acknowledgement due" in (row_of(queue, made.on_time) or "")
        assert "No target" in (row_of(queue, made.no_target) or "")
        # Acknowledged: the hour's target is met; the resolution's ten hours are running.
        assert "On time resolution due" in (row_of(queue, made.acknowledged) or "")

        # The counts: every queue, per status, per SLA state, per team; each links to its queue.
        assert re.search(r"Open work <span class=\"count\">5</span>", queue)
        assert re.search(r"Late <span class=\"count\">1</span>", queue)
        assert re.search(r">streets <span class=\"count\">1</span>", queue)
        assert re.search(r"No team <span class=\"count\">4</span>", queue)
        assert 'href="/console/queue?team=streets&amp;lang=en"' in queue

        by_team = await client.get("/console/queue", params={"team": "streets"})
        assert row_of(by_team.text, made.late) and not row_of(by_team.text, made.soon)
        assert 'aria-current="page">streets' in by_team.text
        late_only = await client.get("/console/queue", params={"sla_state": "breached", "view": "unassigned"})
        assert [n for n in made.all() if row_of(late_only.text, n)] == [made.late]
        # Filters stay in the page's links and forms: select all, the language, the bulk form's fields.
        assert "view=unassigned&amp;sla_state=breached&amp;select=all" in late_only.text
        assert 'name="f_sla_state" value="breached"' in late_only.text
        assert 'href="/console/queue?view=unassigned&amp;sla_state=breached&amp;lang=es"' in late_only.text
        spanish = await client.get("/console/queue", params={"lang": "es", "team": "streets"})
        assert "Atrasada" in (row_of(spanish.text, made.late) or "")
        assert "Seleccionar todas las de esta página" in spanish.text

        # "Select all on this page": every row's box ticked, by a link (no script needed).
        everything = await client.get("/console/queue", params={"select": "all"})
        assert everything.text.count('name="number"') == everything.text.count(" checked>") == 5


async def test_bulk_actions_show_each_requests_outcome_and_a_close_is_confirmed_first(intake: Harness):
    jurisdiction = new_jurisdiction()
    async with console_world(intake, jurisdiction_id=jurisdiction) as world, browser_client(world) as client:
        await sign_in(client, world)
        made = await seed_queue(intake, jurisdiction)

        async def listed() -> str | None:
            page = await client.get("/console/queue")
            return page.text if all(row_of(page.text, n) for n in made.all()) else None

        queue = await eventually(listed, timeout=30, what="the seeded requests in the queue")
        csrf, key = hidden(queue, "csrf"), hidden(queue, "idempotency_key")
        chosen = [made.late, made.on_time, made.acknowledged]
        form = {
            "csrf": csrf,
            "idempotency_key": key,
            "f_view": "open",
            "action": "acknowledge",
            "ack_note": "Seen",
        }
        selection = [("number", n) for n in chosen]

        forged = await client.post("/console/queue", data={**form, "csrf": "forged"})
        assert forged.status_code == 403
        nothing = await client.post("/console/queue", data=form)
        assert nothing.status_code == 422 and "no request is selected" in nothing.text

        done = await client.post("/console/queue", data=fields(*form.items(), *selection))
        assert done.status_code == 200, done.text[-2000:]
        result = result_of(done.text)
        assert result.startswith("Acknowledge: 2 done, 1 refused"), result
        assert f"{made.late}: done." in result and f"{made.on_time}: done." in result
        assert f"{made.acknowledged}: refused: it is not open (already acknowledged)." in result
        assert 'role="status"' in done.text
        # The queue under the result is read after the bulk's events: the two are acknowledged already.
        assert "Acknowledged" in (row_of(done.text, made.late) or "")
        assert "Acknowledged" in (row_of(done.text, made.on_time) or "")
        # The refused one stays ticked, to try something else with it.
        assert re.search(rf'value="{made.acknowledged}"[^>]* checked>', done.text)

        # The same form sent again (a reload): nothing is done twice.
        again = await client.post("/console/queue", data=fields(*form.items(), *selection))
        assert "2 done, 1 refused" in result_of(again.text) and "already, by an earlier try" in result_of(
            again.text
        )

        # Assign: a team the jurisdiction has, and one it does not.
        fresh = await client.get("/console/queue")
        assign = {"csrf": csrf, "idempotency_key": hidden(fresh.text, "idempotency_key"), "f_view": "open"}
        assigned = await client.post(
            "/console/queue",
            data=fields(*assign.items(), ("action", "assign"), ("team_id", "parks"), ("number", made.soon)),
        )
        assert "Assign: 1 done, 0 refused" in result_of(assigned.text)
        assert "parks" in (row_of(assigned.text, made.soon) or "")
        unknown = await client.post(
            "/console/queue",
            data=fields(
                *{**assign, "idempotency_key": "console-bulk-unknown-team"}.items(),
                ("action", "assign"),
                ("team_id", "night-crew"),
                ("number", made.soon),
            ),
        )
        assert f"{made.soon}: refused: no such team." in result_of(unknown.text)

        # Close: first a summary of what will be closed, nothing done; then the confirmation closes them.
        close = {
            "csrf": csrf,
            "idempotency_key": "console-bulk-close-1",
            "f_view": "open",
            "f_team": "streets",
            "action": "close",
            "reason": "fixed",
            "referred_to": "",
            "close_note": "Filled this morning",
        }
        closing = [("number", made.late), ("number", made.no_target)]
        summary = await client.post("/console/queue", data=fields(*close.items(), *closing))
        assert summary.status_code == 200 and "<h1>Close 2 requests?</h1>" in summary.text
        assert "Filled this morning" in summary.text and "Fixed" in summary.text
        assert made.late in summary.text and made.no_target in summary.text
        assert (
            'href="/console/queue?view=open&amp;team=streets&amp;lang=en"' in summary.text
        )  # cancel: filters kept
        events = await world.events_of(intake, made.late)
        assert not [
            e for e in events if e.type == "request.status.changed" and e.payload.status.value == "closed"
        ]

        confirmed = await client.post(
            "/console/queue",
            data=fields(*close.items(), ("confirmed", "1"), *closing),
        )
        assert "Close: 2 done, 0 refused" in result_of(confirmed.text), result_of(confirmed.text)
        assert not row_of(confirmed.text, made.late)  # closed: out of the open work (of team streets, kept)

        for number, expected in ((made.late, ["acknowledged", "closed"]), (made.no_target, ["closed"])):
            worked = [e for e in await world.events_of(intake, number) if e.actor.kind == "agent"]
            assert [e.payload.status.value for e in worked] == expected
            assert {e.actor.id for e in worked} == {str(world.agent.staff_id)}
        closed = [e for e in await world.events_of(intake, made.late) if e.type == "request.status.changed"][
            -1
        ]
        assert (closed.payload.reason, closed.payload.public_note) == ("fixed", "Filled this morning")


async def test_staff_who_only_read_see_no_selection_and_cannot_post_one(intake: Harness):
    jurisdiction = new_jurisdiction()
    async with (
        console_world(intake, roles=(Role.auditor,), jurisdiction_id=jurisdiction) as world,
        browser_client(world) as client,
    ):
        await sign_in(client, world)
        made = await seed_queue(intake, jurisdiction)

        async def listed() -> str | None:
            page = await client.get("/console/queue")
            return page.text if row_of(page.text, made.late) else None

        queue = await eventually(listed, timeout=30, what="the seeded requests in the queue")
        assert 'name="number"' not in queue and "With the selected requests" not in queue
        refused = await client.post(
            "/console/queue",
            data={"csrf": hidden(queue, "csrf"), "action": "acknowledge", "number": made.late},
        )
        assert refused.status_code == 403
        assert not [e for e in await world.events_of(intake, made.late) if e.actor.kind == "agent"]
