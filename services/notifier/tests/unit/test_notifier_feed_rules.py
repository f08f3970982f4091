"""The govDelivery feed's pure rules: which updates are broadcast, to which topics, saying what (public facts only)."""

from functools import partial
from uuid import uuid4

import pytest
from civicloop_channels.govdelivery import TopicScheme
from civicloop_events.payloads import (
    AreaRef,
    CommentAdded,
    LocationMethod,
    LocationResolved,
    LocationUnresolved,
    PublicPlace,
    StatusChanged,
    UnresolvedReason,
    VisitScheduled,
)
from civicloop_notifier.adapters.catalogs import load_catalogs
from civicloop_notifier.domain import feed
from civicloop_notifier.domain.feed import FeedKind, FeedRequest, FeedRule, FeedUpdate
from civicloop_notifier.domain.texts import Texts
from notifier_events import NUMBER, event

CATALOGS = load_catalogs()
TEXTS = Texts(CATALOGS)
RULE = FeedRule(account_code="MDPGC", prefixes={"springfield": "SPF"}, district_kinds={"council_district"})
PLACED = FeedRequest(NUMBER, "demo", "street_light", "district-4", "2100 block of W Bellevue Ave", True)
LINK = f"https://civicloop.example/track/{NUMBER}"


def resolved(*areas: AreaRef) -> LocationResolved:
    return LocationResolved(
        lat=38.9,
        long=-77.0,
        address="2117 W Bellevue Ave",
        method=LocationMethod.submitted,
        provider="reporter",
        confidence=1,
        service_areas=list(areas),
        inside_jurisdiction=True,
        public=PublicPlace(
            h3_cell="8a2a1072b59ffff", h3_resolution=10, lat=38.9, long=-77.0, address="2100 block"
        ),
    )


def test_topics_follow_the_jurisdictions_naming_rule_as_the_county_creates_them():
    assert RULE.topics(PLACED) == ("MDPGC_311_CAT_STREET_LIGHT", "MDPGC_311_DIST_DISTRICT_4")
    scheme = TopicScheme("MDPGC")
    assert set(RULE.topics(PLACED)) == set(scheme.for_update("street_light", "district-4"))
    other = FeedRequest("2XYZ-9QQQ", "springfield", "pot-hole", None, None, False)
    assert RULE.topics(other) == ("SPF_311_CAT_POT_HOLE",)


def test_the_district_is_the_area_of_a_district_kind():
    ward = AreaRef(area_id="ward-2", kind="ward", name="Ward 2", version=1)
    district = AreaRef(area_id="district-4", kind="council_district", name="District 4", version=3)
    assert RULE.district_of(resolved(ward, district)) == "district-4"
    assert RULE.district_of(resolved(ward)) is None


def test_received_is_broadcast_at_the_first_placement_only():
    assert feed.update_for(event(resolved()), PLACED, first_placement=True) == FeedUpdate(
        FeedKind.received, {"category": "street_light", "place": "2100 block of W Bellevue Ave"}
    )
    assert feed.update_for(event(resolved()), PLACED, first_placement=False) is None
    unresolved = LocationUnresolved(reason=UnresolvedReason.address_not_found)
    assert feed.update_for(event(unresolved), PLACED, first_placement=True).kind is FeedKind.received


@pytest.mark.parametrize(
    ("status", "previous", "kind"),
    [
        ("acknowledged", "open", FeedKind.acknowledged),
        ("closed", "in_progress", FeedKind.closed),
        ("in_progress", "closed", FeedKind.reopened),
        ("in_progress", "acknowledged", None),
        ("on_hold", "in_progress", None),
        ("closed", "closed", None),
        ("acknowledged", "acknowledged", None),
    ],
)
def test_which_status_changes_are_broadcast(status, previous, kind):
    changed = StatusChanged(
        status=status, previous_status=previous, public_note="Dear Ana, call me at 555-0100"
    )
    update = feed.update_for(event(changed), PLACED, first_placement=False)
    assert (update.kind if update else None) is kind
    if update is not None:
        assert "Dear Ana" not in str(update.facts)  # the note is the resident's, never broadcast


def test_comments_and_visits_are_never_broadcast():
    for payload in (
        CommentAdded(text="public words", visibility="public"),
        CommentAdded(text="internal words", visibility="internal"),
        VisitScheduled(visit_id="v1", starts_at="2026-12-09T15:00:00Z", duration_minutes=30, address="x"),
    ):
        assert feed.update_for(event(payload), PLACED, first_placement=False) is None


def render(update: FeedUpdate, language: str = "en"):
    return feed.render_bulletin(
        update,
        number=NUMBER,
        tracking_link=LINK,
        translate=partial(TEXTS.text, language=language, jurisdiction_id="demo"),
        reason_label=lambda code: code.replace("_", " "),
    )


def test_a_closing_bulletin_says_the_category_the_public_place_the_reason_and_the_link():
    out = render(
        FeedUpdate(FeedKind.closed, {"category": "street_light", "place": "2100 block", "reason": "resolved"})
    )
    assert out.subject == f"Report {NUMBER}: street light"
    assert out.text.splitlines() == [
        f"Report {NUMBER} (street light, at 2100 block) was closed.",
        "Reason: resolved.",
        f"Follow it at {LINK}",
    ]


def test_a_bulletin_without_a_public_place_says_so_in_spanish():
    out = render(FeedUpdate(FeedKind.received, {"category": "pothole", "place": ""}), language="es")
    assert out.text.startswith("Se recibió un reporte de pothole, en un lugar aún sin nombre.")


@pytest.mark.parametrize("msgid", feed.every_msgid())
def test_every_feed_text_has_a_spanish_translation(msgid):
    translated = CATALOGS["es"].gettext(msgid)
    assert translated != msgid and translated.count("%(") == msgid.count("%(")


def test_a_bulletin_is_keyed_by_its_event_and_topic_set():
    cause = uuid4()
    assert feed.bulletin_id(cause, ("A", "B")) == feed.bulletin_id(cause, ("B", "A"))
    assert feed.bulletin_id(cause, ("A",)) != feed.bulletin_id(cause, ("A", "B"))
    assert feed.bulletin_id(uuid4(), ("A",)) != feed.bulletin_id(cause, ("A",))
