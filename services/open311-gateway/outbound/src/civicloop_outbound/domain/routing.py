"""Which body handles a request, by which method, with what team, priority and analysis codes (pure, no IO).

* The body: the first body (in definition order) whose `service_codes` contain the request's code; a matching
  routing rule's `body_id` overrides it (the last matching rule that names a body wins).
* The method: the body's per-category override, else the body's default.
* Routing rules apply in order; a rule matches when every condition it gives holds: the code is one of its
  `service_codes`, each `attribute_equals` pair is among the request's attribute values, the request lies in one of
  its `area_ids`, its `text_pattern` (a case-insensitive regular expression) is found in the description. A rule
  with an area condition is skipped when the request's area is unknown. Later rules override what earlier ones set
  (team, priority, body); analysis codes accumulate.
* A high-priority request also goes to the body's `priority_email`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from civicloop_events.payloads import BodyDefined, Priority, RoutingRule, SendMethod


@dataclass(frozen=True)
class RoutingInput:
    """What routing looks at. `area_ids` None: the request's area is not known."""

    service_code: str
    description: str = ""
    attributes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    area_ids: frozenset[str] | None = None


@dataclass(frozen=True)
class RoutingDecision:
    body_id: str | None
    method: SendMethod | None
    team: str | None = None
    priority: Priority = Priority.normal
    analysis_codes: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    priority_email: str | None = None

    @property
    def routed(self) -> bool:
        return self.body_id is not None and self.method is not None


def rule_matches(rule: RoutingRule, request: RoutingInput) -> bool:
    if rule.service_codes and request.service_code not in rule.service_codes:
        return False
    for code, wanted in rule.attribute_equals.items():
        if wanted not in request.attributes.get(code, ()):
            return False
    if rule.area_ids and (request.area_ids is None or not request.area_ids.intersection(rule.area_ids)):
        return False  # an unknown area fails the condition, so the rule is skipped
    if rule.text_pattern:
        try:
            if not re.search(rule.text_pattern, request.description, flags=re.IGNORECASE):
                return False
        except re.error:
            return False  # a broken pattern matches nothing rather than stopping every report
    return True


def body_for(service_code: str, bodies: Sequence[BodyDefined]) -> BodyDefined | None:
    for body in bodies:
        if service_code in body.service_codes:
            return body
    return None


def route(
    request: RoutingInput, *, bodies: Sequence[BodyDefined], rules: Sequence[RoutingRule]
) -> RoutingDecision:
    by_id = {b.body_id: b for b in bodies}
    body = body_for(request.service_code, bodies)
    team: str | None = None
    priority = Priority.normal
    codes: list[str] = []
    matched: list[str] = []
    for rule in rules:
        if not rule_matches(rule, request):
            continue
        matched.append(rule.name)
        if rule.body_id is not None and rule.body_id in by_id:
            body = by_id[rule.body_id]
        if rule.team is not None:
            team = rule.team
        if rule.priority is not None:
            priority = rule.priority
        codes.extend(c for c in rule.analysis_codes if c not in codes)
    if body is None:
        return RoutingDecision(
            body_id=None,
            method=None,
            team=team,
            priority=priority,
            analysis_codes=tuple(codes),
            rules=tuple(matched),
        )
    return RoutingDecision(
        body_id=body.body_id,
        method=body.method_for(request.service_code),
        team=team,
        priority=priority,
        analysis_codes=tuple(codes),
        rules=tuple(matched),
        priority_email=body.priority_email if priority is Priority.high else None,
    )
