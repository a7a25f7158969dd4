"""The folds: ``(state, event) -> state`` for an enterprise (credit, rectification, sync) and
for the registry, plus the supervision tallies each event produces.

A fold reads nothing but its arguments, so replaying the same log gives the same state,
whether incrementally, from a rebuild, or as of a past time. For speed a fold may reuse the
state object it is given; callers that need the old state keep a ``model_copy(deep=True)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, NamedTuple

from tongxiu.events.envelope import Envelope
from tongxiu.events.models import (
    DEPARTMENT_TYPES,
    EVENT_TYPES,
    INSPECTION_TYPES,
    LEDGER_DEPARTMENT,
    REGISTRY_TYPES,
    BackfillAuthorized,
    DepartmentKeyRevoked,
    DepartmentKeyRotated,
    DepartmentRegistered,
    Fact,
    LegacyCodeRegistered,
    NoPenaltyDecided,
    PenaltyDecided,
    SubscriptionAdded,
    SubscriptionRemoved,
    SupervisorDesignated,
)
from tongxiu.projections.periods import counted_from, known_periods, shape_key
from tongxiu.projections.rules import (
    DecisionFacts,
    LocalPolicy,
    Periods,
    PolicyBook,
    RuleSet,
    compute_periods,
)
from tongxiu.projections.views import (
    CreditRecord,
    CreditView,
    DepartmentInfo,
    EnterpriseState,
    KeyWindow,
    RegistryState,
    RepairApplication,
    StatusChange,
    Subscription,
)
from tongxiu.projections.workdays import CHINA, WorkCalendar, china_day

__all__ = ["CHINA", "china_day"]

#: How far ahead of the ledger's clock a submitter's ``occurred_at`` may be (clock drift
#: between a department's machine and the ledger); later is ``occurred_in_future``.
CLOCK_SKEW = timedelta(minutes=5)

#: A fact recorded more than this many days after the day it says it happened is marked late
#: (and counted per department as ``facts_recorded_late``), unless it came by the backfill path.
LATE_AFTER_DAYS = 7

#: Submissions on the explicit backfill path carry ids with this prefix (and need a
#: ``backfill_authorized`` registry fact for their department).
BACKFILL_PREFIX = "backfill:"


def is_backfill(env: Envelope) -> bool:
    return env.submission_id.startswith(BACKFILL_PREFIX)


def receipt_day(env: Envelope) -> date:
    """The day a rule about receipt runs from: when the ledger recorded the fact, except for
    imported history (the backfill path), which is judged by its declared date."""
    return china_day(env.occurred_at if is_backfill(env) else env.recorded_at)


def is_late(env: Envelope) -> bool:
    """Recorded long after it says it happened: a department's fact, not the ledger's own
    (whose propagation facts carry the occurred-at of what they propagate)."""
    return env.department != LEDGER_DEPARTMENT and not is_backfill(env) and (china_day(env.recorded_at) - china_day(env.occurred_at)).days > LATE_AFTER_DAYS


OVERSIGHT_FOLDED = DEPARTMENT_TYPES | INSPECTION_TYPES
"""Folded by :mod:`tongxiu.projections.supervision` (department streams and inspections)."""


def no_penalty_tallies(department: str, month: str, ev: NoPenaltyDecided) -> list[Tally]:
    """不予处罚 split by basis (首违不罚 / 轻微不罚 / 无主观过错), with the fine waived."""
    counter = {"first_violation": "no_penalties_first_violation", "minor_and_corrected": "no_penalties_minor",
               "no_fault": "no_penalties_no_fault"}[ev.basis]
    out = [Tally(department, month, counter)]
    if ev.waived_fine_yuan:
        out.append(Tally(department, month, "waived_fine_yuan", float(ev.waived_fine_yuan)))
    return out


@dataclass(frozen=True)
class Rules:
    """The rule data a fold needs: local policies and the working-day calendar."""

    policies: PolicyBook = field(default_factory=PolicyBook)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    _layered: dict[str, LocalPolicy] = field(default_factory=dict, init=False, compare=False, repr=False)
    """:meth:`policy` answers by area code (both fields are frozen, so they never change)."""

    def policy(self, jurisdiction: str) -> LocalPolicy:
        """``policies.for_jurisdiction(jurisdiction)``, layered once per area code."""
        layered = self._layered.get(jurisdiction)
        if layered is None:
            layered = self._layered[jurisdiction] = self.policies.for_jurisdiction(jurisdiction)
        return layered


class Tally(NamedTuple):
    """One supervision counter change: +amount on ``counter`` for a department and month (a
    named tuple: one to three are made per event, and a frozen dataclass cost ~0.9 µs each)."""

    department: str
    month: str
    counter: str
    amount: float = 1


@functools.lru_cache(maxsize=4096)
def month_of(day: date) -> str:
    """``YYYY-MM`` of ``day`` (memoised: one to three per event, over few distinct days)."""
    return f"{day.year:04d}-{day.month:02d}"


def decision_facts(event: PenaltyDecided, policies: PolicyBook | None = None) -> DecisionFacts:
    """The facts the period rules need; the class standard is looked up by the reference the
    decision carries (the write path checked it is the one in force)."""
    standard = None
    if event.class_basis is not None and policies is not None:
        standard = policies.standard(event.class_basis.standard_ref)
    return DecisionFacts(
        penalty_types=tuple(event.penalty_types),
        fine_yuan=event.fine_yuan,
        confiscation_yuan=event.confiscation_yuan,
        party_kind=event.party_kind,
        procedure=event.procedure,
        rule_set=RuleSet(event.rule_set),
        decision_date=event.decision_date,
        identification_date=event.identification_date,
        sector=event.sector,
        serious_dishonesty_list=event.serious_dishonesty_list,
        publication_date=event.publicized_on,
        restriction_until=event.restriction_until,
        class_standard=standard,
    )


def periods_for(rules: Rules, enterprise: str, event: PenaltyDecided) -> Periods:
    """The one glue from a decision on an enterprise to its periods (local policy + standard)."""
    policy = rules.policy(jurisdiction_of(enterprise))
    basis = event.class_basis
    standard = rules.policies.standard(basis.standard_ref) if basis is not None else None
    known = known_periods(  # a decision of a shape already met: no DecisionFacts (its checks follow from the shape)
        shape_key(event.rule_set, tuple(event.penalty_types), event.fine_yuan, event.confiscation_yuan,
                  event.party_kind, event.procedure, event.sector, event.serious_dishonesty_list, None,
                  event.publicized_on is not None, policy, standard),
        policy, standard,
        counted_from(event.rule_set, event.decision_date, event.identification_date, event.publicized_on),
        event.restriction_until,
    )
    return known if known is not None else compute_periods(decision_facts(event, rules.policies), policy)


def jurisdiction_of(enterprise: str) -> str:
    return enterprise[2:8] if len(enterprise) == 18 else ""


# --------------------------------------------------------------------------- enterprise


def obligations_performed(state: EnterpriseState, record: CreditRecord) -> bool:
    """Fine paid (when there is one) and every *binding* correction of its advice closed.
    Advisory items (合规建议) are guidance: they do not gate repair or the end of publicity."""
    if record.needs_payment and not record.fulfilled:
        return False
    return not open_binding_items(state, record)


def open_binding_items(state: EnterpriseState, record: CreditRecord) -> list[str]:
    return [
        item.item_id
        for item in state.rectification.items.values()
        if item.decision_no == record.decision_no and item.binding and item.status != "closed"
    ]


PRIOR_NAMED = 5
"""A record names at most this many earlier same-kind decisions (the earliest ones) and counts
them all: naming every one would make each record grow with the enterprise's history."""


