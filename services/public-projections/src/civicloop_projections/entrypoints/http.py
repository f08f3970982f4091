"""The FastAPI app: the agent read API on the service skeleton (`civicloop_runtime.service_http`).

`create_app(settings, **adapters)`: adapters (and `start_consumers`: the consumers in the same process) go to
`bootstrap`. `app_from_environment`: for
`uvicorn --factory civicloop_projections.entrypoints.http:app_from_environment`.
"""

from __future__ import annotations

from civicloop_runtime.service_http import ServiceHttp

from civicloop_projections.bootstrap import bootstrap
from civicloop_projections.database import MIGRATIONS
from civicloop_projections.entrypoints import agent_api
from civicloop_projections.settings import ProjectionSettings

SERVICE = "public-projections"
__all__ = ["HTTP", "MIGRATIONS", "app_from_environment", "create_app"]

HTTP = ServiceHttp(
    SERVICE,
    ProjectionSettings,
    bootstrap,
    title="CivicLoop projections",
    description="Read models folded from the CivicLoop log: the agents' view of requests, service areas.",
    routers=(agent_api.router,),
)
create_app = HTTP.create_app
app_from_environment = HTTP.app_from_environment
