"""What departments and credit platforms read about themselves: the repair feed (poll, then
commit what was applied), a subscriber's inbox of deliveries not yet acknowledged, and the
decisions a department made."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Security
from fastapi.responses import JSONResponse

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.wire import Unreadable, parse_submission
from tongxiu.services.http_auth import App, Grant, role
from tongxiu.services.http_gateway import _write_lock
from tongxiu.services.http_metrics import Metrics
from tongxiu.services.http_models import (
    AUTH_RESPONSES,
    DEPT_PATTERN,
    NOT_FOUND,
    CommitIn,
    CommitOut,
    CommitRefused,
    FeedOut,
    Limit,
    Offset,
    Problem,
    invalid,
    known_department,
)
from tongxiu.services.platform_feed import PlatformFeedService
from tongxiu.services.repair_feed import FeedCommitRefused

router = APIRouter(responses=AUTH_RESPONSES)
Reader = Annotated[Grant, Security(role("credit_platform", "auditor"))]
OwnDepartment = Annotated[Grant, Security(role("auditor", own_department="dept"))]


def _service(request: Request) -> PlatformFeedService:
    service: PlatformFeedService = request.app.state.feed_state
    return service


def feed_consumer(request: Request, grant: Grant, consumer: str) -> str:
    """A credit platform's consumers are its own: named by its department, or — for a token
    without one — by the token (two such tokens never share a position)."""
    owner = grant.department or f"{grant.role}-{request.state.token_digest[:16]}"
    return f"http:{owner}:{consumer}"


@router.get("/feed", tags=["feed"], response_model=FeedOut)
def feed(
    request: Request,
    app: App,
    grant: Reader,
    consumer: Annotated[str, Query(min_length=1, max_length=64, pattern=DEPT_PATTERN,
                                   description="the consumer whose committed position the feed resumes from")]
    = "default",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> FeedOut:
    """Repairs, revocations, withdrawals and expiries not yet committed by ``consumer``, without
    personal data, each the repair topic's record signed by the ledger (docs/signing.md §9),
    marked ``acknowledge`` when it was delivered to the token's department and not yet
    acknowledged. An item is delivered again until ``POST /feed/commit`` covers it."""
    if "after" in request.query_params:
        raise invalid("query", "after", "no longer supported: name a consumer and POST /feed/commit "
                                        "what it applied; the next GET /feed resumes after it")
    try:
        items = _service(request).poll(feed_consumer(request, grant, consumer), grant.department, limit)
    except (TimeoutError, RuntimeError) as exc:  # distributed: no partitions, no topic
        raise HTTPException(503, f"the feed is not available: {exc}", headers={"Retry-After": "1"}) from exc
    return FeedOut(items=items, consumer=consumer)


@router.post("/feed/commit", tags=["feed"], response_model=CommitOut,
             responses={400: {"model": Problem, "description": "the body is not JSON"},
                        409: {"model": Problem, "description": "the item was not delivered to this consumer "
                                                               "(or is already committed): poll first; or an item "
                                                               "it covers was delivered to the platform and the "
                                                               "commit carries no acknowledgement of it"},
                        422: {"model": CommitRefused, "description": "the body does not fit the schema, or an "
                                                                     "acknowledgement does not belong to the commit or "
                                                                     "was rejected (its receipt says why); the position "
                                                                     "did not move"}})
def feed_commit(request: Request, body: CommitIn, app: App, grant: Reader) -> Any:
    """Commit the last item a named consumer applied (by ``event_id``, or by ``position``
    when that is unambiguous): the next poll resumes after it. The commit covers that item
    and those handed before it; for each covered item marked ``acknowledge`` it must carry the
    platform's signed ``delivery_acknowledged`` in ``acknowledgements`` — committing is the
    platform's acknowledgement (一处修复、处处同步), recorded as that fact once."""
    metrics: Metrics = request.app.state.metrics

    def submit(sub: Submission | Unreadable) -> Receipt:
        started = time.perf_counter()
        with _write_lock:
            receipt = app.submit(sub)
        metrics.submitted(receipt, time.perf_counter() - started)
        return receipt

    parsed = [parse_submission(json.dumps(a)) for a in body.acknowledgements]
    try:
        done = _service(request).commit(
            feed_consumer(request, grant, body.consumer), grant.department, event_id=body.event_id,
            position=body.position, acknowledgements=parsed, submit=submit, shown=body.consumer)
    except FeedCommitRefused as exc:
        if exc.status == 409 or not exc.receipts:
            raise HTTPException(exc.status, exc.detail) from exc
        return JSONResponse(CommitRefused(detail=exc.detail, receipts=exc.receipts).model_dump(mode="json"),
                            status_code=exc.status)
    return CommitOut(consumer=body.consumer, position=done.item.position, event_id=done.item.event_id,
                     receipts=done.receipts, already_acknowledged=done.already_acknowledged)


@router.get("/api/departments/{dept}/inbox", tags=["department"], responses=NOT_FOUND)
def department_inbox(dept: str, app: App, _: OwnDepartment) -> list[dict[str, Any]]:
    """Deliveries to this subscriber not yet acknowledged (auditor, or the department itself)."""
    known_department(app, dept)
    return app.inbox(dept)


@router.get("/api/departments/{dept}/decisions", tags=["department"], responses=NOT_FOUND)
def department_decisions(dept: str, app: App, _: OwnDepartment,
                         limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The credit records of the decisions this department made (auditor, or the department itself)."""
    known_department(app, dept)
    rows = [
        {"enterprise": code, **rec.model_dump(mode="json")}
        for code in sorted(app.enterprises())
        for rec in app.credit(code).records.values()
        if rec.department == dept
    ]
    return {"page": {"total": len(rows), "limit": limit, "offset": offset}, "decisions": rows[offset: offset + limit]}
