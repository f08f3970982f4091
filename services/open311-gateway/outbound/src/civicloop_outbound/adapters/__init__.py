"""The outbound service's adapters: the senders (`email_sender`, `webhook_sender`, `open311_sender`), secret refs
(`secrets`), and the Open311 client that sends reports to a body's Open311 back-end, hears its status changes and
imports what it made. The wire format itself (the POST form, tolerant parsers of POST/token answers, request lists,
`servicerequestupdates`, errors and discovery documents; CHECKLIST §8, §10) is `civicloop_open311.wire`.

The Open311 client:

* `open311_client` — `Open311Client` over httpx for one `Open311Connection`; 4xx (not 429) is `Open311Permanent`, 5xx, 429
  (with `Retry-After`), timeouts and refused connections are `Open311Temporary`; `discover()` reads a discovery
  document.
* `open311_sender` — `Open311Sender`, the outbound sender loop's `Sender` for `SendMethod.open311`: realtime answers give
  the `external_id`, batch tokens go to `outbound.open311_tokens`, blackbox answers give neither.
* `open311_polling` — `Open311Poller`: tokens (bounded back-off, then `SendFailed`), updates (`servicerequestupdates`,
  `GET requests?updated_after`, or date windows; deduplicated in `outbound.backend_updates_seen`; `BackendUpdateReceived`
  and `StatusChanged` credited to `backend:<body_id>`), the daily mop-up, and import (`RequestImported`,
  `ServiceRequestSubmitted`, `ExternalReferenceAssigned` with a CivicLoop number; once per back-end id in
  `outbound.backend_imports`, never what CivicLoop sent). `postgres_config.fold_external_reference` keeps `outbound.external_refs`.
* `domain/open311_mapping` — statuses in (the body's `status_map` on `external_status_code`, then `status`, then open/closed and
  mySociety's extended set), categories back (reverse `service_code_map`, the same code, or the fallback), update
  ids for `GET requests` rows (external id | updated_datetime | status), what came from us (the `id_field`
  attribute, or the `[CivicLoop <number>]` line the sender appends to the description).
* `bootstrap.Open311Background`, `entrypoints/open311_cli` — `civicloop-outbound open311 run | poll | import |
  status | discover`.

Settings (`CIVICLOOP_…`, `settings.OutboundSettings`): `OPEN311_TICK_S` (5), `OPEN311_OVERLAP_S` (300: each poll
re-reads this much before the last window's end), `OPEN311_TOKEN_MAX_ATTEMPTS` (12),
`OPEN311_TOKEN_BACKOFF_INITIAL_S` / `_MAX_S` (2 / 900), `OPEN311_IMPORT_FALLBACK_SERVICE_CODE` (unset: an imported
request no mapping matches is skipped, and the skip says why), `OPEN311_IMPORT_HISTORY_DAYS` (0: the first ongoing
import looks back one mop-up window; use `open311 import --since` for history), `OPEN311_HTTP_TIMEOUT_S` (30).
"""
