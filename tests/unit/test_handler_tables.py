"""Every event type has a handler in each fold table and in the write path's checks, or is listed there as ignored with the
reason (a new event type that nobody folds fails here, not silently in production)."""

from __future__ import annotations

import pytest

from tongxiu.events.models import EVENT_TYPES
from tongxiu.projections.enterprise_fold import ENTERPRISE_FOLDS, ENTERPRISE_IGNORED
from tongxiu.projections.fold import REGISTRY_FOLDS, REGISTRY_IGNORED
from tongxiu.services.decide import CHECKS, CHECKS_IGNORED

TABLES = {
    "enterprise": (ENTERPRISE_FOLDS, ENTERPRISE_IGNORED),
    "registry": (REGISTRY_FOLDS, REGISTRY_IGNORED),
    "checks": (CHECKS, CHECKS_IGNORED),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_event_type_is_folded_or_ignored_with_a_reason(table: str) -> None:
    handlers, ignored = TABLES[table]
    every = set(EVENT_TYPES.values())
    assert not set(handlers) & set(ignored), "a type both handled and ignored"
    missing = sorted(cls.__name__ for cls in every - set(handlers) - set(ignored))
    assert missing == [], f"{table}: no handler and not ignored: {missing}"
    assert set(handlers) | set(ignored) == every  # nothing that is not an event type
    assert all(reason.strip() for reason in ignored.values())
