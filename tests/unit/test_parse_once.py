"""Parse once: a submission is read at the edge (``Tongxiu.submit``) and the parsed object
travels on to ``Ledger.submit``, which does not read it again; a submission that reaches the
ledger any other way (the worker's bytes, an object handed straight to the transport) is read
there, also once. The signature still covers exactly what was submitted."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.support import CODE, T0, decision, make_world
from tongxiu.events.wire import parse_submission
from tongxiu.infra.bootstrap import open_memory
from tongxiu.services import ledger as ledger_module
from tongxiu.services.demo import demo_key
from tongxiu.services.ledger import sign_submission
from tongxiu.services.ports import ManualClock


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []

    def counting(raw: Any) -> Any:
        calls.append(type(raw).__name__)
        return parse_submission(raw)

    monkeypatch.setattr(ledger_module, "parse_submission", counting)
    return calls


def test_bytes_submitted_at_the_edge_are_parsed_once(counted: list[Any]) -> None:
    clock = ManualClock(T0)
    world = make_world(open_memory(clock=clock), clock)
    sub = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="once",
                          occurred_at=clock.now(), events=[decision("D-once")])
    counted.clear()
    receipt = world.app.submit(sub.model_dump_json().encode())
    assert receipt.accepted, receipt.reasons
    assert counted == ["bytes"]
    counted.clear()
    assert world.app.submit(sub).duplicate  # an object at the edge: read (checked) once too
    assert counted == ["Submission"]


def test_an_object_handed_straight_to_the_transport_is_still_read_by_the_ledger(counted: list[Any]) -> None:
    """The edge is not skipped by going around it: the ledger reads what no edge has read
    (here a date the strict format refuses, which the model alone accepts)."""
    clock = ManualClock(T0)
    world = make_world(open_memory(clock=clock), clock)
    bad = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="around",
                          occurred_at=clock.now(), events=[decision("D-around", decision_date=date(1001, 1, 1))])
    counted.clear()
    receipt = world.app.transport.send(bad)
    assert counted == ["Submission"]
    assert not receipt.accepted and receipt.reasons[0].code == "date_out_of_range", receipt.reasons


def test_the_signature_covers_what_was_submitted(counted: list[Any]) -> None:
    clock = ManualClock(T0)
    world = make_world(open_memory(clock=clock), clock)
    sub = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=CODE, submission_id="sig",
                          occurred_at=clock.now(), events=[decision("D-sig")])
    doc = sub.model_dump(mode="json")
    doc["events"][0]["event"]["fine_yuan"] = "1"  # changed after signing
    receipt = world.app.submit(doc)
    assert not receipt.accepted and receipt.reasons[0].code == "signature_invalid"
    assert counted[-1:] == ["dict"]
