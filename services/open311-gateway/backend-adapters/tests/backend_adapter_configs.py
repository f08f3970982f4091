"""Adapter configurations the tests share: a CSV feed (UK-style timestamps) and a REST work-order mapping."""

from __future__ import annotations

from typing import Any

CSV_SETTINGS: dict[str, Any] = {
    "type": "csv_feed",
    "columns": {"external_id": "Job Ref", "status": "Status", "timestamp": "Changed At", "comment": "Notes"},
    "status_map": {
        "Open": "open",
        "In Hand": {"status": "open", "external_status_code": "in_hand"},
        "Completed": "closed",
        "Cancelled": {"status": "closed", "external_status_code": "cancelled"},
    },
    "timestamp_format": "%d/%m/%Y %H:%M",
    "timezone": "Europe/London",
    "services": [{"service_code": "GRAF", "service_name": "Graffiti"}],
    "default_window_days": 3650,
}


def rest_settings(base_url: str, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "type": "rest_workorder",
        "base_url": f"{base_url}/api/v1",
        "auth": {"kind": "bearer", "token_ref": "workorders-token"},
        "timeout_s": 2.0,
        "services": [
            {
                "service_code": "POT",
                "service_name": "Pothole",
                "group": "Roads",
                "backend": {"category": "RD-POT"},
            },
            {"service_code": "LIT", "service_name": "Street light out", "backend": {"category": "LT-OUT"}},
        ],
        "create": {
            "path": "/orders",
            "fields": {
                "summary": {"template": "{service[service_name]}: {description}"},
                "classification.code": "service.backend.category",
                "location.lat": {"from": "lat", "type": "float"},
                "location.lon": {"from": "long", "type": "float"},
                "location.address": "address_string",
                "reporter.email": "email",
                "reporter.name": {"template": "{first_name} {last_name}"},
                "details.size": "attribute.size",
                "details.hazards": {"from": "attribute.hazard", "type": "list"},
                "photos": "media_urls",
                "external_ref": "attribute.civicloop_id",
                "source": {"const": "civicloop"},
            },
            "id_path": "data.workOrder.number",
        },
        "updates": {
            "path": "/orders",
            "since_param": "modified_since",
            "items_path": "result.orders",
            "id": "wo_number",
            "status": "state",
            "updated": "modified",
            "comment": "remarks",
            "service_code": "category",
        },
        "fetch": {"path": "/orders/{id}", "item_path": "data"},
        "status_map": {
            "NEW": "open",
            "IN_PROGRESS": {"status": "open", "external_status_code": "in_progress"},
            "DONE": "closed",
            "REJECTED": {"status": "closed", "external_status_code": "not_responsible"},
        },
        "service_code_map": {"RD-POT": "POT", "LT-OUT": "LIT"},
    }
    settings.update(overrides)
    return settings
