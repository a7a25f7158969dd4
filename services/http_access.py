"""Who read which enterprise's data: every read of an enterprise's history, credit,
rectification, sync, inspections or pages by a token is recorded — when, the token's role,
department and name (never the token; its digest's first 12 hex to tell two unnamed tokens
apart), the enterprise, what was read and the route — durably in the backend's own store
(the projection store under the ``access`` projection, which rebuilds never reset: SQLite on
the embedded backend, Cassandra on the distributed one), and read back by auditors
(``GET /api/access-log``, the page ``/access-log``).

Keys sort by time (``<ledger time>|<wall-clock ns>|<enterprise>|<random>``: the ledger's
clock first, the host's nanoseconds to order reads within one ledger instant), so the newest
come last."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import Request

from tongxiu.services.app import Tongxiu

PROJECTION = "access"


def record_read(request: Request, enterprise: str, what: str) -> None:
    """Record that the caller of ``request`` read ``what`` of ``enterprise``."""
    app: Tongxiu = request.app.state.tongxiu
    grant = getattr(request.state, "grant", None)
    at = app.now()
    entry = {
        "at": at.isoformat(),
        "enterprise": enterprise,
        "what": what,
        "path": request.url.path,
        "role": getattr(grant, "role", ""),
        "department": getattr(grant, "department", None),
        "name": getattr(grant, "name", ""),
        "token": str(getattr(request.state, "token_digest", ""))[:12],
    }
    key = f"{at.isoformat()}|{time.time_ns():020d}|{enterprise}|{secrets.token_hex(4)}"
    app.projections.save(PROJECTION, {key: entry}, 0)


def read_access(app: Tongxiu, *, enterprise: str | None = None, limit: int = 100,
                offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The recorded reads, newest first (of one enterprise with ``enterprise``): the total
    and one page."""
    keys = app.projections.keys(PROJECTION)
    if enterprise is not None:
        keys = [k for k in keys if k.split("|")[2:3] == [enterprise]]
    keys.sort(reverse=True)
    page = keys[offset: offset + limit]
    docs = app.projections.load_many(PROJECTION, page)
    return len(keys), [docs[k] for k in page if k in docs]
