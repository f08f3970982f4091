"""Staff: the accounts of the people who work requests, their roles and teams, and the jurisdiction's teams.

All on the jurisdiction-configuration topic, keyed by the jurisdiction: a staff change is rare, and one order per
jurisdiction is what "who changed what, when" needs. The envelope's `actor` is who made the change (a staff id, or
the operator's CLI as a system actor).

What never travels: a password or its hash, a TOTP secret, a recovery code or a reset token. Those are credentials,
kept by the staff store alone; the log says only that they changed. The email (a staff member's sign-in name) and
display name are personal data: sealed under the staff member's own key, as residents' contact details are
(docs/personal-data.md), so an account erased after its owner left leaves no readable name on the log.
"""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from civicloop_events.payloads.base import EventPayload, registered
from civicloop_events.personal_data import SealedPersonalData
from civicloop_events.topic_roles import TopicRole

TEAM_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
TeamId = Annotated[str, Field(min_length=1, max_length=64, pattern=TEAM_ID_PATTERN)]


class StaffRole(str, enum.Enum):
    """What a staff member may do. A role grants itself only: a route names every role it admits."""

    agent = "agent"  # works requests: acknowledges, assigns, answers, schedules, closes
    supervisor = "supervisor"  # an agent's work, plus the team's queues, reassignment and bulk actions
    admin = "admin"  # staff accounts, teams and the jurisdiction's configuration
    auditor = "auditor"  # reads everything, including who did what; changes nothing


class DisableReason(str, enum.Enum):
    """Why an account was disabled: a closed list, so no free text can carry personal details onto the log."""

    left = "left"  # no longer works for the jurisdiction
    suspended = "suspended"
    compromised = "compromised"  # credentials thought stolen: sign-in stops until an admin enables it again
    other = "other"


class PasswordSetVia(str, enum.Enum):
    enrolment = "enrolment"  # the first password of a new account
    change = "change"  # the staff member changed it, signed in
    reset = "reset"  # through an emailed one-time reset link


@registered
class TeamDefined(EventPayload):
    """A team (a department, a crew) of the jurisdiction was created or renamed (the latest definition wins)."""

    event_type: ClassVar[str] = "jurisdiction.team.defined"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    team_id: TeamId
    name: str = Field(min_length=1, max_length=200)
    active: bool = True


@registered
class StaffCreated(EventPayload):
    """A staff account was created with its first roles and teams.

    `contact` holds the email (the sign-in name) and display name, sealed under a key of this staff member's own
    (its `resident_id` is the staff id: the id of the person the key belongs to).
    """

    event_type: ClassVar[str] = "staff.created"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    staff_id: UUID
    contact: SealedPersonalData
    roles: list[StaffRole] = Field(
        min_length=1, description="distinct; an account with no role could do nothing"
    )
    teams: list[TeamId] = Field(default_factory=list)


@registered
class StaffRolesChanged(EventPayload):
    event_type: ClassVar[str] = "staff.roles.changed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    staff_id: UUID
    roles: list[StaffRole] = Field(min_length=1, description="the whole new set")
    previous_roles: list[StaffRole] = Field(default_factory=list)


@registered
class StaffTeamsChanged(EventPayload):
    event_type: ClassVar[str] = "staff.teams.changed"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    staff_id: UUID
    teams: list[TeamId] = Field(description="the whole new set; empty: in no team")
    previous_teams: list[TeamId] = Field(default_factory=list)


@registered
class StaffDisabled(EventPayload):
    """The account may no longer sign in; tokens already issued lapse at their (short) expiry."""

    event_type: ClassVar[str] = "staff.disabled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    staff_id: UUID
    reason: DisableReason


@registered
class StaffEnabled(EventPayload):
    event_type: ClassVar[str] = "staff.enabled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    staff_id: UUID


@registered
class StaffPasswordSet(EventPayload):
    """A new password took effect (never the password or its hash): every earlier reset link is void."""

    event_type: ClassVar[str] = "staff.password.set"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    staff_id: UUID
    via: PasswordSetVia


@registered
class StaffTotpEnrolled(EventPayload):
    """Two-factor sign-in with a TOTP app took effect (never the secret or the recovery codes), with how many
    one-time recovery codes were issued beside it; enrolling again replaces the secret and the codes."""

    event_type: ClassVar[str] = "staff.totp.enrolled"
    schema_version: ClassVar[int] = 1
    topic: ClassVar[TopicRole] = TopicRole.jurisdiction_config

    staff_id: UUID
    recovery_codes_issued: int = Field(ge=0, le=100)
