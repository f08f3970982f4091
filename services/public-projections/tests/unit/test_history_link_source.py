"""The audit history shows the link that brought a report (`link_source`, request.submitted v4), and none for
reports submitted before links were recorded."""

import json
from pathlib import Path

from civicloop_events import decode_event
from civicloop_projections.domain.history import history_entry

GOLDEN = Path(__file__).parents[4] / "libs" / "events" / "tests" / "golden"


def test_the_history_of_a_posters_report_names_its_source():
    event = decode_event(json.loads((GOLDEN / "request.submitted.v4.json").read_text()))
    entry = history_entry(event)
    assert entry.summary["link_source"] == "poster-d3"
    assert entry.source == "web"  # how it arrived: the web form the poster's code opened
    assert "contact" not in entry.summary


def test_an_earlier_report_has_no_source_in_its_history():
    event = decode_event(json.loads((GOLDEN / "request.submitted.v3.json").read_text()))
    assert history_entry(event).summary["link_source"] is None
