"""The one place that builds intake's adapters and hands them to the handlers.

`bootstrap(settings, ...)` takes every adapter as a parameter: what a caller passes is used as it is (and stays the
caller's to close), what it leaves out is built from the settings (and closed by `Intake.close`). Tests wire fakes
through this same function.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, cast

import httpx
import psycopg
from civicloop_channels.email import SmtpEmailSender, SmtpSettings
from civicloop_channels.environment import sms_settings_from_environment
from civicloop_channels.message import Channel
from civicloop_channels.sms_provider import sms_sender
from civicloop_events import Event
from civicloop_events.outbox import Sweeper
from civicloop_events.personal_data import PersonalData, PersonalDataUnreadable
from civicloop_runtime.consumers import ConsumerSpec, Guard, ServiceConsumers
from civicloop_runtime.ops import Supervised
from civicloop_runtime.rebuild import consumers_lock_shared
from civicloop_runtime.resources import owned_pool
from civicloop_runtime.secrets import resolve_secret
from civicloop_runtime.service import KafkaClient, Service, opening
from civicloop_runtime.vault import ResidentKeyVault
from civicloop_staff.lockout import LockoutPolicy
from civicloop_staff.oidc import OidcSignIn, oidc_providers
from civicloop_staff.tokens import StaffTokenIssuer
from psycopg_pool import AsyncConnectionPool

from civicloop_intake import database
from civicloop_intake.adapters.access_code_sink import FileAccessCodeSink
from civicloop_intake.adapters.channel_access_codes import ChannelAccessCodeSender
from civicloop_intake.adapters.kafka_event_log import KafkaEventLog
from civicloop_intake.adapters.postgres_catalogue import (
    CATALOGUE_CONSUMER,
    PostgresCatalogue,
    PostgresCatalogueRows,
    RecentCatalogue,
)
from civicloop_intake.adapters.postgres_corrections import PostgresCorrections
from civicloop_intake.adapters.postgres_merges import PostgresMerges
from civicloop_intake.adapters.postgres_resident_access import (
    CODE_CHECKS_SCOPE,
    CODE_REQUESTS_SCOPE,
    PostgresAccessCodes,
    PostgresContactAttempts,
    PostgresResidentRequests,
    PostgresResidentSessions,
    VaultResidentDirectory,
)
from civicloop_intake.adapters.postgres_sla import SLA_CONSUMER, PostgresSlaDefinitions, fold_sla_definition
from civicloop_intake.adapters.postgres_staff import STAFF_CONSUMER, PostgresStaffRows, PostgresStaffStore
from civicloop_intake.adapters.postgres_staff_work import (
    WORKED_CONSUMER,
    PostgresStaffWork,
    PostgresWorkedRows,
)
from civicloop_intake.adapters.postgres_submissions import PostgresSubmissions
from civicloop_intake.adapters.postgres_track_attempts import PostgresTrackAttempts
from civicloop_intake.adapters.postgres_tracking import (
    TRACKING_CONSUMER,
    PostgresTrackingRows,
    PostgresTrackingView,
)
from civicloop_intake.adapters.smtp_staff_mail import SmtpStaffMail
from civicloop_intake.adapters.vault import PostgresVault
from civicloop_intake.domain.commands import SubmitServiceRequest
from civicloop_intake.domain.corrections import CorrectLocation
from civicloop_intake.domain.merging import MergeDuplicate
from civicloop_intake.domain.submissions import LogPosition
from civicloop_intake.domain.work_policy import WorkPolicy, load_policy
from civicloop_intake.service_layer.correct import CorrectionReceipt, correct_location
from civicloop_intake.service_layer.folds import (
    when_request_events_update_tracking,
    when_service_defined_update_catalogue,
)
from civicloop_intake.service_layer.merge import MergeReceipt, merge_duplicate
from civicloop_intake.service_layer.ports import (
    Catalogue,
    Corrections,
    EventLog,
    Merges,
    Submissions,
    TrackAttempts,
    TrackingView,
    Vault,
)
from civicloop_intake.service_layer.resident_access import ResidentAccess
from civicloop_intake.service_layer.resident_ports import AccessCodeSender
from civicloop_intake.service_layer.sla_definitions import SlaAdmin, SlaDefinitions
from civicloop_intake.service_layer.staff_management import StaffAdmin
from civicloop_intake.service_layer.staff_oidc import SingleSignOn
from civicloop_intake.service_layer.staff_ports import StaffMail, StaffStore
from civicloop_intake.service_layer.staff_reset import PasswordReset
from civicloop_intake.service_layer.staff_sign_in import SignInContext
from civicloop_intake.service_layer.submit import SubmissionReceipt, submit_service_request
from civicloop_intake.service_layer.track import TrackedRequestView, track_request
from civicloop_intake.service_layer.work import WorkContext
from civicloop_intake.service_layer.work_ports import StaffWork, when_request_events_update_worked
from civicloop_intake.settings import IntakeSettings, staff_token_keys

SCHEMA = "intake"
# The advisory lock intake's consumers share and its rebuild takes alone (`civicloop_runtime.rebuild`).
CONSUMERS_LOCK = f"intake.consumers:{SCHEMA}"


@dataclass(frozen=True)
class StaffServices:
    """Staff sign-in and management (docs/staff.md, "Signing in"): present when intake has its database."""

    store: StaffStore
    config_log: EventLog  # the staff events' topic, `jurisdiction.config`
    sign_in: SignInContext
    admin: StaffAdmin
    reset: PasswordReset
    sso: SingleSignOn
    # The jurisdiction's SLA definition (docs/agents.md, "SLA definitions"); bootstrap sets it (it needs the catalogue).
    sla: SlaAdmin | None = None


@dataclass(kw_only=True)
class Intake(Service):
    """A running intake: its adapters and the handlers bound to them."""

    schemas = database.SCHEMAS
    settings: IntakeSettings
    event_log: EventLog
    vault: Vault
    catalogue: Catalogue
    submissions: Submissions
    tracking: TrackingView
    merges: Merges
    corrections: Corrections
    track_attempts: TrackAttempts
    # Staff commands (acknowledge, assign, close, ...): their outbox, and the lists they are checked against.
    staff_work: StaffWork
    work_policy: WorkPolicy
    pool: AsyncConnectionPool | None = None
    sweeper: Sweeper | None = None
    # Resident access (one-time codes, sessions): None without a database (fakes) unless one is passed.
    residents: ResidentAccess | None = None
    staff: StaffServices | None = None  # staff sign-in

    @property
    def work(self) -> WorkContext:
        return WorkContext(
            staff_work=self.staff_work,
            catalogue=self.catalogue,
            event_log=self.event_log,
            policy=self.work_policy,
            wait_s=self.settings.read_your_writes_timeout_s,
            staff=self.staff.store if self.staff is not None else None,
            residents_contact=self.residents_contact,
        )

    async def residents_contact(self, number: str) -> PersonalData | None:
        """The contact of the request's resident in clear, for what staff publish (None: none, or erased)."""
        tracked = await self.tracking.get(number)
        if tracked is None or tracked.contact is None:
            return None
        try:
            return await self.vault.unseal(tracked.contact)
        except PersonalDataUnreadable:
            return None

    async def submit(
        self, cmd: SubmitServiceRequest, *, idempotency_key: str, agent_id: str | None = None
    ) -> SubmissionReceipt:
        return await submit_service_request(
            cmd,
            idempotency_key=idempotency_key,
            agent_id=agent_id,
            catalogue=self.catalogue,
            submissions=self.submissions,
            vault=self.vault,
            event_log=self.event_log,
            default_jurisdiction=self.settings.default_jurisdiction,
            default_region=self.settings.default_phone_region,
            hash_key=self.settings.pepper,
        )

    async def merge(
        self, cmd: MergeDuplicate, *, number: str, agent_id: str, acting_for: str | None = None
    ) -> MergeReceipt:
        return await merge_duplicate(
            cmd,
            number=number,
            agent_id=agent_id,
            acting_for=acting_for,
            tracking=self.tracking,
            merges=self.merges,
            event_log=self.event_log,
            wait_s=self.settings.read_your_writes_timeout_s,
        )

    async def correct_location(
        self,
        cmd: CorrectLocation,
        *,
        number: str,
        agent_id: str,
        idempotency_key: str,
        acting_for: str | None = None,
    ) -> CorrectionReceipt:
        return await correct_location(
            cmd,
            number=number,
            agent_id=agent_id,
            acting_for=acting_for,
            idempotency_key=idempotency_key,
            tracking=self.tracking,
            merges=self.merges,
            corrections=self.corrections,
            event_log=self.event_log,
            wait_s=self.settings.read_your_writes_timeout_s,
        )

    async def track(self, *, number: str, phone: str, after: LogPosition | None) -> TrackedRequestView:
        return await track_request(
            number=number,
            phone=phone,
            after=after,
            tracking=self.tracking,
            catalogue=self.catalogue,
            vault=self.vault,
            attempts=self.track_attempts,
            default_region=self.settings.default_phone_region,
            wait_s=self.settings.read_your_writes_timeout_s,
        )

    def consumers_lock(self) -> AbstractAsyncContextManager[None]:
        """Held by each running consumer; a rebuild cannot start while any is held."""
        return consumers_lock_shared(self.settings.pg_dsn, CONSUMERS_LOCK)

    def kafka_clients(self) -> Sequence[KafkaClient]:
        return (self.event_log,) if isinstance(self.event_log, KafkaEventLog) else ()

    def supervised(self) -> Sequence[Supervised]:
        """None: readiness asks for the database, migrations and Kafka only (commands need only these; the
        consumers restart by themselves)."""
        return ()


