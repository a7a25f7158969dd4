"""The HTTP gateway: a department's signed submission, recorded exactly as ``Tongxiu.submit``
records it. 200 with the receipt when accepted, 422 with the receipt (its reasons name field
and rule) when rejected, 503 when the backend could not take it (resend the same submission)."""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Security
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.wire import MAX_SUBMISSION_BYTES, Unreadable, parse_submission
from tongxiu.services.http_auth import App, Grant, role
from tongxiu.services.http_metrics import Metrics
from tongxiu.services.http_models import AUTH_RESPONSES, Problem
from tongxiu.services.ports import ConcurrencyError

router = APIRouter(tags=["gateway"])
Department = Annotated[Grant, Security(role("department"))]
MAX_BODY = MAX_SUBMISSION_BYTES
_write_lock = threading.RLock()
"""One submission at a time, except into the embedded SQLite backend: there the gateway's
submissions run concurrently and the transport commits those arriving together as one group
(``InProcessTransport``, setting ``embedded_group_max``). The distributed backend keeps it: its
``KafkaTransport`` polls one Kafka consumer for receipts, which is not safe from several threads
at once. The repair feed's commit (``http_feed``) takes it around its acknowledgements."""


@router.post(
    "/submissions",
    response_model=Receipt,
    responses={
        **AUTH_RESPONSES,
        413: {"model": Problem, "description": "body larger than 1 MB"},
        503: {"model": Problem, "description": "the stream kept changing, or the transport (Kafka) did not take "
                                               "the submission; resend the same submission"},
        422: {"model": Receipt, "description": "rejected: the receipt lists the reasons (field and rule)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Submission"}}},
        }
    },
)
async def submit(request: Request, app: App, grant: Department) -> Response:
    """A department's signed submission — the same JSON the SDK sends. Recorded exactly as
    ``Tongxiu.submit`` records it: 200 with the receipt when accepted, 422 with the receipt
    (its reasons name field and rule) when rejected; rejections are kept in the log."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():  # the guard cuts a body over the limit off while it streams
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, f"请求体超过 {MAX_BODY} 字节的上限 (body larger than {MAX_BODY} bytes)")
        chunks.append(chunk)
    # parsed once, here: the department is checked on the very object the ledger decides on
    parsed = parse_submission(b"".join(chunks))
    claimed = parsed.department if isinstance(parsed, Submission) else parsed.ident.get("department")
    if claimed is not None and claimed != grant.department:
        raise HTTPException(403, f"此令牌只能以部门 {grant.department} 的名义提交，不能以 {claimed[:64]!r} 的名义"
                                 f"（字段 department）(this token publishes as {grant.department} only, "
                                 f"not as {claimed[:64]!r}, field: department)")
    body: Submission | Unreadable = (
        parsed if isinstance(parsed, Submission) else parsed.claiming(str(grant.department))
    )
    submission_id = body.submission_id if isinstance(body, Submission) else str(body.ident.get("submission_id", ""))

    def run() -> Receipt:  # in a worker thread; embedded: submissions arriving together are committed as a group
        if app.backend == "embedded":
            return app.submit(body)
        with _write_lock:
            return app.submit(body)

    metrics: Metrics = request.app.state.metrics
    started = time.perf_counter()
    try:
        receipt = await run_in_threadpool(run)
    except ConcurrencyError as exc:  # distributed backend: other writers kept winning
        metrics.unavailable("concurrency")
        raise HTTPException(503, f"{exc}; send the same submission again", headers={"Retry-After": "1"}) from exc
    except ConnectionError as exc:  # the Kafka transport's SubmissionNotDelivered: it may not be recorded
        metrics.unavailable("not_delivered")
        sid = str(getattr(exc, "submission_id", "") or submission_id)
        return JSONResponse(
            {"detail": f"提交 {sid} 未送达账本，可能未被记录，请以同一 submission_id 重新提交 "
                       f"(not delivered: {exc})",
             "reason": "submission_not_delivered", "submission_id": sid},
            status_code=503, headers={"Retry-After": "5"},
        )
    metrics.submitted(receipt, time.perf_counter() - started)
    return receipt_response(receipt)


def receipt_response(receipt: Receipt) -> Response:
    """The receipt as JSON: 200 accepted, 422 rejected. The same bytes as
    ``JSONResponse(receipt.model_dump(mode="json"))``; a receipt without reasons holds only
    strings, integers, booleans and instants, which pydantic writes to JSON directly exactly as
    ``json.dumps`` would (compact, non-ASCII as is, the same escapes), in ~3 instead of ~28 µs.
    A reason's ``detail`` may hold floats (``1e-07`` and ``1e-7``), so receipts with reasons,
    and any text pydantic refuses to write, still go through ``json.dumps``."""
    status = 200 if receipt.accepted else 422
    if not receipt.reasons:
        try:
            body = receipt.model_dump_json().encode("utf-8")
        except ValueError:  # e.g. a lone surrogate: answered as before
            pass
        else:
            return Response(body, status_code=status, media_type="application/json")
    return JSONResponse(receipt.model_dump(mode="json"), status_code=status)
