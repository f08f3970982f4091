import pytest
from civicloop_events.payloads import NotificationChannel
from civicloop_notifier.domain.opt_outs import contact_digest
from civicloop_notifier.domain.unsubscribe import read_unsubscribe_token, unsubscribe_token

PEPPER = b"unsubscribe-tests-pepper-0123456"
EMAIL = NotificationChannel.email
DIGEST = contact_digest(PEPPER, EMAIL, "Ana@Example.org")


def test_a_token_names_its_channel_and_digest_and_no_contact():
    token = unsubscribe_token(PEPPER, EMAIL, DIGEST)
    assert read_unsubscribe_token(PEPPER, token) == (EMAIL, DIGEST)
    assert "ana" not in token.lower()


def test_the_digest_ignores_case_and_spaces_of_an_address():
    assert contact_digest(PEPPER, EMAIL, " ana@example.ORG ") == DIGEST


@pytest.mark.parametrize(
    "token",
    [
        "",
        "email",
        "email.x.y",
        "fax." + unsubscribe_token(PEPPER, EMAIL, DIGEST).split(".", 1)[1],
        unsubscribe_token(b"another-deployments-pepper-00000", EMAIL, DIGEST),
        unsubscribe_token(PEPPER, EMAIL, DIGEST).replace("email.", "sms.", 1),
    ],
)
def test_a_token_not_signed_here_or_altered_is_refused(token):
    assert read_unsubscribe_token(PEPPER, token) is None