async def bootstrap(
    settings: IntakeSettings,
    *,
    pool: AsyncConnectionPool | None = None,
    event_log: EventLog | None = None,
    vault: Vault | None = None,
    catalogue: Catalogue | None = None,
    submissions: Submissions | None = None,
    tracking: TrackingView | None = None,
    merges: Merges | None = None,
    corrections: Corrections | None = None,
    track_attempts: TrackAttempts | None = None,
    staff_work: StaffWork | None = None,
    residents: ResidentAccess | None = None,
    start_consumers: bool = True,
    token_issuer: StaffTokenIssuer | None = None,
    staff_store: StaffStore | None = None,
    config_log: EventLog | None = None,
    staff_mail: StaffMail | None = None,
    sla_definitions: SlaDefinitions | None = None,
) -> Intake:
    """A running intake; with `start_consumers`, the catalogue and track views are being folded from the log."""
    topics = settings.topics
    async with opening() as opened:
        adapters = (vault, catalogue, submissions, tracking, merges, corrections, track_attempts, staff_work)
        if pool is None and (start_consumers or any(a is None for a in adapters)):
            pool = await owned_pool(settings, opened, name="civicloop-intake")
        if event_log is None:
            kafka_log = KafkaEventLog(
                bootstrap_servers=settings.kafka_bootstrap,
                topic=topics.request_events,
                publish_timeout_s=settings.publish_timeout_s,
                connect_timeout_s=settings.kafka_connect_timeout_s,
                breaker_open_s=settings.event_log_breaker_open_s,
            )
            opened.push_async_callback(kafka_log.stop)
            await kafka_log.start()
            event_log = kafka_log
        tracking_consumer = settings.topic_prefix + TRACKING_CONSUMER
        if pool is not None:
            vault = vault or PostgresVault(ResidentKeyVault(pool, pepper=settings.pepper))
            catalogue = catalogue or _catalogue(settings, pool)
            submissions = submissions or PostgresSubmissions(pool)
            tracking = tracking or PostgresTrackingView(
                pool, topic=topics.request_events, consumer=tracking_consumer
            )
            merges = merges or PostgresMerges(pool)
            corrections = corrections or PostgresCorrections(pool)
            track_attempts = track_attempts or PostgresTrackAttempts(
                pool,
                max_attempts=settings.track_attempts_per_number,
                window_s=settings.track_attempts_window_s,
            )
            staff_work = staff_work or PostgresStaffWork(
                pool,
                topic=topics.request_events,
                consumer=settings.topic_prefix + WORKED_CONSUMER,
                slots=settings.pool_max_size // 4,  # each holds up to two connections: half the pool at most
            )
        if vault is None or catalogue is None or submissions is None or tracking is None:
            raise TypeError("unreachable: without a pool every adapter was passed")
        if merges is None or corrections is None or track_attempts is None or staff_work is None:
            raise TypeError("unreachable: without a pool every adapter was passed")
        intake = Intake(
            settings=settings,
            event_log=event_log,
            vault=vault,
            catalogue=catalogue,
            submissions=submissions,
            tracking=tracking,
            merges=merges,
            corrections=corrections,
            track_attempts=track_attempts,
            staff_work=staff_work,
            work_policy=load_policy(settings.agent_work_file),
            pool=pool,
            opened=opened,
        )
        # Resident access: built on the pool unless passed.
        if residents is None and pool is not None:
            sender = access_code_sender(settings, opened, os.environ)
            residents = resident_access(settings, pool, tracking=tracking, catalogue=catalogue, sender=sender)
            # Pushed after the senders' closes, so it runs before them (the stack unwinds backwards).
            opened.push_async_callback(residents.drain)
        intake.residents = residents
        # -- staff sign-in: its store, the configuration topic it publishes on, its mail --
        if pool is not None or staff_store is not None:
            intake.staff = await _staff_services(
                settings, opened, pool, token_issuer, staff_store, config_log, staff_mail
            )
            intake.staff = _with_sla(intake.staff, pool, catalogue, sla_definitions)
        if start_consumers and pool is not None:
            intake.own_consumers(_consumers(settings, pool, event_log, intake.consumers_lock))
            intake.sweeper = intake.keep_sweeping(pending_sweeper(intake), every_s=settings.sweep_every_s)
            if intake.staff is not None:
                staff_sweeper = Sweeper(
                    [intake.staff.store],
                    intake.staff.config_log,
                    older_than=timedelta(seconds=settings.sweep_pending_after_s),
                )
                intake.keep_sweeping(staff_sweeper, every_s=settings.sweep_every_s)
    return intake