def prior_of_kind(state: EnterpriseState, violation_kind: str | None) -> list[CreditRecord]:
    """Every decision of ``violation_kind`` on the enterprise, by any department, in the order
    recorded (withdrawn decisions do not count: they no longer stand)."""
    if not violation_kind:
        return []
    records = state.credit.records
    return [records[no] for no in state.standing_of_kind(violation_kind)]


def _pending(record: CreditRecord) -> RepairApplication | None:
    return next((a for a in reversed(record.applications) if a.outcome == "pending"), None)


_STATUS_CHANGES = [0]
"""Counts every status change (any thread): a fold recomputes the standing, which reads
every record, only when a status changed while it ran, so an event's cost does not grow with
the number of records (a change in another thread only causes an extra recomputation)."""


def _set_status(record: CreditRecord, status: str, env: Envelope) -> None:
    _STATUS_CHANGES[0] += 1
    record.status = status  # type: ignore[assignment]
    record.history.append(StatusChange(at=env.occurred_at, status=status, by=env.department, seq=env.seq))


def _standing(credit: CreditView) -> str:
    order = {"minor": 1, "ordinary": 2, "serious": 3}
    worst = 0
    for record in credit.records.values():
        if record.status == "publicized":
            worst = max(worst, order.get(record.publicity_class, 0))
    return {0: "good", 1: "publicized-minor", 2: "publicized-ordinary", 3: "publicized-serious"}[worst]


