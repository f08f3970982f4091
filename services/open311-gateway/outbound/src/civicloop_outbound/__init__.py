"""CivicLoop's outbound integration: reports sent to the bodies that handle them (email, webhook, Open311), their
status heard back from Open311 back-ends, and requests imported from them.

Its own service beside the gateway (`civicloop_gateway` serves Open311 in; this sends it out): its own settings
(`settings.py`), schema `outbound` (`database.py`, `migrations/`), wiring (`bootstrap.py`) and processes: the
sender (`civicloop-outbound run`) and the Open311 poller (`civicloop-outbound open311 run`). Layers: `domain`
(pure), `service_layer`, `adapters`, `bootstrap`, `entrypoints`. See docs/outbound.md.
"""