async def _staff_services(
    settings: IntakeSettings,
    opened: AsyncExitStack,
    pool: AsyncConnectionPool | None,
    token_issuer: StaffTokenIssuer | None,
    store: StaffStore | None,
    config_log: EventLog | None,
    mail: StaffMail | None,
) -> StaffServices:
    if store is None:
        if pool is None:
            raise TypeError("unreachable: the staff store needs the pool")
        store = PostgresStaffStore(pool)
    if config_log is None:
        kafka_config_log = KafkaEventLog(
            bootstrap_servers=settings.kafka_bootstrap,
            topic=settings.topics.jurisdiction_config,
            client_id="civicloop-intake-staff",
            publish_timeout_s=settings.publish_timeout_s,
            connect_timeout_s=settings.kafka_connect_timeout_s,
            breaker_open_s=settings.event_log_breaker_open_s,
        )
        opened.push_async_callback(kafka_config_log.stop)
        await kafka_config_log.start()
        config_log = kafka_config_log
    mail = mail or SmtpStaffMail(
        host=settings.staff_smtp_host,
        port=settings.staff_smtp_port,
        mail_from=settings.staff_mail_from,
        tls=settings.staff_smtp_tls,
        username=settings.staff_smtp_username,
        password_ref=settings.staff_smtp_password_ref,
    )
    issuer = token_issuer or staff_token_keys(settings)[0]
    http = httpx.AsyncClient(timeout=10)
    opened.push_async_callback(http.aclose)
    providers = {
        jurisdiction: OidcSignIn(config, http)
        for jurisdiction, config in oidc_providers(json.loads(settings.staff_oidc_providers)).items()
    }
    pepper = settings.pepper
    policy = LockoutPolicy(
        max_failures=settings.staff_lockout_failures,
        window=timedelta(seconds=settings.staff_lockout_window_s),
        lock_for=timedelta(seconds=settings.staff_lockout_s),
        max_lock=max(timedelta(hours=24), timedelta(seconds=settings.staff_lockout_s)),
    )
    reset = PasswordReset(store, config_log, mail, pepper, settings.staff_reset_link_base, policy)
    opened.push_async_callback(reset.drain)
    return StaffServices(
        store=store,
        config_log=config_log,
        sign_in=SignInContext(store, config_log, issuer, policy, pepper, settings.staff_totp_issuer),
        admin=StaffAdmin(store, config_log, pepper),
        reset=reset,
        sso=SingleSignOn(store, config_log, issuer, providers),
    )


