import pytest
from civicloop_notifier.domain.survey import SurveyAnswer, parse_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("YES 9", SurveyAnswer(True, 9)),
        ("yes", SurveyAnswer(True, None)),
        ("Sí, 10", SurveyAnswer(True, 10)),
        ("si 7", SurveyAnswer(True, 7)),
        ("NO 2", SurveyAnswer(False, 2)),
        ("8 no", SurveyAnswer(False, 8)),
        ("0", SurveyAnswer(None, 0)),
        ("No. 11!", SurveyAnswer(False, None)),
    ],
)
def test_an_answer_is_read_in_english_or_spanish_in_any_order(text, expected):
    assert parse_answer(text) == expected


@pytest.mark.parametrize("text", ["", "thanks", "what about 1ABC?", "42"])
def test_text_without_an_answer_is_not_one(text):
    assert parse_answer(text) is None