_RANK = {"good": 0, "publicized-minor": 1, "publicized-ordinary": 2, "publicized-serious": 3}
_CLASS_RANK = {"minor": 1, "ordinary": 2, "serious": 3}


def _restanding(credit: CreditView, ev: object, env: Envelope, changes: int) -> str:
    """The standing after this event changed a status: from the one change of the record the
    event names when that decides it (a record entering publicity raises the standing to at
    least its class; one leaving it below the worst class changes nothing), else recomputed
    over every record."""
    record = credit.records.get(str(getattr(ev, "decision_no", "") or "")) if changes == 1 else None
    if record is None or not record.history or record.history[-1].seq != env.seq:
        return _standing(credit)
    old = record.history[-2].status if len(record.history) > 1 else None
    current = _RANK.get(credit.standing, 0)
    rank = _CLASS_RANK.get(record.publicity_class, 0)
    if record.status == "publicized":
        return credit.standing if rank <= current else _standing(credit)
    if old != "publicized" or rank < current:
        return credit.standing
    return _standing(credit)


_FOLD_STEP: list[Callable[..., list[Tally]]] = []


def _load_fold_step() -> Callable[..., list[Tally]]:
    from tongxiu.projections.enterprise_fold import fold_step  # the table needs this module's helpers

    _FOLD_STEP.append(fold_step)
    return fold_step


def fold_enterprise(state: EnterpriseState, env: Envelope, rules: Rules, *, tally: bool = True) -> list[Tally]:
    """Apply one event of the enterprise's stream; return the supervision tallies it causes
    (``tally=False``: none are made and ``[]`` is returned — a replay, which does not keep them;
    the state is the same).

    The write path guarantees that references exist. A replay "as of" a past time may still
    leave out an event that a later-kept one refers to (a department may date an act
    earlier than the one it answers); such an event is kept in the history and ignored by
    the views rather than failing the replay."""
    step = _FOLD_STEP[0] if _FOLD_STEP else _load_fold_step()
    try:
        return step(state, env, rules) if tally else step(state, env, rules, False)
    except KeyError:
        state.credit.standing = _standing(state.credit)
        return []


def fold_replayed(state: EnterpriseState, envelopes: Iterable[Envelope], rules: Rules) -> None:
    """``fold_enterprise(state, env, rules, tally=False)`` for each envelope in order: a
    replay's page folded at once (no generator hop per event)."""
    for env in envelopes:
        fold_enterprise(state, env, rules, tally=False)


# --------------------------------------------------------------------------- registry


RegistryHandler = Callable[[RegistryState, Envelope, Any], None]

REGISTRY_FOLDS: dict[type[Fact], RegistryHandler] = {}
"""Event type -> the handler that folds it into the registry."""

REGISTRY_IGNORED: dict[type[Fact], str] = {
    cls: "not a registry event: never on the registry stream (the ledger rejects it there)"
    for name, cls in EVENT_TYPES.items()
    if name not in REGISTRY_TYPES
}
"""Event types the registry fold leaves alone, each with the reason."""


def _registers(t: type[Fact]) -> Callable[[RegistryHandler], RegistryHandler]:
    def register(fn: RegistryHandler) -> RegistryHandler:
        REGISTRY_FOLDS[t] = fn
        return fn

    return register


