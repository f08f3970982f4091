"""How a service process sets itself up from its environment: settings read, JSON logs and tracing installed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import FastAPI

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
