"""The demo scenario ``make run`` shows: the whole mission on one machine.

It is also the scenario the backends are compared on (identical projections and hash chains),
so it is deterministic: a manual clock, and demo keys derived from the department names
(demo keys are public knowledge; never use them for real).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from tongxiu.events.codes import check_character, org_code_check
from tongxiu.events.envelope import Reason, Receipt
from tongxiu.events.labels import event_type_name
from tongxiu.events.models import (
    REGISTRY_STREAM,
    AdviceItem,
    ComplianceAdviceIssued,
    DepartmentRegistered,
    PenaltyDecided,
    PenaltyFulfilled,
    RectificationEvidenceSubmitted,
    RectificationVerified,
    RepairApplied,
    RepairGranted,
    SubscriptionAdded,
)
from tongxiu.events.signing import KeyPair
from tongxiu.projections.fold import CHINA, china_day
from tongxiu.services import scheduler
from tongxiu.services.app import Tongxiu
from tongxiu.services.platform_feed import LocalPlatformFeed
from tongxiu.services.ports import ManualClock
from tongxiu.services.repair_feed import PlatformFeedPort, RepairFeed
from tongxiu.services.sdk import Consumer, InboxPort, Producer, Transport

START = datetime(2026, 1, 5, 9, 0, tzinfo=CHINA)

DEPARTMENTS = [
    ("samr-deqing", "德清县市场监督管理局", "department", "market_regulation", "330521"),
    ("tax-deqing", "国家税务总局德清县税务局", "department", "tax", "330521"),
    ("eco-huzhou", "湖州市生态环境局德清分局", "department", "ecology", "330521"),
    ("ema-deqing", "德清县应急管理局", "department", "emergency", "330521"),
    ("creditchina", "信用中国（浙江）", "credit_platform", "credit", "33"),
]


def demo_key(department: str) -> KeyPair:
    return KeyPair.from_private(hashlib.sha256(f"tongxiu-demo/{department}".encode()).hexdigest())


def make_uscc(authority_type: str, area: str, org8: str) -> str:
    first17 = authority_type + area + org8 + org_code_check(org8)
    return first17 + check_character(first17)


ENTERPRISE = make_uscc("91", "330521", "MA2D7K3X")


@dataclass
class DemoResult:
    enterprise: str
    receipts: dict[str, Receipt] = field(default_factory=dict)


def run_demo(
    app: Tongxiu,
    clock: ManualClock,
    *,
    transport: Transport,
    inbox: InboxPort,
    feed: PlatformFeedPort | None = None,
    say: Callable[[str], None] = print,
    lang: str = "zh",
) -> DemoResult:
    """The demo on ``app``; ``feed`` is the credit platform's repair feed (default: in process)."""
    result = DemoResult(enterprise=ENTERPRISE)
    code = ENTERPRISE

    def at(when: datetime) -> datetime:
        clock.set(when.astimezone(UTC))
        return clock.now()

    def record(name: str, receipt: Receipt) -> Receipt:
        result.receipts[name] = receipt
        return receipt

    def t(zh: str, en: str) -> str:  # the narration in the reader's language
        return en if lang == "en" else zh

    def rejected(r: Reason) -> str:
        return t(f"   已拒绝 [{r.code}] {r.field}：{r.message}", f"   rejected [{r.code}] {r.field}: {r.message}")

    say(t("① 各部门和信用平台加入账本，并订阅浙江省的信用修复结果。",
          "① Departments and a credit platform join the ledger, and subscribe to repairs in Zhejiang."))
    at(START)
    producers = register_departments(app, transport, clock)
    samr, eco, tax, platform = (producers[k] for k in ("samr-deqing", "eco-huzhou", "tax-deqing", "creditchina"))

    say(t(f"② 三书同达：市场监管部门向 {code} 同时送达行政处罚决定书、行政合规建议书和信用修复告知书。",
          f"② 三书同达: market regulation serves decision, compliance advice and repair notice on {code}."))
    decision, advice = demo_decision_and_advice()
    at(START + timedelta(hours=1))
    served = record("serve", samr.serve(code, decision, advice, submission_id="serve-7", occurred_at=clock.now()))
    say(t(f"   记为序号 {[e.seq for e in served.events]}（三书要么全部记录，要么都不记录）",
          f"   recorded as seq {[e.seq for e in served.events]} (all three or none)"))

    say(t("③ 罚款已缴纳；整改材料提交；三个部门联合验收。",
          "③ The fine is paid; evidence comes in; a joint team of three departments verifies it."))
    at(START + timedelta(days=10))
    samr.publish(code, [PenaltyFulfilled(decision_no=decision.decision_no, amount_paid_yuan=Decimal("62000"),
                                         fulfilled_on=date(2026, 1, 15))],
                 submission_id="paid-7", occurred_at=clock.now())
    for item_id, text in (("1", "出厂检验制度及1月检验记录"), ("2", "仓库改造验收照片、危废转移联单")):
        platform.publish(code, [RectificationEvidenceSubmitted(advice_no=advice.advice_no, item_id=item_id,
                                                                evidence=text)],
                         submission_id=f"evidence-{item_id}", occurred_at=clock.now())
    at(START + timedelta(days=20))
    for dept, item_id in (("samr-deqing", "1"), ("eco-huzhou", "2"), ("ema-deqing", "2"), ("samr-deqing", "2")):
        producers[dept].publish(code, [RectificationVerified(advice_no=advice.advice_no, item_id=item_id,
                                                             note="现场核查通过")],
                                submission_id=f"verify-{dept}-{item_id}", occurred_at=clock.now())

    say(t("④ 企业一个月后申请信用修复：被拒绝，并告知最早可申请日期。",
          "④ The enterprise applies for repair after one month: refused, with the earliest date."))
    at(START + timedelta(days=31))
    early = record(
        "early",
        platform.publish(code, [RepairApplied(decision_no=decision.decision_no, credit_commitment="本企业承诺……",
                                              applied_on=china_today(clock))],
                         submission_id="apply-early", occurred_at=clock.now()),
    )
    for r in early.reasons:
        say(rejected(r))

    say(t("⑤ 一份伪造的修复决定（税务部门冒用市场监管部门名义签署）和一份越权的修复决定均被拒绝。",
          "⑤ A forged grant (tax signs as market regulation) and an unauthorised one are rejected."))
    forged = Producer(transport, "samr-deqing", demo_key("tax-deqing"), rules=app.rules)
    for name, producer in (("forged", forged), ("unauthorised", tax)):
        receipt = record(name, producer.publish(code, [RepairGranted(decision_no=decision.decision_no)],
                                                submission_id=f"grant-{name}", occurred_at=clock.now()))
        for r in receipt.reasons:
            say(rejected(r))

    say(t("⑥ 三个月后，定时任务记下已满足修复条件；企业申请信用修复并获准予。",
          "⑥ Three months pass; the scheduler notes eligibility; the repair is applied for and granted."))
    at(START + timedelta(days=95))
    scheduler.tick(app)
    record("apply", platform.publish(code, [RepairApplied(decision_no=decision.decision_no,
                                                          credit_commitment="本企业承诺依法诚信经营",
                                                          applied_on=china_today(clock))],
                                     submission_id="apply-7", occurred_at=clock.now()))
    at(START + timedelta(days=96))
    granted = record("grant", samr.publish(code, [RepairGranted(decision_no=decision.decision_no,
                                                                note="材料齐全，准予修复")],
                                           submission_id="grant-7", occurred_at=clock.now()))
    subscribers = len(app.ledger.enterprise(code).sync.deliveries)
    say(t(f"   准予修复记为序号 {granted.events[0].seq}；已推送给 {subscribers} 个订阅方",
          f"   granted at seq {granted.events[0].seq}; delivered to {subscribers} subscribers"))

    say(t("⑦ 一处修复、处处同步：各订阅方确认接收——部门在收件箱中确认，信用平台以提交修复信息流位置确认；其中一个部门逾期。",
          "⑦ 一处修复、处处同步: every subscriber acknowledges — the departments from their inbox, the "
          "credit platform by committing its feed; one is late."))
    at(START + timedelta(days=96, hours=3))
    for dept in ("tax-deqing", "eco-huzhou"):
        consumer = Consumer(inbox, producers[dept])
        for delivery in consumer.inbox():
            consumer.acknowledge(delivery, occurred_at=clock.now())
    repairs = RepairFeed(feed or LocalPlatformFeed(app, "creditchina"), "creditchina-feed", platform=platform)
    items = repairs.poll()
    for item in items:
        repairs.commit(item, occurred_at=clock.now())  # applied: the commit acknowledges it
    say(t(f"   信用平台修复信息流：{[(event_type_name(i.type, 'zh'), i.decision_no) for i in items]}",
          f"   credit platform feed: {[(i.type, i.decision_no) for i in items]}"))
    at(START + timedelta(days=103))
    overdue = scheduler.tick(app)
    say(t(f"   定时任务：{'、'.join(event_type_name(d.event.type, 'zh') for d in overdue) or '无到期事项'}",
          f"   scheduler: {', '.join(d.event.type for d in overdue) or 'nothing due'}"))
    late = Consumer(inbox, producers["ema-deqing"])
    for delivery in late.inbox():
        late.acknowledge(delivery, occurred_at=clock.now())
    app.process()
    return result