def fold_registry(state: RegistryState, env: Envelope) -> RegistryState:
    state.seq = env.seq
    state.last_hash = env.hash
    handler = REGISTRY_FOLDS.get(type(env.event))
    if handler is not None:
        handler(state, env, env.event)
    return state


@_registers(DepartmentRegistered)
def _on_department_registered(state: RegistryState, env: Envelope, ev: DepartmentRegistered) -> None:
    kind = "ledger" if ev.department_id == LEDGER_DEPARTMENT else ev.kind
    state.departments[ev.department_id] = DepartmentInfo(
        department_id=ev.department_id,
        name=ev.name,
        kind=kind,
        domain=ev.domain,
        jurisdiction=ev.jurisdiction,
        public_key=ev.public_key,
        registered_at=env.occurred_at,
        keys=[KeyWindow(public_key=ev.public_key, valid_from=env.recorded_at)],
    )


@_registers(DepartmentKeyRotated)
def _on_department_key_rotated(state: RegistryState, env: Envelope, ev: DepartmentKeyRotated) -> None:
    fold_key_change(state, env)  # issue 9: key lifecycle


@_registers(DepartmentKeyRevoked)
def _on_department_key_revoked(state: RegistryState, env: Envelope, ev: DepartmentKeyRevoked) -> None:
    fold_key_change(state, env)


def fold_key_change(state: RegistryState, env: Envelope) -> None:
    ev = env.event
    info = state.departments.get(getattr(ev, "department_id", ""))
    if info is None:
        return
    if not info.keys:
        info.keys = [KeyWindow(public_key=info.public_key, valid_from=info.registered_at)]
    at = env.recorded_at
    if isinstance(ev, DepartmentKeyRotated):
        for w in info.keys:
            if w.valid_until is None:
                w.valid_until = at
        info.keys.append(KeyWindow(public_key=ev.public_key, algorithm=ev.algorithm, valid_from=at))
        info.public_key = ev.public_key
    elif isinstance(ev, DepartmentKeyRevoked):
        for w in info.keys:
            if w.public_key == ev.public_key:
                w.revoked = True
                if w.valid_until is None or w.valid_until > at:
                    w.valid_until = at
        if info.public_key == ev.public_key:
            info.public_key = ""


@_registers(SubscriptionAdded)
def _on_subscription_added(state: RegistryState, env: Envelope, ev: SubscriptionAdded) -> None:
    state.subscriptions[env.department] = Subscription(
        subscriber=env.department, jurisdictions=list(ev.jurisdictions), domains=list(ev.domains)
    )


@_registers(SubscriptionRemoved)
def _on_subscription_removed(state: RegistryState, env: Envelope, ev: SubscriptionRemoved) -> None:
    state.subscriptions.pop(env.department, None)


@_registers(LegacyCodeRegistered)
def _on_legacy_code_registered(state: RegistryState, env: Envelope, ev: LegacyCodeRegistered) -> None:
    state.legacy_codes[ev.code] = ev.source


@_registers(BackfillAuthorized)
def _on_backfill_authorized(state: RegistryState, env: Envelope, ev: BackfillAuthorized) -> None:
    state.backfills[ev.department_id] = ev.until


@_registers(SupervisorDesignated)
def _on_supervisor_designated(state: RegistryState, env: Envelope, ev: SupervisorDesignated) -> None:
    state.supervisors[ev.department_id] = ev.jurisdiction


def first_violation(state: EnterpriseState, violation_kind: str) -> bool:
    """首违: no earlier decision of this kind on the enterprise, by any department."""
    return not prior_of_kind(state, violation_kind)


def first_violation_answer(state: EnterpriseState, violation_kind: str) -> dict[str, object]:
    """The ledger's answer to "is this the first violation of this kind?", from every
    department's records on the enterprise, naming the prior ones."""
    prior = prior_of_kind(state, violation_kind)
    return {
        "enterprise": state.enterprise,
        "violation_kind": violation_kind,
        "first_violation": not prior,
        "prior": [
            {"decision_no": r.decision_no, "department": r.department, "decision_date": r.decision_date.isoformat(),
             "kind": r.kind}
            for r in prior
        ],
    }
