"""`deploy/local/seed_demo.py bodies`: what of the demo's bodies and routing rules a seed defines, given the log
(pure), and that every category of the demo catalogue reaches a body."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from civicloop_events import Actor, Event
from civicloop_events.payloads import BodyDefined, RoutingRulesDefined, SendMethod, TeamDefined

SEED = Path(__file__).resolve().parents[1] / "deploy" / "local" / "seed_demo.py"


def seed_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_demo_under_test", SEED)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


seed = seed_module()
BODIES = seed.demo_bodies("http://127.0.0.1:24084", "http://127.0.0.1:8010")


def on_the_log(payload: object, jurisdiction: str = "demo") -> Event:  # type: ignore[type-arg]
    return Event.create(
        payload,  # type: ignore[arg-type]
        request_id=None,
        jurisdiction_id=jurisdiction,
        actor=Actor(kind="system", id="admin-1"),
        source="admin",
    )


def test_an_empty_log_gets_every_body_and_the_rules() -> None:
    missing, there = seed.bodies_to_define([], BODIES)

    assert [seed.label_of(p) for p in missing] == [
        "sanitation",
        "streets",
        "parks",
        "team sanitation",
        "team streets",
        "team parks",
        "team outreach",
        "routing rules",
    ]
    assert there == []


def test_every_team_the_rules_name_is_defined() -> None:
    teams = {t.team_id for t in seed.DEMO_TEAMS}
    assert {r.team for r in seed.DEMO_RULES.rules if r.team} <= teams
    assert {b.body_id for b in BODIES} <= teams  # each department has its crews


def test_what_is_on_the_log_is_left_as_it_is_even_when_an_administrator_changed_it() -> None:
    changed = BodyDefined(body_id="streets", name="Streets (changed by an admin)", email="s@example.org")
    log = [
        on_the_log(changed),
        on_the_log(RoutingRulesDefined(rules=[])),
        on_the_log(TeamDefined(team_id="outreach", name="Outreach (renamed)")),
        on_the_log(BodyDefined(body_id="sanitation", name="Elsewhere"), jurisdiction="another"),
    ]

    missing, there = seed.bodies_to_define(log, BODIES)

    assert [seed.label_of(p) for p in missing] == [
        "sanitation",
        "parks",
        "team sanitation",
        "team streets",
        "team parks",
    ]
    assert there == ["streets"]


def test_a_seed_event_s_id_derives_from_what_it_defines() -> None:
    first, again = seed.seed_event(BODIES[1]), seed.seed_event(BODIES[1])

    assert first.event_id == again.event_id != seed.seed_event(BODIES[2]).event_id
    assert seed.seed_event(seed.DEMO_RULES).event_id == seed.seed_event(seed.DEMO_RULES).event_id
    teams = {seed.seed_event(t).event_id for t in seed.DEMO_TEAMS}
    assert len(teams) == len(seed.DEMO_TEAMS)


def test_every_category_reaches_one_body_each_way_of_sending_once() -> None:
    handled = [code for body in BODIES for code in body.service_codes]

    assert sorted(handled) == sorted(code for code, *_ in seed.CATALOGUE)
    assert len(handled) == len(set(handled))
    assert {body.body_id: body.send_method for body in BODIES} == {
        "sanitation": SendMethod.email,
        "streets": SendMethod.open311,
        "parks": SendMethod.webhook,
    }
    parks = BODIES[2]
    assert parks.open311 is not None and parks.open311.jurisdiction_id == "parks-jobs"  # the CSV feed
