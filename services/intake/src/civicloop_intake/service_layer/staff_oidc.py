"""Single sign-on over OpenID Connect (`civicloop_staff.oidc`): start, then the provider's callback.

The pending sign-in (state, nonce, PKCE verifier) stays in intake's database, keyed by its state and taken once.
The provider's person is linked to a staff account by issuer + subject, never by email: the first sign-in creates
the account (its `staff.created` on the log, a system actor naming the provider), later ones find it. The token's
roles and teams are what the provider's claims map to at this sign-in (teams the jurisdiction defined); a disabled
account is refused whatever the provider says.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import uuid6
from civicloop_events import Actor, PersonalData
from civicloop_events.envelope import ActorKind
from civicloop_events.outbox import EventLog
from civicloop_staff import accounts
from civicloop_staff.oidc import OidcError, OidcIdentity, OidcSignIn
from civicloop_staff.oidc_claims import NoRoleMapped
from civicloop_staff.tokens import StaffTokenIssuer

from civicloop_intake.domain.staff import SOURCE_SIGN_IN, staff_event
from civicloop_intake.service_layer.staff_ports import StaffStore
from civicloop_intake.service_layer.staff_publishing import publish_change
from civicloop_intake.service_layer.staff_sign_in import AccessToken, SignInRefused

log = logging.getLogger("civicloop.intake.oidc")


class NoProvider(Exception):
    """This jurisdiction signs in with no OpenID Connect provider."""


@dataclass(frozen=True)
class SingleSignOn:
    store: StaffStore
    config_log: EventLog
    issuer: StaffTokenIssuer
    providers: dict[str, OidcSignIn]  # by jurisdiction

    async def start(self, jurisdiction_id: str, *, now: datetime) -> str:
        """The provider's authorization URL to send the browser to."""
        sign_in = self.providers.get(jurisdiction_id)
        if sign_in is None:
            raise NoProvider(jurisdiction_id)
        try:
            start = await sign_in.begin()
        except OidcError as exc:
            log.warning(
                "identity provider unavailable", extra={"jurisdiction": jurisdiction_id, "error": str(exc)}
            )
            raise
        ttl = timedelta(seconds=sign_in.config.sign_in_ttl_s)
        await self.store.add_oidc_pending(start.pending, expires_at=start.pending.started_at + ttl)
        return start.authorization_url

    async def callback(self, query: dict[str, str], *, now: datetime) -> AccessToken:
        state = query.get("state", "")
        pending = await self.store.take_oidc_pending(state, now=now) if state else None
        sign_in = self.providers.get(pending.jurisdiction_id) if pending else None
        if pending is None or sign_in is None:
            log.info("single sign-on refused", extra={"reason": "unknown or spent state"})
            raise SignInRefused("unknown state")
        try:
            identity = await sign_in.complete(pending, query)
        except (OidcError, NoRoleMapped) as exc:
            log.info("single sign-on refused", extra={"reason": type(exc).__name__, "detail": str(exc)})
            raise SignInRefused(type(exc).__name__) from exc
        staff_id = await self._account_of(identity)
        known = await self.store.known_teams(identity.jurisdiction_id)
        token = self.issuer.issue(
            staff_id=staff_id,
            jurisdiction_id=identity.jurisdiction_id,
            roles=identity.grant.roles,
            teams=[t for t in identity.grant.teams if t in known],
            methods=("oidc",),
            now=now,
        )
        log.info("staff signed in through single sign-on", extra={"staff_id": str(staff_id)})
        return AccessToken(token, int(self.issuer.ttl.total_seconds()))

    async def _account_of(self, identity: OidcIdentity) -> UUID:
        linked = await self.store.linked_staff(identity.issuer, identity.subject)
        if linked is not None:
            row = await self.store.account(linked)
            if row is not None and (
                not row.account.active or row.jurisdiction_id != identity.jurisdiction_id
            ):
                log.info("single sign-on refused", extra={"reason": "disabled", "staff_id": str(linked)})
                raise SignInRefused("disabled")
            return linked
        staff_id = uuid6.uuid7()
        contact = await self.store.seal_contact(staff_id, PersonalData(email=identity.email))
        known = await self.store.known_teams(identity.jurisdiction_id)
        payload = accounts.create_account(
            staff_id=staff_id,
            contact=contact,
            roles=identity.grant.roles,
            teams=[t for t in identity.grant.teams if t in known],
            known_teams=known,
            by=None,
        )
        actor = Actor(kind=ActorKind.system, id=f"oidc:{identity.issuer}"[:120])
        event = staff_event(
            payload, jurisdiction_id=identity.jurisdiction_id, actor=actor, source=SOURCE_SIGN_IN
        )
        linked_id = await self.store.link_new_account(
            identity.issuer, identity.subject, event, staff_id=staff_id
        )
        if linked_id == staff_id:
            await publish_change(
                self.store, self.config_log, event.event_id, what="staff account created by SSO"
            )
        return linked_id
