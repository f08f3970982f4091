"""Which partner is writing, and may it write to this jurisdiction (G-70..G-73: every refusal is a 403)."""

from __future__ import annotations

from dataclasses import dataclass

from civicloop_open311.forms import OpenForm

from civicloop_gateway.domain.partner_keys import key_digest
from civicloop_gateway.domain.submit_errors import Forbidden
from civicloop_gateway.service_layer.submit_ports import Jurisdictions, PartnerKey, Partners


async def authorised_partner(
    api_key: str | None,
    *,
    given_jurisdiction: str | None,
    partners: Partners,
    jurisdictions: Jurisdictions,
    action: str,
) -> tuple[PartnerKey, str]:
    """The partner key and the jurisdiction of a write.

    The key is checked first, so a request without a valid key learns nothing else (G-73: a missing key is 403,
    as the spec says, not 400). Then the jurisdiction is resolved (400 missing, 404 unknown, G-61), and the key
    must be authorised, and not revoked, for that jurisdiction. A recognised key's use is counted (let in, or
    refused: revoked, another jurisdiction's) for the admins' listing of keys.
    """
    if not api_key:
        raise Forbidden(f"api_key was not provided -- can't proceed with {action}.")
    rows = await partners.by_digest(key_digest(api_key))
    live = [row for row in rows if not row.revoked]
    if not rows:
        raise Forbidden(f"Invalid api_key received -- can't proceed with {action}.")
    if not live:
        await partners.record_use(rows[0], let_in=False)  # a partner still using a key revoked: worth seeing
        raise Forbidden(f"The api_key received has been revoked -- can't proceed with {action}.")
    jurisdiction_id = await jurisdictions.resolve(given_jurisdiction)
    for row in live:
        if row.jurisdiction_id == jurisdiction_id:
            await partners.record_use(row, let_in=True)
            return row, jurisdiction_id
    await partners.record_use(live[0], let_in=False)
    raise Forbidden(
        f"The api_key received is not authorised for jurisdiction {jurisdiction_id!r} "
        f"-- can't proceed with {action}."
    )


@dataclass(frozen=True)
class PartnerWriteContext:
    """The ports every partner write starts with: the partners' keys and the jurisdictions."""

    partners: Partners
    jurisdictions: Jurisdictions

    async def authorise(self, form: OpenForm, api_key: str | None, *, action: str) -> tuple[PartnerKey, str]:
        """`authorised_partner` of a POST, for the jurisdiction its form names (or the endpoint's default)."""
        return await authorised_partner(
            api_key,
            given_jurisdiction=form.get("jurisdiction_id"),
            partners=self.partners,
            jurisdictions=self.jurisdictions,
            action=action,
        )
