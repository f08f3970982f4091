"""The Open311 back-end adapter app: a stateless Open311 front for back-ends that are not Open311, chosen by
`jurisdiction_id`. No database, no broker: every call reads or writes the back-end.

Layers: `domain` (the adapter port, mapping rules), `service_layer` (choosing a jurisdiction's adapter),
`adapters` (the CSV feed, the REST work-order API), `bootstrap.py` (the wiring), `entrypoints` (HTTP, CLI).
"""
