"""``tongxiu verify --projections``: the read models compared with a fresh rebuild from the log
(into a private in-memory store), naming the first difference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tongxiu.projections.keys import PROJECTION, inbox_key, supervision_key
from tongxiu.projections.views import SupervisionState
from tongxiu.projections.views_supervision import SHARD_SEP
from tongxiu.services.ports import ShardedProjectionStore
from tongxiu.services.problems import Problem, problem
from tongxiu.streams.processor import catch_up
from tongxiu.streams.projector import Projector


def differences(a: Any, b: Any, path: str = "", limit: int = 10) -> list[Problem]:
    """The first paths where the stored value (``a``) and the rebuilt one (``b``) differ (each a
    problem with its ``path``; ``str(p)`` in Chinese, ``p.text("en")`` in English)."""
    out: list[Problem] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(problem("only_stored" if k in a else "only_rebuilt", path=f"{path}/{k}"))
            else:
                out += differences(a[k], b[k], f"{path}/{k}", limit - len(out))
            if len(out) >= limit:
                break
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += differences(x, y, f"{path}[{i}]", limit - len(out))
            if len(out) >= limit:
                break
    elif a != b:
        out.append(problem("projection_differs", path=path, stored=repr(a), rebuilt=repr(b)))
    return out[:limit]


def comparable(key: str, doc: dict[str, Any] | None, *, sharded: bool) -> dict[str, Any] | None:
    """``doc`` as a rebuild of it compares: a department's monthly tallies added up over the
    shards that wrote them (``<month>@<shard>``, the distributed backend's projection workers);
    with ``sharded`` (a store written by shards), inbox entries without their ``position``,
    which is a count of events applied by one shard there."""
    if doc is None:
        return None
    if key.startswith(supervision_key("")) and any(SHARD_SEP in m for m in doc.get("months", {})):
        months = SupervisionState.model_validate(doc).by_month()
        doc = {**doc, "months": {m: c.model_dump(mode="json") for m, c in months.items()}}
    if sharded and key.startswith(inbox_key("")):
        doc = {**doc, "pending": {k: {f: v for f, v in e.items() if f != "position"}
                                  for k, e in doc.get("pending", {}).items()}}
    return doc


@dataclass
class ProjectionCheck:
    ok: bool = True
    documents: int = 0
    first_difference: Problem | None = None
    differences: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON data (``tongxiu verify --projections --json``)."""
        first = self.first_difference
        return {**self.__dict__, "first_difference": None if first is None else first.as_dict(),
                "differences": [d.as_dict() for d in self.differences]}


def verify_projections(app: Any) -> ProjectionCheck:
    from tongxiu.infra.sqlite import Database, SqliteProjectionStore

    db = Database(":memory:")
    try:
        fresh = SqliteProjectionStore(db)
        catch_up(Projector(fresh, app.log, app.rules), app.log)
        out = ProjectionCheck()
        live_keys = set(app.projections.keys(PROJECTION))
        keys = sorted(live_keys | set(fresh.keys(PROJECTION)))
        sharded = isinstance(app.projections, ShardedProjectionStore)
        for key in keys:
            out.documents += 1
            live = comparable(key, app.projections.load(PROJECTION, key), sharded=sharded)
            again = comparable(key, fresh.load(PROJECTION, key), sharded=sharded)
            if live is None or again is None:
                diffs = [problem("only_stored" if live is not None else "only_rebuilt", path=key)]
            else:
                diffs = [problem(d.code, **{**d.params, "path": f"{key}{d.params['path']}"})
                         for d in differences(live, again)]
            if diffs:
                out.ok = False
                out.differences += diffs
                out.first_difference = out.first_difference or diffs[0]
        return out
    finally:
        db.close()
