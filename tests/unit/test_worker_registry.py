"""The distributed worker's ledger agents read the registry from the log through a shared
:class:`RegistryHead` (issue 11: not a Paxos read of the registry row per submission): the
head is re-read at most every ``refresh_s``; a registration this worker handles is seen at
once; a submission the cached registry would refuse is checked once more against the latest
registry (a department registered a moment ago by another worker is not refused), and a
submission that really is unauthorised is still refused. Pure logic: in-memory ports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from tongxiu.events.models import REGISTRY_STREAM, DepartmentRegistered, PenaltyDecided
from tongxiu.events.signing import KeyPair
from tongxiu.infra.common import load_rules
from tongxiu.infra.memory import MemoryEventLog, MemoryRejectionLog, MemoryStorage
from tongxiu.services.config import Settings
from tongxiu.services.demo import DEPARTMENTS, demo_key, make_uscc
from tongxiu.services.ledger import Ledger, sign_submission
from tongxiu.services.ports import SystemClock
from tongxiu.services.sdk import Producer
from tongxiu.streams.worker import RegistryHead, SubmissionHandler

CODE = make_uscc("91", "330521", "MR000001")


class CountingLog(MemoryEventLog):
    def __init__(self, storage: MemoryStorage) -> None:
        super().__init__(storage)
        self.registry_reads = 0

    def last_seq(self, stream: str) -> int:
        if stream == REGISTRY_STREAM:
            self.registry_reads += 1
        return super().last_seq(stream)


def submission(dept: str, key: KeyPair, n: int) -> Any:
    samr = Producer(None, dept, key)  # type: ignore[arg-type]
    decision = PenaltyDecided(
        decision_no=f"德市监处罚〔2026〕R-{n}号", party_name="德清县某某有限公司", address="浙江省湖州市德清县武康街道某路1号",
        legal_representative="张某", facts="产品质量抽检不合格", legal_basis="《中华人民共和国产品质量法》第四十九条",
        penalty_types=["罚款"], fine_yuan=Decimal("5000"), authority="德清县市场监督管理局", decision_date=date(2026, 1, 5),
        procedure="ordinary", rule_set="samr-order-107", violation_kind="产品质量抽检不合格",
    )
    notice = samr.notice_for(CODE, decision, f"{decision.decision_no}-告知")
    return sign_submission(key, department=dept, stream=CODE, submission_id=f"r-{n}",
                           occurred_at=datetime.now(UTC), events=[decision, notice])


def register(ledger: Ledger, dept: str) -> None:
    info = next(d for d in DEPARTMENTS if d[0] == dept)
    r = ledger.emit(REGISTRY_STREAM, [DepartmentRegistered(
        department_id=dept, name=info[1], kind="department", domain=info[3], jurisdiction=info[4],
        public_key=demo_key(dept).public_key)], submission_id=f"register:{dept}")
    assert r.accepted, r.reasons


def test_the_registry_is_cached_and_rechecked_before_a_refusal() -> None:
    storage = MemoryStorage()
    rules, clock, key = load_rules(Settings()), SystemClock(), KeyPair.generate()
    log = CountingLog(storage)
    head = RegistryHead(log, refresh_s=3600.0)  # never refreshed by age in this test
    handler = SubmissionHandler(Ledger(log, MemoryRejectionLog(storage), clock, rules, key), head)
    handler.ledger.bootstrap()
    # another worker registers the department after this one cached the registry
    other = Ledger(MemoryEventLog(storage), MemoryRejectionLog(storage), clock, rules, key)
    handler.ledger.registry()
    register(other, "samr-deqing")
    reads = log.registry_reads
    receipt, published = handler.handle(submission("samr-deqing", demo_key("samr-deqing"), 1).model_dump_json())
    assert receipt.accepted, receipt.reasons  # re-checked against the latest registry
    assert len(published) == 2
    assert log.registry_reads == reads + 1  # one read of the latest head, before the re-check
    # later submissions: no read of the registry head at all (cached, refreshed by age only)
    reads = log.registry_reads
    for n in range(2, 6):
        receipt, _ = handler.handle(submission("samr-deqing", demo_key("samr-deqing"), n).model_dump_json())
        assert receipt.accepted, receipt.reasons
    assert log.registry_reads == reads
    # a department nobody registered is still refused (after the one re-check), and recorded
    reads = log.registry_reads
    receipt, published = handler.handle(submission("samr-nobody", demo_key("samr-deqing"), 9).model_dump_json())
    assert not receipt.accepted and published == []
    assert log.registry_reads == reads + 1
    assert [r.receipt.submission_id for r, _ in storage.rejections if not r.authenticated] == ["r-9"]


def test_a_registration_by_this_worker_is_seen_at_once() -> None:
    storage = MemoryStorage()
    rules, clock, key = load_rules(Settings()), SystemClock(), KeyPair.generate()
    log = CountingLog(storage)
    head = RegistryHead(log, refresh_s=3600.0)
    shard_a = SubmissionHandler(Ledger(log, MemoryRejectionLog(storage), clock, rules, key), head)
    shard_b = SubmissionHandler(Ledger(log, MemoryRejectionLog(storage), clock, rules, key), head)
    shard_a.ledger.bootstrap()
    shard_b.ledger.registry()
    register(shard_a.ledger, "samr-deqing")  # through shard A's recorder: moves the shared head
    assert head.seq == storage.heads[REGISTRY_STREAM] == 2
    reads = log.registry_reads
    receipt, _ = shard_b.handle(submission("samr-deqing", demo_key("samr-deqing"), 1).model_dump_json())
    assert receipt.accepted, receipt.reasons
    assert log.registry_reads == reads  # no re-check needed: the shared head had moved
