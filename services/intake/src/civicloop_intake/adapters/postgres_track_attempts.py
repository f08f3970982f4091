"""Track's attempts per request number, in PostgreSQL so that every replica counts the same (the runtime's
`PostgresAttemptLimit`, under the scope "track")."""

from __future__ import annotations

from civicloop_runtime.attempt_limits import PostgresAttemptLimit
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.service_layer.ports import TrackAttempts

SCOPE = "track"  # the keys are canonical request numbers


class PostgresTrackAttempts(PostgresAttemptLimit, TrackAttempts):
    def __init__(self, pool: AsyncConnectionPool, *, max_attempts: int, window_s: float) -> None:
        super().__init__(pool, scope=SCOPE, max_attempts=max_attempts, window_s=window_s)
