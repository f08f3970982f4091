"""Roles and the signed-in staff member as every service sees it once the token is verified."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from civicloop_events.envelope import Actor, ActorKind
from civicloop_events.payloads.staff import StaffRole

Role = StaffRole  # one enum: the roles the log records are the roles tokens carry

__all__ = [
    "MANAGES_STAFF",
    "READS_REQUESTS",
    "WORKS_REQUESTS",
    "Role",
    "StaffPrincipal",
    "normalised_roles",
    "normalised_teams",
]

# The role sets routes admit, named once so every service draws the same lines (`require_staff(*WORKS_REQUESTS)`).
WORKS_REQUESTS = (Role.agent, Role.supervisor)  # commands on requests
READS_REQUESTS = (Role.agent, Role.supervisor, Role.auditor)  # the agent read model: exact places, histories
MANAGES_STAFF = (Role.admin,)


def normalised_roles(roles: Iterable[Role | str]) -> list[Role]:
    """Distinct, in the enum's order (agent, supervisor, admin, auditor): one spelling of a set on the log."""
    wanted = {Role(r) for r in roles}
    return [r for r in Role if r in wanted]


def normalised_teams(teams: Iterable[str]) -> list[str]:
    return sorted(set(teams))


@dataclass(frozen=True)
class StaffPrincipal:
    """Who made a request, as proven by a verified access token: the `actor` of every event they cause."""

    staff_id: UUID
    jurisdiction_id: str
    roles: frozenset[Role]
    teams: frozenset[str]
    session_id: str  # the token's id: ties a log line or an audit row to one sign-in, never to a secret
    methods: tuple[str, ...] = ()  # how they proved it (RFC 8176 `amr`: "pwd", "otp", "oidc", ...)

    def has_any(self, roles: frozenset[Role] | set[Role]) -> bool:
        return bool(self.roles & roles)

    def acts_for(self, jurisdiction_id: str) -> bool:
        """A token is for one jurisdiction: a route compares the request's before acting on it."""
        return self.jurisdiction_id == jurisdiction_id

    @property
    def actor(self) -> Actor:
        return Actor(kind=ActorKind.agent, id=str(self.staff_id))
