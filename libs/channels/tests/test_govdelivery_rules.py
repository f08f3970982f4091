"""govDelivery without a network: topic codes, the bulletin's XML, what the API's answers mean."""

from civicloop_channels.govdelivery import (
    TopicScheme,
    bulletin_xml,
    result_of_response,
    topics_of,
    topics_to,
)
from civicloop_channels.message import Channel, Outcome, OutgoingMessage
from defusedxml import ElementTree

SCHEME = TopicScheme("MDPGC")


def test_topics_are_per_category_and_district_in_govdelivery_s_code_alphabet():
    assert SCHEME.for_category("pothole") == "MDPGC_311_CAT_POTHOLE"
    assert SCHEME.for_category("street-light / out") == "MDPGC_311_CAT_STREET_LIGHT_OUT"
    assert SCHEME.for_district("5") == "MDPGC_311_DIST_5"
    assert SCHEME.for_update("pothole", "5") == ("MDPGC_311_CAT_POTHOLE", "MDPGC_311_DIST_5")
    assert SCHEME.for_update("pothole", None) == ("MDPGC_311_CAT_POTHOLE",)
    assert SCHEME.for_update(None, None) == ()


def test_topics_travel_in_a_message_s_to_and_back():
    codes = ("MDPGC_311_CAT_POTHOLE", "MDPGC_311_DIST_5")
    assert topics_of(topics_to(codes)) == codes
    assert topics_of(" A , ,B ") == ("A", "B")
    assert topics_of("") == ()


def test_the_bulletin_names_subject_body_sender_topics_and_tracks_no_one():
    message = OutgoingMessage(
        "evt-9:feed:govdelivery",
        Channel.govdelivery,
        "",
        "Pothole on Main St <fixed> & closed",
        subject="Update",
    )
    root = ElementTree.fromstring(bulletin_xml(message, ("T_1", "T_2"), from_address_id="42"))
    assert root.tag == "bulletin"
    assert root.findtext("subject") == "Update"
    assert root.findtext("body") == "<p>Pothole on Main St &lt;fixed&gt; &amp; closed</p>"
    assert root.findtext("from_address_id") == "42"
    assert [t.findtext("code") for t in root.findall("./topics/topic")] == ["T_1", "T_2"]
    assert root.find("topics").get("type") == "array"
    for flag in ("open_tracking", "click_tracking"):
        assert root.findtext(flag) == "false" and root.find(flag).get("type") == "boolean"


def test_a_message_s_html_is_the_body_and_its_first_line_the_subject_when_it_has_none():
    message = OutgoingMessage("m", Channel.govdelivery, "", "Closed: fixed\nThanks", html="<p>Closed</p>")
    root = ElementTree.fromstring(bulletin_xml(message, ("T",)))
    assert root.findtext("subject") == "Closed: fixed"
    assert root.findtext("body") == "<p>Closed</p>"
    assert root.find("from_address_id") is None


def test_a_sent_bulletin_is_accepted_with_its_id():
    body = b"<bulletin><to-param>7895129</to-param><total-subscribers>2</total-subscribers></bulletin>"
    result = result_of_response(200, body, None)
    assert result.outcome is Outcome.accepted and result.provider_id == "7895129"


def test_an_unknown_topic_or_account_is_refused_with_the_api_s_code():
    body = b"<errors><error>Topic not found</error><code>GD-14002</code></errors>"
    result = result_of_response(422, body, None)
    assert result.outcome is Outcome.refused and result.error == "govDelivery answered 422 (GD-14002)"
    assert result_of_response(404, b"", None).outcome is Outcome.refused


def test_refused_credentials_throttling_and_outages_fail_for_now():
    assert result_of_response(401, b"<errors/>", None).outcome is Outcome.failed
    throttled = result_of_response(429, b"", "60")
    assert throttled.outcome is Outcome.failed and throttled.retry_after_s == 60.0
    outage = result_of_response(502, b"<html>Bad gateway</html>", None)
    assert outage.outcome is Outcome.failed and outage.retry_after_s is None
