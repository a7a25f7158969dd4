"""The violation-kind index kept beside an enterprise's records (首违 questions in O(1) per new
decision): it must always answer what a scan of the records would, across copies of a state,
reloads and withdrawals."""

from __future__ import annotations

from datetime import date

from tongxiu.projections.views import CreditRecord, EnterpriseState

CODE = "91350200776049653A"


def _record(no: str, kind: str | None, status: str = "publicized") -> CreditRecord:
    return CreditRecord(decision_no=no, department="samr-deqing", kind="penalty", decision_date=date(2026, 1, 5),
                        submission_id=f"s-{no}", violation_kind=kind, status=status)  # type: ignore[arg-type]


def _scan(state: EnterpriseState, kind: str) -> list[str]:
    return [r.decision_no for r in state.credit.records.values() if r.violation_kind == kind and r.status != "withdrawn"]


def _add(state: EnterpriseState, record: CreditRecord) -> None:
    state.credit.records[record.decision_no] = record
    state.note_record(record)


def test_index_answers_what_a_scan_answers_across_copies_reloads_and_withdrawals() -> None:
    state = EnterpriseState.empty(CODE)
    _add(state, _record("D1", "超标排放"))
    _add(state, _record("D2", "无证经营"))
    assert state.standing_of_kind("超标排放") == ["D1"]  # builds the index
    _add(state, _record("D3", "超标排放"))
    _add(state, _record("D4", None))
    assert state.standing_of_kind("超标排放") == ["D1", "D3"] == _scan(state, "超标排放")

    # a copy shares the index until one of them adds a record; neither may see the other's
    other = state.model_copy(deep=False)
    other.credit = state.credit.model_copy(deep=True)
    _add(state, _record("D5", "超标排放"))
    _add(other, _record("X5", "超标排放"))
    assert state.standing_of_kind("超标排放") == ["D1", "D3", "D5"] == _scan(state, "超标排放")
    assert other.standing_of_kind("超标排放") == ["D1", "D3", "X5"] == _scan(other, "超标排放")

    # a reloaded state (no index) rebuilds it from the records
    again = EnterpriseState.model_validate(state.model_dump(mode="json"))
    assert again.standing_of_kind("超标排放") == _scan(again, "超标排放")

    # a withdrawn decision no longer counts
    state.credit.records["D3"].status = "withdrawn"
    state.forget_kinds()
    assert state.standing_of_kind("超标排放") == ["D1", "D5"] == _scan(state, "超标排放")
    assert state.standing_of_kind("无证经营") == ["D2"]
