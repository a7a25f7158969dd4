"""The points the sources leave open, and the choice the ledger makes for each, as data
(rendered into ``docs/rules.md``). Part of :mod:`tongxiu.projections.rules`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --------------------------------------------------------------------------- open questions


@dataclass(frozen=True)
class OpenQuestion:
    """A point the sources leave open: the choice the ledger makes, as data, with its source."""

    key: str
    question: str
    choice: str
    source: str


OPEN_QUESTIONS: Final[tuple[OpenQuestion, ...]] = (
    OpenQuestion(
        "overlap",
        "Which rule set governs a decision while two are in force (Order 58 and 22号 from 2025-06-22 to "
        "2026-03-31; 22号 and Order 36 from 2026-04-01)?",
        "The one that came into force last (22号, then Order 36): the newer statement of policy. The ledger "
        "derives it; a declared rule set that differs is rejected (rule_set_mismatch).",
        "No transitional article found in 22号 or Order 36 (domain audit §1.1); 行政处罚法 Art. 37 (从旧兼从轻) "
        "as the reference principle",
    ),
    OpenQuestion(
        "transition",
        "Is a record decided under older, longer rules re-judged when lighter rules arrive?",
        "No: periods are frozen at the decision's rule set; procedural rules (days to decide, who decides) "
        "follow the rules in force on the day of the act.",
        "Domain audit §1.1 (open); DOMAIN.md §8",
    ),
    OpenQuestion(
        "samr-107-minor",
        "SAMR Order 107: are minor records publicized?",
        "Warnings are not publicized (recorded as minor); other minor information is publicized for 3 months "
        "and stops by itself, with no repair.",
        "Secondary summaries only ([t1][11][12]); to verify against the official text (D12)",
    ),
    OpenQuestion(
        "samr-107-never-end-early",
        "Does SAMR Order 107 keep Order 45 Art. 14(3)'s never-end-early list?",
        "Yes, carried over until the official text says otherwise.",
        "Order 45 Art. 14(3); SAMR 2021 measures (yuanjiang.gov.cn guide)",
    ),
    OpenQuestion(
        "order-36-lockouts",
        "Does NDRC Order 36 set national lock-outs (屡禁不止、屡罚不改, false materials) and bankruptcy "
        "temporary repair (暂时屏蔽)?",
        "Not modelled as national rules: lock-outs stay LocalPolicy settings (repair_lockout_days_after_last_repair, "
        "max_repairs_in_5_years), off by default; false materials are handled by repair_revoked.",
        "Garbled copies of Order 36 (zjbijin); to verify against the official text (D18)",
    ),
    OpenQuestion(
        "ndrc-2019-start",
        "On which day did the NDRC 2019 notice (527号) take effect?",
        "2019-05-01 (DOMAIN.md gives only the month).",
        "527号 published May 2019 (domain audit §1.1)",
    ),
    OpenQuestion(
        "lower-fines",
        "Which fines are SAMR Order 45's 较低数额罚款?",
        "Only what a province sets (LocalPolicy.lower_fine_threshold_*); without a setting the rule is reported "
        "as a gap and the fine is classed by penalty type.",
        "Order 45 Art. 13 (由省级以上市场监督管理部门规定); Hubei 10,000/100,000, Guizhou and Fujian 5,000/50,000 "
        "(foodmate notices)",
    ),
    OpenQuestion(
        "replaced-by",
        "May a withdrawal name a replacing decision (replaced_by) that the ledger does not hold yet?",
        "No: it is rejected (replacement_unknown, naming the field). The changed decision is submitted first, or "
        "before the withdrawal in the same submission (all or none), so the ledger never shows a promise it "
        "cannot check and the replacement is always on the same enterprise.",
        "行政处罚法 Art. 48 (变更 is the authority's act, so the new decision exists when the old is withdrawn); "
        "domain audit D14",
    ),
    OpenQuestion(
        "unforwarded-deadline",
        "From when does the department's decision deadline run if the one window never records a forwarding "
        "(e.g. the application reached the department another way)?",
        "From the ledger's receipt of the application (the earliest receipt the ledger can prove); a recorded "
        "forwarding recounts it from the forwarding.",
        "22号 (一个窗口受理、转交认定部门; 3 working days from receipt); domain audit D9",
    ),
    OpenQuestion(
        "class-standards",
        "Where do sector classification standards (较大数额 / 巨额) come from?",
        "From each sector's published standard, loaded as data (PolicyBook.class_standards, versioned by date); "
        "none is built in. A decision carries the standard it follows (class_basis); without one on file the "
        "class follows the penalty types.",
        "22号: 各领域具体分类标准由行业主管部门制定并在'信用中国'网站统一发布",
    ),
)
