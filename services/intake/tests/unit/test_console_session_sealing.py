"""The console session's token, sealed under the session id the browser holds (no IO)."""

from civicloop_intake.console.sessions import open_token, seal_token

TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl"


def test_a_sealed_token_opens_with_its_session_id_only():
    sealed = seal_token("session-a", TOKEN)
    assert TOKEN not in sealed and sealed.startswith("v1.")
    assert open_token("session-a", sealed) == TOKEN
    assert open_token("session-b", sealed) is None


def test_each_sealing_differs_and_an_altered_or_plain_row_does_not_open():
    first, second = seal_token("s", TOKEN), seal_token("s", TOKEN)
    assert first != second  # a nonce of its own each time
    flipped = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    assert open_token("s", flipped) is None
    assert open_token("s", TOKEN) is None  # a row written before sealing is no session
    assert open_token("s", "v1.not base64!") is None
