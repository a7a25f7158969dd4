"""The HTTP gateway does not serialise submissions (issue 11): requests that arrive while a commit
runs are queued in the embedded transport and committed together, each answered with its own
receipt only after that commit. Real SQLite, FastAPI's TestClient (one event loop, the gateway's
worker threads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bench import write_replay as wr
from tests.unit.test_group_commit import Commits, group_of, in_log, proven, wait_until
from tongxiu.events.envelope import Receipt
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import DEPARTMENTS
from tongxiu.services.http import create_app

TOKENS = {f"dept-{d[0]}-group-token-0000": {"role": "department", "department": d[0]} for d in DEPARTMENTS}
BY_DEPT = {v["department"]: k for k, v in TOKENS.items()}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Tongxiu, TestClient]]:
    app, _ = wr.open_fresh(tmp_path, "http-group")
    with TestClient(create_app(app, TOKENS, json_logs=False)) as client:
        yield app, client
    app.close()


def test_requests_arriving_during_a_commit_are_committed_as_one_group(
    served: tuple[Tongxiu, TestClient],
) -> None:
    app, client = served
    subs = wr.build_workload(200).submissions[:9]
    group = group_of(app)
    db = app.log.db  # type: ignore[attr-defined]
    answers: list[Any] = [None] * len(subs)

    def post(i: int) -> None:
        s = subs[i]
        answers[i] = client.post("/submissions", content=s.model_dump_json(),
                                 headers={"Authorization": f"Bearer {BY_DEPT[s.department]}",
                                          "Content-Type": "application/json"})

    commits = Commits(app)
    threads = []
    with db.lock:  # the first request's commit waits here while the others arrive
        for i in range(len(subs)):
            threads.append(threading.Thread(target=post, args=(i,), daemon=True))
            threads[-1].start()
            if i == 0:
                wait_until(lambda: group.leading() and group.queued() == 0, "the first request leads a commit")
            else:  # with a lock around the whole request (before), the second would never get here
                wait_until(lambda i=i: group.queued() >= i, f"{i} requests queued")
        assert all(a is None for a in answers)  # nothing answered before its commit
    for t in threads:
        t.join()
    commits.stop()
    assert [a.status_code for a in answers] == [200] * len(subs), [a.text[:200] for a in answers]
    assert commits.n == 2 and group.stats.largest == len(subs) - 1
    for a in answers:
        receipt = Receipt.model_validate(a.json())
        assert receipt.accepted and not receipt.duplicate
        in_log(app, receipt)
        proven(app, receipt)
        # read your writes: the receipt's events are in the read models
        assert app.enterprise_state(receipt.stream).seq >= receipt.events[-1].seq
