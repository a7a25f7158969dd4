"""What departments and credit platforms read about themselves: the repair feed (poll, then
commit what was applied), a subscriber's inbox of deliveries not yet acknowledged, and the
decisions a department made."""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Security

from tongxiu.services.http_auth import App, Grant, role
from tongxiu.services.http_models import (
    AUTH_RESPONSES,
    DEPT_PATTERN,
    NOT_FOUND,
    CommitIn,
    FeedOut,
    Limit,
    Offset,
    Problem,
    invalid,
    known_department,
)
from tongxiu.services.sdk import FeedItem

router = APIRouter(responses=AUTH_RESPONSES)
Reader = Annotated[Grant, Security(role("credit_platform", "auditor"))]
OwnDepartment = Annotated[Grant, Security(role("auditor", own_department="dept"))]


class FeedState:
    """Per service: a feed port (a Kafka consumer) is not thread-safe, and the items handed to
    each consumer and not yet committed (what ``POST /feed/commit`` may name)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handed: dict[str, dict[str, FeedItem]] = {}


def _state(request: Request) -> FeedState:
    state: FeedState = request.app.state.feed_state
    return state


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
    personal data. An item is delivered again until ``POST /feed/commit`` names it."""
    if "after" in request.query_params:
        raise invalid("query", "after", "no longer supported: name a consumer and POST /feed/commit "
                                        "what it applied; the next GET /feed resumes after it")
    port, key, state = app.feed, feed_consumer(request, grant, consumer), _state(request)
    with state.lock:
        try:
            items = port.poll(key, max_items=limit)
        except (TimeoutError, RuntimeError) as exc:  # distributed: no partitions, no topic
            raise HTTPException(503, f"the feed is not available: {exc}", headers={"Retry-After": "1"}) from exc
        pending = state.handed.setdefault(key, {})
        for item in items:
            pending.pop(item.event_id, None)
            pending[item.event_id] = item
        while len(pending) > 10_000:  # a consumer that never commits: forget the oldest
            pending.pop(next(iter(pending)))
    return FeedOut(items=[asdict(i) for i in items], consumer=consumer)


@router.post("/feed/commit", tags=["feed"],
             responses={400: {"model": Problem, "description": "the body is not JSON"},
                        409: {"model": Problem, "description": "the item was not delivered to this consumer "
                                                               "(or is already committed): poll first"}})
def feed_commit(request: Request, body: CommitIn, app: App, grant: Reader) -> dict[str, Any]:
    """Commit the last item a named consumer applied (by ``event_id``, or by ``position``
    when that is unambiguous): the next poll resumes after it."""
    port, key, state = app.feed, feed_consumer(request, grant, body.consumer), _state(request)
    with state.lock:
        pending = state.handed.get(key, {})
        if body.event_id is not None:
            found = [i for i in pending.values() if i.event_id == body.event_id]
        else:
            found = [i for i in pending.values() if i.position == body.position]
        if body.event_id is not None and body.position is not None:
            found = [i for i in found if i.position == body.position]
        if not found:
            raise HTTPException(409, f"consumer {body.consumer} has no delivered, uncommitted item "
                                     f"{body.event_id or body.position}: GET /feed first")
        if len(found) > 1:
            raise HTTPException(409, f"position {body.position} names {len(found)} items "
                                     "(one per partition): commit by event_id")
        item = found[0]
        port.commit(key, item)
        pending.pop(item.event_id, None)
    return {"consumer": body.consumer, "position": item.position, "event_id": item.event_id}


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
