"""`outbound run` and the in-app sender loop get a sender for every method a body can choose."""

from civicloop_events.payloads import SendMethod
from civicloop_outbound.adapters.open311_sender import Open311Sender
from civicloop_outbound.bootstrap import default_senders
from civicloop_outbound.settings import OutboundSettings
from psycopg_pool import AsyncConnectionPool


async def test_every_send_method_has_a_sender():
    pool = AsyncConnectionPool("postgresql://unused", open=False)
    senders = default_senders(OutboundSettings(env="test"), pool)
    assert set(senders) == set(SendMethod)
    assert isinstance(senders[SendMethod.open311], Open311Sender)


async def test_a_process_can_leave_a_method_to_others():
    pool = AsyncConnectionPool("postgresql://unused", open=False)
    settings = OutboundSettings(env="test", outbound_methods={SendMethod.email})
    assert set(default_senders(settings, pool)) == {SendMethod.email}
