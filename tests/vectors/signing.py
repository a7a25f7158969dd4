"""The test vectors of docs/signing.md: ``python -m tests.vectors.signing > tests/vectors/signing.json``.

Each vector is a submission as a department sends it (defaults left out, ``occurred_at`` in
China time), the demo key that signs it (public knowledge: never use it for real), and for
each event the structure that is signed, its canonical bytes (RFC 8785), their SHA-256 and
the Ed25519 signature. The file is generated from the code and checked against it by
tests/unit/test_signing_spec.py, and read by the Node.js client's test."""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from typing import Any

from tongxiu.events.envelope import canonical, event_json
from tongxiu.events.models import EVENT_ADAPTER
from tongxiu.events.wire import parse_submission
from tongxiu.services.demo import ENTERPRISE, demo_key
from tongxiu.services.ledger import sign_submission

DECISION = {
    "type": "penalty_decided",
    "decision_no": "德市监处罚〔2026〕7号",
    "party_name": "德清县某某化工有限公司",
    "address": "浙江省湖州市德清县武康街道某路1号",
    "legal_representative": "张某",
    "facts": "生产的产品质量抽检不合格，且未按规定存放危险化学品",
    "legal_basis": "《中华人民共和国产品质量法》第四十九条",
    "penalty_types": ["罚款", "没收违法所得"],
    "fine_yuan": "50000",
    "confiscation_yuan": "12000",
    "authority": "德清县市场监督管理局",
    "decision_date": "2026-01-05",
    "procedure": "ordinary",
    "rule_set": "samr-order-107",
    "violation_kind": "产品质量抽检不合格",
}
ADVICE = {
    "type": "compliance_advice_issued",
    "advice_no": "德市监合规〔2026〕7号",
    "decision_no": "德市监处罚〔2026〕7号",
    "items": [
        {"item_id": "1", "requirement": "建立出厂检验制度并留存检验记录", "deadline": "2026-02-27",
         "lead_department": "samr-deqing"},
        {"item_id": "2", "requirement": "危险化学品仓库整改", "deadline": "2026-03-13",
         "lead_department": "samr-deqing", "participating_departments": ["eco-huzhou", "ema-deqing"]},
    ],
}
NOTICE = {
    "type": "credit_repair_notice_issued",
    "notice_no": "德市监处罚〔2026〕7号-告知",
    "decision_no": "德市监处罚〔2026〕7号",
    "publicity_class": "ordinary",
    "publicity_until": "2027-01-05",
    "earliest_repair_date": "2026-04-06",
}
GRANT = {
    "type": "repair_granted",
    "decision_no": "德市监处罚〔2026〕7号",
    "note": "引号\" 反斜杠\\ 换行\n 制表\t 控制\u0001 \u007f 行分隔\u2028 é 𠀀 😀 \ue000",
}

CASES: list[dict[str, Any]] = [
    {
        "name": "三书同达: decision, advice and notice in one submission (defaults left out, China time)",
        "department": "samr-deqing",
        "submission": {"submission_id": "vector-1", "department": "samr-deqing", "stream": ENTERPRISE,
                       "occurred_at": "2026-01-05T10:00:00+08:00", "events": [DECISION, ADVICE, NOTICE]},
    },
    {
        "name": "one event; escaping of quotes, backslashes, control and non-BMP characters; fractional seconds",
        "department": "samr-deqing",
        "submission": {"submission_id": "vector-2", "department": "samr-deqing", "stream": ENTERPRISE,
                       "occurred_at": "2026-04-20T16:30:05.25+08:00", "events": [GRANT]},
    },
    {
        "name": "the registry stream; a legacy-code flag left at its default",
        "department": "tax-deqing",
        "submission": {"submission_id": "subscribe:tax-deqing", "department": "tax-deqing", "stream": "registry",
                       "occurred_at": "2026-01-05T09:00:00Z",
                       "events": [{"type": "subscription_added", "jurisdictions": ["33"]}]},
    },
]


def build() -> dict[str, Any]:
    vectors = []
    for case in CASES:
        key = demo_key(case["department"])
        sent = copy.deepcopy(case["submission"])
        events = [EVENT_ADAPTER.validate_python(e) for e in sent["events"]]
        parsed_time = parse_submission({**sent, "events": [{"event": e, "signature": "0" * 128} for e in sent["events"]]})
        assert not hasattr(parsed_time, "reasons"), parsed_time
        signed = sign_submission(key, department=sent["department"], stream=sent["stream"],
                                 submission_id=sent["submission_id"], occurred_at=parsed_time.occurred_at,  # type: ignore[union-attr]
                                 events=events, legacy_code=False)
        wire = {**sent, "events": [{"event": e, "signature": s.signature} for e, s in zip(sent["events"], signed.events, strict=True)]}
        full = [event_json(e) for e in events]
        digest = signed.digest()
        per_event = []
        for i in range(len(events)):
            structure = json.loads(signed.signed_bytes(i, digest))
            data = canonical(structure)
            assert data == signed.signed_bytes(i, digest)
            per_event.append({
                "structure": structure,
                "canonical": data.decode("utf-8"),
                "canonical_sha256": hashlib.sha256(data).hexdigest(),
                "signature": signed.events[i].signature,
            })
        vectors.append({
            "name": case["name"],
            "private_key": key.private_key,
            "public_key": key.public_key,
            "sent": wire,
            "occurred_at_signed": json.loads(signed.model_dump_json())["occurred_at"],
            "events_complete": full,
            "events_canonical": canonical(full).decode("utf-8"),
            "submission_digest": digest,
            "signed": per_event,
        })
    return {
        "description": "Test vectors of docs/signing.md (signature format 2). Keys are the public demo keys: "
                       "never use them for real. `canonical` is the exact UTF-8 text that is signed.",
        "vectors": vectors,
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
