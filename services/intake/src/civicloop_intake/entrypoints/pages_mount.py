"""Mounts the residents' pages (`civicloop_intake.pages`), the agents' console (`civicloop_intake.console`) and the
admin pages in it (`civicloop_intake.admin_pages`) on intake's app: their routers, their static files, and the per-client limits of the pages that send or check a
one-time code (the same as the JSON code routes'), of the address search, and of the console's sign-in (the same as
staff sign-in's)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from civicloop_intake.admin_pages.routes import ADMIN_STATIC_DIR, ADMIN_STATIC_PATH, admin_router
from civicloop_intake.console.routes import SIGN_IN_PATH as CONSOLE_SIGN_IN_PATH
from civicloop_intake.console.routes import STATIC_DIR as CONSOLE_STATIC_DIR
from civicloop_intake.console.routes import STATIC_PATH as CONSOLE_STATIC_PATH
from civicloop_intake.console.routes import console_router
from civicloop_intake.pages.rendering import STATIC_DIR, STATIC_PATH
from civicloop_intake.pages.routes import PLACES_PATH, TRACK_CODE_PATH, TRACK_OPEN_PATH, pages_router
from civicloop_intake.settings import IntakeSettings

__all__ = ["admin_router", "console_router", "install_pages", "pages_path_limits", "pages_router"]


def install_pages(app: FastAPI) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=str(STATIC_DIR)), name="pages-static")
    app.mount(CONSOLE_STATIC_PATH, StaticFiles(directory=str(CONSOLE_STATIC_DIR)), name="console-static")
    app.mount(ADMIN_STATIC_PATH, StaticFiles(directory=str(ADMIN_STATIC_DIR)), name="admin-static")


def pages_path_limits(settings: IntakeSettings) -> dict[str, str]:
    return {
        TRACK_CODE_PATH: settings.resident_rate_limit_per_client,
        TRACK_OPEN_PATH: settings.resident_rate_limit_per_client,
        PLACES_PATH: settings.track_rate_limit_per_client,  # a search per click, not per key typed
        CONSOLE_SIGN_IN_PATH: settings.staff_sign_in_rate_limit_per_client,  # passwords and codes, like the API's
    }
