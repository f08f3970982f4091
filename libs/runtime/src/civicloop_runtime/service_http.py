"""A service's HTTP app, described once: `create_app` (tests pass settings and adapters) and
`app_from_environment` (for `uvicorn --factory` and `serve`) both come from it.

HTTP = ServiceHttp("geo", GeoSettings, bootstrap, title="CivicLoop geo", routers=(query_api.router,))
create_app, app_from_environment = HTTP.create_app, HTTP.app_from_environment
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from fastapi import APIRouter, FastAPI

from civicloop_runtime import process
from civicloop_runtime.app import ErrorRenderer, RunningService, Shed, json_error, service_app
from civicloop_runtime.rate_limits import client_rate_limit
from civicloop_runtime.settings import ProcessSettings

S = TypeVar("S", bound=ProcessSettings)


@dataclass(frozen=True)
class ServiceHttp(Generic[S]):
    """`bootstrap(settings, **adapters)` is the service's own; the rest is what `service_app` takes, and `install`
    adds what the skeleton does not (the service's exception handlers)."""

    service: str
    settings_type: type[S]
    bootstrap: Callable[..., Awaitable[RunningService]]
    title: str
    routers: Sequence[APIRouter] = ()
    version: str = "1.0.0"
    summary: str | None = None
    description: str = ""
    render_error: ErrorRenderer = json_error
    install: Callable[[FastAPI], None] | None = None
    # Path prefixes with a per-client limit of their own, on top of `rate_limit_per_client` (`limits` notation).
    path_limits: Callable[[S], Mapping[str, str]] | None = None
    # Prefixes of `path_limits` counted against their own limit only, not `rate_limit_per_client` too.
    limited_apart: tuple[str, ...] = ()

    def create_app(self, settings: S | None = None, **adapters: Any) -> FastAPI:
        """The routes on the service skeleton; `adapters` (and `start_consumers`) go to `bootstrap`, which opens
        the pool, the producer and the consumers in the lifespan."""
        settings = settings or self.settings_type()
        app = service_app(
            title=self.title,
            version=self.version,
            summary=self.summary,
            description=self.description,
            start=partial(self.bootstrap, settings, **adapters),
            routers=self.routers,
            max_body_bytes=settings.max_body_bytes,
            render_error=self.render_error,
            shedding=Shed.from_settings(settings),
            rate_limit=client_rate_limit(
                settings,
                self.render_error,
                per_path=self.path_limits(settings) if self.path_limits else None,
                apart=self.limited_apart,
            ),
        )
        if self.install is not None:
            self.install(app)
        return app

    def app_from_environment(self) -> FastAPI:
        """The process set up from its environment (JSON logs, traces), then the app built from its settings."""
        return process.app_from_environment(self.service, self.settings_type, self.create_app)
