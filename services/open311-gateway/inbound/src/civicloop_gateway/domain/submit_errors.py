"""Why a write was refused, in Open311's terms: an HTTP status and one or more human-readable descriptions.

ER-02: 403 for a wrong or missing api_key, 404 for what does not exist, 400 for anything else; several errors may be
returned together. ER-05: a description names the parameter (and the attribute code) it is about. Descriptions
never repeat personal data the client sent.
"""

from __future__ import annotations


class Rejected(Exception):
    """A write refused before anything was stored or published."""

    status: int = 400

    def __init__(self, *descriptions: str, status: int | None = None) -> None:
        if not descriptions:
            raise ValueError("a rejection needs at least one description")
        super().__init__("; ".join(descriptions))
        self.descriptions: tuple[str, ...] = descriptions
        if status is not None:
            self.status = status


class BadRequest(Rejected):
    status = 400


class Forbidden(Rejected):
    """G-70: missing, unknown or revoked api_key, or a partner acting outside what it was authorised for."""

    status = 403


class NotFound(Rejected):
    status = 404


class Conflict(Rejected):
    """A partner's update_id reused for a different update (FX-11: "already exists")."""

    status = 400
