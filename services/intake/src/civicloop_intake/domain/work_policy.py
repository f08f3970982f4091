"""The jurisdiction's lists for agents' work: close reasons, reopen reasons and reply templates (no IO).

A deployment keeps them in one JSON file (`CIVICLOOP_AGENT_WORK_FILE`, read at start-up; see docs/agents.md);
without one, `DEFAULT_POLICY` applies. A reason is a code (what the events carry) with a label (what people read).
A reply template is a public note with placeholders, chosen per action and category (`service_code`, or `*` for
any), rendered against the request when a command names it (`template_id`).
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from civicloop_events.payloads import REASON_CODE_PATTERN
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

ReasonCode = Annotated[str, StringConstraints(pattern=REASON_CODE_PATTERN)]
ANY_CATEGORY = "*"
PLACEHOLDERS = frozenset(
    {"request_number", "service_code", "reason", "referred_to", "visit_start", "visit_address", "status"}
)


class Reason(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ReasonCode
    label: str = Field(min_length=1, max_length=200)
    needs_referral: bool = Field(
        default=False, description="closing with it names whom the resident should turn to (`referred_to`)"
    )


class ReplyTemplate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    template_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    action: str = Field(min_length=1, max_length=40, description="the command it answers, e.g. `close`")
    service_code: str = Field(default=ANY_CATEGORY, min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=4000, description="`{placeholder}`s from PLACEHOLDERS")

    @model_validator(mode="after")
    def _known_placeholders(self) -> ReplyTemplate:
        used = {name for _, name, _, _ in string.Formatter().parse(self.text) if name is not None}
        unknown = used - PLACEHOLDERS
        if unknown:
            raise ValueError(f"template {self.template_id}: unknown placeholders {sorted(unknown)}")
        return self


class WorkPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    close_reasons: tuple[Reason, ...] = Field(min_length=1)
    reopen_reasons: tuple[Reason, ...] = Field(min_length=1)
    templates: tuple[ReplyTemplate, ...] = ()

    @model_validator(mode="after")
    def _distinct(self) -> WorkPolicy:
        for name, items in (
            ("close reason", [r.code for r in self.close_reasons]),
            ("reopen reason", [r.code for r in self.reopen_reasons]),
            ("template", [t.template_id for t in self.templates]),
        ):
            if len(items) != len(set(items)):
                raise ValueError(f"a {name} is listed twice")
        return self

    def close_reason(self, code: str) -> Reason | None:
        return next((r for r in self.close_reasons if r.code == code), None)

    def reopen_reason(self, code: str) -> Reason | None:
        return next((r for r in self.reopen_reasons if r.code == code), None)

    def template(self, template_id: str, *, action: str, service_code: str) -> ReplyTemplate | None:
        """The template, if it answers this action for this category (or any)."""
        found = next((t for t in self.templates if t.template_id == template_id), None)
        if found is None or found.action != action or found.service_code not in (ANY_CATEGORY, service_code):
            return None
        return found

    def templates_for(self, *, action: str | None, service_code: str | None) -> list[ReplyTemplate]:
        return [
            t
            for t in self.templates
            if (action is None or t.action == action)
            and (service_code is None or t.service_code in (ANY_CATEGORY, service_code))
        ]


def render(template: ReplyTemplate, values: Mapping[str, str | None]) -> str:
    """The template's text with its placeholders filled; one without a value reads as empty."""
    return template.text.format_map({name: values.get(name) or "" for name in PLACEHOLDERS})


DEFAULT_POLICY = WorkPolicy(
    close_reasons=(
        Reason(code="fixed", label="Fixed"),
        Reason(code="duplicate", label="Duplicate of another report"),
        Reason(code="not_ours", label="Not ours: referred to another organisation", needs_referral=True),
        Reason(code="could_not_locate", label="Could not locate the problem"),
        Reason(code="no_action_needed", label="No action needed"),
    ),
    reopen_reasons=(
        Reason(code="not_fixed", label="The problem is not fixed"),
        Reason(code="recurred", label="The problem came back"),
        Reason(code="closed_in_error", label="Closed in error"),
    ),
    templates=(
        ReplyTemplate(
            template_id="ack-default",
            action="acknowledge",
            text="Thank you: we received report {request_number} and will look into it.",
        ),
        ReplyTemplate(
            template_id="close-fixed",
            action="close",
            text="Report {request_number} is fixed. Thank you for telling us.",
        ),
        ReplyTemplate(
            template_id="close-not-ours",
            action="close",
            text="This is not ours to fix: we passed report {request_number} to {referred_to}.",
        ),
        ReplyTemplate(
            template_id="visit-default",
            action="schedule_visit",
            text="A crew will visit {visit_address} on {visit_start}.",
        ),
    ),
)


def load_policy(path: str | None) -> WorkPolicy:
    """The policy in the JSON file at `path`; the default without one. A file that does not read stops start-up."""
    if not path:
        return DEFAULT_POLICY
    return WorkPolicy.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
