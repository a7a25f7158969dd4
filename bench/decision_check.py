"""A penalty decision's periods on the write path: the decision check
(``services/decision_rules.py: check_decision``) and then the fold's periods
(``projections/fold.py: periods_for``), as ``Ledger._decide_and_append`` runs them for each
decision, in CPU µs per decision — under the default policy and under a local policy layer for
the enterprise's area (``PolicyBook.policies_by_jurisdiction``).

    python -m bench.decision_check [--decisions N]

No ratio: alternate a base tree and this one (``PYTHONPATH=<base checkout>``) and compare.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from tongxiu.events.models import PenaltyDecided
from tongxiu.projections.fold import Rules, periods_for
from tongxiu.projections.policy import LocalPolicy, PolicyBook
from tongxiu.projections.rule_tables import MARKET_REGULATION, derive_rule_set
from tongxiu.services import decision_rules
from tongxiu.services.decision_rules import check_decision

ENTERPRISE = "91330521MA2B3C4D5E"  # area 330521, under the layer "33" below


def decisions(n: int) -> list[PenaltyDecided]:
    day = date(2026, 2, 2)
    rule_set = derive_rule_set(day, MARKET_REGULATION)
    assert rule_set is not None
    return [
        PenaltyDecided(
            decision_no=f"处罚〔2026〕{i}号", party_name="某公司", address="某地", legal_representative="张某",
            facts="事实", legal_basis="依据", penalty_types=["罚款"], fine_yuan=Decimal(60000), authority="某局",
            decision_date=day, procedure="ordinary", rule_set=rule_set.value, party_kind="organisation",
        )
        for i in range(1, n + 1)
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--decisions", type=int, default=2000)
    args = ap.parse_args(argv)
    print(f"tongxiu from {Path(decision_rules.__file__).parents[1]}", file=sys.stderr)
    evs = decisions(args.decisions)
    for label, rules in (
        ("default policy", Rules()),
        ("local policy layer", Rules(policies=PolicyBook(policies_by_jurisdiction={"33": LocalPolicy(publicize_minor=True)}))),
    ):
        for _ in range(2):  # the first round warms the caches
            t = time.process_time()
            for ev in evs:
                assert not check_decision(ev, "events[0]", rules, ENTERPRISE, MARKET_REGULATION)
                periods_for(rules, ENTERPRISE, ev)
            spent = time.process_time() - t
        print(f"{label}: check then fold's periods {spent / len(evs) * 1e6:.1f} µs CPU per decision")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
