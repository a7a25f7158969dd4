"""The gateway's receipt response (``services/http_gateway.receipt_response``) answers exactly
what ``JSONResponse(receipt.model_dump(mode="json"))`` answered before its fast path: the same
status, headers and bytes, for accepted, duplicate and rejected receipts, non-ASCII text
included."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import JSONResponse

from bench import write_replay as wr
from tongxiu.events.envelope import Receipt
from tongxiu.services.demo import demo_key
from tongxiu.services.http_gateway import receipt_response
from tongxiu.services.submission import sign_submission


def _as_before(receipt: Receipt) -> JSONResponse:
    return JSONResponse(receipt.model_dump(mode="json"), status_code=200 if receipt.accepted else 422)


def test_receipt_response_is_byte_for_byte_what_it_was(tmp_path: Path) -> None:
    work = wr.build_workload(60)
    app, _ = wr.open_fresh(tmp_path, "receipts")
    try:
        receipts = [app.submit(s) for s in work.submissions]
        last = work.submissions[-1]
        chinese = sign_submission(  # accepted, with non-ASCII text in the receipt
            demo_key(last.department), department=last.department, stream=last.stream,
            submission_id="整改-第二批-" + last.submission_id, occurred_at=last.occurred_at,
            events=[e.event for e in last.events])
        receipts.append(app.submit(chinese))
        assert receipts[-1].accepted and "整改" in receipts[-1].submission_id, receipts[-1]
        receipts.append(app.submit(work.submissions[0]))  # a duplicate: the first receipt again
        first = work.submissions[0]
        forged = first.model_copy(update={"submission_id": "收据-中文-" + first.submission_id})  # signature no longer covers it
        receipts.append(app.submit(forged))
    finally:
        app.close()
    kinds = {(r.accepted, r.duplicate, bool(r.reasons)) for r in receipts}
    assert {(True, False, False), (True, True, False), (False, False, True)} <= kinds, kinds
    for r in receipts:
        new, old = receipt_response(r), _as_before(r)
        assert (new.status_code, new.body) == (old.status_code, old.body), r
        assert new.headers.items() == old.headers.items()
