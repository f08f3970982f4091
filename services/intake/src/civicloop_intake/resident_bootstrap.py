"""Builds resident access (one-time codes, sessions) from intake's settings, on intake's pool and views."""

from __future__ import annotations

from datetime import timedelta

from civicloop_runtime.vault import ResidentKeyVault
from psycopg_pool import AsyncConnectionPool

from civicloop_intake.adapters.access_code_sink import FileAccessCodeSink
from civicloop_intake.adapters.postgres_resident_access import (
    CODE_CHECKS_SCOPE,
    CODE_REQUESTS_SCOPE,
    PostgresAccessCodes,
    PostgresContactAttempts,
    PostgresResidentRequests,
    PostgresResidentSessions,
    VaultResidentDirectory,
)
from civicloop_intake.service_layer.ports import Catalogue, TrackingView
from civicloop_intake.service_layer.resident_access import ResidentAccess
from civicloop_intake.service_layer.resident_ports import AccessCodeSender
from civicloop_intake.settings import IntakeSettings


def resident_access(
    settings: IntakeSettings,
    pool: AsyncConnectionPool,
    *,
    tracking: TrackingView,
    catalogue: Catalogue,
    sender: AccessCodeSender | None = None,
) -> ResidentAccess:
    """`sender` stands for the notifier's port; without one, the development sink when configured, else none."""
    if sender is None and settings.resident_code_sink_file is not None:
        sender = FileAccessCodeSink(settings.resident_code_sink_file)
    window_s = settings.resident_attempts_window_s
    return ResidentAccess(
        directory=VaultResidentDirectory(ResidentKeyVault(pool, pepper=settings.pepper)),
        codes=PostgresAccessCodes(pool),
        sessions=PostgresResidentSessions(pool),
        requests=PostgresResidentRequests(pool),
        sender=sender,
        code_requests=PostgresContactAttempts(
            pool,
            scope=CODE_REQUESTS_SCOPE,
            max_attempts=settings.resident_codes_per_contact,
            window_s=window_s,
        ),
        code_checks=PostgresContactAttempts(
            pool,
            scope=CODE_CHECKS_SCOPE,
            max_attempts=settings.resident_code_checks_per_contact,
            window_s=window_s,
        ),
        tracking=tracking,
        catalogue=catalogue,
        key=settings.pepper,
        default_region=settings.default_phone_region,
        code_ttl=timedelta(seconds=settings.resident_code_ttl_s),
        session_ttl=timedelta(seconds=settings.resident_session_ttl_s),
        max_wrong_tries=settings.resident_code_wrong_tries,
        answer_floor_s=settings.resident_answer_floor_s,
    )
