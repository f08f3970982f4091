"""The FastAPI app: geo's query API on the service skeleton (`civicloop_runtime.service_http`).

`create_app(settings, **adapters)`: adapters (and `start_consumers`: the consumers and the cluster sweep) go to
`bootstrap`. `app_from_environment`: for `uvicorn --factory civicloop_geo.entrypoints.http:app_from_environment`.
"""

from __future__ import annotations

from civicloop_runtime.service_http import ServiceHttp

from civicloop_geo.bootstrap import bootstrap
from civicloop_geo.entrypoints import query_api
from civicloop_geo.settings import GeoSettings

SERVICE = "geo"

HTTP = ServiceHttp(
    SERVICE,
    GeoSettings,
    bootstrap,
    title="CivicLoop geo",
    description="Places for requests: geocoding, service areas, requests near/in/within, heat-map, clusters.",
    routers=(query_api.router,),
)
create_app = HTTP.create_app
app_from_environment = HTTP.app_from_environment
