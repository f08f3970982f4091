"""Open311 adapters: a stateless Open311 front for back-ends that are not Open311, chosen by `jurisdiction_id`."""

from civicloop_gateway.backend_adapters.app import create_adapter_app
from civicloop_gateway.backend_adapters.config import AdapterAppConfig, load_config

__all__ = ["AdapterAppConfig", "create_adapter_app", "load_config"]