def demo_decision_and_advice() -> tuple[PenaltyDecided, ComplianceAdviceIssued]:
    """The demo's penalty decision and its compliance advice (joint item 2)."""
    decision = PenaltyDecided(
        decision_no="德市监处罚〔2026〕7号",
        party_name="德清县某某化工有限公司",
        address="浙江省湖州市德清县武康街道某路1号",
        legal_representative="张某",
        facts="生产的产品质量抽检不合格，且未按规定存放危险化学品",
        legal_basis="《中华人民共和国产品质量法》第四十九条",
        penalty_types=["罚款", "没收违法所得"],
        fine_yuan=Decimal("50000"),
        confiscation_yuan=Decimal("12000"),
        authority="德清县市场监督管理局",
        decision_date=date(2026, 1, 5),
        procedure="ordinary",
        rule_set="samr-order-107",
        violation_kind="产品质量抽检不合格",
    )
    advice = ComplianceAdviceIssued(
        advice_no="德市监合规〔2026〕7号",
        decision_no=decision.decision_no,
        items=[
            AdviceItem(
                item_id="1",
                requirement="建立出厂检验制度并留存检验记录",
                deadline=date(2026, 2, 27),
                lead_department="samr-deqing",
            ),
            AdviceItem(
                item_id="2",
                requirement="危险化学品仓库整改，废液按规定转移处置（联合帮扶整改）",
                deadline=date(2026, 3, 13),
                lead_department="samr-deqing",
                participating_departments=["eco-huzhou", "ema-deqing"],
            ),
        ],
        guidance="建议参照《企业合规指引》建立质量与安全管理台账",
    )
    return decision, advice


