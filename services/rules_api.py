"""What the ledger expects, asked without writing: the credit-repair notice (信用修复告知书)
for a decision, and "is this a first violation of this kind?". Shared by ``tongxiu notice`` /
``tongxiu first-violation`` and the HTTP routes ``POST /api/notice`` and
``GET /api/enterprises/{code}/first-violation``, so a department that does not write Python
gets the same answer the write path will check against."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tongxiu.events.models import REGISTRY_STREAM, CreditRepairNoticeIssued, PenaltyDecided
from tongxiu.projections.fold import first_violation_answer, periods_for
from tongxiu.projections.rules import RULE_SET_SPECS, RuleSet, derive_rule_set
from tongxiu.projections.views import EnterpriseState
from tongxiu.services.app import Tongxiu
from tongxiu.services.decide import check_decision
from tongxiu.services.http_access import record_read

HOW_TO_APPLY = {
    "market_regulation": "通过国家企业信用信息公示系统提交信用修复申请（市场监管领域依托国家企业信用信息公示系统按照国家统一规则办理）",
    "general": "通过信用中国网站提交信用修复申请，由作出处罚决定的部门办理（谁认定、谁修复）",
}
_AUTH: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    403: {"description": "the token's role does not allow this"},
}
CONDITIONS = "履行行政处罚决定规定的义务（含责令改正事项），纠正失信行为，并作出信用承诺"


class NoticeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enterprise: str = Field(min_length=18, max_length=18, description="unified social credit code")
    department: str = Field(min_length=1, description="the deciding department (its domain picks the rule set)")
    decision: PenaltyDecided
    notice_no: str | None = None


def expected_notice(
    app: Tongxiu, enterprise: str, department: str, decision: PenaltyDecided, notice_no: str | None = None
) -> dict[str, Any]:
    """The notice the ledger expects for ``decision`` by ``department`` on ``enterprise``, and
    the rule set it derives. Raises ValueError (in Chinese, naming the field) when the ledger
    would reject the decision itself."""
    registry = app.registry()
    info = registry.departments.get(department)
    if info is None:
        raise ValueError(f"department: {department} 未在账本注册")
    # the write path's own check of a decision: rule set, class basis, publication date, consistency
    problems = check_decision(decision, "decision", app.rules, enterprise, info.domain)
    if problems:
        raise ValueError(f"{problems[0].field}: {problems[0].message}")
    derived = derive_rule_set(decision.decision_date, info.domain) or RuleSet(decision.rule_set)
    periods = periods_for(app.rules, enterprise, decision)
    scope = RULE_SET_SPECS[RuleSet(decision.rule_set)].scope
    notice = CreditRepairNoticeIssued(
        notice_no=notice_no or f"{decision.decision_no}-告知",
        decision_no=decision.decision_no,
        publicity_class=str(periods.publicity_class),  # type: ignore[arg-type]
        publicity_until=periods.max_end,
        earliest_repair_date=periods.repair_from,
        conditions=CONDITIONS,
        how_to_apply=HOW_TO_APPLY[scope],
    )
    return {
        "notice": notice.model_dump(mode="json"),
        "rule_set": derived.value,
        "rule_set_title": RULE_SET_SPECS[derived].title,
        "recorded_class": str(periods.recorded_class),
        "publicized": periods.publicized,
        "basis": periods.basis,
        "basis_en": periods.basis_in("en"),
        "not_repairable_rule": periods.not_repairable_rule,
        "gaps": list(periods.gaps),
        "gaps_en": list(periods.gaps_in("en")),
    }


def first_violation(state: EnterpriseState, violation_kind: str) -> dict[str, Any]:
    return first_violation_answer(state, violation_kind)


def add_rule_routes(api: FastAPI, app: Tongxiu, grant: Callable[..., Any]) -> None:
    """Append the two read-only routes to ``api``; ``grant`` is the dependency that
    authenticates the caller (any role may ask)."""
    authenticated = Depends(grant)

    @api.post("/api/notice", tags=["rules"], responses={**_AUTH, 400: {"description": "the body is not JSON"},
                                                          422: {"description": "the field and the rule it breaks"}})
    def notice(body: NoticeRequest, _: Any = authenticated) -> dict[str, Any]:
        """The 信用修复告知书 the ledger expects for a decision (class, publicity end, earliest
        repair date, conditions, how to apply), with the rule set it derives. 422 when the
        ledger would reject the decision, naming the field."""
        try:
            return expected_notice(app, body.enterprise, body.department, body.decision, body.notice_no)
        except ValueError as exc:
            field, _sep, message = str(exc).partition(": ")
            raise HTTPException(
                422, [{"loc": ["body", *field.split(".")], "msg": message, "type": "value_error"}]
            ) from exc

    @api.get("/api/enterprises/{code}/first-violation", tags=["rules"],
             responses={**_AUTH, 404: {"description": "no such enterprise"}})
    def first(
        request: Request, code: str, kind: Annotated[str, Query(min_length=1, max_length=200)],
        _: Any = authenticated,
    ) -> dict[str, Any]:
        """首违: is a violation of ``kind`` the enterprise's first, from every department's
        records (naming the prior ones)."""
        if code == REGISTRY_STREAM or not app.log.last_seq(code):
            raise HTTPException(404, f"no enterprise {code} in the ledger")
        record_read(request, code, "first violation")
        return first_violation(app.enterprise_state(code), kind)
