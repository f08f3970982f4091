import ssl

import pytest
from civicloop_events.kafka_connection import client_options, producer_options


def test_plaintext_by_default():
    assert client_options("b:9092", {}) == {"bootstrap_servers": "b:9092", "security_protocol": "PLAINTEXT"}


def test_sasl_ssl_with_scram():
    opts = client_options(
        "b:9093",
        {
            "CIVICLOOP_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "CIVICLOOP_KAFKA_SASL_USERNAME": "intake",
            "CIVICLOOP_KAFKA_SASL_PASSWORD": "s3cret",
        },
    )
    assert opts["security_protocol"] == "SASL_SSL"
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("intake", "s3cret")
    assert isinstance(opts["ssl_context"], ssl.SSLContext)


def test_sasl_without_credentials_is_refused():
    with pytest.raises(ValueError, match="USERNAME"):
        client_options("b:9093", {"CIVICLOOP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})


def test_unknown_protocol_is_refused():
    with pytest.raises(ValueError, match="one of"):
        client_options("b:9093", {"CIVICLOOP_KAFKA_SECURITY_PROTOCOL": "TLS"})


def test_producers_linger_a_millisecond_unless_told() -> None:
    assert producer_options({}) == {"linger_ms": 1}
    assert producer_options({"CIVICLOOP_KAFKA_LINGER_MS": "5"}) == {"linger_ms": 5}
    with pytest.raises(ValueError, match="LINGER"):
        producer_options({"CIVICLOOP_KAFKA_LINGER_MS": "-1"})
