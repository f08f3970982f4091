"""JSON logs on stdout, one object per line, with the current trace and span ids, scrubbed by `redaction`."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from civicloop_runtime.redaction import RedactingFilter


class _TraceIds(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            record.trace_id = format(ctx.trace_id, "032x")
            record.span_id = format(ctx.span_id, "016x")
        return True


# Loggers too chatty below WARNING: Kafka clients' connection lines; httpcore's debug lines carry headers (the
# filter would scrub them, but they are noise).
QUIET_LOGGERS = ("aiokafka", "kafka", "httpcore")


def configure_logging(service: str, level: str = "INFO", *, stream: TextIO | None = None) -> logging.Handler:
    """Replace the root handlers with one JSON handler whose every record passes the redaction filter.

    httpx logs each request's full URL at INFO (a geocoder's query holds the address a resident typed, a back-end's
    its api key): the filter cuts query strings out of every URL, whichever logger wrote it.
    """
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    handler.addFilter(RedactingFilter())
    handler.addFilter(_TraceIds())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
