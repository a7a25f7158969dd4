"""The SDK ports over HTTP: a department's producer publishes through ``POST /submissions``,
a subscriber reads its inbox, a credit platform reads the repair feed — against a running
``tongxiu serve``.

    transport = HttpTransport("http://127.0.0.1:8700", token="…")
    producer = Producer(transport, "samr-deqing", key)

``token`` is one bearer token, or a mapping department -> token when one transport carries
several departments' submissions (each submission goes with its own department's token).
Any ``httpx.Client`` can be passed as ``client`` (e.g. FastAPI's ``TestClient``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from tongxiu.events.envelope import Receipt, Submission
from tongxiu.events.tlog import Checkpoint
from tongxiu.services.repair_feed import (
    FeedCommitRefused,
    FeedItemRefused,
    PlatformFeedPort,
    parse_feed_items,
    verify_feed_items,
)
from tongxiu.services.sdk import FeedItem, InboxPort, Transport

__all__ = ["FeedCommitRefused", "FeedItemRefused", "HttpError", "HttpFeed", "HttpInbox", "HttpTransport"]


class HttpError(Exception):
    """The service refused the request (401, 403, 404, 413, 4xx other than a rejection, or 5xx)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class _Http:
    def __init__(
        self,
        base_url: str = "",
        token: str | Mapping[str, str] | None = None,
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.client = client or httpx.Client(base_url=base_url, timeout=timeout)
        self.token = token

    def _headers(self, department: str | None = None) -> dict[str, str]:
        token = self.token
        if isinstance(token, Mapping):
            token = token.get(department or "")
            if token is None:
                raise HttpError(401, f"no token for department {department!r}")
        return {"Authorization": f"Bearer {token}"} if token else {}

    @staticmethod
    def _check(response: httpx.Response, *ok: int) -> Any:
        if response.status_code in ok:
            return response.json()
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise HttpError(response.status_code, detail)

    def close(self) -> None:
        self.client.close()


class HttpTransport(_Http, Transport):
    """Sends a signed submission; returns the receipt, accepted (200) or rejected (422). A 503
    (the stream kept changing) or 429 is retried ``retries`` times after its ``Retry-After``
    (at most 5 s): resending the same submission is safe, the ledger records it once."""

    retries = 3

    def send(self, submission: Submission) -> Receipt:
        body = submission.model_dump_json()
        headers = {"Content-Type": "application/json", **self._headers(submission.department)}
        for attempt in range(self.retries + 1):
            response = self.client.post("/submissions", content=body, headers=headers)
            if response.status_code not in (429, 503) or attempt == self.retries:
                break
            time.sleep(_retry_after(response))
        return Receipt.model_validate(self._check(response, 200, 422))


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(5.0, max(0.0, float(response.headers.get("retry-after", "1"))))
    except ValueError:
        return 1.0


class HttpInbox(_Http, InboxPort):
    def pending(self, subscriber: str) -> list[dict[str, Any]]:
        response = self.client.get(f"/api/departments/{subscriber}/inbox", headers=self._headers(subscriber))
        data: list[dict[str, Any]] = self._check(response, 200)
        return data


class HttpFeed(_Http, PlatformFeedPort):
    """A credit platform's repair feed over HTTP; ``consumer`` positions are kept by the service
    per token's department.

    Every item is checked before it is returned: the ledger's signature with ``ledger_key``
    (the ledger's public key, hex, as the operator publishes it; without one, the key in the
    service's signed checkpoint ``GET /api/log/checkpoint`` is read once and kept, so a key
    that changes later is refused), and no member beyond the repair record's. An item that
    fails raises :class:`FeedItemRefused` naming it and the rule. ``verify=False`` turns
    the check off. ``commit`` sends the acknowledgements a commit carries
    (:class:`tongxiu.services.repair_feed.RepairFeed` signs them)."""

    def __init__(
        self,
        base_url: str = "",
        token: str | Mapping[str, str] | None = None,
        *,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        ledger_key: str | None = None,
        verify: bool = True,
    ) -> None:
        super().__init__(base_url, token, client=client, timeout=timeout)
        self._ledger_key = ledger_key
        self.verifies = verify

    def ledger_key(self) -> str:
        if self._ledger_key is None:
            cp = Checkpoint.model_validate(self._check(self.client.get("/api/log/checkpoint",
                                                                        headers=self._headers()), 200))
            if not cp.verify({cp.key}):
                raise HttpError(502, "the service's checkpoint does not verify with its own key")
            self._ledger_key = cp.key
        return self._ledger_key

    def poll(self, consumer: str, *, max_items: int = 100) -> list[FeedItem]:
        response = self.client.get("/feed", params={"consumer": consumer, "limit": max_items}, headers=self._headers())
        items = parse_feed_items(self._check(response, 200)["items"])
        if self.verifies:
            verify_feed_items(items, self.ledger_key())
        return items

    def commit(self, consumer: str, item: FeedItem, acknowledgements: Sequence[Submission] = ()) -> list[Receipt]:
        body: dict[str, Any] = {"consumer": consumer, "event_id": item.event_id}
        if acknowledgements:
            body["acknowledgements"] = [a.model_dump(mode="json") for a in acknowledgements]
        response = self.client.post("/feed/commit", json=body, headers=self._headers())
        if response.status_code in (409, 422):
            data = response.json()
            detail = data.get("detail", response.text)
            receipts = [Receipt.model_validate(r) for r in data.get("receipts", [])]
            raise FeedCommitRefused(response.status_code, str(detail), receipts)
        return [Receipt.model_validate(r) for r in self._check(response, 200)["receipts"]]
