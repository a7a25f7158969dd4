"""The rectification loop's item (evidence -> verdict -> closed / overdue), shared by the
enterprise's rectification view and the supervision findings. Part of
:mod:`tongxiu.projections.views`, which re-exports every name."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    at: datetime
    by: str
    text: str
    documents: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    verdict: Literal["verified", "rejected"]
    at: datetime
    reason: str = ""


class RectificationItem(BaseModel):
    advice_no: str
    item_id: str
    decision_no: str
    issued_by: str
    issued_at: datetime
    requirement: str
    deadline: date
    lead_department: str
    participating_departments: list[str] = Field(default_factory=list)
    binding: bool = False
    """A binding correction (责令改正) gates repair; advisory items do not."""
    evidence: list[Evidence] = Field(default_factory=list)
    verdicts: dict[str, Verdict] = Field(default_factory=dict)
    status: Literal["open", "evidence_submitted", "rejected", "closed"] = "open"
    closed_at: datetime | None = None
    overdue_marked: bool = False

    @property
    def owners(self) -> list[str]:
        return [self.lead_department, *[d for d in self.participating_departments if d != self.lead_department]]

    def overdue_as_of(self, day: date) -> bool:
        """Open past its deadline on the China day ``day`` (or already marked overdue)."""
        return self.status != "closed" and (self.overdue_marked or day > self.deadline)
