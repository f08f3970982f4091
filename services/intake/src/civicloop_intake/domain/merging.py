"""Merging a duplicate into an original: the rules, free of IO.

An agent merges request D into request O. Both must be requests intake knows, of one jurisdiction, and different;
D must not be merged already. When O is itself a merged duplicate, D goes to the end of O's chain (its root
original), so every resident follows a request that is still being worked on, and chains never grow through new
merges. A merge that would make the chain come back to D (a cycle) is refused.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from civicloop_events import Actor, ActorKind, Event, derived_event_id
from civicloop_events.payloads import MergedAsDuplicate
from civicloop_events.positions import PublishProgress
from pydantic import BaseModel, ConfigDict, Field

from civicloop_intake.domain.rejections import CommandRejected

# Longer chains than this do not come from merges into roots; refusing them bounds every walk.
MAX_CHAIN = 16


class MergeDuplicate(BaseModel):
    """Merge the request of the path into `original`: its resident follows the original from then on."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    original: str = Field(
        min_length=1, max_length=32, description="the original's request number, e.g. 7K3D-Q9XA"
    )
    note: str = Field(default="", max_length=2000, description="for agents; never shown to residents")


@dataclass(frozen=True)
class KnownRequest:
    """What the rules need to know of a request: its jurisdiction and the original it was merged into, if any."""

    jurisdiction_id: str
    merged_into: str | None = None


class MergeProblem(str, enum.Enum):
    unknown_duplicate = "unknown_duplicate"
    unknown_original = "unknown_original"
    same_request = "same_request"
    other_jurisdiction = "other_jurisdiction"
    already_merged = "already_merged"
    merge_cycle = "merge_cycle"


class MergeRejected(CommandRejected[MergeProblem]):
    """A merge refused: an unknown request, another jurisdiction, a request merged already, a cycle."""


@dataclass(frozen=True)
class MergePlan:
    duplicate: str
    requested_original: str
    original: str  # the root of the requested original's chain: what the event names
    jurisdiction_id: str


def plan_merge(*, duplicate: str, requested_original: str, known: Mapping[str, KnownRequest]) -> MergePlan:
    """Check a merge of canonical numbers against what intake knows (`known` holds D, O and O's chain)."""
    if duplicate == requested_original:
        raise MergeRejected(MergeProblem.same_request, "a request cannot be merged into itself")
    dup = known.get(duplicate)
    if dup is None:
        raise MergeRejected(MergeProblem.unknown_duplicate, f"no request {duplicate}")
    original = known.get(requested_original)
    if original is None:
        raise MergeRejected(MergeProblem.unknown_original, f"no request {requested_original}")
    if original.jurisdiction_id != dup.jurisdiction_id:
        raise MergeRejected(
            MergeProblem.other_jurisdiction,
            f"{requested_original} belongs to another jurisdiction than {duplicate}",
        )
    if dup.merged_into is not None:
        raise MergeRejected(
            MergeProblem.already_merged, f"{duplicate} is already merged into {dup.merged_into}"
        )
    root = root_of(requested_original, known)
    if root is None or root == duplicate:
        raise MergeRejected(
            MergeProblem.merge_cycle,
            f"{requested_original} leads back to {duplicate}: merging would make a cycle",
        )
    return MergePlan(duplicate, requested_original, root, dup.jurisdiction_id)


def root_of(number: str, known: Mapping[str, KnownRequest]) -> str | None:
    """The end of `number`'s merge chain (itself when not merged); None for a cycle or a chain past MAX_CHAIN."""
    seen = {number}
    current = number
    for _ in range(MAX_CHAIN):
        request = known.get(current)
        if request is None or request.merged_into is None:
            return current
        current = request.merged_into
        if current in seen:
            return None
        seen.add(current)
    return None


@dataclass(frozen=True)
class Merge(PublishProgress):
    """A merge intake accepted, kept with its event: a retry publishes the very same event."""

    duplicate: str
    original: str
    requested_original: str
    event_id: UUID
    event_json: str


def merged_event(plan: MergePlan, *, agent_id: str, note: str) -> Event[Any]:
    """The `MergedAsDuplicate` of an accepted merge, keyed by the duplicate.

    Its id derives from (duplicate, original): a duplicate is merged once, so the same merge is the same event.
    """
    return Event.create(
        MergedAsDuplicate(original_request_id=plan.original, note=note),
        request_id=plan.duplicate,
        jurisdiction_id=plan.jurisdiction_id,
        actor=Actor(kind=ActorKind.agent, id=agent_id),
        source="agent",
        event_id=derived_event_id("merged_as_duplicate", plan.duplicate, plan.original),
    )