def _with_sla(
    staff: StaffServices,
    pool: AsyncConnectionPool | None,
    catalogue: Catalogue,
    definitions: SlaDefinitions | None,
) -> StaffServices:
    if definitions is None:
        if pool is None:
            raise TypeError("a staff store passed without a pool needs `sla_definitions` too")
        definitions = PostgresSlaDefinitions(pool)
    return dataclasses.replace(staff, sla=SlaAdmin(staff.store, staff.config_log, definitions, catalogue))


def _catalogue(settings: IntakeSettings, pool: AsyncConnectionPool) -> Catalogue:
    view = PostgresCatalogue(pool)
    return RecentCatalogue(view, keep_s=settings.catalogue_keep_s) if settings.catalogue_keep_s > 0 else view


def _consumers(
    settings: IntakeSettings, pool: AsyncConnectionPool, event_log: EventLog, guard: Guard
) -> ServiceConsumers:
    if not isinstance(event_log, KafkaEventLog):
        raise TypeError("intake's consumers dead-letter through the Kafka event log: pass none to bootstrap")
    return ServiceConsumers(
        settings,
        pool=pool,
        schema=SCHEMA,
        dead_letters=event_log.producer,  # the consumers start once the event log has connected
        specs=consumer_specs(settings, guard=guard),
    )


