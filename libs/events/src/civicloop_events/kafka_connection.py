"""How every CivicLoop Kafka client connects: plaintext on one machine, TLS + SASL/SCRAM on a cluster.

Read from the environment so that producers, consumers, admin clients and CLIs all connect the same way:
`CIVICLOOP_KAFKA_SECURITY_PROTOCOL` (PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL), `CIVICLOOP_KAFKA_SASL_MECHANISM`
(SCRAM-SHA-512 by default), `CIVICLOOP_KAFKA_SASL_USERNAME`, `CIVICLOOP_KAFKA_SASL_PASSWORD`,
`CIVICLOOP_KAFKA_CLUSTER_CA_PATH` (the cluster CA certificate, PEM). Producers also read
`CIVICLOOP_KAFKA_LINGER_MS` (`producer_options`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.helpers import create_ssl_context

PROTOCOLS = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}


def client_options(bootstrap_servers: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
    env = os.environ if env is None else env
    protocol = env.get("CIVICLOOP_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"CIVICLOOP_KAFKA_SECURITY_PROTOCOL must be one of {sorted(PROTOCOLS)}, not {protocol!r}"
        )
    options: dict[str, Any] = {"bootstrap_servers": bootstrap_servers, "security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(cafile=env.get("CIVICLOOP_KAFKA_CLUSTER_CA_PATH") or None)
    if protocol.startswith("SASL_"):
        username, password = (
            env.get("CIVICLOOP_KAFKA_SASL_USERNAME"),
            env.get("CIVICLOOP_KAFKA_SASL_PASSWORD"),
        )
        if not username or not password:
            raise ValueError(
                f"{protocol} needs CIVICLOOP_KAFKA_SASL_USERNAME and CIVICLOOP_KAFKA_SASL_PASSWORD"
            )
        options.update(
            sasl_mechanism=env.get("CIVICLOOP_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            sasl_plain_username=username,
            sasl_plain_password=password,
        )
    return options


DEFAULT_LINGER_MS = 1


def producer_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """How a producer batches: `CIVICLOOP_KAFKA_LINGER_MS`, how long a record waits for others to share its produce
    request (one request, one broker round trip and one wake-up of every consumer for many records)."""
    env = os.environ if env is None else env
    linger_ms = int(env.get("CIVICLOOP_KAFKA_LINGER_MS", DEFAULT_LINGER_MS))
    if linger_ms < 0:
        raise ValueError(f"CIVICLOOP_KAFKA_LINGER_MS must be 0 or more, not {linger_ms}")
    return {"linger_ms": linger_ms}


async def broker_answers(client: AIOKafkaClient) -> bool:
    """Whether a broker answers a metadata request from `client` now (for /readyz; bound it with a timeout).

    A client's connections say little: an outage closes them and aiokafka reconnects an idle client only at its next
    metadata refresh (`metadata_max_age_ms`, minutes), so a producer that published nothing since reads as down long
    after the broker is back. Asking refreshes the metadata, reconnecting on the way; when no broker answers, the
    refresh fails at once (or hangs, on a dropped link: the caller's timeout says no)."""
    return bool(await client.force_metadata_update())
