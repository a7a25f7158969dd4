"""The evidence → verdict → closed / overdue loop (对账、核账、销账), shared by enterprise
rectification items (合规建议 / 责令改正) and supervision findings against departments.

Pure functions over a :class:`~tongxiu.projections.views.RectificationItem` (a
:class:`~tongxiu.projections.views.Finding` is one): the folds call them, so both loops close,
re-open and go overdue by the same rules.
"""

from __future__ import annotations

from datetime import datetime

from tongxiu.projections.views import Evidence, RectificationItem, Verdict


def submit_evidence(item: RectificationItem, at: datetime, by: str, text: str, documents: list[str]) -> None:
    """New evidence re-opens the verdicts of those who rejected."""
    item.evidence.append(Evidence(at=at, by=by, text=text, documents=list(documents)))
    item.verdicts = {d: v for d, v in item.verdicts.items() if v.verdict == "verified"}
    item.status = "evidence_submitted"


def give_verdict(item: RectificationItem, at: datetime, by: str, verified: bool, reason: str) -> bool:
    """Record one owner's verdict; True when this verdict closed the item (every owner verified)."""
    item.verdicts[by] = Verdict(verdict="verified" if verified else "rejected", at=at, reason=reason)
    if not verified:
        item.status = "rejected"
        return False
    if all(o in item.verdicts and item.verdicts[o].verdict == "verified" for o in item.owners):
        item.status = "closed"
        item.closed_at = at
        return True
    return False


def mark_overdue(item: RectificationItem) -> None:
    item.overdue_marked = True
