"""``docs/rules.md``, generated from the rule data (``python -m tongxiu.projections.rules_doc > docs/rules.md``).

A test compares the committed file with :func:`render`, so the document cannot drift from the
tables the ledger actually applies.
"""

from __future__ import annotations

from tongxiu.projections.fold import BACKFILL_PREFIX, CLOCK_SKEW, LATE_AFTER_DAYS
from tongxiu.projections.rules import (
    DEPARTMENT_DECIDES_GENERAL_FROM,
    OPEN_QUESTIONS,
    PENALTY_SEVERITY,
    PERIOD_TABLE,
    RULE_SETS,
    LocalPolicy,
    RuleSetSpec,
)

_MINOR = {
    "as_ordinary": "no minor class: publicized as ordinary",
    "local_option": "publicized (≤ 3 months) only where the sector/local policy says so (`publicize_minor`)",
    "publicized": "publicized as minor",
}


def _span(months: int) -> str:
    if months and months % 12 == 0:
        return f"{months // 12} y"
    return f"{months} m"


def _never(spec: RuleSetSpec) -> str:
    if not spec.never_end_early:
        return "none (repair is the rule)"
    text = ", ".join(sorted(spec.never_end_early))
    if spec.never_end_early_sectors is not None:
        text += f" — only in sectors {', '.join(sorted(spec.never_end_early_sectors))}"
    return text