def demo_registration(dept_id: str) -> DepartmentRegistered:
    """The registry event of a demo department (``DEPARTMENTS``) with its demo key."""
    _, name, kind, domain, area = next(d for d in DEPARTMENTS if d[0] == dept_id)
    return DepartmentRegistered(
        department_id=dept_id,
        name=name,
        kind=kind,  # type: ignore[arg-type]
        domain=domain,
        jurisdiction=area,
        public_key=demo_key(dept_id).public_key,
    )


def register_only(app: Tongxiu) -> None:
    """Register the demo departments with their demo keys (the ledger signs)."""
    for dept_id, *_ in DEPARTMENTS:
        receipt = app.emit(REGISTRY_STREAM, [demo_registration(dept_id)], submission_id=f"register:{dept_id}")
        if not receipt.accepted and not receipt.duplicate:
            raise RuntimeError(f"registering {dept_id}: {receipt.reasons}")


def register_departments(app: Tongxiu, transport: Transport, clock: ManualClock) -> dict[str, Producer]:
    """Register the demo departments (the ledger signs) and subscribe each to Zhejiang."""
    producers = {d[0]: Producer(transport, d[0], demo_key(d[0]), rules=app.rules) for d in DEPARTMENTS}
    register_only(app)
    for dept_id, *_ in DEPARTMENTS:
        producers[dept_id].publish(
            REGISTRY_STREAM, [SubscriptionAdded(jurisdictions=["33"])], submission_id=f"subscribe:{dept_id}",
            occurred_at=clock.now(),
        )
    app.process()
    return producers


def china_today(clock: ManualClock) -> date:
    return china_day(clock.now())
