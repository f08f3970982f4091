"""The govDelivery feed as the settings configure it: the sender (`civicloop_channels.govdelivery`), the naming rule,
the policy; None when the settings name no account (the feed is off)."""

from __future__ import annotations

from collections.abc import Mapping

from civicloop_channels.govdelivery import GovDeliverySender, GovDeliverySettings
from civicloop_runtime.secrets import SecretNotFound, resolve_secret

from civicloop_notifier.adapters.providers import ProviderSetupError
from civicloop_notifier.domain.feed import FeedRule
from civicloop_notifier.service_layer.feed import FeedPolicy
from civicloop_notifier.settings import NotifierSettings


def feed_rule(settings: NotifierSettings) -> FeedRule:
    return FeedRule(
        account_code=settings.govdelivery_account_code or "",
        prefixes=settings.govdelivery_topic_prefixes,
        district_kinds=frozenset(settings.govdelivery_district_kinds),
    )


def feed_policy(settings: NotifierSettings) -> FeedPolicy:
    return FeedPolicy(
        tracking_url=settings.tracking_url,
        language=settings.govdelivery_language,
        max_attempts=settings.notifier_max_attempts,
        backoff_initial_s=settings.notifier_backoff_initial_s,
        backoff_max_s=settings.notifier_backoff_max_s,
        send_timeout_s=settings.notifier_send_timeout_s,
    )


def govdelivery_sender(
    settings: NotifierSettings, environ: Mapping[str, str] | None = None
) -> GovDeliverySender:
    """The account's sender; its password from the secret ref (the error names the variable, never a value)."""
    try:
        password = resolve_secret(settings.govdelivery_password_ref, environ)
    except SecretNotFound as missing:
        raise ProviderSetupError(str(missing)) from None
    return GovDeliverySender(
        GovDeliverySettings(
            base_url=settings.govdelivery_base_url or "",
            account_code=settings.govdelivery_account_code or "",
            username=settings.govdelivery_username or "",
            password=password,
            from_address_id=settings.govdelivery_from_address_id,
            # inside the notifier's own bound, so the provider's timeout is the one recorded
            timeout_s=min(15.0, settings.notifier_send_timeout_s * 0.8),
        )
    )
