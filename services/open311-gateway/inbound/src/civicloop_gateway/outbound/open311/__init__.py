"""The outbound Open311 client: send reports to a body's Open311 back-end, hear its status changes, import what it made.

Modules:

* `wire` — pure reading and writing of GeoReport v2 (CHECKLIST §8, §10): the POST form, and tolerant parsers of
  POST/token answers, request lists, `servicerequestupdates`, errors and discovery documents.
* `client` — `Open311Client` over httpx for one `Open311Connection`; 4xx (not 429) is `Open311Permanent`, 5xx, 429
  (with `Retry-After`), timeouts and refused connections are `Open311Temporary`; `discover()` reads a discovery
  document.
* `sender` — `Open311Sender`, the outbound sender loop's `Sender` for `SendMethod.open311`: realtime answers give
  the `external_id`, batch tokens go to `gateway.open311_tokens`, blackbox answers give neither.
* `polling` — `Open311Poller`: tokens (bounded back-off, then `SendFailed`), updates (`servicerequestupdates`,
  `GET requests?updated_after`, or date windows; deduplicated in `gateway.backend_updates_seen`; `BackendUpdateReceived`
  and `StatusChanged` credited to `backend:<body_id>`), the daily mop-up, and import (`RequestImported`,
  `ServiceRequestSubmitted`, `ExternalReferenceAssigned` with a CivicLoop number; once per back-end id in
  `gateway.backend_imports`, never what CivicLoop sent). `fold_external_reference` keeps `gateway.external_refs`.
* `mapping` — statuses in (the body's `status_map` on `external_status_code`, then `status`, then open/closed and
  mySociety's extended set), categories back (reverse `service_code_map`, the same code, or the fallback), update
  ids for `GET requests` rows (external id | updated_datetime | status), what came from us (the `id_field`
  attribute, or the `[CivicLoop <number>]` line the sender appends to the description).
* `service`, `cli` — `civicloop-gateway open311 run | poll | import | status | discover`.

Settings (`CIVICLOOP_…`, `service.Open311ClientSettings`): `OPEN311_TICK_S` (5), `OPEN311_OVERLAP_S` (300: each poll
re-reads this much before the last window's end), `OPEN311_TOKEN_MAX_ATTEMPTS` (12),
`OPEN311_TOKEN_BACKOFF_INITIAL_S` / `_MAX_S` (2 / 900), `OPEN311_IMPORT_FALLBACK_SERVICE_CODE` (unset: an imported
request no mapping matches is skipped, and the skip says why), `OPEN311_IMPORT_HISTORY_DAYS` (0: the first ongoing
import looks back one mop-up window; use `open311 import --since` for history), `OPEN311_HTTP_TIMEOUT_S` (30).
"""
