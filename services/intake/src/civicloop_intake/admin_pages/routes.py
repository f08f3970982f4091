"""The admin's pages in the console, at `/console/admin/...`, one module per section: staff and roles
(`staff_routes`), selfheal (`selfheal_routes`), posters (`poster_routes`), bodies (`body_routes`), the catalogue
(`catalogue_routes`) and partners' Open311 keys (`partner_routes`). They use the console's sign-in, session and CSRF token and are admitted to the `admin` role
alone (a 403 page to anyone else signed in; `common`).

Intake's own APIs (staff management, posters) are called in-process with the admin's own token, so their rules,
events and refusals hold unchanged; other services (selfheal, outbound, the gateway) over HTTP with that token,
never by reading their tables."""

from __future__ import annotations

# Each section registers its routes on `admin_router` when imported.
from civicloop_intake.admin_pages import (  # noqa: F401 - imported for their routes
    body_routes,
    catalogue_routes,
    partner_routes,
    poster_routes,
    selfheal_routes,
    staff_routes,
)
from civicloop_intake.admin_pages.common import ADMIN_STATIC_DIR, ADMIN_STATIC_PATH, admin_router

__all__ = ["ADMIN_STATIC_DIR", "ADMIN_STATIC_PATH", "admin_router"]
