"""Mounts the residents' pages (`civicloop_intake.pages`) on intake's app: their router, their static files, and the
per-client limits of the pages that send or check a one-time code (the same as the JSON code routes') and of the
address search."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from civicloop_intake.pages.rendering import STATIC_DIR, STATIC_PATH
from civicloop_intake.pages.routes import PLACES_PATH, TRACK_CODE_PATH, TRACK_OPEN_PATH, pages_router
from civicloop_intake.settings import IntakeSettings

__all__ = ["install_pages", "pages_path_limits", "pages_router"]


def install_pages(app: FastAPI) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=str(STATIC_DIR)), name="pages-static")


def pages_path_limits(settings: IntakeSettings) -> dict[str, str]:
    return {
        TRACK_CODE_PATH: settings.resident_rate_limit_per_client,
        TRACK_OPEN_PATH: settings.resident_rate_limit_per_client,
        PLACES_PATH: settings.track_rate_limit_per_client,  # a search per click, not per key typed
    }
