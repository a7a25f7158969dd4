"""Event ids are ``uuid5(EVENT_NAMESPACE, "department/submission_id/index")``: the write path's
own formatting of it (issue 11) gives the same text as the standard library, for any name."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongxiu.services.submission import EVENT_NAMESPACE, event_id_for


@given(st.text(), st.text(), st.integers(min_value=0, max_value=10**6))
def test_event_ids_are_the_standard_uuid5(department: str, submission_id: str, index: int) -> None:
    name = f"{department}/{submission_id}/{index}"
    try:
        expected = str(uuid.uuid5(EVENT_NAMESPACE, name))
    except UnicodeEncodeError:  # a lone surrogate: refused the same way
        with pytest.raises(UnicodeEncodeError):
            event_id_for(department, submission_id, index)
        return
    assert event_id_for(department, submission_id, index) == expected


def test_known_ids() -> None:
    """Ids as ``uuid.uuid5`` gave them before this change (what ledgers already hold)."""
    known = [
        ("samr-deqing", "s1", 0, "40db3122-f98c-5ceb-ab00-e5e497d6adcb"),
        ("ledger", "propagate:x", 0, "28d3557d-caa7-51f3-a8ee-2373896a31f6"),
        ("部门", "提交/1", 7, "7c372556-42fb-5229-88b3-de889b8ab244"),
    ]
    for dept, sid, i, expected in known:
        assert event_id_for(dept, sid, i) == expected
