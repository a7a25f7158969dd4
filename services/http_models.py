"""The web service's shapes and the queries its routers share: response models, query
parameters (dates, periods, paging), the 422 in FastAPI's own shape, and the read helpers
(one page of a history with its views, the sync view, verification, supervision figures)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model, model_validator

import tongxiu.services.audit as paging
from tongxiu.events.envelope import Receipt
from tongxiu.events.labels import CHINA
from tongxiu.events.models import REGISTRY_STREAM, is_department_stream
from tongxiu.projections.views import CreditView, Delivery, RectificationView, SupervisionCounters
from tongxiu.projections.workdays import china_day
from tongxiu.services.app import Tongxiu, period_error
from tongxiu.services.audit import verify_streams
from tongxiu.services.sdk import FeedItem

_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)
DEPT_PATTERN = r"^[0-9A-Za-z_.\-]{1,64}$"
TIMELINE_PAGE = 200
"""Events per timeline page."""

# ---------------------------------------------------------------------------- parameters


def invalid(where: str, field: str, message: str, kind: str = "value_error") -> HTTPException:
    """A 422 in FastAPI's own validation shape: the field's location, the rule broken."""
    return HTTPException(status_code=422, detail=[{"type": kind, "loc": [where, field], "msg": message}])


def parse_when(text: str | None, field: str) -> datetime | None:
    """An ISO date (the end of that day, China time) or a date-time with a time zone."""
    if text is None or text == "":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise invalid("query", field, f"not a valid date: {text!r}") from None
        return datetime.combine(day, time(23, 59, 59), tzinfo=CHINA)
    try:
        value = _DATETIME.validate_python(text)
    except ValidationError:
        raise invalid("query", field, "expected an ISO date (YYYY-MM-DD) or a date-time with time zone") from None
    if value.tzinfo is None:
        raise invalid("query", field, "give a time zone, e.g. 2026-02-01T12:00:00+08:00")
    return value


def check_period(period: str | None) -> str | None:
    if period is None or period == "":
        return None
    problem = period_error(period)
    if problem is not None:
        raise invalid("query", "period", problem)
    return period


Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")]
After = Annotated[int | None, Query(ge=0, le=2_000_000_000, description="cursor: the seq the previous page ended on")]
When = Annotated[
    str | None,
    Query(max_length=40, description="ISO date (end of that day, China time) or date-time with zone"),
]
PeriodQ = Annotated[str | None, Query(max_length=16, description="YYYY, YYYY-MM or YYYY-MM..YYYY-MM")]

# ---------------------------------------------------------------------------- response models


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    next_after: int | None = None
    """History: pass as ``after`` for the next page (None on the last page)."""


class HistoryOut(BaseModel):
    enterprise: str
    as_of: datetime | None
    known_at: datetime | None
    page: Page
    events: list[dict[str, Any]]
    credit: CreditView
    rectification: dict[str, Any]


class VerificationOut(BaseModel):
    ok: bool
    streams: int
    events: int
    first_bad: dict[str, Any] | None = None
    problems: list[dict[str, Any]] = Field(default_factory=list)


class DeliveryOut(Delivery):
    overdue: bool


class SyncOut(BaseModel):
    enterprise: str
    decision_no: str | None
    as_of: datetime
    deliveries: list[DeliveryOut]


SupervisionOut = create_model(  # the counters, flat, plus the figures derived from them
    "SupervisionOut",
    department=(str, ...),
    period=(str | None, None),
    **{name: (f.annotation, f.default) for name, f in SupervisionCounters.model_fields.items()},  # type: ignore[call-overload]
    penalties_without_notice=(int, 0),
    notice_completeness=(float | None, Field(None, description="share of penalties served with the repair notice")),
    three_documents_completeness=(
        float | None, Field(None, description="三书同达: decision, advice and notice served together")
    ),
    repairs_within_deadline_rate=(float | None, None),
    mean_sync_ack_hours=(float | None, None),
)


class FeedOut(BaseModel):
    items: list[FeedItem] = Field(description="each the repair topic's record signed by the ledger (docs/signing.md "
                                              "§9), plus position and acknowledge")
    consumer: str


class CommitOut(BaseModel):
    consumer: str
    position: int
    event_id: str
    receipts: list[Receipt] = Field(default_factory=list, description="the ledger's receipts of the "
                                                                         "acknowledgements the commit carried")
    already_acknowledged: list[str] = Field(default_factory=list, description="covered repairs whose delivery was "
                                                                              "already acknowledged: not sent again")


class CommitRefused(BaseModel):
    detail: str | list[Any] = Field(description="why (a list: the body does not fit the request schema)")
    receipts: list[Receipt] = Field(default_factory=list, description="the receipts of the acknowledgements sent, "
                                                                      "the rejected among them")


class CommitIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)  # no "5" for a position
    consumer: str = Field(min_length=1, max_length=64, pattern=DEPT_PATTERN)
    position: int | None = Field(default=None, ge=0, le=2**62)
    event_id: str | None = Field(default=None, min_length=1, max_length=64)
    acknowledgements: list[dict[str, Any]] = Field(
        default_factory=list, max_length=1000,
        description="the platform's signed delivery_acknowledged submissions (schema Submission, submission_id "
                    "ack:<event_id>), one for each covered item marked acknowledge",
    )

    @model_validator(mode="after")
    def _names_an_item(self) -> CommitIn:
        if self.position is None and self.event_id is None:
            raise ValueError("give the item's event_id (or its position)")
        return self


class Problem(BaseModel):
    detail: str


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "missing or unknown token"},
    403: {"model": Problem, "description": "the token's role does not allow this"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": Problem, "description": "no such enterprise / department"}}


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def supervision_out(department: str, period: str | None, c: SupervisionCounters) -> Any:
    return SupervisionOut(
        **c.model_dump(),
        department=department,
        period=period,
        penalties_without_notice=c.penalties_without_notice,
        notice_completeness=ratio(c.served_with_notice, c.penalties),
        three_documents_completeness=ratio(c.served_with_notice_and_advice, c.penalties),
        repairs_within_deadline_rate=ratio(c.repairs_decided_within_deadline, c.repairs_decided),
        mean_sync_ack_hours=round(c.sync_ack_seconds_total / c.syncs_acknowledged / 3600, 2)
        if c.syncs_acknowledged
        else None,
    )


def rectification_out(view: RectificationView, day: date) -> dict[str, Any]:
    data = view.model_dump(mode="json")
    for key, item in view.items.items():
        data["items"][key]["overdue"] = item.overdue_as_of(day)
        data["items"][key]["owners"] = item.owners
    data["open_by_department"] = {
        d: [f"{i.advice_no}/{i.item_id}" for i in items] for d, items in view.open_by_department().items()
    }
    return data


# ---------------------------------------------------------------------------- queries


def enterprise_codes(app: Tongxiu) -> list[str]:
    return sorted(c for c in app.log.streams() if c != REGISTRY_STREAM and not is_department_stream(c))


def known_enterprise(app: Tongxiu, code: str) -> str:
    if code == REGISTRY_STREAM or not app.log.last_seq(code):
        raise HTTPException(404, f"no enterprise {code} in the ledger")
    return code


def known_department(app: Tongxiu, dept: str) -> str:
    if dept not in app.registry().departments or dept == "ledger":
        raise HTTPException(404, f"no department {dept} in the registry")
    return dept


def today(app: Tongxiu) -> date:
    return china_day(app.now())


def history(app: Tongxiu, code: str, as_of: str | None, known_at: str | None, limit: int, offset: int,
            after: int | None = None) -> dict[str, Any]:
    """One page of the history and the views. Without a time filter the views are the
    read model (when it has every event of the stream) and only the page is read from
    the log; with one, the history is streamed once (bounded memory)."""
    known_enterprise(app, code)
    when, known = parse_when(as_of, "as_of"), parse_when(known_at, "known_at")
    current = app.enterprise_state(code) if when is None and known is None else None
    fold = current is not None and current.seq < app.log.last_seq(code)  # read model behind
    result = paging.history_page(app.log, app.rules, code, as_of=when, known_at=known, limit=limit, offset=offset,
                                 after=after, fold=fold or current is None)
    state = result.state if result.state is not None else current
    assert state is not None
    day = china_day(when or known or app.now())
    return {
        "enterprise": code,
        "as_of": when,
        "known_at": known,
        "page": {"total": result.total, "limit": limit, "offset": offset, "next_after": result.next_after},
        "events": [json.loads(e.to_json()) for e in result.events],
        "credit": state.credit,
        "rectification": rectification_out(state.rectification, day),
        "sync": state.sync,
    }


def sync_out(app: Tongxiu, code: str, decision_no: str | None) -> SyncOut:
    known_enterprise(app, code)
    day = today(app)
    deliveries = [
        DeliveryOut(**d.model_dump(), overdue=d.overdue_as_of(day) or d.overdue_marked)
        for d in app.sync(code).deliveries.values()
        if decision_no is None or d.decision_no == decision_no
    ]
    if decision_no is not None and not deliveries:
        raise HTTPException(404, f"no repair of decision {decision_no} was propagated for {code}")
    deliveries.sort(key=lambda d: (d.delivered_at, d.subscriber))
    return SyncOut(enterprise=code, decision_no=decision_no, as_of=app.now(), deliveries=deliveries)


def verification(app: Tongxiu, code: str | None) -> VerificationOut:
    outcome = verify_streams(app.log, [code] if code else None)
    return VerificationOut(**outcome.__dict__)


def supervision_all(app: Tongxiu, period: str | None) -> list[Any]:
    return [supervision_out(d, period, app.supervision(d, period)) for d in app.departments()]
