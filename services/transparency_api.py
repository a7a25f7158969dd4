"""HTTP routes of the transparency log (issue 9): the current signed checkpoint, the recorded
checkpoints, inclusion and consistency proofs — for any authenticated caller (departments
check their receipts with them; the answers are checked by the caller, not trusted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query

from tongxiu.services.app import Tongxiu
from tongxiu.services.transparency import Transparency

_AUTH: dict[int | str, dict[str, Any]] = {401: {"description": "no or unknown token"}}
_NONE: dict[int | str, dict[str, Any]] = {503: {"description": "this backend keeps no transparency log"}}


def add_transparency_routes(api: FastAPI, app: Tongxiu, any_grant: Callable[..., Any]) -> None:
    as_caller = Depends(any_grant)

    def log() -> Transparency:
        t = app.ledger.transparency
        if t is None:
            raise HTTPException(503, f"the {app.backend} backend keeps no transparency log")
        return t

    @api.get("/api/log/checkpoint", tags=["transparency"], responses={**_AUTH, **_NONE})
    def checkpoint(_: Any = as_caller) -> dict[str, Any]:
        """A checkpoint of the log signed now: tree size, root, time, the ledger key, signature."""
        return log().checkpoint().model_dump(mode="json")

    @api.get("/api/log/checkpoints", tags=["transparency"], responses={**_AUTH, **_NONE})
    def checkpoints(_: Any = as_caller) -> list[dict[str, Any]]:
        """The checkpoints the ledger recorded (on demand and at every tick), oldest first."""
        return [c.model_dump(mode="json") for c in log().tlog.checkpoints()]

    @api.get("/api/log/proof/inclusion", tags=["transparency"],
             responses={**_AUTH, **_NONE, 400: {"description": "no such leaf or size"}})
    def inclusion(leaf: Annotated[int, Query(ge=0)], size: Annotated[int | None, Query(ge=1)] = None,
                  _: Any = as_caller) -> dict[str, Any]:
        """RFC 9162 inclusion proof of leaf ``leaf`` in the tree of ``size`` leaves (default: now),
        with a checkpoint signed now."""
        t = log()
        cp = t.checkpoint()
        n = cp.size if size is None else size
        if n > cp.size:
            raise HTTPException(400, f"size: the log has {cp.size} leaves, not {n}")
        try:
            return {"leaf_index": leaf, "tree_size": n, "inclusion": t.inclusion(leaf, n),
                    "checkpoint": cp.model_dump(mode="json")}
        except ValueError as exc:
            raise HTTPException(400, f"leaf: {exc}") from exc

    @api.get("/api/log/proof/consistency", tags=["transparency"],
             responses={**_AUTH, **_NONE, 400: {"description": "no such sizes"}})
    def consistency(first: Annotated[int, Query(ge=0)], size: Annotated[int | None, Query(ge=1)] = None,
                    _: Any = as_caller) -> dict[str, Any]:
        """RFC 9162 consistency proof from the tree of ``first`` leaves to that of ``size``."""
        t = log()
        cp = t.checkpoint()
        n = cp.size if size is None else size
        if not first <= n <= cp.size:
            raise HTTPException(400, f"first/size: need first ≤ size ≤ {cp.size}")
        return {"first": first, "second": n, "consistency": t.consistency(first, n),
                "checkpoint": cp.model_dump(mode="json")}
