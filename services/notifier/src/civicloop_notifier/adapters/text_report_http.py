"""The text-reporting port's HTTP peers: geo's public geocode and intake's public submission route.

The address a resident typed travels in the geocode's query string, which CivicLoop's logs and traces never keep
(`civicloop_runtime.redaction`); the phone travels only in intake's request body, which intake seals.
"""

from __future__ import annotations

import httpx

from civicloop_notifier.domain.text_report import Place, SubmissionAnswer
from civicloop_notifier.service_layer.text_reporting import GeocoderUnavailable, TextReport

GEOCODE_PATH = "/api/v1/public/geocode"
SUBMIT_PATH = "/api/v1/requests"
FORWARDED_FOR = (
    "X-Forwarded-For"  # the resident's pseudonym: per-resident limits where the notifier is trusted
)
REFUSED = frozenset({400, 404, 409, 422})  # the report as it is will never be taken: asking again cannot help


class GeoPlaces:
    """`PlaceFinder` over geo's public geocode (`CIVICLOOP_NOTIFIER_GEO_URL`)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def places(self, jurisdiction_id: str, query: str, *, on_behalf_of: str) -> list[Place]:
        try:
            answer = await self.client.get(
                GEOCODE_PATH,
                params={"jurisdiction_id": jurisdiction_id, "q": query},
                headers={FORWARDED_FOR: on_behalf_of},
            )
        except httpx.HTTPError as exc:
            raise GeocoderUnavailable(type(exc).__name__) from None
        if answer.status_code == 422:  # a query geo does not take (too long, a NUL): no place for it
            return []
        if answer.status_code != 200:
            raise GeocoderUnavailable(f"geo answered {answer.status_code}")
        return [Place.model_validate(r) for r in answer.json()["results"]]


class IntakeSubmitter:
    """`ReportSubmitter` over intake's public submission route (`CIVICLOOP_NOTIFIER_INTAKE_URL`)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def submit(self, report: TextReport) -> SubmissionAnswer:
        r = report.report
        body = {
            "jurisdiction_id": report.jurisdiction_id,
            "service_code": r.service_code,
            "description": r.description,
            "lat": r.place.lat,
            "long": r.place.long,
            "address_string": r.place.address,
            "attributes": r.attributes,
            "contact": {"phone": report.phone},
            "preferred_channel": report.channel.value,
            "language": r.language,
            "source": report.channel.value,
        }
        try:
            answer = await self.client.post(
                SUBMIT_PATH,
                json=body,
                headers={"Idempotency-Key": report.idempotency_key, FORWARDED_FOR: report.on_behalf_of},
            )
        except httpx.HTTPError:
            return SubmissionAnswer.unavailable
        if answer.status_code in (200, 201):
            return SubmissionAnswer.filed
        if answer.status_code in REFUSED:
            return SubmissionAnswer.refused
        return SubmissionAnswer.unavailable
