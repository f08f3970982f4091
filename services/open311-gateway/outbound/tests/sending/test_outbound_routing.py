"""Routing: which body, which method, what rules set (pure)."""

from __future__ import annotations

from civicloop_events.payloads import BodyDefined, Priority, RoutingRule, SendMethod
from civicloop_outbound.domain.routing import RoutingInput, route, rule_matches

ROADS = BodyDefined(
    body_id="roads",
    name="Roads",
    send_method=SendMethod.email,
    service_codes=["POTHOLE", "SIGN"],
    category_methods={"POTHOLE": SendMethod.webhook},
    email="roads@city.example",
    priority_email="roads-urgent@city.example",
)
LIGHTS = BodyDefined(
    body_id="lights", name="Lights", service_codes=["STREETLIGHT"], email="lights@city.example"
)
CONTRACTOR = BodyDefined(
    body_id="contractor", name="Contractor", send_method=SendMethod.open311, service_codes=[]
)
BODIES = [ROADS, LIGHTS, CONTRACTOR]


def test_the_body_whose_codes_contain_the_category_handles_it() -> None:
    d = route(RoutingInput("STREETLIGHT"), bodies=BODIES, rules=[])
    assert (d.body_id, d.method, d.priority, d.rules) == ("lights", SendMethod.email, Priority.normal, ())


def test_a_category_override_beats_the_body_default() -> None:
    assert route(RoutingInput("POTHOLE"), bodies=BODIES, rules=[]).method is SendMethod.webhook
    assert route(RoutingInput("SIGN"), bodies=BODIES, rules=[]).method is SendMethod.email


def test_no_body_for_the_category_is_not_routed() -> None:
    d = route(RoutingInput("GRAFFITI"), bodies=BODIES, rules=[])
    assert not d.routed and d.body_id is None and d.method is None


def test_rules_apply_in_order_later_ones_override_and_codes_accumulate() -> None:
    rules = [
        RoutingRule(name="all-potholes", service_codes=["POTHOLE"], team="crew-a", analysis_codes=["RD"]),
        RoutingRule(
            name="deep",
            text_pattern=r"\bDEEP\b",
            team="crew-b",
            priority=Priority.high,
            analysis_codes=["RD", "HZ"],
        ),
        RoutingRule(name="never", service_codes=["STREETLIGHT"], team="crew-c"),
    ]
    d = route(RoutingInput("POTHOLE", description="a deep hole"), bodies=BODIES, rules=rules)
    assert d.rules == ("all-potholes", "deep")
    assert d.team == "crew-b" and d.priority is Priority.high and d.analysis_codes == ("RD", "HZ")
    assert d.priority_email == "roads-urgent@city.example"


def test_normal_priority_has_no_priority_copy() -> None:
    assert route(RoutingInput("POTHOLE"), bodies=BODIES, rules=[]).priority_email is None


def test_a_rules_body_id_overrides_the_category_body_and_its_method_applies() -> None:
    rules = [RoutingRule(name="hand-off", attribute_equals={"SIZE": "huge"}, body_id="contractor")]
    d = route(RoutingInput("POTHOLE", attributes={"SIZE": ["huge"]}), bodies=BODIES, rules=rules)
    assert (d.body_id, d.method) == ("contractor", SendMethod.open311)
    d = route(RoutingInput("POTHOLE", attributes={"SIZE": ["small"]}), bodies=BODIES, rules=rules)
    assert d.body_id == "roads"


def test_a_rule_naming_an_unknown_body_keeps_the_category_body() -> None:
    rules = [RoutingRule(name="typo", body_id="nobody")]
    assert route(RoutingInput("POTHOLE"), bodies=BODIES, rules=rules).body_id == "roads"


def test_attribute_conditions_match_any_value_of_a_multivalue_attribute() -> None:
    rule = RoutingRule(name="wires", attribute_equals={"HAZARDS": "wires"})
    assert rule_matches(rule, RoutingInput("X", attributes={"HAZARDS": ["glass", "wires"]}))
    assert not rule_matches(rule, RoutingInput("X", attributes={"HAZARDS": ["glass"]}))
    assert not rule_matches(rule, RoutingInput("X"))


def test_an_area_rule_is_skipped_when_the_area_is_unknown() -> None:
    rule = RoutingRule(name="downtown", area_ids=["cd-1"], team="downtown")
    assert not rule_matches(rule, RoutingInput("X", area_ids=None))
    assert not rule_matches(rule, RoutingInput("X", area_ids=frozenset({"cd-2"})))
    assert rule_matches(rule, RoutingInput("X", area_ids=frozenset({"cd-2", "cd-1"})))
    d = route(
        RoutingInput("POTHOLE", area_ids=None),
        bodies=BODIES,
        rules=[rule, RoutingRule(name="fallback", team="general")],
    )
    assert d.rules == ("fallback",) and d.team == "general"


def test_text_patterns_are_case_insensitive_regexes_and_a_broken_one_matches_nothing() -> None:
    assert rule_matches(
        RoutingRule(name="gas", text_pattern="smell of gas"), RoutingInput("X", "SMELL OF GAS here")
    )
    assert not rule_matches(
        RoutingRule(name="gas", text_pattern="smell of gas"), RoutingInput("X", "no smell")
    )
    assert not rule_matches(RoutingRule(name="bad", text_pattern="(unclosed"), RoutingInput("X", "(unclosed"))


def test_every_condition_of_a_rule_must_hold() -> None:
    rule = RoutingRule(name="both", service_codes=["POTHOLE"], text_pattern="deep")
    assert rule_matches(rule, RoutingInput("POTHOLE", "deep"))
    assert not rule_matches(rule, RoutingInput("SIGN", "deep"))
    assert not rule_matches(rule, RoutingInput("POTHOLE", "shallow"))
