"""The adapter app's configuration: `jurisdiction_id` -> one adapter (its type and settings), read from JSON or YAML.

Secrets are never written in the file: a setting ending in `_ref` names a secret, read from the environment variable
`CIVICLOOP_SECRET_<REF>` (the ref upper-cased, every character that is not a letter or digit turned into `_`), so
`workorders-token` is `CIVICLOOP_SECRET_WORKORDERS_TOKEN` (`civicloop_runtime.secrets`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Open311Status = Literal["open", "closed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_zone(name: str) -> str:
    if name.upper() != "UTC":
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {name!r}") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


class StatusTarget(_Strict):
    status: Open311Status
    external_status_code: str | None = None


StatusMap = dict[str, Open311Status | StatusTarget]


class ServiceEntry(_Strict):
    """One category the adapter lists in `services.{fmt}`; `backend` holds whatever the back-end calls it."""

    service_code: str
    service_name: str
    description: str | None = None
    keywords: str | None = None
    group: str | None = None
    type: Literal["realtime", "batch", "blackbox"] = "realtime"
    backend: dict[str, Any] = Field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "service_code": self.service_code,
            "service_name": self.service_name,
            "description": self.description,
            "metadata": False,
            "type": self.type,
            "keywords": self.keywords,
            "service_group": self.group,
        }


class _AdapterBase(_Strict):
    services: list[ServiceEntry] = Field(default_factory=list)
    api_key_ref: str | None = Field(
        None, description="when set, POSTs must carry this api_key (403 otherwise)"
    )
    default_window_days: int = Field(90, ge=1, description="the window of a GET without dates")


# -- CSV update feed -----------------------------------------------------------------------------------------------


class CsvColumns(_Strict):
    external_id: str
    status: str
    timestamp: str
    comment: str | None = None


class CsvFeedSettings(_AdapterBase):
    type: Literal["csv_feed"]
    directory: str | None = None
    url: str | None = None
    url_auth: Auth | None = None
    columns: CsvColumns
    status_map: StatusMap = Field(default_factory=dict)
    default_status: Open311Status | None = Field(
        None, description="for statuses not in the map; None skips the row"
    )
    timestamp_format: str | None = Field(
        None, description="strptime format; ISO 8601 when unset; 'epoch' for seconds"
    )
    timezone: TimeZoneName = "UTC"
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    timeout_s: float = 10.0
    settle_s: int = Field(
        60,
        ge=0,
        description="a dropped export changed this recently whose last line has no line end is still being "
        "written: that line waits for the next read",
    )

    @model_validator(mode="after")
    def _one_source(self) -> CsvFeedSettings:
        if (self.directory is None) == (self.url is None):
            raise ValueError("a csv_feed reads exactly one of `directory` or `url`")
        return self


# -- Generic REST work orders --------------------------------------------------------------------------------------


class NoAuth(_Strict):
    kind: Literal["none"] = "none"


class BearerAuth(_Strict):
    kind: Literal["bearer"]
    token_ref: str


class BasicAuth(_Strict):
    kind: Literal["basic"]
    username: str
    password_ref: str


class ApiKeyAuth(_Strict):
    kind: Literal["api_key"]
    header: str = "X-API-Key"
    key_ref: str


Auth = Annotated[NoAuth | BearerAuth | BasicAuth | ApiKeyAuth, Field(discriminator="kind")]


class CreateCall(_Strict):
    method: Literal["POST", "PUT"] = "POST"
    path: str
    fields: dict[str, Any] = Field(default_factory=dict, description="target dotted path -> value spec")
    id_path: str = Field(description="where the new work order's id is in their answer")


class CommentCall(_Strict):
    """Their call that adds a comment to a work order, for `POST servicerequestupdates`."""

    method: Literal["POST", "PUT", "PATCH"] = "POST"
    path: str = Field(description="with `{id}` (their work order id), e.g. /orders/{id}/comments")
    fields: dict[str, Any] = Field(
        default_factory=dict,
        description="target dotted path -> value spec, over service_request_id, update_id, status, "
        "updated_datetime, description, media_url, media_urls",
    )
    id_path: str | None = Field(
        None, description="where their id of the comment is in their answer, if anywhere"
    )


class ListCall(_Strict):
    path: str
    since_param: str | None = "updated_since"
    since_format: str | None = Field(None, description="strftime format of the since value; W3C when unset")
    params: dict[str, str] = Field(default_factory=dict)
    items_path: str = ""
    until_param: str | None = Field(
        None,
        description="their upper bound on the change time (inclusive, in the since format), if the search has "
        "one: lets a cut answer be split",
    )
    answer_cap: int | None = Field(
        None,
        ge=1,
        description="the most items their search returns in one answer; an answer this long is cut",
    )
    min_window_s: int = Field(60, ge=1, description="a cut answer's window is halved down to this span")
    late_s: int = Field(
        0,
        ge=0,
        description="how long after its change time a change may first show in their search: each read looks "
        "back this much further (changes seen twice are one update)",
    )
    page_param: str | None = Field(None, description="page-number paging: the page's query parameter")
    first_page: int = 1
    page_size_param: str | None = None
    page_size: int = Field(100, ge=1, description="a page shorter than this is the last")
    cursor_path: str | None = Field(None, description="cursor paging: where the next cursor is in an answer")
    cursor_param: str = "cursor"
    max_pages: int = Field(50, ge=1)
    id: str = "id"
    status: str = "status"
    updated: str = "updated_at"
    comment: str | None = None
    update_id: str | None = Field(None, description="their id of the change, if they have one; else a hash")
    service_code: str | None = None
    description: str | None = None
    address: str | None = None
    lat: str | None = None
    long: str | None = None
    requested: str | None = None
    timestamp_format: str | None = None
    timezone: TimeZoneName = "UTC"


class FetchCall(_Strict):
    path: str = Field(description="with `{id}`, e.g. /work-orders/{id}")
    item_path: str = ""


class RestWorkOrderSettings(_AdapterBase):
    type: Literal["rest_workorder"]
    base_url: str
    auth: Auth = NoAuth()
    timeout_s: float = 10.0
    create: CreateCall
    updates: ListCall
    fetch: FetchCall | None = None
    comment: CommentCall | None = Field(None, description="unset: updates are answered 501 (not taken)")
    status_map: StatusMap = Field(default_factory=dict)
    default_status: Open311Status | None = "open"
    service_code_map: dict[str, str] = Field(
        default_factory=dict, description="their category -> service_code"
    )


CsvFeedSettings.model_rebuild()

AdapterSettings = Annotated[CsvFeedSettings | RestWorkOrderSettings, Field(discriminator="type")]


class AdapterAppConfig(_Strict):
    jurisdictions: dict[str, AdapterSettings]
    base_path: str = "/open311/v2"
    page_snapshot_s: float = Field(
        60.0,
        ge=0,
        description="how long pages 2.. of a window are cut from the read that answered its page 1",
    )

    @model_validator(mode="after")
    def _some(self) -> AdapterAppConfig:
        if not self.jurisdictions:
            raise ValueError("configure at least one jurisdiction")
        return self


def load_config(path: str | Path) -> AdapterAppConfig:
    """Read the file: YAML for `.yaml`/`.yml`, JSON otherwise."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    data: Any
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    return AdapterAppConfig.model_validate(data)
