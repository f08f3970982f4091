"""An agent places a request by hand: the rules, free of IO.

geo could not place the request (an address it cannot find), or placed it wrongly: an agent gives the point. Intake
publishes `LocationCorrected` and geo re-places the request from it (a new `LocationResolved`, method `corrected`),
which the track view folds as it folds any placement. The request must be one intake knows; a merged duplicate is
not placed (its resident follows the original: place that instead). An agent may correct a request any number of
times, each correction a new event; only a retry under the same Idempotency-Key is the same correction.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from civicloop_events import Actor, ActorKind, Event
from civicloop_events.payloads import LocationCorrected
from pydantic import BaseModel, ConfigDict, Field

from civicloop_intake.domain.merging import KnownRequest
from civicloop_intake.domain.rejections import CommandRejected
from civicloop_intake.domain.submissions import KeptCommand


class CorrectLocation(BaseModel):
    """Place the request of the path at this point; geo re-places it (areas, public address) from here."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    lat: float = Field(ge=-90, le=90, description="WGS 84 latitude", examples=[38.8977])
    long: float = Field(ge=-180, le=180, description="WGS 84 longitude", examples=[-77.0365])
    address: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="the address as the agent knows it; geo reverse-geocodes when absent",
    )
    note: str = Field(default="", max_length=2000, description="for agents; never shown to residents")


class CorrectionProblem(str, enum.Enum):
    unknown_request = "unknown_request"
    merged = "merged"


class CorrectionRejected(CommandRejected[CorrectionProblem]):
    """A correction refused: the request is unknown, or a merged duplicate."""


def check_correction(number: str, known: KnownRequest | None) -> str:
    """The jurisdiction of the request to place; refused when intake does not know it or it is a merged duplicate."""
    if known is None:
        raise CorrectionRejected(CorrectionProblem.unknown_request, f"no request {number}")
    if known.merged_into is not None:
        raise CorrectionRejected(
            CorrectionProblem.merged,
            f"{number} is merged into {known.merged_into}: place {known.merged_into} instead",
        )
    return known.jurisdiction_id


def correction_hash(cmd: CorrectLocation, *, number: str, agent_id: str) -> str:
    """Fingerprint of what was asked, to tell a retry under an Idempotency-Key from a reuse of the key.

    Plain SHA-256: a correction holds no resident's personal data (the point is the problem's, not the resident's).
    """
    canonical = json.dumps(
        {**cmd.model_dump(mode="json"), "number": number, "agent_id": agent_id},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Correction(KeptCommand):
    """A correction intake accepted (its event a `LocationCorrected`)."""


def corrected_event(
    cmd: CorrectLocation, *, number: str, jurisdiction_id: str, agent_id: str, event_id: UUID
) -> Event[Any]:
    """The `LocationCorrected` of an accepted correction, keyed by the request it places."""
    return Event.create(
        LocationCorrected(lat=cmd.lat, long=cmd.long, address=cmd.address, note=cmd.note),
        request_id=number,
        jurisdiction_id=jurisdiction_id,
        actor=Actor(kind=ActorKind.agent, id=agent_id),
        source="agent",
        event_id=event_id,
    )
