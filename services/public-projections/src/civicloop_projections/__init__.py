"""CivicLoop projections: read models folded from the log into PostGIS, and the HTTP API that serves them.

The agent read model (`projections.agent_requests` and its history) answers agents' queues and a request's full
history; the catalogue view (`projections.services`, `projections.service_areas`) is folded from the
`jurisdiction.config` topic. Every table here can be dropped and rebuilt from the log.
"""
