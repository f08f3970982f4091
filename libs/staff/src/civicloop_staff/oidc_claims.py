"""What a single sign-on makes someone: the identity provider's claims mapped to CivicLoop's roles and teams.

Pure rules, no IO. Deny by default: someone to whom the mapping gives no role is refused, whatever else the provider
says about them. Claim values are matched exactly (case and spaces count), as identity providers name their groups.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from civicloop_staff.roles import Role as StaffRole


class NoRoleMapped(Exception):
    """The provider vouched for someone, but none of their claim values maps to a role: no access."""


class ClaimMapping(BaseModel):
    """Per jurisdiction: which claim names roles and teams, and which of its values mean what here.

    A claim is named by its path in the ID token (`groups`, or `realm_access.roles` for a nested one); its value is a
    string or a list of strings. `roles` maps a value to one or more roles (many values may give the same role);
    `teams` maps a value to a team id. Values the maps do not name are ignored.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles_claim: str = Field(default="groups", min_length=1)
    roles: dict[str, tuple[StaffRole, ...]] = Field(min_length=1)
    teams_claim: str | None = None
    teams: dict[str, str] = Field(default_factory=dict)

    @field_validator("roles")
    @classmethod
    def _every_value_grants_a_role(
        cls, roles: dict[str, tuple[StaffRole, ...]]
    ) -> dict[str, tuple[StaffRole, ...]]:
        empty = sorted(value for value, granted in roles.items() if not granted)
        if empty:
            raise ValueError(f"claim values that map to no role: {empty}")
        return roles


@dataclass(frozen=True)
class StaffGrant:
    """The roles and teams a sign-in gives (never empty roles: `map_claims` refuses that)."""

    roles: frozenset[StaffRole]
    teams: frozenset[str]


def claim_values(claims: Mapping[str, object], path: str) -> tuple[str, ...]:
    """The string values found at `path` (dots descend into objects); nothing when absent or of another shape."""
    node: object = claims
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return ()
        node = node[part]
    if isinstance(node, str):
        return (node,)
    if isinstance(node, list):
        return tuple(item for item in node if isinstance(item, str))
    return ()


def map_claims(claims: Mapping[str, object], mapping: ClaimMapping) -> StaffGrant:
    """Roles and teams from the claims; `NoRoleMapped` when no value of the roles claim grants a role."""
    roles = frozenset(
        role for value in claim_values(claims, mapping.roles_claim) for role in mapping.roles.get(value, ())
    )
    if not roles:
        raise NoRoleMapped(f"no value of claim {mapping.roles_claim!r} maps to a role")
    teams_claim = mapping.teams_claim or mapping.roles_claim
    teams = frozenset(
        mapping.teams[value] for value in claim_values(claims, teams_claim) if value in mapping.teams
    )
    return StaffGrant(roles=roles, teams=teams)