def consumer_specs(settings: IntakeSettings, *, guard: Guard | None = None) -> list[ConsumerSpec]:
    """Intake's consumers, each folding one of its read models (`adapters/read_models.py`); `guard` is held while
    each runs (the consumers' lock, which keeps a rebuild out)."""

    async def update_catalogue(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:
        await when_service_defined_update_catalogue(PostgresCatalogueRows(conn), event)

    async def update_tracking(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await when_request_events_update_tracking(PostgresTrackingRows(conn), events)

    async def update_worked(conn: psycopg.AsyncConnection[Any], events: Sequence[Event[Any]]) -> None:
        await when_request_events_update_worked(PostgresWorkedRows(conn), events)

    async def update_staff(conn: psycopg.AsyncConnection[Any], event: Event[Any]) -> None:  # staff sign-in
        await PostgresStaffRows(conn).apply(event)

    topics, prefix = settings.topics, settings.topic_prefix
    return [
        ConsumerSpec(prefix + CATALOGUE_CONSUMER, topics.jurisdiction_config, update_catalogue, guard),
        ConsumerSpec(
            prefix + TRACKING_CONSUMER, topics.request_events, batch_handler=update_tracking, guard=guard
        ),
        # The state staff commands are checked against.
        ConsumerSpec(
            prefix + WORKED_CONSUMER, topics.request_events, batch_handler=update_worked, guard=guard
        ),
        ConsumerSpec(prefix + STAFF_CONSUMER, topics.jurisdiction_config, update_staff, guard),
        # The SLA definition in force, per jurisdiction (its own consumer: it reads the topic from the start).
        ConsumerSpec(prefix + SLA_CONSUMER, topics.jurisdiction_config, fold_sla_definition, guard),
    ]


def pending_sweeper(intake: Intake, *, older_than_s: float | None = None) -> Sweeper:
    """Publishes what a command left pending (its client never retried); one replica at a time sweeps a table."""
    after = intake.settings.sweep_pending_after_s if older_than_s is None else older_than_s
    return Sweeper(
        [intake.submissions, intake.corrections, intake.merges, intake.staff_work],
        intake.event_log,
        older_than=timedelta(seconds=after),
    )


# -- resident access (one-time codes, sessions) --------------------------------------------------------------------


def access_code_sender(
    settings: IntakeSettings, opened: AsyncExitStack, environ: Mapping[str, str]
) -> AccessCodeSender | None:
    """Where codes go: the development sink when set (it takes every code), else phones by SMS through the provider
    `environ` names (`civicloop_channels.environment`) and e-mail addresses through the staff SMTP relay (unless
    `resident_code_email` is off); None when neither channel is there. A wrong SMS setup stops the start."""
    if settings.resident_code_sink_file is not None:
        return FileAccessCodeSink(settings.resident_code_sink_file)
    sms_settings = sms_settings_from_environment(environ)
    sms = sms_sender(Channel.sms, sms_settings) if sms_settings is not None else None
    if sms is not None:
        opened.push_async_callback(sms.aclose)
    email = None
    if settings.resident_code_email:
        password_ref = settings.staff_smtp_password_ref
        email = SmtpEmailSender(
            SmtpSettings(
                host=settings.staff_smtp_host,
                port=settings.staff_smtp_port,
                mail_from=settings.staff_mail_from,
                tls=cast(Literal["none", "starttls", "tls"], settings.staff_smtp_tls),
                username=settings.staff_smtp_username,
                password=resolve_secret(password_ref) if password_ref else None,
                sessions=2,
            )
        )
        opened.push_async_callback(email.close)
    if sms is None and email is None:
        return None
    return ChannelAccessCodeSender(sms=sms, email=email)


def resident_access(
    settings: IntakeSettings,
    pool: AsyncConnectionPool,
    *,
    tracking: TrackingView,
    catalogue: Catalogue,
    sender: AccessCodeSender | None = None,
) -> ResidentAccess:
    """Resident access on the pool; without a `sender`, code requests answer 503."""
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
