"""Every service's API documentation (/docs with Swagger UI, /redoc with ReDoc), its scripts served by the service.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (and ReDoc's fonts from Google): a county's network, or a
machine without internet, gets a blank page. The assets come from the `fastapi-offline` package (Swagger UI 5, which
reads OpenAPI 3.1, and ReDoc's standalone bundle), mounted under `DOCS_ASSETS`; the pages are FastAPI's own, pointed
at them. The page shell is ours, so it says its language (`<html lang="en">`, which screen readers need and FastAPI's
pages leave out), puts Swagger UI in a `main` landmark, and darkens the colours of Swagger UI's theme that axe-core
finds under WCAG 2.1 AA's 4.5:1 contrast (method badges, version stamps, links, buttons): `CONTRAST_CSS`.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
DOCS_ASSETS = "/docs-assets"
# Of the package's files: swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png.
_ASSETS_DIRECTORY = files("fastapi_offline") / "static"


def serve_api_docs(app: FastAPI) -> None:
    """/docs, /docs/oauth2-redirect and /redoc on `app` (built with `docs_url=None, redoc_url=None`), with the
    assets they load served by `app` itself under `DOCS_ASSETS`."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(_ASSETS_DIRECTORY)), name="docs-assets")
    # Said on the app as FastAPI's own pages would be, for whatever lists the routes an app serves.
    app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url = DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _with_language(
            get_swagger_ui_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - API documentation",
                swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
                oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
                init_oauth=app.swagger_ui_init_oauth,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return _with_language(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _with_language(
            get_redoc_html(
                openapi_url=f"{root}{openapi_url}",
                title=f"{app.title} - API documentation",
                redoc_js_url=f"{root}{DOCS_ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )


# Each colour reaches 4.5:1 against the white (or light) background it is shown on, its text white or on white.
CONTRAST_CSS = """
.swagger-ui .opblock.opblock-get .opblock-summary-method { background: #1f5f9e; }
.swagger-ui .opblock.opblock-post .opblock-summary-method { background: #1f7a4d; }
.swagger-ui .opblock.opblock-put .opblock-summary-method { background: #9a5a00; }
.swagger-ui .opblock.opblock-delete .opblock-summary-method { background: #c0262d; }
.swagger-ui .opblock.opblock-patch .opblock-summary-method { background: #12735f; }
.swagger-ui .info .title small { background: #5b616e; }
.swagger-ui .info .title small.version-stamp { background: #4a6b00; }
.swagger-ui .info a, .swagger-ui .info .url { color: #1f5f9e; }
.swagger-ui .btn.authorize { color: #1f7a4d; border-color: #1f7a4d; }
.swagger-ui .btn.authorize svg { fill: #1f7a4d; }
.swagger-ui .json-schema-2020-12-expand-deep-button { color: #555555; }
"""


def _with_language(page: HTMLResponse) -> HTMLResponse:
    body = (
        bytes(page.body)
        .replace(b"<html>", b'<html lang="en">', 1)
        .replace(b"</head>", f"<style>{CONTRAST_CSS}</style>\n</head>".encode(), 1)
        .replace(b'<div id="swagger-ui">\n    </div>', b'<main id="swagger-ui"></main>', 1)
    )
    return HTMLResponse(body, status_code=page.status_code)