def render() -> str:
    p = LocalPolicy()
    out: list[str] = []
    add = out.append
    add("# Rules the ledger applies")
    add("")
    add("Generated from `projections/rules.py` and `projections/fold.py` by")
    add("`python -m tongxiu.projections.rules_doc > docs/rules.md`; `tests/unit/test_rules_doc.py` fails when this file")
    add("and the data disagree. Sources are the secondary copies listed in `shared/reviews/domain-audit.md`;")
    add("no official gazette text was reachable, so every row names where it was read.")
    add("")
    add("## How the ledger decides")
    add("")
    add("- **Rule set.** Derived from the decision date and the deciding department's registered domain")
    add("  (`rule_set_in_force`): market regulation follows the SAMR rows while one is in force, every other")
    add("  domain the general rows. Where two general rows overlap, the one that came into force last wins.")
    add("  A declared `rule_set` that differs is rejected `rule_set_mismatch`, naming the one in force.")
    add("- **Procedure** (days to decide a repair, who decides) follows the rules in force on the day of the act")
    add("  (`procedural_rule_set`), not the decision's. 谁认定、谁修复 applies to general-domain records from")
    add(f"  {DEPARTMENT_DECIDES_GENERAL_FROM} (国办发〔2025〕22号); before that 信用中国 (国家公共信用信息中心) decided")
    add("  them, which imported history can show.")
    add(f"- **Time.** `occurred_at` may be at most {int(CLOCK_SKEW.total_seconds() // 60)} minutes ahead of the")
    add("  ledger's clock, and no date of a fact may lie after the ledger's China day (`occurred_in_future`).")
    add("  Rules about receipt (the decision deadline, the reply deadline, within-deadline counts, the minimum")
    add("  period for an application) run from the day the ledger recorded the fact. A fact recorded more than")
    add(f"  {LATE_AFTER_DAYS} days after its `occurred_at` is marked late and counted per department")
    add("  (`facts_recorded_late`). \"Which day is it\" is always the China day (`tongxiu.projections.workdays.china_day`,")
    add("  UTC+8).")
    add(f"- **Backfill.** History is imported only with submission ids starting `{BACKFILL_PREFIX}` from a")
    add("  department the operator opened a backfill for (`backfill_authorized`, until a ledger day). Such facts")
    add("  are judged by their own dates, marked `imported`, and counted as `facts_backfilled`.")
    add("- **Legacy codes.** A stream whose code fails GB 32100-2015 opens only if the operator registered the")
    add("  code (`legacy_code_registered`); otherwise `legacy_code_unregistered`.")
    add("- **Class.** The most severe penalty type; a serious-dishonesty list makes it serious; a sector")
    add("  classification standard in force (`PolicyBook.class_standards`) must be the decision's `class_basis`")
    add("  and moves fines into its bands. \"Minor, not publicized\" is recorded (`recorded_class`), distinct")
    add("  from no record. Missing local or sector data is reported as a gap on the record, never guessed.")
    add("")
    add("## Rule sets")
    add("")
    add("| rule set | title | scope | in force | periods counted from | minor | never ended early | source |")
    add("|---|---|---|---|---|---|---|---|")
    for s in RULE_SETS:
        until = s.in_force_until.isoformat() if s.in_force_until else "open"
        minor = _MINOR[s.minor]
        if s.minor_unpublicized_types:
            minor += f"; not publicized: {', '.join(sorted(s.minor_unpublicized_types))}"
        if s.lower_fines_are_minor:
            minor += "; 通报批评 / lower fines are minor (provincial threshold)"
        add(f"| `{s.rule_set.value}` | {s.title} | {s.scope} | {s.in_force_from} → {until} | "
            f"{s.counted_from.replace('_', ' ')} | {minor} | {_never(s)} | {s.source} |")
    add("")
    add("## Publicity periods")
    add("")
    add("Calendar months from the rule set's start date (民法典 Art. 200–203: the corresponding day, or the")
    add("month's last day). Repair may be applied for once the minimum has passed; when the minimum reaches")
    add("the maximum, the record is not repairable (`not_repairable`) and publicity ends by itself.")
    add("")
    add("| rule set | class | minimum | maximum | minimum in sensitive sectors | stop at maximum needs performance |")
    add("|---|---|---|---|---|---|")
    by_rs = {s.rule_set: s for s in RULE_SETS}
    for row in PERIOD_TABLE:
        spec = by_rs[row.rule_set]
        sens = (
            f"{_span(row.min_months_sensitive_sector)} ({', '.join(sorted(spec.sensitive_sectors))})"
            if row.min_months_sensitive_sector is not None
            else "—"
        )
        add(f"| `{row.rule_set.value}` | {row.publicity_class.value} | {_span(row.min_months)} | "
            f"{_span(row.max_months)} | {sens} | {'yes' if row.stop_requires_performance else 'no (auto-stop)'} |")
    add("")
    add("SAMR Order 45 also: a 限制开展生产经营活动 / 限制从业 longer than 3 years keeps the record publicized to")
    add("the end of the restriction (`restriction_until`); the publication date (`publicized_on`) must be within")
    add("20 working days of the decision.")
    add("")
    add("## Class of each penalty type")
    add("")
    add("| penalty type | class before rule-set specifics |")
    add("|---|---|")
    for name, cls in PENALTY_SEVERITY.items():
        add(f"| {name} | {cls.value} |")
    add("")
    add("## Deadlines (working days, Chinese calendar with 调休)")
    add("")
    add("| deadline | days | runs from |")
    add("|---|---|---|")
    add(f"| repair decision, general (22号 / Order 36) | {p.repair_decision_working_days} | the department's receipt: the ledger's recording of `repair_forwarded` (until forwarded: of the application) |")
    add(f"| repair decision, SAMR Order 45 | {p.repair_decision_working_days_samr_order_45} | the department's receipt (as above), when Order 45 is in force that day |")
    add(f"| repair decision, SAMR Order 107 | {p.repair_decision_working_days_samr_order_107} | the department's receipt (as above), when Order 107 is in force that day |")
    add("| extension of the repair decision (`repair_extended`, 可以延长) | as declared, 1–30 | the current deadline |")
    add(f"| applicant told the outcome (a decision or 不予受理) | {p.repair_reply_working_days} | the ledger's receipt of the application (not of the forwarding) |")
    add(f"| other holders apply a repair / expiry (一处修复、处处同步) | {p.sync_deadline_working_days} | the ledger's recording of the result |")
    add(f"| deciding authority withdraws a changed / revoked / illegal / invalid decision (Art. 48, 85) | {p.withdrawal_deadline_working_days} | the `ruling_date` |")
    add(f"| subscribers apply a withdrawal | {p.withdrawal_deadline_working_days} | the ledger's recording of it |")
    add("| SAMR Order 45 publication | 20 | the decision date |")
    add("")
    add("## Repair conditions")
    add("")
    add("- The minimum period has passed (on the ledger's day of receipt); the record is publicized and repairable.")
    add("- The fine and confiscation are paid, and every **binding** correction (`binding: true`, 责令改正) is")
    add("  verified by every owner. Advisory items (合规建议) are guidance: they gate neither repair nor the end")
    add("  of publicity.")
    add("- SAMR records: no later same-kind penalty by market regulation (`same_kind_penalty_since`), and the")
    add("  enterprise on neither 经营异常名录 nor 严重违法失信名单 when the grant is recorded (`on_credit_list`).")
    add("  List facts (`credit_list_included` / `credit_list_removed`, on the enterprise stream) are recorded by a")
    add("  market-regulation department; only the department that included removes (谁列入、谁移出). The credit")
    add("  view shows them (`list_entries`); supervision counts `list_inclusions` / `list_removals`.")
    add("")
    add("## Repair procedure")
    add("")
    add("- **One window.** An application received by a credit platform (信用中国) is forwarded by that platform")
    add("  (`repair_forwarded`) to the department that made the decision; `forwarded_to` must name it")
    add("  (`forwarded_to_wrong_department`), once (`already_forwarded`), before acceptance. The decision deadline")
    add("  is then recounted from the ledger's recording of the forwarding, in the procedure in force that day")
    add("  (an extension already granted is kept). Counted as `repairs_forwarded` (window) and")
    add("  `repairs_received_by_forwarding` (department).")
    add("- **受理 / 不予受理.** The deciding department accepts (`repair_accepted`, once) or does not accept")
    add("  (`repair_not_accepted`, with a reason); the window that received the application may also not accept it")
    add("  before forwarding (形式审查). After acceptance only a decision on the merits remains")
    add("  (`application_already_accepted`). 不予受理 closes the application (outcome `not_accepted`), counts as")
    add("  `repairs_not_accepted` and as a reply to the applicant, not as a repair decision.")
    add("- **Extension.** `repair_extended` (可以延长) adds working days to the current deadline.")
    add("- **Withdrawal.** `replaced_by` must name a decision the ledger holds for the same enterprise (earlier,")
    add("  or earlier in the same submission), not the withdrawn one itself (`replacement_unknown`); the")
    add("  replacing record lists what it `replaces`.")
    add("- Local lock-outs only where a policy sets them (`repair_lockout_days_after_last_repair`,")
    add("  `max_repairs_in_5_years`; off by default).")
    add("- 首违不罚: a `no_penalty_decided` with basis `first_violation` is refused (`not_first_violation`) when any")
    add("  department already recorded the same `violation_kind` on the enterprise; the ledger answers the question")
    add("  (`tongxiu first-violation`, `GET /api/enterprises/{code}/first-violation`, `first_of_kind` on records).")
    add("")
    add("## Local settings and their defaults")
    add("")
    add("| setting | default |")
    add("|---|---|")
    for name in type(p).model_fields:
        value = getattr(p, name)
        add(f"| `{name}` | {'not set (a gap where a rule needs it)' if value is None else value} |")
    add("")
    add("## Open questions, encoded as data")
    add("")
    add("| question | the ledger's choice | source |")
    add("|---|---|---|")
    for q in OPEN_QUESTIONS:
        add(f"| {q.question} | {q.choice} | {q.source} |")
    add("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
