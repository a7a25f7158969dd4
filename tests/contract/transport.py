"""Contract suite for the :class:`tongxiu.services.sdk.Transport` port: whatever carries a signed
submission to ``Ledger.submit`` (in this process, through ``Tongxiu.submit``, over HTTP, or
over Kafka to the worker) brings back the ledger's receipt unchanged.

A transport subclasses :class:`TransportContract` as ``Test<Name>Transport`` and overrides
``make_transport()``, returning the transport and the app whose log and rejection log it
writes to (the demo departments registered on it). Not collected itself.
"""

from __future__ import annotations

import abc
from datetime import timedelta

from tests.contract.ports_sdk import enterprise_code
from tests.support import decision
from tongxiu.events.envelope import Receipt
from tongxiu.events.models import RepairGranted
from tongxiu.services.app import Tongxiu
from tongxiu.services.demo import demo_key
from tongxiu.services.ledger import sign_submission
from tongxiu.services.sdk import Transport


class TransportContract(abc.ABC):
    @abc.abstractmethod
    def make_transport(self) -> tuple[Transport, Tongxiu]:
        """The transport under test and the app it reaches (departments registered)."""

    def _send(self, transport: Transport, app: Tongxiu, *, stream: str, sid: str, key_of: str = "samr-deqing",
              no: str = "D1") -> Receipt:
        sub = sign_submission(demo_key(key_of), department="samr-deqing", stream=stream, submission_id=sid,
                              occurred_at=app.now() - timedelta(minutes=1), events=[decision(no)])
        return transport.send(sub)

    def test_an_accepted_submission_comes_back_with_its_recorded_events(self) -> None:
        transport, app = self.make_transport()
        code = enterprise_code("TA")
        receipt = self._send(transport, app, stream=code, sid="t-accept")
        assert receipt.accepted and not receipt.duplicate, receipt.reasons
        stored = app.log.read_stream(code)
        assert [e.seq for e in receipt.events] == [s.envelope.seq for s in stored] == [1]
        assert receipt.events[0].hash == stored[0].envelope.hash

    def test_resending_is_answered_with_the_first_receipt(self) -> None:
        transport, app = self.make_transport()
        code = enterprise_code("TB")
        first = self._send(transport, app, stream=code, sid="t-again")
        again = self._send(transport, app, stream=code, sid="t-again")
        assert first.accepted and again.accepted and again.duplicate
        assert again.events == first.events
        assert app.log.last_seq(code) == 1  # recorded once

    def test_a_forgery_is_rejected_with_its_reason_and_recorded(self) -> None:
        transport, app = self.make_transport()
        code = enterprise_code("TC")
        receipt = self._send(transport, app, stream=code, sid="t-forged", key_of="tax-deqing")
        assert not receipt.accepted
        assert receipt.codes == ["signature_of_other_department"], receipt.reasons
        recorded = app.list_rejections(stream=code)
        assert [(r.receipt.submission_id, r.authenticated) for r in recorded] == [("t-forged", False)]
        assert app.log.last_seq(code) == 0

    def test_a_rule_rejection_is_recorded_and_answered_again_on_resend(self) -> None:
        transport, app = self.make_transport()
        code = enterprise_code("TD")
        sub = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=code,
                              submission_id="t-unknown", occurred_at=app.now() - timedelta(minutes=1),
                              events=[RepairGranted(decision_no="NOPE")])
        receipt = transport.send(sub)
        assert not receipt.accepted and receipt.codes == ["unknown_reference"], receipt.reasons
        stored = app.rejections.get("samr-deqing", "t-unknown")
        assert stored is not None and stored.receipt.codes == ["unknown_reference"]
        again = transport.send(sub)
        assert again.duplicate and again.codes == ["unknown_reference"]

    # ---- the idempotency rule (docs/signing.md §7), on every transport and so on both backends

    def test_an_accepted_id_with_another_body_is_a_conflict_and_recorded(self) -> None:
        transport, app = self.make_transport()
        code = enterprise_code("TE")
        first = self._send(transport, app, stream=code, sid="t-conflict", no="D1")
        other = self._send(transport, app, stream=code, sid="t-conflict", no="D2")
        assert first.accepted
        assert not other.accepted and other.codes == ["submission_id_conflict"], other.reasons
        assert other.reasons[0].field == "submission_id" and not other.duplicate
        assert app.log.last_seq(code) == 1  # nothing recorded twice
        assert [r.receipt.codes for r in app.list_rejections(stream=code)] == [["submission_id_conflict"]]
        # the first body is still answered with the first receipt
        again = self._send(transport, app, stream=code, sid="t-conflict", no="D1")
        assert again.accepted and again.duplicate and again.events == first.events

    def test_a_rejected_id_may_be_resubmitted_with_a_corrected_body(self) -> None:
        transport, app = self.make_transport()
        code = enterprise_code("TF")
        wrong = sign_submission(demo_key("samr-deqing"), department="samr-deqing", stream=code,
                                submission_id="t-fix", occurred_at=app.now() - timedelta(minutes=1),
                                events=[RepairGranted(decision_no="NOPE")])
        rejected = transport.send(wrong)
        assert not rejected.accepted and rejected.codes == ["unknown_reference"]
        assert transport.send(wrong).duplicate  # the same body: the first receipt
        fixed = self._send(transport, app, stream=code, sid="t-fix", no="D1")
        assert fixed.accepted and not fixed.duplicate, fixed.reasons
        assert app.log.last_seq(code) == 1
        # and now the id is accepted: the first wrong body is a conflict
        late = transport.send(wrong)
        assert not late.accepted and late.codes == ["submission_id_conflict"]
