"""How a service process sets itself up from its environment: settings read, JSON logs and tracing installed."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI
from opentelemetry import trace

from civicloop_runtime.logs import configure_logging
from civicloop_runtime.settings import ProcessSettings
from civicloop_runtime.telemetry import configure_tracing

S = TypeVar("S", bound=ProcessSettings)


def configured(service: str, settings_type: type[S]) -> S:
    """The settings from the environment, with the process's logs and traces set up (redacted) for `service`."""
    settings = settings_type()
    configure_logging(service, settings.log_level)
    configure_tracing(service)
    return settings


def app_from_environment(service: str, settings_type: type[S], create_app: Callable[[S], FastAPI]) -> FastAPI:
    """For `uvicorn --factory`: the process set up, then the service's app built from its settings."""
    return create_app(configured(service, settings_type))


def exit_stopped() -> None:
    """End a process whose service has stopped and closed (told to, by SIGTERM or SIGINT): spans and logs flushed,
    then exit code 0 at once.

    What is left after the close is the interpreter's own teardown (its modules and objects freed one by one),
    which took from 1 to 8 s per service process on a busy machine, all of it after everything was closed: time an
    orchestrator's grace period would count against the process for nothing."""
    shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
    if shutdown is not None:
        shutdown()  # the SDK's provider: its batch processor exports what it holds
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
