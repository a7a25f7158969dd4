"""projections/views.py ``put``: the fold's assignments to its records without pydantic's
``__setattr__`` leave every model exactly as ``setattr`` would (values, fields set, dumps), and
what ``setattr`` refuses (frozen models or fields, validated assignment, unknown names) is
refused the same way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tongxiu.events.models import PenaltyFulfilled
from tongxiu.projections.views import CreditRecord, EnterpriseState, RectificationItem, Verdict, put

AT = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _models() -> list[tuple[BaseModel, str, Any]]:
    record = CreditRecord(decision_no="d1", department="x", kind="penalty", decision_date=date(2026, 1, 5),
                          submission_id="s1")
    item = RectificationItem(advice_no="a1", item_id="i1", decision_no="d1", issued_by="x", issued_at=AT,
                             requirement="r", deadline=date(2026, 2, 1), lead_department="x")
    return [
        (record, "notice_no", "n1"), (record, "notice_with_decision", True), (record, "status", "withdrawn"),
        (record, "fulfilled_on", date(2026, 1, 9)), (record, "history", []),
        (item, "status", "closed"), (item, "closed_at", AT),
        (item, "verdicts", {"x": Verdict(verdict="verified", at=AT, reason="")}),
        (EnterpriseState.empty("e1"), "seq", 3),
    ]


@pytest.mark.parametrize("index", range(len(_models())))
def test_put_leaves_the_model_as_setattr_does(index: int) -> None:
    by_put, name, value = _models()[index]
    by_setattr = _models()[index][0]
    assert name not in by_put.model_fields_set or name == "status"
    put(by_put, name, value)
    setattr(by_setattr, name, value)
    assert by_put.__dict__ == by_setattr.__dict__ and list(by_put.__dict__) == list(by_setattr.__dict__)
    assert by_put.model_fields_set == by_setattr.model_fields_set and name in by_put.model_fields_set
    assert by_put.model_dump_json() == by_setattr.model_dump_json()
    assert by_put.model_dump_json(exclude_unset=True) == by_setattr.model_dump_json(exclude_unset=True)


class _Validated(BaseModel):
    model_config = ConfigDict(validate_assignment=True)
    n: int = 0


class _FrozenField(BaseModel):
    n: int = Field(default=0, frozen=True)
    m: int = 0

    @property
    def twice(self) -> int:
        return 2 * self.m


def _error(fn: Any) -> tuple[type[BaseException], str]:
    with pytest.raises((ValidationError, ValueError, AttributeError)) as caught:
        fn()
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize(("model", "name", "value"), [
    (PenaltyFulfilled(decision_no="d1", amount_paid_yuan=1, fulfilled_on=date(2026, 1, 9)), "decision_no", "d2"),  # frozen model
    (_FrozenField(), "n", 1),  # frozen field
    (_Validated(), "n", "not a number"),  # validated assignment
    (CreditRecord(decision_no="d1", department="x", kind="penalty", decision_date=date(2026, 1, 5),
                  submission_id="s1"), "no_such_field", 1),
    (_FrozenField(), "twice", 4),  # a property, not a field
])
def test_what_setattr_refuses_put_refuses_alike(model: BaseModel, name: str, value: Any) -> None:
    assert _error(lambda: put(model, name, value)) == _error(lambda: setattr(model, name, value))


def test_validated_assignment_still_validates() -> None:
    model = _Validated()
    put(model, "n", "7")
    assert model.n == 7
